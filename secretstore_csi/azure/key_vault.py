"""Key Vault: a vault of each workload's own holding its secrets, and read access to exactly
them for the workload's principal.

The identity says how it is granted: with an access policy (`get` on the vault, which holds
only these secrets), or with Azure RBAC, where the vault takes no access policies and the
role Key Vault Secrets User is assigned on each secret, not on the vault.

A workload with `existing` secrets uses the vault they are in (the provider reads one vault
per SecretProviderClass): no vault is made, the secrets the stack makes for it go in that
vault named `<workload>-<secret>`, and every secret is granted with a role assignment on
itself, whatever the identity, since an access policy there would reach the whole vault.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_random as random
import yaml
from pulumi_azure_native import authorization, keyvault

from secretstore_csi.azure import existing
from secretstore_csi.azure.catalog import KEY_VAULT
from secretstore_csi.azure.cluster import Aks
from secretstore_csi.azure.settings import (
    VAULT_NAME_MAX,
    KeyVaultSettings,
    existing_vault_names,
    managed_name,
    vault_and_name,
)
from secretstore_csi.model import StoreSecret, WorkloadSpec
from secretstore_csi.seam import IdentityBinding, ProviderInstall, StoreBinding, top_aliases, was_at_top
from secretstore_csi.secret_values import secret_value
from secretstore_csi.settings import PlatformConfig

READ_ONLY = ["get"]
# Key Vault Secrets User: "Read secret contents" (Azure built-in roles, Security).
SECRETS_USER_ROLE = "4633458b-17de-408a-b874-0445c86b69e6"
# A generated vault name is the workload's name, cut to fit, and a random suffix: Pulumi's own
# autonaming would append to the whole logical name and can overflow the 24 characters.
VAULT_SUFFIX_LENGTH = 8


@dataclass(frozen=True)
class VaultReader:
    """The principal an Azure identity mode hands the store: an Entra object to grant to."""

    object_id: pulumi.Output[str]
    """The service principal's object id (for a managed identity, its principal id)."""
    rbac: bool = False
    """Grant with role assignments on each secret instead of an access policy on the vault."""


def key_vault_objects(objects: list[dict[str, str]]) -> str:
    """The SecretProviderClass `objects` parameter in the Azure provider's `array:` format.

    Each entry is itself a YAML document, written as a block string.
    """
    lines = ["array:"]
    for entry in objects:
        lines.append("  - |")
        lines += [f"    {line}" for line in yaml.safe_dump(entry, sort_keys=False).splitlines()]
    return "\n".join(lines) + "\n"


class KeyVault:
    """Key Vault's part per cluster: the Azure provider chart, and the tenant every vault is in."""

    def __init__(self, name: str, config: PlatformConfig, cluster: Aks, opts: pulumi.ResourceOptions) -> None:
        self.settings = config.of(KeyVaultSettings)
        self.cluster = cluster
        self.client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=opts.parent))
        self.outputs: Mapping[str, pulumi.Input[Any]] = {"tenantId": self.client.tenant_id}
        if config.add_on:
            # The cluster's add-on brings the driver and the provider; its own node-wide
            # identity is never granted anything: each workload's identity is.
            self.install = ProviderInstall(provider=KEY_VAULT.provider, token_audiences=(), add_on=True)
            return
        self.install = ProviderInstall(
            provider=KEY_VAULT.provider,
            token_audiences=KEY_VAULT.token_audiences,
            chart=KEY_VAULT.chart,
            # The chart bundles the driver as a subchart: a second copy collides on the
            # CSIDriver, ServiceAccount and ClusterRoles of the shared driver release.
            chart_values={"secrets-store-csi-driver": {"install": False}},
        )

    def grant(
        self, name: str, workload: WorkloadSpec, identity: IdentityBinding[VaultReader], opts: pulumi.ResourceOptions
    ) -> StoreBinding:
        store = KeyVaultStore(name, self.settings, self.cluster, self.client, workload, identity.reader, opts)
        names = [key_vault_name(workload, spec) for spec in workload.secrets]
        return StoreBinding(
            parameters={
                "usePodIdentity": "false",
                "keyvaultName": store.vault_name,
                "tenantID": self.client.tenant_id,
                # Key Vault has no JSON-key selection: each secret is mounted whole.
                "objects": key_vault_objects(
                    [
                        {"objectName": secret_name, "objectType": "secret", "objectAlias": spec.name}
                        for spec, secret_name in zip(workload.secrets, names, strict=True)
                    ]
                ),
            },
            mounted_files=[spec.name for spec in workload.secrets],
            ready=[*([store.vault] if store.vault else []), *store.secrets, *store.role_assignments],
            outputs={
                "keyVaultName": store.vault_name,
                "keyVaultSecretName": names[0],
                "keyVaultSecretNames": names,
            },
        )


def key_vault_name(workload: WorkloadSpec, secret: StoreSecret) -> str:
    """The secret's name in its vault."""
    if secret.existing is not None:
        return vault_and_name(secret.existing)[1]
    return managed_name(workload, secret)


def vault_name_prefix(owner: str) -> str:
    """The start of a generated vault name, from the workload's name: it must start with a
    letter, and have no two hyphens in a row."""
    cleaned = re.sub(r"-+", "-", owner)
    if not cleaned[0].isalpha():
        cleaned = f"kv-{cleaned}"
    return cleaned[: VAULT_NAME_MAX - VAULT_SUFFIX_LENGTH - 1].rstrip("-") + "-"


class KeyVaultStore(pulumi.ComponentResource):
    """A vault of the workload's own, its secrets, and read access for its principal."""

    def __init__(
        self,
        name: str,
        settings: KeyVaultSettings,
        cluster: Aks,
        client: pulumi.Output[authorization.GetClientConfigResult],
        workload: WorkloadSpec,
        reader: VaultReader,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # Before a workload held it, it was at the top of the stack.
        super().__init__(
            "secretstore-csi:azure:KeyVaultStore",
            name,
            None,
            was_at_top(opts, workload),
        )
        child = pulumi.ResourceOptions(parent=self, aliases=top_aliases(workload))

        role = client.subscription_id.apply(
            lambda subscription: (
                f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{SECRETS_USER_ROLE}"
            )
        )
        self.vault: keyvault.Vault | None = None
        # The scope of each secret, for a role assignment on it alone.
        scopes: list[pulumi.Input[str]] = []
        found = self._existing_vault(settings, workload)
        if found is not None:
            self.vault_name: pulumi.Input[str] = found.name
            group: pulumi.Input[str] = found.resource_group
            rbac = True
        else:
            self.vault = self._own_vault(name, settings, cluster, client, workload, reader, child)
            self.vault_name = self.vault.name
            group = cluster.resource_group_name
            rbac = reader.rbac
        # In the workload's own vault, which holds only its secrets, the access policy's `get`
        # reaches exactly them.
        self.secrets = []
        for spec in workload.secrets:
            if spec.existing is not None:
                assert found is not None
                scopes.append(found.secret_scope(vault_and_name(spec.existing)[1]))
                continue
            secret = keyvault.Secret(
                workload.resource_name(spec),
                resource_group_name=group,
                vault_name=self.vault_name,
                secret_name=managed_name(workload, spec),
                # secret_value() is a secret Output, so the value is encrypted in the state.
                properties=keyvault.SecretPropertiesArgs(value=secret_value(workload, spec, parent=self)),
                opts=child,
            )
            self.secrets.append(secret)
            scopes.append(secret.id)
        # With RBAC, the role on each secret: a secret put in the vault later stays unreadable.
        self.role_assignments = [
            authorization.RoleAssignment(
                f"{workload.resource_name(spec)}-reader",
                principal_id=reader.object_id,
                # Skips the lookup of a principal that Entra may not have replicated yet.
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                role_definition_id=role,
                scope=scope,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for spec, scope in zip(workload.secrets, scopes, strict=True)
            if rbac
        ]
        self.register_outputs({"vault_name": self.vault_name})

    @staticmethod
    def _existing_vault(settings: KeyVaultSettings, workload: WorkloadSpec) -> existing.FoundKeyVault | None:
        """The vault of the workload's existing secrets, as the config check read it."""
        names = existing_vault_names(workload)
        if not names:
            return None
        group = settings.existing_key_vault_resource_group
        assert group is not None and len(names) == 1, "refused by the config check"
        found = existing.key_vault(settings, group, names.pop())
        assert isinstance(found, existing.FoundKeyVault), found
        return found

    @staticmethod
    def _own_vault(
        name: str,
        settings: KeyVaultSettings,
        cluster: Aks,
        client: pulumi.Output[authorization.GetClientConfigResult],
        workload: WorkloadSpec,
        reader: VaultReader,
        child: pulumi.ResourceOptions,
    ) -> keyvault.Vault:
        """A vault of the workload's own, in the cluster's resource group."""
        if settings.key_vault_name and workload.legacy_names:
            vault_name: pulumi.Input[str] = settings.key_vault_name
        else:
            suffix = random.RandomString(
                f"{name}-vault-suffix", length=VAULT_SUFFIX_LENGTH, upper=False, special=False, opts=child
            )
            vault_name = pulumi.Output.concat(vault_name_prefix(name), suffix.result)
        return keyvault.Vault(
            f"{name}-vault",
            resource_group_name=cluster.resource_group_name,
            vault_name=vault_name,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=client.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                # One model or the other: with RBAC on, access policies would be ignored.
                enable_rbac_authorization=reader.rbac,
                access_policies=[]
                if reader.rbac
                else [
                    keyvault.AccessPolicyEntryArgs(
                        tenant_id=client.tenant_id,
                        object_id=reader.object_id,
                        # Secrets, and only `get`: the provider reads a secret by name.
                        permissions=keyvault.PermissionsArgs(secrets=READ_ONLY),
                    )
                ],
                enable_soft_delete=True,
                soft_delete_retention_in_days=settings.key_vault_soft_delete_retention_days,
                # Key Vault refuses `false` here: purge protection can only be left unset or on.
                enable_purge_protection=True if settings.key_vault_purge_protection else None,
            ),
            opts=child,
        )

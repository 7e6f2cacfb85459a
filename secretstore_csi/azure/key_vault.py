"""Key Vault: a vault of the stack's own holding the workload's secrets, and read access to
exactly them for the identity's principal.

The identity says how it is granted: with an access policy (`get` on the vault, which holds
only these secrets), or with Azure RBAC, where the vault takes no access policies and the
role Key Vault Secrets User is assigned on each secret, not on the vault.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random
import yaml
from pulumi_azure_native import authorization, keyvault

from secretstore_csi import PREFIX, registry
from secretstore_csi.azure.cluster import AksCluster
from secretstore_csi.azure.settings import KeyVaultSettings
from secretstore_csi.model import Workload
from secretstore_csi.seam import MOVED_FROM_STACK, Cluster, IdentityBinding, StoreBinding
from secretstore_csi.secret_values import secret_value
from secretstore_csi.settings import StackConfig

READ_ONLY = ["get"]
# Key Vault Secrets User: "Read secret contents" (Azure built-in roles, Security).
SECRETS_USER_ROLE = "4633458b-17de-408a-b874-0445c86b69e6"
# A generated vault name is this prefix and a random suffix: 12 + 8 characters, within the
# 24 that Key Vault allows. Pulumi's own autonaming would append to the whole logical name
# and can overflow it.
VAULT_NAME_PREFIX = "secretstore-"
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


class KeyVaultStore(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        settings: KeyVaultSettings,
        cluster: AksCluster,
        workload: Workload,
        reader: VaultReader,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("secretstore-csi:azure:KeyVaultStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, aliases=MOVED_FROM_STACK)
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.tenant_id = client.tenant_id

        if settings.key_vault_name:
            vault_name: pulumi.Input[str] = settings.key_vault_name
        else:
            suffix = random.RandomString(
                f"{name}-vault-suffix", length=VAULT_SUFFIX_LENGTH, upper=False, special=False, opts=child
            )
            vault_name = pulumi.Output.concat(VAULT_NAME_PREFIX, suffix.result)
        self.vault = keyvault.Vault(
            f"{name}-vault",
            resource_group_name=cluster.resource_group.name,
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
                        permissions=keyvault.PermissionsArgs(secrets=READ_ONLY, keys=READ_ONLY, certificates=READ_ONLY),
                    )
                ],
                enable_soft_delete=True,
                soft_delete_retention_in_days=settings.key_vault_soft_delete_retention_days,
                # Key Vault refuses `false` here: purge protection can only be left unset or on.
                enable_purge_protection=True if settings.key_vault_purge_protection else None,
            ),
            opts=child,
        )
        # The vault belongs to this stack and holds only these secrets, so the access policy's
        # `get` reaches exactly them.
        self.secrets = [
            keyvault.Secret(
                spec.resource_name,
                resource_group_name=cluster.resource_group.name,
                vault_name=self.vault.name,
                secret_name=spec.name,
                # secret_value() is a secret Output, so the value is encrypted in the state.
                properties=keyvault.SecretPropertiesArgs(value=secret_value(spec, parent=self)),
                opts=child,
            )
            for spec in workload.secrets
        ]
        # With RBAC, the role on each secret: a secret put in the vault later stays unreadable.
        role = client.subscription_id.apply(
            lambda subscription: f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/"
            f"{SECRETS_USER_ROLE}"
        )
        self.role_assignments = [
            authorization.RoleAssignment(
                f"{spec.resource_name}-reader",
                principal_id=reader.object_id,
                # Skips the lookup of a principal that Entra may not have replicated yet.
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                role_definition_id=role,
                scope=secret.id,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for spec, secret in zip(workload.secrets, self.secrets, strict=True)
            if reader.rbac
        ]
        self.register_outputs({"vault_name": self.vault.name})


def build(stack: StackConfig, cluster: Cluster, workload: Workload, identity: IdentityBinding) -> StoreBinding:
    if not isinstance(cluster, AksCluster):
        raise TypeError("Key Vault is built next to an AKS cluster, in its resource group")
    if not isinstance(identity.reader, VaultReader):
        raise TypeError("Key Vault grants read access to an Entra principal")
    store = KeyVaultStore(PREFIX, stack.of(KeyVaultSettings), cluster, workload, identity.reader)
    entry = registry.STORES["keyVault"]
    return StoreBinding(
        provider=entry.provider,
        chart=entry.chart,
        # The chart bundles the driver as a subchart: a second copy collides on the
        # CSIDriver, ServiceAccount and ClusterRoles of the shared driver release.
        chart_values={"secrets-store-csi-driver": {"install": False}},
        token_audiences=entry.token_audiences,
        parameters={
            "usePodIdentity": "false",
            "keyvaultName": store.vault.name,
            "tenantID": store.tenant_id,
            # Key Vault has no JSON-key selection: each secret is mounted whole.
            "objects": key_vault_objects(
                [
                    {"objectName": spec.name, "objectType": "secret", "objectAlias": spec.name}
                    for spec in workload.secrets
                ]
            ),
        },
        mounted_files=[spec.name for spec in workload.secrets],
        ready=[store.vault, *store.secrets, *store.role_assignments],
        outputs={
            "keyVaultName": store.vault.name,
            "keyVaultSecretName": store.secrets[0].name,
            "keyVaultSecretNames": [secret.name for secret in store.secrets],
            "tenantId": store.tenant_id,
        },
    )

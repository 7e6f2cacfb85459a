"""An AKS cluster that exists: read with azure-native's `containerservice.get_managed_cluster`
when the config is checked, once per stack, and reached with the user's own credentials."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import yaml
from pulumi_azure_native import containerservice, keyvault

from secretstore_csi.azure.settings import AzureClusterSettings, KeyVaultSettings
from secretstore_csi.lookup import Missing, read

# kubelogin's non-interactive login with the caller's `az login`, as `kubelogin
# convert-kubeconfig -l azurecli` writes it: `get-token --server-id <id> --login azurecli`
# (Azure/kubelogin v0.2.19, pkg/internal/converter/convert_test.go, "convert from devicecode
# to azurecli"). The device-code login AKS hands out would wait for a person.
KUBELOGIN = "kubelogin"
# The AKS add-on `azure-keyvault-secrets-provider`, as the cluster's addonProfiles name it.
DRIVER_ADD_ON = "azureKeyvaultSecretsProvider"


@dataclass(frozen=True)
class FoundAksCluster:
    name: str
    resource_group: str
    oidc_issuer_url: str
    """Empty when the cluster has no OIDC issuer."""
    workload_identity: bool
    network_policy: str | None
    """Calico, Azure or Cilium; None: NetworkPolicies are not enforced."""
    driver_add_on: bool
    """Whether AKS's own Key Vault add-on runs, with a Secrets Store CSI Driver of its own."""


def _cluster(settings: AzureClusterSettings) -> FoundAksCluster | Missing:
    name, group = settings.existing_cluster, settings.existing_cluster_resource_group
    assert name is not None and group is not None
    found = read(lambda: containerservice.get_managed_cluster(resource_group_name=group, resource_name=name))
    if isinstance(found, Missing):
        return found
    issuer = found.oidc_issuer_profile
    security = found.security_profile
    network = found.network_profile
    return FoundAksCluster(
        name=found.name,
        resource_group=group,
        oidc_issuer_url=issuer.issuer_url if issuer is not None and issuer.enabled and issuer.issuer_url else "",
        workload_identity=bool(security and security.workload_identity and security.workload_identity.enabled),
        network_policy=network.network_policy if network is not None else None,
        # ARM matches add-on names without regard to case.
        driver_add_on=any(
            key.lower() == DRIVER_ADD_ON.lower() and profile.enabled
            for key, profile in (found.addon_profiles or {}).items()
        ),
    )


def cluster(settings: AzureClusterSettings) -> FoundAksCluster | Missing | None:
    """The cluster `existingCluster` names, what is missing, or None for a cluster the stack
    creates."""
    if settings.existing_cluster is None:
        return None
    return settings.remembered("cluster", lambda: _cluster(settings))


def azure_cli_login(kubeconfig: str) -> str:
    """The cluster user's kubeconfig with kubelogin's login turned into `azurecli`: the token
    of whoever ran `az login`. A cluster with local accounts gets its own credential back,
    unchanged: the stack output is secret."""
    document: dict[str, Any] = yaml.safe_load(kubeconfig)
    for user in document.get("users") or []:
        login = (user.get("user") or {}).get("exec")
        if not login or login.get("command") != KUBELOGIN:
            continue
        args = list(login.get("args") or [])
        server_id = args[args.index("--server-id") + 1] if "--server-id" in args[:-1] else None
        login["args"] = ["get-token", *(["--server-id", server_id] if server_id else []), "--login", "azurecli"]
    return yaml.safe_dump(document, sort_keys=False)


def user_kubeconfig(settings: AzureClusterSettings, found: FoundAksCluster) -> str | Missing:
    """The kubeconfig `az aks get-credentials` writes for the cluster's users, logging in with
    `az login`'s token; read when the config is checked, so that a user who may not list the
    credentials is refused before anything is made."""

    def find() -> str | Missing:
        credentials = read(
            lambda: containerservice.list_managed_cluster_user_credentials(
                resource_group_name=found.resource_group,
                resource_name=found.name,
                # The kubelogin exec plugin, not the azure auth-provider kubectl no longer has.
                format="exec",
            )
        )
        if isinstance(credentials, Missing):
            return credentials
        if not credentials.kubeconfigs:
            return Missing("AKS returned no kubeconfig")
        return azure_cli_login(base64.b64decode(credentials.kubeconfigs[0].value).decode())

    return settings.remembered("user-kubeconfig", find)


@dataclass(frozen=True)
class FoundKeyVault:
    id: str
    """Its resource ID: the start of each secret's scope."""
    name: str
    resource_group: str
    rbac: bool
    """Whether it grants with Azure RBAC; otherwise with access policies, vault-wide."""

    def secret_scope(self, name: str) -> str:
        """The resource ID of one of its secrets: a role assignment there reaches it alone."""
        return f"{self.id}/secrets/{name}"


def key_vault(settings: KeyVaultSettings, resource_group: str, name: str) -> FoundKeyVault | Missing:
    """A vault that existing secrets are in, read with `keyvault.get_vault`."""

    def find() -> FoundKeyVault | Missing:
        found = read(lambda: keyvault.get_vault(resource_group_name=resource_group, vault_name=name))
        if isinstance(found, Missing):
            return found
        return FoundKeyVault(
            id=found.id,
            name=found.name,
            resource_group=resource_group,
            rbac=bool(found.properties.enable_rbac_authorization),
        )

    return settings.remembered(f"key-vault/{resource_group}/{name}", find)

"""The config keys of the Azure cluster source, the Key Vault store and the Entra application
identity. Importing this module needs no SDK."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field, model_validator

from secretstore_csi import PROJECT
from secretstore_csi.azure import names
from secretstore_csi.lookup import Missing
from secretstore_csi.model import StoreSecret, WorkloadSpec
from secretstore_csi.settings import (
    Accepted,
    Boolean,
    ManagedClusterSettings,
    PlatformConfig,
    SettingsModel,
    line,
    matching,
    node_count,
    shown,
    whole_number,
)

# AKS: at most 1,000 nodes in a node pool.
AksNodeCount = Annotated[int, node_count(1000, "AKS allows at most 1000 nodes in a node pool")]


# "Naming rules and restrictions for Azure resources": a managed cluster's name is 1-63
# alphanumerics, underscores and hyphens, starting and ending with an alphanumeric; a resource
# group's is 1-90 underscores, hyphens, periods, parentheses, letters or digits, not ending
# with a period.
AKS_CLUSTER_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?"
RESOURCE_GROUP_NAME = r"[-\w._()]{0,89}[-\w_()]"


class AzureClusterSettings(ManagedClusterSettings):
    CREATED_ONLY = (*ManagedClusterSettings.CREATED_ONLY, "node_vm_size")

    existing_cluster: Annotated[
        str | None,
        Accepted(
            matching(AKS_CLUSTER_NAME),
            "expected the name of an AKS cluster: 1-63 letters, digits, '_' or '-', starting and ending with a "
            "letter or digit (`az aks list`)",
        ),
    ] = None
    existing_cluster_resource_group: Annotated[
        str | None,
        Accepted(
            matching(RESOURCE_GROUP_NAME),
            "expected the name of the cluster's resource group: 1-90 letters, digits, '_', '-', '.', '(' or ')', "
            "not ending with '.'",
        ),
    ] = None
    """Where the existing cluster is; its vaults and identities go there too."""
    location: Annotated[
        str,
        Accepted(
            names.region,
            "expected a public Azure region, such as westeurope (`az account list-locations`); set it with "
            "`pulumi config set azure-native:location <region>`",
        ),
    ] = Field(alias="azure-native:location")
    node_vm_size: Annotated[
        str,
        Accepted(
            names.vm_size,
            "expected an Azure VM size as Azure names them, such as Standard_D2s_v5 or Standard_E4as_v6 "
            "(`az vm list-sizes`)",
        ),
    ] = "Standard_D2s_v5"
    node_desired_count: AksNodeCount = 2
    node_min_count: AksNodeCount = 1
    node_max_count: AksNodeCount = 3

    @model_validator(mode="after")
    def _a_resource_group_with_an_existing_cluster(self) -> AzureClusterSettings:
        if self.existing_cluster is not None and self.existing_cluster_resource_group is None:
            raise line(
                f"{PROJECT}:existingClusterResourceGroup is not set: expected the resource group of "
                f"{PROJECT}:existingCluster = {self.existing_cluster!r} (`az aks list --query "
                '"[].{name:name, resourceGroup:resourceGroup}"`)'
            )
        if self.existing_cluster is None and self.existing_cluster_resource_group is not None:
            raise line(
                f"{PROJECT}:existingClusterResourceGroup names the resource group of an existing cluster, and "
                f"{PROJECT}:existingCluster is not set: set it, or remove existingClusterResourceGroup"
            )
        return self

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        from secretstore_csi.azure import existing

        found = existing.cluster(self)
        if isinstance(found, Missing):
            return [
                f"{PROJECT}:existingCluster = {shown(self.existing_cluster)}: no AKS cluster of that name can be "
                f"read in resource group {self.existing_cluster_resource_group} (Azure said: {found.reason}); "
                f"expected a cluster there (`az aks list --resource-group {self.existing_cluster_resource_group}`)"
            ]
        if isinstance(found, existing.FoundAksCluster):
            kubeconfig = existing.user_kubeconfig(self, found)
            if isinstance(kubeconfig, Missing):
                return [
                    f"{PROJECT}:existingCluster = {shown(self.existing_cluster)}: the cluster's user credentials "
                    f"cannot be listed (Azure said: {kubeconfig.reason}); expected the role Azure Kubernetes Service "
                    "Cluster User Role on the cluster, which `az aks get-credentials` needs too"
                ]
        if isinstance(found, existing.FoundAksCluster) and found.driver_add_on and not platform.add_on:
            from secretstore_csi.azure.catalog import KEY_VAULT

            add_on = KEY_VAULT.add_on
            serves = platform.store == KEY_VAULT.name and add_on is not None and platform.identity in add_on.identities
            use = f"set {PROJECT}:install to addon, which uses it, or " if serves else ""
            return [
                f"{PROJECT}:existingCluster = {shown(self.existing_cluster)}: the cluster runs the AKS add-on "
                "azure-keyvault-secrets-provider, whose Secrets Store CSI Driver the stack's Helm release would "
                f"collide with: {use}turn it off (`az aks disable-addons --addons azure-keyvault-secrets-provider "
                f"--resource-group {found.resource_group} --name {found.name}`)"
            ]
        if isinstance(found, existing.FoundAksCluster) and platform.add_on and not found.driver_add_on:
            return [
                f"{PROJECT}:install = 'addon': cluster {found.name} does not run the AKS add-on "
                "azure-keyvault-secrets-provider, and the stack changes no cluster it does not own: turn it on "
                f"(`az aks enable-addons --addons azure-keyvault-secrets-provider --resource-group "
                f"{found.resource_group} --name {found.name}`), or use helm"
            ]
        return []


def federation_problems(platform: PlatformConfig) -> list[str]:
    """Why an existing AKS cluster cannot federate its service accounts' tokens with Entra: a
    federated credential trusts the cluster's OIDC issuer, and workload identity must be on."""
    from secretstore_csi.azure import existing

    cluster = platform.of(AzureClusterSettings)
    found = existing.cluster(cluster)
    if not isinstance(found, existing.FoundAksCluster):
        return []
    needed = [
        (what, flag)
        for what, on, flag in (
            ("OIDC issuer", bool(found.oidc_issuer_url), "--enable-oidc-issuer"),
            ("workload identity", found.workload_identity, "--enable-workload-identity"),
        )
        if not on
    ]
    if not needed:
        return []
    return [
        f"{PROJECT}:identity = {platform.identity!r}: cluster {found.name} has no "
        f"{' and no '.join(what for what, _ in needed)}, which federating its service accounts with Entra needs; "
        f"turn {'them' if len(needed) > 1 else 'it'} on (`az aks update --resource-group {found.resource_group} "
        f"--name {found.name} {' '.join(flag for _, flag in needed)}`)"
    ]


# 3-24 letters, digits and hyphens, starting with a letter, ending with a letter or digit,
# without consecutive hyphens.
VAULT_NAME_MAX = 24
KEY_VAULT_NAME = rf"(?=.{{3,{VAULT_NAME_MAX}}}$)[A-Za-z](?:-?[A-Za-z0-9])+"


def _vault_name(value: Any) -> str:
    return matching(KEY_VAULT_NAME)(value)


class KeyVaultSettings(SettingsModel):
    key_vault_name: Annotated[
        str | None,
        Accepted(
            _vault_name,
            "expected a Key Vault name: 3-24 letters, digits and hyphens, starting with a letter, "
            "ending with a letter or digit, with no consecutive hyphens",
        ),
    ] = None
    """None: a unique name is generated."""
    key_vault_soft_delete_retention_days: Annotated[
        int, Accepted(whole_number(7, 90), "expected a whole number of days from 7 to 90")
    ] = 90
    key_vault_purge_protection: Boolean = False
    existing_key_vault_resource_group: Annotated[
        str | None,
        Accepted(
            matching(RESOURCE_GROUP_NAME),
            "expected the name of the resource group of the vaults that `existing` secrets are in: 1-90 letters, "
            "digits, '_', '-', '.', '(' or ')', not ending with '.'",
        ),
    ] = None
    """Where the vaults of `existing` secrets are: a role assignment's scope names the group."""

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        problems = self._existing_problems(workloads)
        if self.key_vault_name is not None and any(not workload.legacy_names for workload in workloads):
            problems.append(
                f"{PROJECT}:keyVaultName names the vault of the stack's single workload, and each of "
                f"{PROJECT}:workloads gets a vault of its own: remove it"
            )
        if len(workloads) > RESOURCES_PER_TYPE_MAX:
            problems.append(
                f"{PROJECT}:workloads: {len(workloads)} workloads, each with a Key Vault in the cluster's resource "
                f"group: expected at most {RESOURCES_PER_TYPE_MAX}, the resources of one type Azure allows in a "
                "resource group"
            )
        return problems

    def _existing_problems(self, workloads: Sequence[WorkloadSpec]) -> list[str]:
        """A workload's existing secrets are in one vault (the provider reads one per
        SecretProviderClass), which is there and grants with Azure RBAC."""
        from secretstore_csi.azure import existing

        problems: list[str] = []
        group = self.existing_key_vault_resource_group
        vaults: dict[str, WorkloadSpec] = {}
        existing_in: dict[str, set[str]] = {}
        for workload in workloads:
            names = existing_vault_names(workload)
            if not names:
                continue
            if len(names) > 1:
                problems.append(
                    f"{workload.config_path}secrets: existing secrets in the vaults {', '.join(sorted(names))}: "
                    "expected every existing secret of a workload in one vault, as the Azure provider reads one "
                    "vault per SecretProviderClass (its keyvaultName)"
                )
                continue
            vault = names.pop()
            vaults.setdefault(vault, workload)
            existing_in.setdefault(vault, set()).update(existing_secret_names(workload))
        for workload in workloads:
            names = existing_vault_names(workload)
            if len(names) != 1:
                continue
            made = {managed_name(workload, secret) for secret in workload.managed_secrets}
            clash = sorted(existing_in[next(iter(names))] & made)
            if clash:
                problems.append(
                    f"{workload.config_path}secrets: the secrets the stack makes would be named {', '.join(clash)} "
                    "in the vault of the workload's existing secrets, as existing ones are: expected other names"
                )
        if vaults and group is None:
            return [
                *problems,
                f"{PROJECT}:existingKeyVaultResourceGroup is not set: expected the resource group of the vaults "
                f"{', '.join(sorted(vaults))}, which the existing secrets are in (`az keyvault show --name <vault> "
                "--query resourceGroup`)",
            ]
        for name in sorted(vaults):
            assert group is not None
            found = existing.key_vault(self, group, name)
            if isinstance(found, Missing):
                problems.append(
                    f"{vaults[name].config_path}secrets: no vault {name} can be read in resource group {group} (Azure "
                    f"said: {found.reason}); expected the vault of the existing secrets there"
                )
            elif not found.rbac:
                problems.append(
                    f"{vaults[name].config_path}secrets: vault {name} grants with access policies, each of which "
                    "reaches every secret in it: expected a vault with Azure RBAC (`az keyvault update --name "
                    f"{name} --enable-rbac-authorization true`), where each secret is granted alone"
                )
        return problems


def vault_and_name(url: str) -> tuple[str, str]:
    """The vault and the secret's name of a Key Vault secret URL,
    https://<vault>.vault.azure.net/secrets/<name> (Key Vault, "Object identifiers")."""
    host, _, name = url.removeprefix("https://").partition("/secrets/")
    return host.split(".", 1)[0], name


def _well_formed(workload: WorkloadSpec) -> list[str]:
    """The workload's existing secret URLs; a malformed one is refused on its own."""
    from secretstore_csi.azure.catalog import KEY_VAULT

    urls = [secret.existing for secret in workload.existing_secrets if secret.existing]
    return [url for url in urls if KEY_VAULT.existing_secret.matches(url)]


def existing_vault_names(workload: WorkloadSpec) -> set[str]:
    """The vaults the workload's existing secrets are in."""
    return {vault_and_name(url)[0] for url in _well_formed(workload)}


def existing_secret_names(workload: WorkloadSpec) -> list[str]:
    """The Key Vault names of the workload's existing secrets."""
    return [vault_and_name(url)[1] for url in _well_formed(workload)]


def managed_name(workload: WorkloadSpec, secret: StoreSecret) -> str:
    """The Key Vault name of a secret the stack makes: its own name in the workload's own
    vault. In the vault of the workload's existing secrets, which others share, the
    workload's name before it and a digest of the stack after it, so that neither another
    workload's nor another stack's secret of that name is written over."""
    if not workload.existing_secrets:
        return secret.name
    from secretstore_csi import ownership

    digest = hashlib.sha256(ownership.owner().encode()).hexdigest()[:8]
    return f"{workload.resource_name(secret)}-{digest}"


# "Resources per resource group, per resource type: 800" (Azure subscription and service
# limits): each workload has a vault, and with a managed identity an identity, in the
# cluster's resource group.
RESOURCES_PER_TYPE_MAX = 800
# "Azure supports up to 4000 role assignments per subscription ... fixed and cannot be
# increased" (Troubleshoot Azure RBAC limits). The subscription's other assignments count too.
ROLE_ASSIGNMENTS_MAX = 4000
# "A maximum of 20 federated identity credentials can be added to an application or
# user-assigned managed identity" (Workload identity federation considerations): each
# workload's application or identity has exactly one.
FEDERATED_CREDENTIALS_MAX = 20


class ApplicationSettings(SettingsModel):
    """The Entra application has no settings: each workload's application has one federated
    credential, which trusts exactly its service account."""

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        return federation_problems(platform)


class ManagedIdentitySettings(SettingsModel):
    """The managed identity has no settings: each workload's identity has one federated
    credential, which trusts exactly its service account, and Key Vault grants it each of the
    workload's secrets."""

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        return federation_problems(platform) + assignment_problems(workloads)


def assignment_problems(workloads: Sequence[WorkloadSpec]) -> list[str]:
    """One role assignment per secret, for its workload's identity, against Azure's cap."""
    assignments = sum(len(workload.secrets) for workload in workloads)
    if assignments <= ROLE_ASSIGNMENTS_MAX:
        return []
    return [
        f"{PROJECT}:workloads: {assignments} secrets, each with a role assignment for its workload's identity: "
        f"expected at most {ROLE_ASSIGNMENTS_MAX}, the role assignments Azure allows in a subscription (its "
        "other assignments count too)"
    ]


class IdentityBindingSettings(SettingsModel):
    """Identity binding has no settings: each workload's identity is bound to the cluster, and
    Kubernetes RBAC lets exactly its service account use it. No federated credential per
    service account, so no cap of 20; Key Vault grants the identity each secret."""

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        return federation_problems(platform) + assignment_problems(workloads)

"""Every cluster source, secret store and identity mode the program has, and how they combine.

A stack is one of each. Per entry this module says what config it reads (a settings model),
what the Kubernetes layer installs for it (chart, SecretProviderClass provider, token
audiences), what the unauthorized pod's refusal says (for `secretstore_csi.verify`), and which function
builds it. The builders are imported only when a stack uses them, so an AWS stack never
imports the Azure SDK; importing this module imports no cloud SDK.

Adding a cluster source, store or identity mode: a package or module with its settings
model and its `build` function, and one entry below.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from secretstore_csi import charts
from secretstore_csi.aws.settings import AwsClusterSettings, IrsaSettings, PodIdentitySettings, SecretsManagerSettings
from secretstore_csi.azure.settings import (
    ApplicationSettings,
    AzureClusterSettings,
    KeyVaultSettings,
    ManagedIdentitySettings,
)
from secretstore_csi.charts import HelmChart
from secretstore_csi.existing.settings import ExistingClusterSettings
from secretstore_csi.gcp.settings import GcpClusterSettings, SecretManagerSettings, WorkloadIdentitySettings
from secretstore_csi.settings import SettingsModel
from secretstore_csi.vault.settings import KubernetesAuthSettings, VaultSettings


@dataclass(frozen=True)
class Builder:
    """A function named by module and attribute, imported when it is first called for."""

    module: str
    function: str = "build"

    def load(self) -> Callable[..., Any]:
        builder: Callable[..., Any] = getattr(importlib.import_module(self.module), self.function)
        return builder


@dataclass(frozen=True)
class ClusterSource:
    name: str
    title: str
    settings: type[SettingsModel]
    default_store: str
    build: Builder
    """build(stack: StackConfig) -> seam.Cluster"""


@dataclass(frozen=True)
class SecretStore:
    name: str
    title: str
    settings: type[SettingsModel]
    provider: str
    """The SecretProviderClass `spec.provider`: the name the store's CSI provider registers."""
    chart: HelmChart | None
    """The provider's Helm chart, installed next to the shared driver release."""
    token_audiences: tuple[str, ...]
    """The service-account tokens the driver must request for this provider, when they are the
    same for every stack. Empty when they depend on the stack's config: the store binding
    always says which the driver requests."""
    max_secret_bytes: int
    """The largest value the store accepts for one secret."""
    clusters: tuple[str, ...]
    default_identity: str
    build: Builder
    """build(stack, cluster, workload, identity: IdentityBinding) -> seam.StoreBinding"""


@dataclass(frozen=True)
class IdentityMode:
    name: str
    title: str
    settings: type[SettingsModel]
    store: str
    clusters: tuple[str, ...]
    denials: tuple[str, ...]
    """Text in the unauthorized pod's FailedMount event that shows the store refused it."""
    build: Builder
    """build(stack, cluster, workload) -> seam.IdentityBinding"""


CLUSTERS: dict[str, ClusterSource] = {
    entry.name: entry
    for entry in (
        ClusterSource(
            name="aws",
            title="an EKS cluster",
            settings=AwsClusterSettings,
            default_store="secretsManager",
            build=Builder("secretstore_csi.aws.cluster"),
        ),
        ClusterSource(
            name="azure",
            title="an AKS cluster with an OIDC issuer",
            settings=AzureClusterSettings,
            default_store="keyVault",
            build=Builder("secretstore_csi.azure.cluster"),
        ),
        ClusterSource(
            name="gcp",
            title="a GKE Standard cluster with Workload Identity Federation",
            settings=GcpClusterSettings,
            default_store="secretManager",
            build=Builder("secretstore_csi.gcp.cluster"),
        ),
        ClusterSource(
            name="kubernetes",
            title="an existing cluster, such as kind",
            settings=ExistingClusterSettings,
            default_store="vault",
            build=Builder("secretstore_csi.existing.cluster"),
        ),
    )
}
ALL_CLUSTERS = tuple(CLUSTERS)

STORES: dict[str, SecretStore] = {
    entry.name: entry
    for entry in (
        SecretStore(
            name="secretsManager",
            title="AWS Secrets Manager",
            settings=SecretsManagerSettings,
            provider="aws",
            chart=charts.AWS_PROVIDER,
            # The provider exchanges the first for IRSA and the second for EKS Pod Identity;
            # the driver requests both, as the provider chart's default does.
            token_audiences=("sts.amazonaws.com", "pods.eks.amazonaws.com"),
            # SecretString: at most 65,536 bytes (Secrets Manager quotas).
            max_secret_bytes=65_536,
            clusters=("aws",),
            default_identity="irsa",
            build=Builder("secretstore_csi.aws.secrets_manager"),
        ),
        SecretStore(
            name="keyVault",
            title="Azure Key Vault",
            settings=KeyVaultSettings,
            provider="azure",
            chart=charts.AZURE_PROVIDER,
            token_audiences=("api://AzureADTokenExchange",),
            # "a maximum size of 25k bytes each" (About Azure Key Vault secrets).
            max_secret_bytes=25_000,
            clusters=("azure",),
            default_identity="application",
            build=Builder("secretstore_csi.azure.key_vault"),
        ),
        SecretStore(
            name="secretManager",
            title="Google Cloud Secret Manager",
            settings=SecretManagerSettings,
            provider="gcp",
            # Upstream publishes a manifest, not a chart: the store installs the provider.
            chart=None,
            # The cluster's workload pool, <project>.svc.id.goog: the binding says which.
            token_audiences=(),
            # "Must be no larger than 64KiB" (SecretVersion.secret_data).
            max_secret_bytes=65_536,
            clusters=("gcp",),
            default_identity="workloadIdentity",
            build=Builder("secretstore_csi.gcp.secret_manager"),
        ),
        SecretStore(
            name="vault",
            title="HashiCorp Vault in the cluster",
            settings=VaultSettings,
            provider="vault",
            chart=charts.VAULT,
            # The audience the SecretProviderClass asks for and the Vault role checks.
            token_audiences=("vault",),
            # Vault takes requests up to 32 MiB. What binds first is the Kubernetes Secret
            # that carries a value to the configuration Job: at most 1 MiB, base64-encoded,
            # holding the value about twice (whole, and key by key).
            max_secret_bytes=262_144,
            clusters=ALL_CLUSTERS,
            default_identity="kubernetesAuth",
            build=Builder("secretstore_csi.vault.store"),
        ),
    )
}

IDENTITIES: dict[str, IdentityMode] = {
    entry.name: entry
    for entry in (
        IdentityMode(
            name="irsa",
            title="IAM Roles for Service Accounts",
            settings=IrsaSettings,
            store="secretsManager",
            clusters=("aws",),
            denials=("An IAM role must be associated with service account",),
            build=Builder("secretstore_csi.aws.irsa"),
        ),
        IdentityMode(
            name="podIdentity",
            title="EKS Pod Identity",
            settings=PodIdentitySettings,
            store="secretsManager",
            clusters=("aws",),
            # The agent finds no association for `default`; the provider then fails to fetch
            # the secret ("Failed fetching secret" in the primary region, "Failed to fetch
            # secret from all regions" with a failover region), not with IRSA's message.
            denials=("Failed fetching secret", "Failed to fetch secret"),
            build=Builder("secretstore_csi.aws.pod_identity"),
        ),
        IdentityMode(
            name="application",
            title="an Entra application with a federated credential",
            settings=ApplicationSettings,
            store="keyVault",
            clusters=("azure",),
            # Newer Entra responses say AADSTS700213 for the same missing federated credential.
            denials=("AADSTS70021", "AADSTS700213"),
            build=Builder("secretstore_csi.azure.application"),
        ),
        IdentityMode(
            name="managedIdentity",
            title="a user-assigned managed identity with a federated credential",
            settings=ManagedIdentitySettings,
            store="keyVault",
            clusters=("azure",),
            # "No matching federated identity record found" for the default service account.
            denials=("AADSTS70021", "AADSTS700213"),
            build=Builder("secretstore_csi.azure.managed_identity"),
        ),
        IdentityMode(
            name="workloadIdentity",
            title="Workload Identity Federation for GKE, the service account as the principal",
            settings=WorkloadIdentitySettings,
            store="secretManager",
            clusters=("gcp",),
            # Every service account gets a federated token; Secret Manager refuses the
            # version to a principal without the role on the secret.
            denials=("Permission 'secretmanager.versions.access' denied",),
            build=Builder("secretstore_csi.gcp.workload_identity"),
        ),
        IdentityMode(
            name="kubernetesAuth",
            title="Vault's Kubernetes auth, a role bound to the service account",
            settings=KubernetesAuthSettings,
            store="vault",
            clusters=ALL_CLUSTERS,
            # Vault's login refuses a token of another service account with 403.
            denials=("service account name not authorized",),
            build=Builder("secretstore_csi.vault.kubernetes_auth"),
        ),
    )
}


def combinations() -> list[tuple[str, str, str]]:
    """Every registered (cluster source, store, identity mode)."""
    return [
        (cluster, identity.store, identity.name)
        for identity in IDENTITIES.values()
        for cluster in CLUSTERS
        if cluster in identity.clusters and cluster in STORES[identity.store].clusters
    ]


def default_combination(cluster: str) -> tuple[str, str, str]:
    """The store a cluster source uses by default, and that store's default identity mode."""
    store = CLUSTERS[cluster].default_store
    return cluster, store, STORES[store].default_identity

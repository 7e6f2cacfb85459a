"""GCP's catalog entries: a GKE cluster, Secret Manager and Workload Identity Federation for GKE."""

from __future__ import annotations

from typing import TYPE_CHECKING

from secretstore_csi.catalog import (
    ClusterSource,
    ExistingSecretForm,
    IdentityMode,
    ManagedAddOn,
    SecretStore,
    settings_model,
)

if TYPE_CHECKING:
    from secretstore_csi.gcp.cluster import Gke
    from secretstore_csi.gcp.workload_identity import WorkloadPrincipal
    from secretstore_csi.seam import ClusterBuilder, IdentityInstaller, StoreInstaller

SETTINGS = "secretstore_csi.gcp.settings"


def _gke() -> ClusterBuilder[Gke]:
    from secretstore_csi.gcp.cluster import build

    return build


def _secret_manager() -> StoreInstaller[Gke, WorkloadPrincipal]:
    from secretstore_csi.gcp.secret_manager import SecretManager

    return SecretManager


def _workload_identity() -> IdentityInstaller[Gke, WorkloadPrincipal]:
    from secretstore_csi.gcp.workload_identity import WorkloadIdentityPool

    return WorkloadIdentityPool


GKE: ClusterSource[Gke] = ClusterSource(
    name="gcp",
    title="a GKE Standard cluster with Workload Identity Federation",
    settings=settings_model(SETTINGS, "GcpClusterSettings"),
    default_store="secretManager",
    build=_gke,
)

SECRET_MANAGER: SecretStore[Gke, WorkloadPrincipal] = SecretStore(
    name="secretManager",
    title="Google Cloud Secret Manager",
    settings=settings_model(SETTINGS, "SecretManagerSettings"),
    provider="gcp",
    # Upstream publishes a manifest, not a chart: the store installs the provider.
    chart=None,
    # The cluster's workload pool, <project>.svc.id.goog: the store's install says which.
    token_audiences=(),
    # "Must be no larger than 64KiB" (SecretVersion.secret_data).
    max_secret_bytes=65_536,
    clusters=("gcp",),
    default_identity="workloadIdentity",
    install=_secret_manager,
    # A project ID (6-30 lower-case letters, digits or hyphens) or number, and a secret ID of
    # 1-255 letters, digits, '-' or '_' (Secret Manager API, projects.secrets).
    existing_secret=ExistingSecretForm(
        pattern=r"projects/(?:[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,20})/secrets/[A-Za-z0-9_-]{1,255}",
        form="the secret's name, projects/<project>/secrets/<id>, without a version "
        "(`gcloud secrets describe <id> --format 'value(name)'`)",
    ),
    # GKE's add-on reads Secret Manager with the pod's Workload Identity Federation principal.
    add_on=ManagedAddOn(title="GKE's Secret Manager add-on", identities=("workloadIdentity",)),
)

WORKLOAD_IDENTITY: IdentityMode[Gke, WorkloadPrincipal] = IdentityMode(
    name="workloadIdentity",
    title="Workload Identity Federation for GKE, the service account as the principal",
    settings=settings_model(SETTINGS, "WorkloadIdentitySettings"),
    store=SECRET_MANAGER,
    clusters=("gcp",),
    # Every service account gets a federated token; Secret Manager refuses the version to a
    # principal without the role on the secret.
    denials=("Permission 'secretmanager.versions.access' denied",),
    install=_workload_identity,
)

CLUSTERS = (GKE,)
STORES = (SECRET_MANAGER,)
IDENTITIES = (WORKLOAD_IDENTITY,)

"""The config keys of the GKE cluster source, the Secret Manager store and Workload Identity
Federation for GKE. Importing this module needs no SDK."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated

from pydantic import Field, model_validator

from secretstore_csi import PROJECT
from secretstore_csi.gcp import names
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
)

# "It must be 6 to 30 lowercase letters, digits, or hyphens. It must start with a letter.
# Trailing hyphens are prohibited." (Resource Manager API, Project.projectId)
PROJECT_ID = r"[a-z][a-z0-9-]{4,28}[a-z0-9]"

# Google names a region `<geography>-<direction><number>` and a zone `<region>-<letter>`
# ("Regions and zones", Compute Engine). The geographies and directions are those Google's
# regions use. A well-formed name of a region that does not exist is GKE's to refuse.
_GEOGRAPHIES = ("africa", "asia", "australia", "europe", "me", "northamerica", "southamerica", "us")
_DIRECTIONS = ("central", "east", "north", "northeast", "northwest", "south", "southeast", "southwest", "west")
REGION = rf"(?:{'|'.join(_GEOGRAPHIES)})-(?:{'|'.join(_DIRECTIONS)})[1-9][0-9]?"
ZONE = rf"{REGION}-[a-z]"

# GKE quotas and limits: at most 1,000 nodes per node pool zone.
GkeNodeCount = Annotated[int, node_count(1000, "GKE allows at most 1000 nodes in a node pool per zone")]

# "A secret ID is a string with a maximum length of 255 characters and can contain uppercase
# and lowercase letters, numerals, and the hyphen (-) and underscore (_) characters."
# (Secret Manager API, projects.secrets.create)
SECRET_ID_MAX = 255
SECRET_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{SECRET_ID_MAX}}}")

WHERE = (
    "set `pulumi config set gcp:zone <zone>` for a zonal cluster (the fastest to create), or "
    "`gcp:region <region>` for a regional one"
)


def workload_pool(project: str) -> str:
    """The cluster's workload identity pool, and the audience its service-account tokens need."""
    return f"{project}.svc.id.goog"


# "can be up to 40 characters with the following restrictions: Lowercase letters, numbers,
# and hyphens only. Must start with a letter. Must end with a number or a letter." (GKE API,
# projects.locations.clusters, Cluster.name)
GKE_CLUSTER_NAME = r"[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?"


class GcpClusterSettings(ManagedClusterSettings):
    CREATED_ONLY = (*ManagedClusterSettings.CREATED_ONLY, "node_machine_type", "deletion_protection")

    existing_cluster: Annotated[
        str | None,
        Accepted(
            matching(GKE_CLUSTER_NAME),
            "expected the name of a GKE cluster at gcp:zone or gcp:region: 1-40 lower-case letters, digits or '-', "
            "starting with a letter and ending with a letter or digit (`gcloud container clusters list`)",
        ),
    ] = None
    project: Annotated[
        str,
        Accepted(
            matching(PROJECT_ID),
            "expected a Google Cloud project ID: 6-30 lower-case letters, digits or hyphens, starting "
            "with a letter and not ending with a hyphen; set it with `pulumi config set gcp:project <id>`",
        ),
    ] = Field(alias="gcp:project")
    zone: Annotated[
        str | None,
        Accepted(
            names.zone,
            "expected a Google Cloud zone, a region and a letter it has, such as us-central1-a "
            "(`gcloud compute zones list`)",
        ),
    ] = Field(default=None, alias="gcp:zone")
    region: Annotated[
        str | None,
        Accepted(
            names.region,
            "expected a Google Cloud region, such as us-central1 or europe-west1 (`gcloud compute regions list`)",
        ),
    ] = Field(default=None, alias="gcp:region")
    node_machine_type: Annotated[
        str,
        Accepted(
            names.machine_type,
            "expected a Compute Engine machine type, such as e2-standard-2: a series and type with one of the "
            "vCPU counts Google makes of it, a shared-core or custom type (`gcloud compute machine-types list`)",
        ),
    ] = "e2-standard-2"
    node_desired_count: GkeNodeCount = 2
    node_min_count: GkeNodeCount = 1
    node_max_count: GkeNodeCount = 3
    deletion_protection: Boolean = True
    """GKE refuses to delete a protected cluster: `pulumi destroy` needs it false first."""

    @model_validator(mode="after")
    def _a_zone_or_a_region(self) -> GcpClusterSettings:
        if self.zone is None and self.region is None:
            raise line(f"gcp:zone and gcp:region are not set: {WHERE}")
        if self.zone is not None and self.region is not None and not self.zone.startswith(f"{self.region}-"):
            raise line(
                f"gcp:zone = {self.zone!r}, gcp:region = {self.region!r}: expected a zone of gcp:region, "
                f"such as {self.region}-a, or only one of the two ({WHERE})"
            )
        return self

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        from secretstore_csi.gcp import existing

        found = existing.cluster(self)
        if isinstance(found, Missing):
            return [
                f"{PROJECT}:existingCluster = {shown(self.existing_cluster)}: no GKE cluster of that name can be "
                f"read in project {self.project} at {self.location} (Google said: {found.reason}); expected a "
                f"cluster there (`gcloud container clusters list --project {self.project}`), at gcp:zone for a "
                "zonal cluster or gcp:region for a regional one"
            ]
        if isinstance(found, existing.FoundGkeCluster) and platform.add_on and not found.secret_manager_add_on:
            return [
                f"{PROJECT}:install = 'addon': cluster {found.name} does not run GKE's Secret Manager add-on, and "
                "the stack changes no cluster it does not own: turn it on (`gcloud container clusters update "
                f"{found.name} --location {found.location} --enable-secret-manager`), or use helm"
            ]
        if isinstance(found, existing.FoundGkeCluster) and found.autopilot and not platform.add_on:
            return [
                f"{PROJECT}:existingCluster = {shown(self.existing_cluster)}: the cluster is Autopilot, which refuses "
                "the privileged DaemonSets of the Secrets Store CSI Driver and its provider: expected a Standard "
                f"cluster, or {PROJECT}:install addon (GKE's Secret Manager add-on)"
            ]
        return []

    @property
    def location(self) -> str:
        """Where the cluster is: the zone when one is set (a zonal cluster), else the region."""
        location = self.zone or self.region
        assert location is not None
        return location

    @property
    def workload_pool(self) -> str:
        return workload_pool(self.project)


def secret_id(prefix: str, name: str) -> str:
    """A secret's ID in Secret Manager: the prefix and the secret's name."""
    return f"{prefix}{name}"


def secret_id_name(settings: SecretManagerSettings, workload: WorkloadSpec, secret: StoreSecret) -> str:
    """What follows the prefix in a secret's ID. A generated prefix starts with the workload's
    name; after a configured one, shared by every workload, the workload's name comes first."""
    if settings.secret_id_prefix is None or workload.legacy_names:
        return secret.name
    return workload.resource_name(secret)


SYNC_BY_ADD_ON = (
    "GKE's Secret Manager add-on does not sync mounted secrets to Kubernetes Secrets (Secret Manager docs, "
    "the add-on's limitations); GKE's own secret sync (secret_sync_config, GKE 1.34 and later) syncs through "
    "SecretSync objects of its own, which this stack does not make"
)


class SecretManagerSettings(SettingsModel):
    secret_id_prefix: Annotated[
        str | None,
        Accepted(
            matching(rf"[A-Za-z0-9_-]{{1,{SECRET_ID_MAX - 1}}}"),
            f"expected 1-{SECRET_ID_MAX - 1} letters, digits, '-' or '_': each secret's ID is this prefix and the "
            "secret's name, and Secret Manager takes letters, digits, '-' and '_'",
        ),
    ] = None
    """None: the workload's name and a random suffix, so that stacks sharing a project do not clash."""

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        if platform.add_on and platform.driver.sync_secret:
            return [f"{PROJECT}:syncSecret = true with {PROJECT}:install = 'addon': {SYNC_BY_ADD_ON}: expected helm"]
        if self.secret_id_prefix is None:
            return []
        for workload in workloads:
            for secret in workload.secrets:
                full_id = secret_id(self.secret_id_prefix, secret_id_name(self, workload, secret))
                if not SECRET_ID.fullmatch(full_id):
                    return [
                        f"{PROJECT}:secretIdPrefix = {self.secret_id_prefix!r}: the ID of secret {secret.name!r} "
                        f"would be {len(full_id)} characters, more than the {SECRET_ID_MAX} Secret Manager "
                        "takes; expected a shorter prefix"
                    ]
        return []


class WorkloadIdentitySettings(SettingsModel):
    """Workload Identity Federation has no settings: each secret grants its accessor role to
    exactly one principal, the workload's service account in its namespace."""

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        from secretstore_csi.gcp import existing

        cluster = platform.of(GcpClusterSettings)
        found = existing.cluster(cluster)
        if isinstance(found, existing.FoundGkeCluster) and not found.workload_pool:
            return [
                f"{PROJECT}:identity = 'workloadIdentity': cluster {found.name} has no workload pool, so its service "
                "accounts have no federated identity; turn Workload Identity Federation on (`gcloud container "
                f"clusters update {found.name} --location {found.location} --workload-pool "
                f"{workload_pool(cluster.project)}`) and run its node pools on the GKE metadata server"
            ]
        return []

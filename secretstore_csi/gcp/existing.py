"""A GKE cluster that exists: read with `gcp.container.get_cluster` when the config is
checked, once per stack, and reached with the user's Google credentials."""

from __future__ import annotations

from dataclasses import dataclass

from pulumi_gcp import container

from secretstore_csi.gcp.settings import GcpClusterSettings
from secretstore_csi.lookup import Missing, read

GKE_METADATA = "GKE_METADATA"


@dataclass(frozen=True)
class FoundGkeCluster:
    name: str
    project: str
    location: str
    endpoint: str
    certificate_authority: str
    """Base64 PEM, as a kubeconfig's certificate-authority-data takes it."""
    workload_pool: str
    """Empty when Workload Identity Federation is off."""
    pools_off_the_metadata_server: tuple[str, ...]
    """Node pools whose pods get the node's identity instead of their service account's."""
    autopilot: bool
    """Autopilot refuses the privileged DaemonSets of the driver and the provider."""
    secret_manager_add_on: bool
    """Whether GKE's Secret Manager add-on is on."""


def _cluster(settings: GcpClusterSettings) -> FoundGkeCluster | Missing:
    name = settings.existing_cluster
    assert name is not None
    found = read(lambda: container.get_cluster(name=name, location=settings.location, project=settings.project))
    if isinstance(found, Missing):
        return found
    authorities = [auth.cluster_ca_certificate for auth in found.master_auths or [] if auth.cluster_ca_certificate]
    if not found.endpoint or not authorities:
        return Missing("GKE reports no endpoint or cluster CA certificate")
    pools = [config.workload_pool for config in found.workload_identity_configs or [] if config.workload_pool]
    off = tuple(
        pool.name
        for pool in found.node_pools or []
        if not any(
            metadata.mode == GKE_METADATA
            for node in pool.node_configs or []
            for metadata in node.workload_metadata_configs or []
        )
    )
    return FoundGkeCluster(
        name=found.name or name,
        project=settings.project,
        location=settings.location,
        endpoint=found.endpoint,
        certificate_authority=authorities[0],
        workload_pool=pools[0] if pools else "",
        pools_off_the_metadata_server=off,
        autopilot=bool(found.enable_autopilot),
        secret_manager_add_on=any(config.enabled for config in found.secret_manager_configs or []),
    )


def cluster(settings: GcpClusterSettings) -> FoundGkeCluster | Missing | None:
    """The cluster `existingCluster` names, what is missing, or None for a cluster the stack
    creates."""
    if settings.existing_cluster is None:
        return None
    return settings.remembered("cluster", lambda: _cluster(settings))

"""The GKE cluster: one the stack creates (Standard, with Workload Identity Federation for
GKE and one autoscaled node pool on the GKE metadata server), or one that exists, read with
`gcp.container.get_cluster`.

Standard, not Autopilot: the open-source driver and its providers run as privileged
DaemonSets with host paths, which Autopilot refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import pulumi
from pulumi_gcp import container, projects

from secretstore_csi.gcp import existing
from secretstore_csi.gcp.settings import GcpClusterSettings
from secretstore_csi.login import exec_kubeconfig
from secretstore_csi.model import DriverSettings
from secretstore_csi.seam import Cluster, KubernetesCluster, connect, was_at_top
from secretstore_csi.settings import PlatformConfig, go_duration_ns

CONTAINER_API = "container.googleapis.com"
AUTH_PLUGIN = "gke-gcloud-auth-plugin"
# The channel GKE enrolls new clusters in; the cluster's minor version must be offered there.
RELEASE_CHANNEL = "REGULAR"


def enable_api(
    name: str, project: str, service: str, parent: pulumi.Resource, aliases: list[pulumi.Alias] | None = None
) -> projects.Service:
    """Turns a Google API on for the project, and leaves it on at `pulumi destroy`: other
    workloads of the project may use it."""
    return projects.Service(
        name,
        project=project,
        service=service,
        disable_on_destroy=False,
        opts=pulumi.ResourceOptions(parent=parent, aliases=aliases),
    )


def kubeconfig(name: str, endpoint: str, ca_certificate: str) -> str:
    """A kubeconfig that logs in with gke-gcloud-auth-plugin, as `gcloud container clusters
    get-credentials` writes it: the caller's Google credentials, never a stored token."""
    return exec_kubeconfig(
        name,
        f"https://{endpoint}",
        ca_certificate,
        AUTH_PLUGIN,
        install_hint=(
            f"Install {AUTH_PLUGIN} (`gcloud components install {AUTH_PLUGIN}`), "
            "see https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl"
        ),
        provide_cluster_info=True,
    )


class Gke(Cluster, Protocol):
    """What Secret Manager and Workload Identity Federation read of a GKE cluster."""

    @property
    def project(self) -> str: ...

    @property
    def workload_pool(self) -> str:
        """The cluster's workload pool, `<project>.svc.id.goog`: the audience of its tokens."""
        ...

    @property
    def reported_workload_pool(self) -> pulumi.Output[str]:
        """The pool as the cluster reports it: IAM refuses a principal of a pool that does not
        exist yet, so the grants that name it wait for the cluster."""
        ...


def _cluster_name(project: str, location: str, name: str) -> str:
    """The kubeconfig's name for the cluster, as `gcloud container clusters get-credentials` gives it."""
    return f"gke_{project}_{location}_{name}"


class GkeCluster(pulumi.ComponentResource):
    """A GKE Standard cluster with Workload Identity, its node pool, and its Kubernetes provider."""

    outputs: Mapping[str, pulumi.Input[Any]]
    kubernetes: KubernetesCluster
    project: str
    workload_pool: str
    reported_workload_pool: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        settings: GcpClusterSettings,
        opts: pulumi.ResourceOptions | None = None,
        add_on: container.ClusterSecretManagerConfigArgs | None = None,
    ) -> None:
        """`add_on`: GKE's Secret Manager add-on to turn on (`install: addon`)."""
        # Before a platform held it, it was at the top of the stack.
        super().__init__(
            "secretstore-csi:gcp:GkeCluster",
            name,
            None,
            was_at_top(opts),
        )
        self.project = settings.project
        self.workload_pool = settings.workload_pool
        child = pulumi.ResourceOptions(parent=self)
        self.api = enable_api(f"{name}-container-api", settings.project, CONTAINER_API, self)
        self.gke = container.Cluster(
            f"{name}-gke",
            project=settings.project,
            location=settings.location,
            min_master_version=settings.kubernetes_version,
            release_channel=container.ClusterReleaseChannelArgs(channel=RELEASE_CHANNEL),
            workload_identity_config=container.ClusterWorkloadIdentityConfigArgs(workload_pool=settings.workload_pool),
            # The node pool below replaces the default one, so that it can change later
            # without replacing the cluster.
            remove_default_node_pool=True,
            initial_node_count=1,
            deletion_protection=settings.deletion_protection,
            secret_manager_config=add_on,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.api])),
        )
        self.node_pool = container.NodePool(
            f"{name}-nodes",
            project=settings.project,
            cluster=self.gke.name,
            location=settings.location,
            # In a regional cluster, per zone. GKE replaces a pool whose initial count changes;
            # after creation the autoscaler owns the count, between the minimum and maximum.
            initial_node_count=settings.node_desired_count,
            autoscaling=container.NodePoolAutoscalingArgs(
                min_node_count=settings.node_min_count, max_node_count=settings.node_max_count
            ),
            node_config=container.NodePoolNodeConfigArgs(
                machine_type=settings.node_machine_type,
                # Pods get the identity of their service account from the GKE metadata
                # server, never the node's.
                workload_metadata_config=container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
            ),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["initialNodeCount"])),
        )
        # The kubeconfig waits for the node pool: nothing the Kubernetes provider installs
        # can become ready before there are nodes to run it.
        config = pulumi.Output.all(
            self.gke.name, self.gke.endpoint, self.gke.master_auth.cluster_ca_certificate, self.node_pool.name
        ).apply(lambda v: kubeconfig(_cluster_name(settings.project, settings.location, v[0]), v[1], v[2] or ""))
        self.kubernetes = connect(name, pulumi.Output.secret(config), parent=self)
        self.reported_workload_pool = self.gke.workload_identity_config.apply(
            lambda wi: wi.workload_pool if wi and wi.workload_pool else settings.workload_pool
        )
        self.outputs = {
            "project": settings.project,
            "location": settings.location,
            "clusterName": self.gke.name,
            "workloadPool": settings.workload_pool,
        }
        self.register_outputs({"clusterName": self.gke.name})


class ExistingGkeCluster(pulumi.ComponentResource):
    """A GKE cluster that exists, and the Kubernetes provider that reaches it as the user."""

    outputs: Mapping[str, pulumi.Input[Any]]
    kubernetes: KubernetesCluster
    project: str
    workload_pool: str
    reported_workload_pool: pulumi.Output[str]

    def __init__(self, name: str, found: existing.FoundGkeCluster, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secretstore-csi:gcp:ExistingGkeCluster", name, None, opts)
        self.project = found.project
        self.workload_pool = found.workload_pool
        self.reported_workload_pool = pulumi.Output.from_input(found.workload_pool)
        if found.pools_off_the_metadata_server:
            pulumi.log.warn(
                f"Node pools {', '.join(found.pools_off_the_metadata_server)} of cluster {found.name} do not run on "
                "the GKE metadata server: their pods get the node's identity, and their mounts of Secret Manager "
                "secrets fail. Run the workloads on a pool with `--workload-metadata=GKE_METADATA`.",
                resource=self,
            )
        config = kubeconfig(
            _cluster_name(found.project, found.location, found.name), found.endpoint, found.certificate_authority
        )
        self.kubernetes = connect(name, pulumi.Output.secret(config), parent=self)
        self.outputs = {
            "project": found.project,
            "location": found.location,
            "clusterName": found.name,
            "workloadPool": found.workload_pool,
            "existingCluster": True,
        }
        self.register_outputs({"clusterName": found.name})


def add_on_config(driver: DriverSettings) -> container.ClusterSecretManagerConfigArgs:
    """GKE's Secret Manager add-on, with rotation at the stack's interval in seconds."""
    rotation = None
    if driver.rotation_poll_interval is not None:
        seconds = go_duration_ns(driver.rotation_poll_interval) // 10**9
        rotation = container.ClusterSecretManagerConfigRotationConfigArgs(enabled=True, rotation_interval=f"{seconds}s")
    return container.ClusterSecretManagerConfigArgs(enabled=True, rotation_config=rotation)


def build(name: str, config: PlatformConfig, opts: pulumi.ResourceOptions) -> Gke:
    settings = config.of(GcpClusterSettings)
    found = existing.cluster(settings)
    if found is None:
        return GkeCluster(name, settings, opts, add_on=add_on_config(config.driver) if config.add_on else None)
    # The config check refused a cluster that cannot be read.
    assert isinstance(found, existing.FoundGkeCluster), found
    return ExistingGkeCluster(name, found, opts)

"""The GKE cluster: Standard, with Workload Identity Federation for GKE and one autoscaled
node pool on the GKE metadata server.

Standard, not Autopilot: the open-source driver and its providers run as privileged
DaemonSets with host paths, which Autopilot refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import yaml
from pulumi_gcp import container, projects

from secretstore_csi.gcp.settings import GcpClusterSettings
from secretstore_csi.seam import connect, was_at_top
from secretstore_csi.settings import PlatformConfig

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
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": name,
                    "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca_certificate},
                }
            ],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": AUTH_PLUGIN,
                            "installHint": (
                                f"Install {AUTH_PLUGIN} (`gcloud components install {AUTH_PLUGIN}`), "
                                "see https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl"
                            ),
                            "provideClusterInfo": True,
                        }
                    },
                }
            ],
        },
        sort_keys=False,
    )


class GkeCluster(pulumi.ComponentResource):
    """A GKE Standard cluster with Workload Identity, its node pool, and its Kubernetes provider."""

    outputs: Mapping[str, pulumi.Input[Any]]

    def __init__(self, name: str, settings: GcpClusterSettings, opts: pulumi.ResourceOptions | None = None) -> None:
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
            workload_identity_config=container.ClusterWorkloadIdentityConfigArgs(
                workload_pool=settings.workload_pool
            ),
            # The node pool below replaces the default one, so that it can change later
            # without replacing the cluster.
            remove_default_node_pool=True,
            initial_node_count=1,
            deletion_protection=settings.deletion_protection,
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
                workload_metadata_config=container.NodePoolNodeConfigWorkloadMetadataConfigArgs(
                    mode="GKE_METADATA"
                ),
            ),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["initialNodeCount"])),
        )
        # The kubeconfig waits for the node pool: nothing the Kubernetes provider installs
        # can become ready before there are nodes to run it.
        config = pulumi.Output.all(
            self.gke.name, self.gke.endpoint, self.gke.master_auth.cluster_ca_certificate, self.node_pool.name
        ).apply(lambda v: kubeconfig(f"gke_{settings.project}_{settings.location}_{v[0]}", v[1], v[2] or ""))
        self.kubernetes = connect(name, pulumi.Output.secret(config), parent=self)
        self.outputs = {
            "project": settings.project,
            "location": settings.location,
            "clusterName": self.gke.name,
            "workloadPool": settings.workload_pool,
        }
        self.register_outputs({"clusterName": self.gke.name})


def build(name: str, config: PlatformConfig, opts: pulumi.ResourceOptions) -> GkeCluster:
    return GkeCluster(name, config.of(GcpClusterSettings), opts)

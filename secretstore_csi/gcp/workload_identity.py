"""Workload Identity Federation for GKE, with the service account as the principal itself.

Every Kubernetes service account of the cluster gets a federated token for the pool
`<project>.svc.id.goog`. What one of them may read is what IAM grants its principal:

    principal://iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/subject/ns/<namespace>/sa/<name>

No Google service account is involved, and the Kubernetes service account needs no
annotation: the provider uses the federated token as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import organizations

from secretstore_csi import PREFIX
from secretstore_csi.gcp.cluster import GkeCluster
from secretstore_csi.model import Workload
from secretstore_csi.seam import Cluster, IdentityBinding
from secretstore_csi.settings import StackConfig


def principal(project_number: str, pool: str, workload: Workload) -> str:
    """The IAM principal of exactly the workload's service account in its namespace."""
    return (
        f"principal://iam.googleapis.com/projects/{project_number}/locations/global/workloadIdentityPools/"
        f"{pool}/subject/ns/{workload.namespace}/sa/{workload.service_account}"
    )


@dataclass(frozen=True)
class WorkloadPrincipal:
    """The principal an identity mode hands Secret Manager, as an IAM member."""

    member: pulumi.Output[str]


class WorkloadIdentity(pulumi.ComponentResource):
    """The principal of the workload's service account; the project's number comes from the
    provider, not from config."""

    def __init__(
        self, name: str, cluster: GkeCluster, workload: Workload, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("secretstore-csi:gcp:WorkloadIdentity", name, None, opts)
        project = organizations.get_project_output(
            project_id=cluster.project, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.project_number: pulumi.Output[str] = project.number
        # The pool as the cluster reports it: GKE creates it with the project's first Workload
        # Identity cluster, and IAM refuses a principal of a pool that does not exist yet, so
        # the grants that name it wait for the cluster.
        pool = cluster.gke.workload_identity_config.apply(
            lambda config: config.workload_pool if config and config.workload_pool else cluster.workload_pool
        )
        self.member: pulumi.Output[str] = pulumi.Output.all(project.number, pool).apply(
            lambda values: principal(values[0], values[1], workload)
        )
        self.register_outputs({"member": self.member})


def build(stack: StackConfig, cluster: Cluster, workload: Workload) -> IdentityBinding:
    if not isinstance(cluster, GkeCluster):
        raise TypeError("Workload Identity Federation for GKE trusts a GKE cluster's workload pool")
    identity = WorkloadIdentity(PREFIX, cluster, workload)
    return IdentityBinding(
        reader=WorkloadPrincipal(member=identity.member),
        outputs={"workloadIdentityPrincipal": identity.member, "projectNumber": identity.project_number},
    )

"""Workload Identity Federation for GKE, with the service account as the principal itself.

Every Kubernetes service account of the cluster gets a federated token for the pool
`<project>.svc.id.goog`. What one of them may read is what IAM grants its principal:

    principal://iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/subject/ns/<namespace>/sa/<name>

No Google service account is involved, and the Kubernetes service account needs no
annotation: the provider uses the federated token as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_gcp import organizations

from secretstore_csi.gcp.cluster import Gke
from secretstore_csi.model import WorkloadSpec
from secretstore_csi.seam import IdentityBinding, was_at_top
from secretstore_csi.settings import PlatformConfig


def principal(project_number: str, pool: str, workload: WorkloadSpec) -> str:
    """The IAM principal of exactly the workload's service account in its namespace."""
    return (
        f"principal://iam.googleapis.com/projects/{project_number}/locations/global/workloadIdentityPools/"
        f"{pool}/subject/ns/{workload.namespace}/sa/{workload.service_account}"
    )


@dataclass(frozen=True)
class WorkloadPrincipal:
    """The principal an identity mode hands Secret Manager, as an IAM member."""

    member: pulumi.Output[str]


class WorkloadIdentityPool:
    """The cluster's workload pool and the project's number: read once, for every workload.
    Nothing is created: GKE made the pool with the project's first Workload Identity cluster."""

    def __init__(self, name: str, config: PlatformConfig, cluster: Gke, opts: pulumi.ResourceOptions) -> None:
        project = organizations.get_project_output(
            project_id=cluster.project, opts=pulumi.InvokeOutputOptions(parent=opts.parent)
        )
        self.project_number: pulumi.Output[str] = project.number
        self.pool = cluster.reported_workload_pool
        self.outputs: Mapping[str, pulumi.Input[Any]] = {"projectNumber": self.project_number}

    def grant(
        self, name: str, workload: WorkloadSpec, opts: pulumi.ResourceOptions
    ) -> IdentityBinding[WorkloadPrincipal]:
        identity = WorkloadIdentity(name, self, workload, opts)
        return IdentityBinding(
            reader=WorkloadPrincipal(member=identity.member),
            outputs={"workloadIdentityPrincipal": identity.member},
        )


class WorkloadIdentity(pulumi.ComponentResource):
    """The principal of the workload's service account."""

    def __init__(
        self, name: str, pool: WorkloadIdentityPool, workload: WorkloadSpec, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Before a workload held it, it was at the top of the stack.
        super().__init__(
            "secretstore-csi:gcp:WorkloadIdentity",
            name,
            None,
            was_at_top(opts, workload),
        )
        self.member: pulumi.Output[str] = pulumi.Output.all(pool.project_number, pool.pool).apply(
            lambda values: principal(values[0], values[1], workload)
        )
        self.register_outputs({"member": self.member})

"""EKS Pod Identity: the cluster's Pod Identity agent, once, hands each workload's pods
credentials for one role, through one association. No OIDC provider, no thumbprint, no
annotation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi_aws import eks as aws_eks
from pulumi_aws import iam as aws_iam

from secretstore_csi import ownership
from secretstore_csi.aws import existing, iam
from secretstore_csi.aws.cluster import Eks
from secretstore_csi.aws.secrets_manager import SecretReaderRole
from secretstore_csi.aws.settings import PodIdentitySettings
from secretstore_csi.model import WorkloadSpec
from secretstore_csi.seam import IdentityBinding, moved_from, was_at_top
from secretstore_csi.settings import PlatformConfig

AGENT = existing.POD_IDENTITY_AGENT
TYPE = "secretstore-csi:aws:PodIdentity"


class PodIdentityAgent(pulumi.ComponentResource):
    """The Pod Identity agent add-on: the one part per cluster. An existing cluster has it
    already (the config check made sure), unless `installPodIdentityAgent` lets the stack add it."""

    outputs: Mapping[str, pulumi.Input[Any]]
    agent: aws_eks.Addon | None

    def __init__(
        self, name: str, config: PlatformConfig, cluster: Eks, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("secretstore-csi:aws:PodIdentityAgent", name, None, opts)
        self.cluster = cluster
        self.outputs = {}
        self.register_outputs({})
        if cluster.found is not None and not config.of(PodIdentitySettings).install_pod_identity_agent:
            self.agent = None
            return
        # pulumi-eks has no option for the agent; its version is the newest EKS offers for
        # the cluster's Kubernetes version.
        version = aws_eks.get_addon_version_output(
            addon_name=AGENT,
            kubernetes_version=cluster.kubernetes_version,
            most_recent=True,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.agent = aws_eks.Addon(
            f"{name}-pod-identity-agent",
            cluster_name=cluster.cluster_name,
            addon_name=AGENT,
            addon_version=version.version,
            tags=ownership.owner_tags() if cluster.found is not None else None,
            # It was in the PodIdentity component of the stack's single workload.
            opts=pulumi.ResourceOptions(parent=self, aliases=moved_from(name, TYPE)),
        )

    def grant(
        self, name: str, workload: WorkloadSpec, opts: pulumi.ResourceOptions
    ) -> IdentityBinding[SecretReaderRole]:
        identity = PodIdentity(name, self.cluster, workload, opts)
        return IdentityBinding(
            reader=SecretReaderRole(identity.role),
            # The provider asks the Pod Identity agent instead of reading a role annotation.
            parameters={"usePodIdentity": "true"},
            ready=[*([self.agent] if self.agent else []), identity.association],
            outputs={
                "secretReaderRoleArn": identity.role.arn,
                "podIdentityAssociationArn": identity.association.association_arn,
            },
        )


class PodIdentity(pulumi.ComponentResource):
    """A role only Pod Identity may assume for `workload`'s service account, and the
    association between them."""

    def __init__(
        self, name: str, cluster: Eks, workload: WorkloadSpec, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Before a workload held it, it was at the top of the stack.
        super().__init__(TYPE, name, None, was_at_top(opts, workload))
        child = pulumi.ResourceOptions(parent=self)
        namespace, account = workload.namespace, workload.service_account
        self.role = aws_iam.Role(
            iam.role_name(name),
            description=f"Assumed through EKS Pod Identity by {workload.subject}",
            assume_role_policy=cluster.cluster_arn.apply(
                lambda arn: iam.pod_identity_trust_policy(arn, namespace, account)
            ),
            opts=child,
        )
        self.association = aws_eks.PodIdentityAssociation(
            f"{name}-pod-identity",
            cluster_name=cluster.cluster_name,
            namespace=namespace,
            service_account=account,
            role_arn=self.role.arn,
            opts=child,
        )
        self.register_outputs({"role_arn": self.role.arn, "association_arn": self.association.association_arn})

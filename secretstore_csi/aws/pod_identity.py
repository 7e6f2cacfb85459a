"""EKS Pod Identity: the cluster's Pod Identity agent hands the workload's pods credentials
for one role, through one association. No OIDC provider, no thumbprint, no annotation."""

from __future__ import annotations

import pulumi
from pulumi_aws import eks as aws_eks
from pulumi_aws import iam as aws_iam

from secretstore_csi import PREFIX
from secretstore_csi.aws import iam
from secretstore_csi.aws.cluster import EksCluster
from secretstore_csi.aws.secrets_manager import SecretReaderRole
from secretstore_csi.aws.settings import AwsClusterSettings
from secretstore_csi.model import Workload
from secretstore_csi.seam import Cluster, IdentityBinding
from secretstore_csi.settings import StackConfig

AGENT = "eks-pod-identity-agent"


class PodIdentity(pulumi.ComponentResource):
    """The agent add-on, a role only Pod Identity may assume for `workload`'s service
    account, and the association between them."""

    def __init__(
        self,
        name: str,
        cluster: EksCluster,
        kubernetes_version: str,
        workload: Workload,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("secretstore-csi:aws:PodIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cluster_name = cluster.eks.eks_cluster.name
        # pulumi-eks has no option for the agent; its version is the newest EKS offers for
        # the cluster's Kubernetes version.
        version = aws_eks.get_addon_version_output(
            addon_name=AGENT, kubernetes_version=kubernetes_version, most_recent=True,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.agent = aws_eks.Addon(
            f"{name}-pod-identity-agent",
            cluster_name=cluster_name,
            addon_name=AGENT,
            addon_version=version.version,
            opts=child,
        )
        namespace, account = workload.namespace, workload.service_account
        self.role = aws_iam.Role(
            f"{name}-secret-reader",
            description=f"Assumed through EKS Pod Identity by {workload.subject}",
            assume_role_policy=cluster.eks.eks_cluster.arn.apply(
                lambda arn: iam.pod_identity_trust_policy(arn, namespace, account)
            ),
            opts=child,
        )
        self.association = aws_eks.PodIdentityAssociation(
            f"{name}-pod-identity",
            cluster_name=cluster_name,
            namespace=namespace,
            service_account=account,
            role_arn=self.role.arn,
            opts=child,
        )
        self.register_outputs({"role_arn": self.role.arn, "association_arn": self.association.association_arn})


def build(stack: StackConfig, cluster: Cluster, workload: Workload) -> IdentityBinding:
    if not isinstance(cluster, EksCluster):
        raise TypeError("EKS Pod Identity needs an EKS cluster")
    identity = PodIdentity(PREFIX, cluster, stack.of(AwsClusterSettings).kubernetes_version, workload)
    return IdentityBinding(
        reader=SecretReaderRole(identity.role),
        # The provider asks the Pod Identity agent instead of reading a role annotation.
        parameters={"usePodIdentity": "true"},
        ready=[identity.agent, identity.association],
        outputs={
            "secretReaderRoleArn": identity.role.arn,
            "podIdentityAssociationArn": identity.association.association_arn,
        },
    )

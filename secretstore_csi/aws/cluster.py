"""The EKS cluster: API authentication, the default VPC and one self-managed node group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_eks as eks

from secretstore_csi.aws.settings import AwsClusterSettings
from secretstore_csi.seam import MOVED_FROM_STACK, connect, was_at_top
from secretstore_csi.settings import PlatformConfig


class EksCluster(pulumi.ComponentResource):
    """An EKS cluster and the Kubernetes provider that reaches it."""

    outputs: Mapping[str, pulumi.Input[Any]]

    def __init__(self, name: str, settings: AwsClusterSettings, opts: pulumi.ResourceOptions | None = None) -> None:
        # Before a platform held it, it was at the top of the stack.
        super().__init__(
            "secretstore-csi:aws:EksCluster",
            name,
            None,
            was_at_top(opts),
        )
        self.region = settings.region
        self.kubernetes_version = settings.kubernetes_version
        self.eks = eks.Cluster(
            f"{name}-cluster",
            version=settings.kubernetes_version,
            authentication_mode=eks.AuthenticationMode.API,
            instance_type=settings.node_instance_type,
            desired_capacity=settings.node_desired_count,
            min_size=settings.node_min_count,
            max_size=settings.node_max_count,
            # IRSA builds its OIDC provider itself; Pod Identity needs none.
            create_oidc_provider=False,
            opts=pulumi.ResourceOptions(parent=self, aliases=MOVED_FROM_STACK),
        )
        self.kubernetes = connect(name, pulumi.Output.secret(self.eks.kubeconfig_json), parent=self)
        self.outputs = {"region": settings.region, "clusterName": self.eks.eks_cluster.name}
        self.register_outputs({"clusterName": self.outputs["clusterName"]})


def build(name: str, config: PlatformConfig, opts: pulumi.ResourceOptions) -> EksCluster:
    return EksCluster(name, config.of(AwsClusterSettings), opts)

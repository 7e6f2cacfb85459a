"""The EKS cluster: one the stack creates (API authentication, the default VPC and one
self-managed node group), or one that exists, read with `aws.eks.get_cluster`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import pulumi
import pulumi_eks as eks

from secretstore_csi.aws import existing
from secretstore_csi.aws.settings import AwsClusterSettings
from secretstore_csi.seam import MOVED_FROM_STACK, Cluster, KubernetesCluster, connect, was_at_top
from secretstore_csi.settings import PlatformConfig


class Eks(Cluster, Protocol):
    """What IRSA and Pod Identity read of an EKS cluster, created or existing."""

    @property
    def cluster_name(self) -> pulumi.Output[str]: ...

    @property
    def cluster_arn(self) -> pulumi.Output[str]: ...

    @property
    def issuer_url(self) -> pulumi.Output[str]:
        """The cluster's OIDC issuer, https://..."""
        ...

    @property
    def issuer(self) -> pulumi.Output[str]:
        """The issuer without https://: the prefix of IRSA's condition keys."""
        ...

    @property
    def kubernetes_version(self) -> str: ...

    @property
    def found(self) -> existing.FoundEksCluster | None:
        """The existing cluster as the data source read it; None for a created one."""
        ...


class EksCluster(pulumi.ComponentResource):
    """An EKS cluster the stack creates, and the Kubernetes provider that reaches it."""

    outputs: Mapping[str, pulumi.Input[Any]]
    kubernetes: KubernetesCluster
    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    issuer_url: pulumi.Output[str]
    issuer: pulumi.Output[str]
    kubernetes_version: str
    found: existing.FoundEksCluster | None = None

    def __init__(self, name: str, settings: AwsClusterSettings, opts: pulumi.ResourceOptions | None = None) -> None:
        # Before a platform held it, it was at the top of the stack.
        super().__init__(
            "secretstore-csi:aws:EksCluster",
            name,
            None,
            was_at_top(opts),
        )
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
        self.cluster_name = self.eks.eks_cluster.name
        self.cluster_arn = self.eks.eks_cluster.arn
        self.issuer_url = self.eks.oidc_provider_url
        self.issuer = self.eks.oidc_issuer
        self.kubernetes = connect(name, pulumi.Output.secret(self.eks.kubeconfig_json), parent=self)
        self.outputs = {"region": settings.region, "clusterName": self.cluster_name}
        self.register_outputs({"clusterName": self.outputs["clusterName"]})


class ExistingEksCluster(pulumi.ComponentResource):
    """An EKS cluster that exists, and the Kubernetes provider that reaches it as the user."""

    outputs: Mapping[str, pulumi.Input[Any]]
    kubernetes: KubernetesCluster
    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    issuer_url: pulumi.Output[str]
    issuer: pulumi.Output[str]
    kubernetes_version: str
    found: existing.FoundEksCluster | None

    def __init__(self, name: str, found: existing.FoundEksCluster, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secretstore-csi:aws:ExistingEksCluster", name, None, opts)
        self.found = found
        self.cluster_name = pulumi.Output.from_input(found.name)
        self.cluster_arn = pulumi.Output.from_input(found.arn)
        self.issuer_url = pulumi.Output.from_input(found.issuer_url)
        self.issuer = pulumi.Output.from_input(found.issuer_url.removeprefix("https://"))
        self.kubernetes_version = found.version
        self.kubernetes = connect(name, pulumi.Output.secret(found.kubeconfig()), parent=self)
        self.outputs = {"region": found.region, "clusterName": found.name, "existingCluster": True}
        self.register_outputs({"clusterName": found.name})


def build(name: str, config: PlatformConfig, opts: pulumi.ResourceOptions) -> Eks:
    settings = config.of(AwsClusterSettings)
    found = existing.cluster(settings)
    if found is None:
        return EksCluster(name, settings, opts)
    # The config check refused a cluster that cannot be read.
    assert isinstance(found, existing.FoundEksCluster), found
    return ExistingEksCluster(name, found, opts)

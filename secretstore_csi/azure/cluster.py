"""The AKS cluster: one the stack creates (a resource group, an OIDC issuer, Azure CNI with
Calico, one node pool), or one that exists, read with `containerservice.get_managed_cluster`."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any, Protocol

import pulumi
from pulumi_azure_native import containerservice, resources

from secretstore_csi.azure import existing
from secretstore_csi.azure.settings import AzureClusterSettings
from secretstore_csi.model import DriverSettings
from secretstore_csi.seam import MOVED_FROM_STACK, Cluster, KubernetesCluster, connect, was_at_top
from secretstore_csi.settings import PlatformConfig


def dns_prefix(name: str, stack: str) -> str:
    """A DNS prefix for the cluster's API server: 1-54 letters, digits and hyphens."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", f"{name}-{stack}".lower()).strip("-")
    return cleaned[:54].rstrip("-")


def decode_kubeconfig(credentials: Any) -> str:
    return base64.b64decode(credentials.kubeconfigs[0].value).decode()


class Aks(Cluster, Protocol):
    """What Key Vault and the Entra identities read of an AKS cluster, created or existing."""

    @property
    def resource_group_name(self) -> pulumi.Output[str]:
        """Where each workload's vault and identity go: the cluster's resource group."""
        ...

    @property
    def issuer_url(self) -> pulumi.Output[str]:
        """The cluster's OIDC issuer, which each federated credential trusts."""
        ...

    @property
    def cluster_name(self) -> pulumi.Output[str]:
        """The managed cluster's name, which an identity binding names."""
        ...


class AksCluster(pulumi.ComponentResource):
    """A resource group holding an AKS cluster with an OIDC issuer, and its Kubernetes provider."""

    outputs: Mapping[str, pulumi.Input[Any]]
    kubernetes: KubernetesCluster
    resource_group_name: pulumi.Output[str]
    issuer_url: pulumi.Output[str]
    cluster_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        settings: AzureClusterSettings,
        opts: pulumi.ResourceOptions | None = None,
        add_on: Mapping[str, str] | None = None,
    ) -> None:
        """`add_on`: the config of the Key Vault add-on to turn on (`install: addon`)."""
        # Before a platform held it, it was at the top of the stack.
        super().__init__(
            "secretstore-csi:azure:AksCluster",
            name,
            None,
            was_at_top(opts),
        )
        child = pulumi.ResourceOptions(parent=self, aliases=MOVED_FROM_STACK)
        self.resource_group = resources.ResourceGroup(f"{name}-rg", opts=child)
        self.resource_group_name = self.resource_group.name
        self.aks = containerservice.ManagedCluster(
            f"{name}-aks",
            resource_group_name=self.resource_group.name,
            dns_prefix=dns_prefix(name, pulumi.get_stack()),
            kubernetes_version=settings.kubernetes_version,
            identity=containerservice.ManagedClusterIdentityArgs(
                type=containerservice.ResourceIdentityType.SYSTEM_ASSIGNED
            ),
            oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            addon_profiles={
                existing.DRIVER_ADD_ON: containerservice.ManagedClusterAddonProfileArgs(enabled=True, config=add_on)
            }
            if add_on is not None
            else None,
            security_profile=containerservice.ManagedClusterSecurityProfileArgs(
                workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True)
            ),
            network_profile=containerservice.ContainerServiceNetworkProfileArgs(
                network_plugin=containerservice.NetworkPlugin.AZURE,
                network_policy=containerservice.NetworkPolicy.CALICO,
            ),
            agent_pool_profiles=[
                containerservice.ManagedClusterAgentPoolProfileArgs(
                    name="system",
                    mode=containerservice.AgentPoolMode.SYSTEM,
                    type=containerservice.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
                    os_type=containerservice.OSType.LINUX,
                    vm_size=settings.node_vm_size,
                    count=settings.node_desired_count,
                    enable_auto_scaling=True,
                    min_count=settings.node_min_count,
                    max_count=settings.node_max_count,
                )
            ],
            # The autoscaler owns the node count after creation; do not fight it on `pulumi up`.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(ignore_changes=["agentPoolProfiles[0].count"])
            ),
        )
        self.cluster_name = self.aks.name
        self.issuer_url: pulumi.Output[str] = self.aks.oidc_issuer_profile.apply(
            lambda profile: profile.issuer_url if profile else ""
        )
        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=self.resource_group.name, resource_name=self.aks.name
        )
        self.kubernetes = connect(name, pulumi.Output.secret(credentials.apply(decode_kubeconfig)), parent=self)
        self.outputs = {
            "location": settings.location,
            "resourceGroupName": self.resource_group.name,
            "clusterName": self.aks.name,
            "oidcIssuerUrl": self.issuer_url,
        }
        self.register_outputs({"clusterName": self.aks.name, "oidcIssuerUrl": self.issuer_url})


class ExistingAksCluster(pulumi.ComponentResource):
    """An AKS cluster that exists, and the Kubernetes provider that reaches it as the user."""

    outputs: Mapping[str, pulumi.Input[Any]]
    kubernetes: KubernetesCluster
    resource_group_name: pulumi.Output[str]
    issuer_url: pulumi.Output[str]
    cluster_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        settings: AzureClusterSettings,
        found: existing.FoundAksCluster,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("secretstore-csi:azure:ExistingAksCluster", name, None, opts)
        self.resource_group_name = pulumi.Output.from_input(found.resource_group)
        self.cluster_name = pulumi.Output.from_input(found.name)
        self.issuer_url = pulumi.Output.from_input(found.oidc_issuer_url)
        kubeconfig = existing.user_kubeconfig(settings, found)
        # The config check refused credentials that cannot be listed.
        assert isinstance(kubeconfig, str), kubeconfig
        if found.network_policy is None:
            pulumi.log.warn(
                f"Cluster {found.name} enforces no NetworkPolicy: Vault in the cluster (store vault without "
                "vaultAddress) is then reachable from every pod.",
                resource=self,
            )
        self.kubernetes = connect(name, pulumi.Output.secret(kubeconfig), parent=self)
        self.outputs = {
            "resourceGroupName": found.resource_group,
            "clusterName": found.name,
            "oidcIssuerUrl": found.oidc_issuer_url,
            "existingCluster": True,
        }
        self.register_outputs({"clusterName": found.name})


def add_on_config(driver: DriverSettings) -> dict[str, str]:
    """The Key Vault add-on's config: rotation as AKS takes it, strings only (AKS docs,
    csi-secrets-store-configuration-options.md: enableSecretRotation, rotationPollInterval)."""
    if driver.rotation_poll_interval is None:
        return {"enableSecretRotation": "false"}
    return {"enableSecretRotation": "true", "rotationPollInterval": driver.rotation_poll_interval}


def build(name: str, config: PlatformConfig, opts: pulumi.ResourceOptions) -> Aks:
    settings = config.of(AzureClusterSettings)
    found = existing.cluster(settings)
    if found is None:
        return AksCluster(name, settings, opts, add_on=add_on_config(config.driver) if config.add_on else None)
    # The config check refused a cluster that cannot be read.
    assert isinstance(found, existing.FoundAksCluster), found
    return ExistingAksCluster(name, settings, found, opts)

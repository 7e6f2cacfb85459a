"""What the three axes hand each other and the Kubernetes layer: three small typed values.

- A **cluster** hands over a Kubernetes provider, made once, and its kubeconfig.
- An **identity binding** says how the trusted service account proves who it is: its
  annotations and labels, the SecretProviderClass parameters that name the identity, the
  principal the store grants read access to, and what the authorized pod must wait for.
- A **store binding** says what to install and mount: the provider, its chart and values,
  the token audiences, the SecretProviderClass parameters and the mounted files.

Stores and identities are built per workload, so that several workloads can each get their
own. The Kubernetes layer reads only these values; it never imports a cloud SDK.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi
from pulumi_kubernetes.provider import Provider

from secretstore_csi.charts import HelmChart

# Where every resource lived before each idea became a component: at the top of the stack.
MOVED_FROM_STACK = [pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]


@dataclass(frozen=True)
class KubernetesCluster:
    kubeconfig: pulumi.Output[str] | None
    """Its kubeconfig, marked secret; None for a cluster reached through the user's own."""

    provider: Provider
    """The one provider every Kubernetes resource of the stack uses."""

    kubelet_root_dir: str | None = None
    """Where the kubelet keeps pods, when not /var/lib/kubelet (MicroK8s, Rancher)."""


class Cluster(Protocol):
    """What a cluster source builds: a component with the cluster and the stack outputs."""

    kubernetes: KubernetesCluster
    outputs: Mapping[str, pulumi.Input[Any]]


DEMO = "secretstore-demo"
DEMO_TYPE = "secretstore-csi:kubernetes:SecretStoreDemo"


def moved_from_demo() -> list[pulumi.Alias]:
    """Where the Kubernetes provider and the Helm releases lived before the cluster and the
    driver got components of their own: in the demo's component."""
    return [pulumi.Alias(parent=pulumi.create_urn(DEMO, DEMO_TYPE))]


def connect(
    kubeconfig: pulumi.Output[str] | None,
    parent: pulumi.Resource,
    context: str | None = None,
    kubelet_root_dir: str | None = None,
) -> KubernetesCluster:
    """The Kubernetes provider for a cluster, made once, as a child of the cluster's component.
    Without a kubeconfig it reads the user's, as kubectl would."""
    provider = Provider(
        f"{DEMO}-k8s",
        kubeconfig=kubeconfig,
        context=context,
        opts=pulumi.ResourceOptions(parent=parent, aliases=moved_from_demo()),
    )
    return KubernetesCluster(kubeconfig=kubeconfig, provider=provider, kubelet_root_dir=kubelet_root_dir)


@dataclass(frozen=True)
class IdentityBinding:
    reader: Any
    """The principal the store grants read access to; its type is its cloud's (for example
    an IAM role, or an Entra service principal)."""

    service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    parameters: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """SecretProviderClass parameters that name the identity; every value is a string."""
    ready: Sequence[pulumi.Resource] = ()
    """What must exist before the authorized pod can mount, such as a federated credential."""
    outputs: Mapping[str, pulumi.Input[Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class StoreBinding:
    provider: str
    """The SecretProviderClass `spec.provider`."""
    chart: HelmChart | None
    """The provider's chart, which the Kubernetes layer installs in kube-system next to the
    driver; None when the store installs its provider itself (Vault, with its server)."""
    chart_values: Mapping[str, Any]
    """Values for the provider chart. A chart that bundles the driver must get it turned off
    here: the driver is installed once, as its own release."""
    token_audiences: Sequence[str]
    parameters: Mapping[str, pulumi.Input[str]]
    """SecretProviderClass parameters that name the store and the objects; all strings."""
    mounted_files: Sequence[str]
    """Every file the SecretProviderClass mounts, relative to the mount; the demo serves the
    first on /read."""
    ready: Sequence[pulumi.Resource] = ()
    """What must exist before the authorized pod can mount: the secrets, their grants."""
    outputs: Mapping[str, pulumi.Input[Any]] = field(default_factory=dict)

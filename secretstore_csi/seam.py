"""What the parts hand each other: a cluster, then what each axis installs once per cluster,
then what it grants each workload.

- A **cluster** hands over a Kubernetes provider, made once, and its kubeconfig.
- An **identity mode** installs what a cluster needs once (an IAM OIDC provider, the Pod
  Identity agent), then grants each workload a principal that trusts exactly its service
  account: an `IdentityBinding`, generic in the principal's type.
- A **store** installs its provider once (a chart, objects of its own, a Vault server), then
  grants each workload its secrets, readable by exactly that principal: a `StoreBinding`.

The protocols are generic in the principal, so that mypy rejects a catalog entry that pairs
an identity mode with a store that cannot grant its principal. The Kubernetes layer reads
only these values; it never imports a cloud SDK.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import pulumi
from pulumi_kubernetes.provider import Provider

from secretstore_csi.charts import HelmChart
from secretstore_csi.model import WorkloadSpec

if TYPE_CHECKING:
    from secretstore_csi.settings import PlatformConfig

# Where every resource lived before each idea became a component: at the top of the stack.
MOVED_FROM_STACK = [pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]

DEMO_TYPE = "secretstore-csi:kubernetes:SecretStoreDemo"


def top_aliases(workload: WorkloadSpec | None = None) -> list[pulumi.Alias]:
    """The alias of what was at the top of the stack before a platform or a workload held it:
    a platform's parts, and those of a stack's single workload (`legacy_names`). A listed
    workload's never were."""
    return MOVED_FROM_STACK if workload is None or workload.legacy_names else []


def was_at_top(opts: pulumi.ResourceOptions | None, workload: WorkloadSpec | None = None) -> pulumi.ResourceOptions:
    """`opts` with `top_aliases(workload)`. The engine applies a component's alias to its
    children too."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=top_aliases(workload)))


def moved_from(name: str, type_: str) -> list[pulumi.Alias]:
    """Where a resource lived before: in the component `name` of type `type_` at the top of
    the stack. The engine applies a component's alias to its children too, renaming those
    whose names start with the component's."""
    return [pulumi.Alias(parent=pulumi.create_urn(name, type_))]


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

    @property
    def kubernetes(self) -> KubernetesCluster: ...

    @property
    def outputs(self) -> Mapping[str, pulumi.Input[Any]]: ...


def connect(
    name: str,
    kubeconfig: pulumi.Output[str] | None,
    parent: pulumi.Resource,
    context: str | None = None,
    kubelet_root_dir: str | None = None,
) -> KubernetesCluster:
    """The Kubernetes provider for a cluster, made once, as a child of the cluster's component.
    Without a kubeconfig it reads the user's, as kubectl would."""
    old_name = f"{name}-demo-k8s"
    provider = Provider(
        f"{name}-k8s",
        kubeconfig=kubeconfig,
        context=context,
        # Its name before; before that, it lived in the demo's component.
        opts=pulumi.ResourceOptions(
            parent=parent,
            aliases=[
                pulumi.Alias(name=old_name),
                pulumi.Alias(name=old_name, parent=pulumi.create_urn(f"{name}-demo", DEMO_TYPE)),
            ],
        ),
    )
    return KubernetesCluster(kubeconfig=kubeconfig, provider=provider, kubelet_root_dir=kubelet_root_dir)


Principal = TypeVar("Principal")
Principal_co = TypeVar("Principal_co", covariant=True)
Principal_contra = TypeVar("Principal_contra", contravariant=True)
ClusterT = TypeVar("ClusterT", bound=Cluster)
ClusterT_co = TypeVar("ClusterT_co", bound=Cluster, covariant=True)
ClusterT_contra = TypeVar("ClusterT_contra", bound=Cluster, contravariant=True)


@dataclass(frozen=True)
class IdentityBinding(Generic[Principal_co]):
    """What an identity mode grants one workload."""

    reader: Principal_co
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
    """What a store grants one workload: its secrets, named in SecretProviderClass parameters."""

    parameters: Mapping[str, pulumi.Input[str]]
    """SecretProviderClass parameters that name the store and the objects; all strings."""
    mounted_files: Sequence[str]
    """Every file the SecretProviderClass mounts, relative to the mount; the demo serves the
    first on /read."""
    ready: Sequence[pulumi.Resource] = ()
    """What must exist before the authorized pod can mount: the secrets, their grants."""
    outputs: Mapping[str, pulumi.Input[Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderInstall:
    """How a store's CSI provider gets into the cluster, once, next to the shared driver."""

    provider: str
    """The SecretProviderClass `spec.provider`: the name the provider registers."""
    token_audiences: Sequence[pulumi.Input[str]]
    """The service-account tokens the driver must request for this provider."""
    chart: HelmChart | None = None
    """The provider's chart, which the Kubernetes layer installs in kube-system next to the
    driver; None when the store installs its provider itself."""
    chart_values: Mapping[str, Any] = field(default_factory=dict)
    """Values for the provider chart. A chart that bundles the driver must get it turned off
    here: the driver is installed once, as its own release."""
    ready: Sequence[pulumi.Resource] = ()
    """What a mount needs besides the driver: provider objects the store made itself, or the
    cloud's add-on."""
    add_on: bool = False
    """The cloud's managed add-on installs the driver and the provider: no Helm release, no
    token requests of the program's own."""
    csi_driver: str = "secrets-store.csi.k8s.io"
    """The CSI driver a pod's volume names; GKE's add-on registers one of its own."""


class IdentityInstall(Protocol[Principal_co]):
    """What an identity mode installs once per cluster, and how it grants each workload."""

    @property
    def outputs(self) -> Mapping[str, pulumi.Input[Any]]: ...

    def grant(self, name: str, workload: WorkloadSpec, opts: pulumi.ResourceOptions) -> IdentityBinding[Principal_co]:
        """The workload's principal, trusting exactly its service account; resources named `name-...`."""
        ...


class StoreInstall(Protocol[Principal_contra]):
    """What a store installs once per cluster, and how it grants each workload."""

    @property
    def install(self) -> ProviderInstall: ...

    @property
    def outputs(self) -> Mapping[str, pulumi.Input[Any]]: ...

    def grant(
        self,
        name: str,
        workload: WorkloadSpec,
        identity: IdentityBinding[Principal_contra],
        opts: pulumi.ResourceOptions,
    ) -> StoreBinding:
        """The workload's secrets, readable by exactly `identity.reader`; resources named `name-...`."""
        ...


class ClusterBuilder(Protocol[ClusterT_co]):
    def __call__(self, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions) -> ClusterT_co: ...


class IdentityInstaller(Protocol[ClusterT_contra, Principal_co]):
    def __call__(
        self, name: str, config: PlatformConfig, cluster: ClusterT_contra, opts: pulumi.ResourceOptions
    ) -> IdentityInstall[Principal_co]: ...


class StoreInstaller(Protocol[ClusterT_contra, Principal_contra]):
    def __call__(
        self, name: str, config: PlatformConfig, cluster: ClusterT_contra, opts: pulumi.ResourceOptions
    ) -> StoreInstall[Principal_contra]: ...

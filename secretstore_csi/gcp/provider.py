"""The GCP provider for the Secrets Store CSI driver, as its release v1.15.0 installs it.

No Helm repository publishes it: upstream installs `deploy/provider-gcp-plugin.yaml` with
kubectl. These are that manifest's objects, made with pulumi-kubernetes. They differ from it
in two places: its init container runs `busybox` without a tag, here pinned by digest; and
its ClusterRole lets the provider create a token for any service account, which it does not
need (see below). tests/gcp/test_provider.py compares them with the manifest, which is
vendored in tests/manifests/ and checked by its sha256.
"""

from __future__ import annotations

import pulumi
from pulumi_kubernetes.apps.v1 import DaemonSet, DaemonSetSpecArgs, DaemonSetUpdateStrategyArgs
from pulumi_kubernetes.core.v1 import (
    CapabilitiesArgs,
    ContainerArgs,
    EnvVarArgs,
    HostPathVolumeSourceArgs,
    HTTPGetActionArgs,
    PodSpecArgs,
    PodTemplateSpecArgs,
    ProbeArgs,
    ResourceRequirementsArgs,
    SeccompProfileArgs,
    SecurityContextArgs,
    ServiceAccount,
    TolerationArgs,
    VolumeArgs,
    VolumeMountArgs,
)
from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs
from pulumi_kubernetes.rbac.v1 import ClusterRole, ClusterRoleBinding, PolicyRuleArgs, RoleRefArgs, SubjectArgs

from secretstore_csi.seam import KubernetesCluster

VERSION = "v1.15.0"
# The v1.15.0 image, by the digest its CHANGELOG gives.
IMAGE = (
    "us-docker.pkg.dev/secretmanager-csi/secrets-store-csi-driver-provider-gcp/plugin"
    "@sha256:c87cfa3e8be097c0034f136fb56e37d76966430b69223c12d179398ea0584576"
)
# Upstream runs `busybox` untagged, which is whatever `latest` is on the day a node pulls it.
# busybox 1.37.0 by its index digest, as docker-library/repo-info records it
# (repos/busybox/remote/1.37.0.md at 01a70542).
INIT_IMAGE = "busybox:1.37.0@sha256:9db7b59979c38555a39def84a31fb98b5296952f9e3afd4f6f11f05b07adfab0"
NAMESPACE = "kube-system"
NAME = "secrets-store-csi-driver-provider-gcp"
DAEMONSET = "csi-secrets-store-provider-gcp"
# A directory the driver chart 1.6.0 reads by default (linux.additionalProvidersDirs); the
# provider listens on gcp.sock in it.
SOCKET_DIR = "/etc/kubernetes/secrets-store-csi-providers"
# The provider runs as this user, and needs the socket directory to be its own.
PROVIDER_UID = 1000


class GcpProvider(pulumi.ComponentResource):
    """The provider's ServiceAccount, its ClusterRole and binding, and its DaemonSet."""

    def __init__(self, name: str, cluster: KubernetesCluster, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("secretstore-csi:gcp:GcpProvider", name, None, opts)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        self.service_account = ServiceAccount(
            f"{name}-service-account", metadata=ObjectMetaArgs(name=NAME, namespace=NAMESPACE), opts=on_cluster
        )
        # It reads the pods' service accounts, on every mount, for their annotations.
        self.cluster_role = ClusterRole(
            f"{name}-role",
            metadata=ObjectMetaArgs(name=f"{NAME}-role"),
            rules=[
                # Upstream also grants serviceaccounts/token create, cluster-wide. v1.15.0 mints a
                # token only when the driver passes none (auth/auth.go, Token: generatePodSAToken
                # runs only if PodInfo.ServiceAccountTokens is empty), and the driver here always
                # requests one for the workload pool. Without that rule the provider cannot
                # mint a token for any service account of the cluster.
                PolicyRuleArgs(api_groups=[""], resources=["serviceaccounts"], verbs=["get"]),
            ],
            opts=on_cluster,
        )
        self.cluster_role_binding = ClusterRoleBinding(
            f"{name}-rolebinding",
            metadata=ObjectMetaArgs(name=f"{NAME}-rolebinding"),
            role_ref=RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=f"{NAME}-role"),
            subjects=[SubjectArgs(kind="ServiceAccount", name=NAME, namespace=NAMESPACE)],
            # Like `kubectl apply -f` of the manifest, all four at once: a binding may name a
            # role or an account that comes a moment later.
            opts=on_cluster,
        )
        labels = {"app": DAEMONSET}
        socket_mount = VolumeMountArgs(mount_path=SOCKET_DIR, name="providervol")
        self.daemonset = DaemonSet(
            f"{name}-daemonset",
            metadata=ObjectMetaArgs(name=DAEMONSET, namespace=NAMESPACE, labels=labels),
            spec=DaemonSetSpecArgs(
                update_strategy=DaemonSetUpdateStrategyArgs(type="RollingUpdate"),
                selector=LabelSelectorArgs(match_labels=labels),
                template=PodTemplateSpecArgs(
                    metadata=ObjectMetaArgs(labels=labels),
                    spec=PodSpecArgs(
                        service_account_name=NAME,
                        init_containers=[
                            ContainerArgs(
                                name="chown-provider-mount",
                                image=INIT_IMAGE,
                                command=["chown", f"{PROVIDER_UID}:{PROVIDER_UID}", SOCKET_DIR],
                                volume_mounts=[socket_mount],
                            )
                        ],
                        host_network=False,
                        host_pid=False,
                        host_ipc=False,
                        containers=[self._provider_container()],
                        volumes=[VolumeArgs(name="providervol", host_path=HostPathVolumeSourceArgs(path=SOCKET_DIR))],
                        tolerations=[
                            TolerationArgs(
                                key="kubernetes.io/arch", operator="Equal", value="arm64", effect="NoSchedule"
                            )
                        ],
                        node_selector={"kubernetes.io/os": "linux"},
                    ),
                ),
            ),
            opts=on_cluster,
        )
        self.register_outputs({})

    @staticmethod
    def _provider_container() -> ContainerArgs:
        return ContainerArgs(
            name="provider",
            image=IMAGE,
            security_context=SecurityContextArgs(
                run_as_user=PROVIDER_UID,
                run_as_group=PROVIDER_UID,
                allow_privilege_escalation=False,
                read_only_root_filesystem=True,
                seccomp_profile=SeccompProfileArgs(type="RuntimeDefault"),
                capabilities=CapabilitiesArgs(drop=["ALL"]),
            ),
            image_pull_policy="IfNotPresent",
            resources=ResourceRequirementsArgs(
                requests={"cpu": "50m", "memory": "100Mi"}, limits={"cpu": "50m", "memory": "100Mi"}
            ),
            env=[EnvVarArgs(name="TARGET_DIR", value=SOCKET_DIR)],
            volume_mounts=[
                VolumeMountArgs(mount_path=SOCKET_DIR, name="providervol", mount_propagation="None", read_only=False)
            ],
            liveness_probe=ProbeArgs(
                failure_threshold=3,
                http_get=HTTPGetActionArgs(path="/live", port=8095),
                initial_delay_seconds=5,
                timeout_seconds=10,
                period_seconds=30,
            ),
        )

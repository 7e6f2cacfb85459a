"""The Vault CSI provider, as the vault chart 0.34.1 installs it with `csi.enabled`, but made
here with pulumi-kubernetes, without the chart's ClusterRole.

That ClusterRole's one rule lets the provider create a token for any service account of the
cluster. vault-csi-provider 1.7.4 mints one only when the mount request holds no token for the
SecretProviderClass's audience (internal/auth/kubernetes_jwt.go: createJWTToken runs only when
ServiceAccountToken is empty; internal/config/config.go takes the driver's token for that
audience), and the driver here always requests `vault`. The chart has no value to leave the
rule out, so the provider's objects are the program's. tests/vault/test_csi_provider.py
compares them with the chart's rendering, field by field.
"""

from __future__ import annotations

import pulumi
from pulumi_kubernetes.apps.v1 import DaemonSet, DaemonSetSpecArgs, DaemonSetUpdateStrategyArgs
from pulumi_kubernetes.core.v1 import (
    CapabilitiesArgs,
    ConfigMap,
    ConfigMapVolumeSourceArgs,
    ContainerArgs,
    ContainerPortArgs,
    EmptyDirVolumeSourceArgs,
    EnvVarArgs,
    HostPathVolumeSourceArgs,
    HTTPGetActionArgs,
    PodSpecArgs,
    PodTemplateSpecArgs,
    ProbeArgs,
    SecurityContextArgs,
    ServiceAccount,
    VolumeArgs,
    VolumeMountArgs,
)
from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs
from pulumi_kubernetes.rbac.v1 import PolicyRuleArgs, Role, RoleBinding, RoleRefArgs, SubjectArgs

from secretstore_csi import charts

NAME = "vault-csi-provider"
# The chart's csi.image for 0.34.1. No public source gives its digest; the tag is the chart's.
IMAGE = "hashicorp/vault-csi-provider:1.7.4"
HMAC_SECRET = f"{NAME}-hmac-key"
# The directory the driver chart 1.6.0 reads by default (linux.providersDir).
PROVIDERS_DIR = "/var/run/secrets-store-csi-providers"
AGENT_SOCKET_DIR = "/var/run/vault"


CA_DIR = "/vault/tls"
CA_FILE = f"{CA_DIR}/ca.crt"
"""Where a Vault outside the cluster has its CA, in both containers."""


def agent_config(server_address: str, ca_cert: bool = False) -> str:
    """The Vault agent's config: the provider talks to the server through the agent's socket."""
    return (
        "vault {\n"
        f'    "address" = "{server_address}"\n' + (f'    "ca_cert" = "{CA_FILE}"\n' if ca_cert else "") + "}\n"
        "\n"
        "cache {}\n"
        "\n"
        'listener "unix" {\n'
        f'    address = "{AGENT_SOCKET_DIR}/agent.sock"\n'
        "    tls_disable = true\n"
        "}\n"
    )


class VaultCsiProvider(pulumi.ComponentResource):
    """The provider's ServiceAccount, its Role for the HMAC key, the agent's ConfigMap and the
    DaemonSet, in Vault's namespace."""

    def __init__(
        self,
        name: str,
        namespace: str,
        release: str,
        server_address: str,
        opts: pulumi.ResourceOptions | None = None,
        ca_cert: str | None = None,
    ) -> None:
        """`ca_cert`: the PEM of a Vault outside the cluster's CA, mounted at CA_FILE."""
        super().__init__("secretstore-csi:vault:VaultCsiProvider", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": release}
        ca_volumes: list[VolumeArgs] = []
        ca_mounts: list[VolumeMountArgs] = []
        depends: list[pulumi.Resource] = []
        if ca_cert is not None:
            self.ca = ConfigMap(
                f"{name}-vault-ca",
                metadata=ObjectMetaArgs(name=f"{NAME}-vault-ca", namespace=namespace, labels=labels),
                data={"ca.crt": ca_cert},
                opts=child,
            )
            depends.append(self.ca)
            ca_volumes.append(
                VolumeArgs(name="vault-ca", config_map=ConfigMapVolumeSourceArgs(name=f"{NAME}-vault-ca"))
            )
            ca_mounts.append(VolumeMountArgs(name="vault-ca", mount_path=CA_DIR, read_only=True))
        self.service_account = ServiceAccount(
            f"{name}-service-account",
            metadata=ObjectMetaArgs(name=NAME, namespace=namespace, labels=labels),
            opts=child,
        )
        self.config = ConfigMap(
            f"{name}-agent-config",
            metadata=ObjectMetaArgs(name=f"{NAME}-agent-config", namespace=namespace, labels=labels),
            data={"config.hcl": agent_config(server_address, ca_cert is not None)},
            opts=child,
        )
        # Its HMAC key for secret versions: read by name, and made once.
        self.role = Role(
            f"{name}-role",
            metadata=ObjectMetaArgs(name=f"{NAME}-role", namespace=namespace, labels=labels),
            rules=[
                PolicyRuleArgs(api_groups=[""], resources=["secrets"], verbs=["get"], resource_names=[HMAC_SECRET]),
                # Kubernetes cannot restrict `create` to a name.
                PolicyRuleArgs(api_groups=[""], resources=["secrets"], verbs=["create"]),
            ],
            opts=child,
        )
        self.role_binding = RoleBinding(
            f"{name}-rolebinding",
            metadata=ObjectMetaArgs(name=f"{NAME}-rolebinding", namespace=namespace, labels=labels),
            role_ref=RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name=f"{NAME}-role"),
            subjects=[SubjectArgs(kind="ServiceAccount", name=NAME, namespace=namespace)],
            opts=child,
        )
        self.daemonset = DaemonSet(
            f"{name}-daemonset",
            metadata=ObjectMetaArgs(name=NAME, namespace=namespace, labels=labels),
            spec=DaemonSetSpecArgs(
                update_strategy=DaemonSetUpdateStrategyArgs(type="RollingUpdate"),
                selector=LabelSelectorArgs(match_labels=labels),
                template=PodTemplateSpecArgs(
                    metadata=ObjectMetaArgs(labels=labels),
                    spec=PodSpecArgs(
                        host_network=False,
                        service_account_name=NAME,
                        containers=[_provider(ca_mounts), _agent(ca_mounts)],
                        volumes=[
                            VolumeArgs(name="providervol", host_path=HostPathVolumeSourceArgs(path=PROVIDERS_DIR)),
                            VolumeArgs(
                                name="agent-config", config_map=ConfigMapVolumeSourceArgs(name=f"{NAME}-agent-config")
                            ),
                            VolumeArgs(name="agent-unix-socket", empty_dir=EmptyDirVolumeSourceArgs(medium="Memory")),
                            *ca_volumes,
                        ],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(depends_on=[self.service_account, self.config, self.role_binding, *depends]),
            ),
        )
        self.register_outputs({})


def _ready_probe() -> ProbeArgs:
    return ProbeArgs(
        http_get=HTTPGetActionArgs(path="/health/ready", port=8080),
        failure_threshold=2,
        initial_delay_seconds=5,
        period_seconds=5,
        success_threshold=1,
        timeout_seconds=3,
    )


def _provider(extra_mounts: list[VolumeMountArgs]) -> ContainerArgs:
    return ContainerArgs(
        name=NAME,
        image=IMAGE,
        image_pull_policy="IfNotPresent",
        args=["--endpoint=/provider/vault.sock", "--log-level=info", f"--hmac-secret-name={HMAC_SECRET}"],
        env=[EnvVarArgs(name="VAULT_ADDR", value=f"unix://{AGENT_SOCKET_DIR}/agent.sock")],
        volume_mounts=[
            VolumeMountArgs(name="providervol", mount_path="/provider"),
            VolumeMountArgs(name="agent-unix-socket", mount_path=AGENT_SOCKET_DIR),
            *extra_mounts,
        ],
        liveness_probe=_ready_probe(),
        readiness_probe=_ready_probe(),
    )


def _agent(extra_mounts: list[VolumeMountArgs]) -> ContainerArgs:
    return ContainerArgs(
        name="vault-agent",
        image=charts.VAULT_IMAGE,
        image_pull_policy="IfNotPresent",
        command=["vault"],
        args=["agent", "-config=/etc/vault/config.hcl"],
        ports=[ContainerPortArgs(container_port=8200)],
        env=[EnvVarArgs(name="VAULT_LOG_LEVEL", value="info"), EnvVarArgs(name="VAULT_LOG_FORMAT", value="standard")],
        security_context=SecurityContextArgs(
            allow_privilege_escalation=False,
            capabilities=CapabilitiesArgs(drop=["ALL"]),
            read_only_root_filesystem=True,
            run_as_group=1000,
            run_as_non_root=True,
            run_as_user=100,
        ),
        volume_mounts=[
            VolumeMountArgs(
                name="agent-config", mount_path="/etc/vault/config.hcl", sub_path="config.hcl", read_only=True
            ),
            VolumeMountArgs(name="agent-unix-socket", mount_path=AGENT_SOCKET_DIR),
            *extra_mounts,
        ],
    )

"""The cloud-independent Kubernetes layer: the driver, the cloud's provider and the demo.

Everything here reaches the cluster through the kubeconfig in a `SecretStoreTarget`; no
cloud SDK is imported. The demo is the article's: the same hello-server twice, once as the
trusted service account (it serves the secret on /read) and once as `default` (its CSI
mount is refused, so the pod stays in ContainerCreating).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.apps.v1 import Deployment, DeploymentSpecArgs
from pulumi_kubernetes.core.v1 import (
    CapabilitiesArgs,
    ContainerArgs,
    ContainerPortArgs,
    CSIVolumeSourceArgs,
    EnvVarArgs,
    EnvVarSourceArgs,
    HTTPGetActionArgs,
    Namespace,
    PodSecurityContextArgs,
    PodSpecArgs,
    PodTemplateSpecArgs,
    ProbeArgs,
    ResourceRequirementsArgs,
    SeccompProfileArgs,
    SecretKeySelectorArgs,
    SecurityContextArgs,
    ServiceAccount,
    VolumeArgs,
    VolumeMountArgs,
)
from pulumi_kubernetes.helm.v3 import Release, RepositoryOptsArgs
from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs

from infra import charts
from infra.charts import HelmChart
from infra.config import DriverSettings, Workload, env_var_name
from infra.seam import SecretStoreTarget

SYSTEM_NAMESPACE = "kube-system"
CSI_DRIVER = "secrets-store.csi.k8s.io"
MOUNT_PATH = "/mnt/secrets-store"
VOLUME = "secrets-store-inline"
SYNCED_SECRET = "secretstore-synced"
AUTHORIZED = "hello-server-authorized"
UNAUTHORIZED = "hello-server-unauthorized"
# The hello-server image is built by ko on Chainguard's static base, which runs as this user.
DEMO_UID = 65532
DEMO_PORT = 8080


def driver_values(target: SecretStoreTarget, driver: DriverSettings) -> dict[str, Any]:
    """Values for the shared driver release."""
    values: dict[str, Any] = {
        # Since the provider charts stopped minting tokens, the driver must request a token
        # for each audience its provider exchanges; without them every mount fails.
        "tokenRequests": [{"audience": audience} for audience in target.token_audiences],
        # Installs the RBAC that lets the driver write the synced Kubernetes Secret.
        "syncSecret": {"enabled": driver.sync_secret},
        "enableSecretRotation": driver.rotation_poll_interval is not None,
    }
    if driver.rotation_poll_interval is not None:
        values["rotationPollInterval"] = driver.rotation_poll_interval
    return values


def secret_provider_class_spec(target: SecretStoreTarget, driver: DriverSettings) -> dict[str, Any]:
    spec: dict[str, Any] = {"provider": target.provider, "parameters": dict(target.parameters)}
    if driver.sync_secret:
        # The driver creates this Secret while a pod mounts the volume, and deletes it after.
        spec["secretObjects"] = [
            {
                "secretName": SYNCED_SECRET,
                "type": "Opaque",
                "data": [{"objectName": file, "key": file} for file in target.mounted_files],
            }
        ]
    return spec


def provider_values(target: SecretStoreTarget) -> dict[str, Any]:
    """Values for the cloud's provider release."""
    # Each provider chart bundles the driver as a subchart. It is installed once, as its
    # own release; a second copy collides on the CSIDriver, ServiceAccount and ClusterRoles.
    return {**target.provider_chart_values, "secrets-store-csi-driver": {"install": False}}


def secret_provider_class_name(target: SecretStoreTarget) -> str:
    return f"{target.provider}-secret-provider"


def _after(opts: pulumi.ResourceOptions, *dependencies: pulumi.Resource) -> pulumi.ResourceOptions:
    """`opts`, and created after `dependencies` (so destroyed before them)."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(dependencies)))


def _release(
    name: str,
    chart: HelmChart,
    values: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
) -> Release:
    return Release(
        name,
        name=chart.name,
        chart=chart.name,
        version=chart.version,
        repository_opts=RepositoryOptsArgs(repo=chart.repo),
        namespace=SYSTEM_NAMESPACE,
        values=values,
        opts=opts,
    )


def demo_deployment_args(
    name: str,
    workload: Workload,
    service_account: str,
    secret_provider_class: str,
    served_file: str,
    synced_files: Sequence[str] = (),
    annotations: Optional[Mapping[str, str]] = None,
) -> dict[str, Any]:
    """The arguments of one hello-server Deployment that mounts the secret store volume.

    It serves `served_file` on /read, and gets each of `synced_files` from the synced
    Kubernetes Secret as an environment variable. The pod passes the Pod Security Standard
    "restricted" profile.
    """
    labels = {"app.kubernetes.io/name": "hello-server", "app.kubernetes.io/instance": name}
    env = [EnvVarArgs(name="FILE", value=f"{MOUNT_PATH}/{served_file}")]
    env += [
        EnvVarArgs(
            name=env_var_name(file),
            value_from=EnvVarSourceArgs(
                secret_key_ref=SecretKeySelectorArgs(name=SYNCED_SECRET, key=file)
            ),
        )
        for file in synced_files
    ]
    container = ContainerArgs(
        name="hello-server",
        image=workload.image,
        ports=[ContainerPortArgs(name="http", container_port=DEMO_PORT)],
        env=env,
        volume_mounts=[VolumeMountArgs(name=VOLUME, mount_path=MOUNT_PATH, read_only=True)],
        readiness_probe=ProbeArgs(http_get=HTTPGetActionArgs(path="/", port="http")),
        resources=ResourceRequirementsArgs(
            requests={"cpu": "10m", "memory": "32Mi"},
            limits={"cpu": "100m", "memory": "64Mi"},
        ),
        security_context=SecurityContextArgs(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            capabilities=CapabilitiesArgs(drop=["ALL"]),
        ),
    )
    pod = PodSpecArgs(
        service_account_name=service_account,
        # The CSI driver asks the kubelet for its own token; the server needs none.
        automount_service_account_token=False,
        security_context=PodSecurityContextArgs(
            run_as_non_root=True,
            run_as_user=DEMO_UID,
            run_as_group=DEMO_UID,
            seccomp_profile=SeccompProfileArgs(type="RuntimeDefault"),
        ),
        containers=[container],
        volumes=[
            VolumeArgs(
                name=VOLUME,
                csi=CSIVolumeSourceArgs(
                    driver=CSI_DRIVER,
                    read_only=True,
                    volume_attributes={"secretProviderClass": secret_provider_class},
                ),
            )
        ],
    )
    return dict(
        metadata=ObjectMetaArgs(
            name=name, namespace=workload.namespace, labels=labels, annotations=annotations
        ),
        spec=DeploymentSpecArgs(
            replicas=1,
            selector=LabelSelectorArgs(match_labels=labels),
            template=PodTemplateSpecArgs(metadata=ObjectMetaArgs(labels=labels), spec=pod),
        ),
    )


class SecretStoreDemo(pulumi.ComponentResource):
    """The Secrets Store CSI driver, the cloud's provider, and the article's two demo pods."""

    namespace: pulumi.Output[str]
    service_account: pulumi.Output[str]
    synced_secret: Optional[pulumi.Output[str]]
    secret_provider_class: pulumi.Output[str]
    authorized_deployment: pulumi.Output[str]
    unauthorized_deployment: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        target: SecretStoreTarget,
        workload: Workload,
        driver: DriverSettings,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        super().__init__("secretstore-csi:kubernetes:SecretStoreDemo", name, None, opts)
        provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=target.kubeconfig, opts=pulumi.ResourceOptions(parent=self)
        )
        on_cluster = pulumi.ResourceOptions(parent=self, provider=provider)

        driver_release = _release(
            f"{name}-driver", charts.DRIVER, driver_values(target, driver), on_cluster
        )
        provider_release = _release(
            f"{name}-provider",
            target.provider_chart,
            provider_values(target),
            _after(on_cluster, driver_release),
        )
        releases: Sequence[pulumi.Resource] = [driver_release, provider_release]

        namespace_ready: list[pulumi.Resource] = []
        if workload.namespace != "default":
            namespace_ready.append(
                Namespace(
                    f"{name}-namespace",
                    metadata=ObjectMetaArgs(
                        name=workload.namespace,
                        # The API server itself then refuses any pod that is not hardened.
                        labels={
                            "pod-security.kubernetes.io/enforce": "restricted",
                            "pod-security.kubernetes.io/enforce-version": "latest",
                        },
                    ),
                    opts=on_cluster,
                )
            )
        in_namespace = _after(on_cluster, *namespace_ready)

        service_account = ServiceAccount(
            f"{name}-service-account",
            metadata=ObjectMetaArgs(
                name=workload.service_account,
                namespace=workload.namespace,
                annotations=dict(target.service_account_annotations) or None,
            ),
            automount_service_account_token=False,
            opts=in_namespace,
        )

        spc_name = secret_provider_class_name(target)
        # The SecretProviderClass CRD comes with the driver chart.
        secret_provider_class = k8s.apiextensions.CustomResource(
            f"{name}-secret-provider-class",
            api_version="secrets-store.csi.x-k8s.io/v1",
            kind="SecretProviderClass",
            metadata=ObjectMetaArgs(name=spc_name, namespace=workload.namespace),
            spec=secret_provider_class_spec(target, driver),
            opts=_after(in_namespace, *releases),
        )

        # Depending on the releases also makes destroy delete the pods before the driver;
        # pods whose CSI driver is gone hang in Terminating.
        before_pods = [*releases, secret_provider_class, service_account]
        authorized = Deployment(
            f"{name}-authorized",
            **demo_deployment_args(
                AUTHORIZED,
                workload,
                workload.service_account,
                spc_name,
                target.mounted_files[0],
                synced_files=target.mounted_files if driver.sync_secret else (),
            ),
            opts=_after(in_namespace, *before_pods, *target.identity_ready),
        )
        # Pulumi waits for a Deployment to become available; this one never can, by design.
        unauthorized = Deployment(
            f"{name}-unauthorized",
            **demo_deployment_args(
                UNAUTHORIZED,
                workload,
                "default",
                spc_name,
                target.mounted_files[0],
                # No synced env: its mount must fail for the reason the demo shows, not for
                # a missing Secret.
                annotations={"pulumi.com/skipAwait": "true"},
            ),
            opts=_after(in_namespace, *before_pods),
        )

        self.namespace = service_account.metadata.namespace
        self.service_account = service_account.metadata.name
        self.secret_provider_class = secret_provider_class.urn.apply(lambda _: spc_name)
        self.authorized_deployment = authorized.metadata.name
        self.unauthorized_deployment = unauthorized.metadata.name
        self.synced_secret = (
            secret_provider_class.urn.apply(lambda _: SYNCED_SECRET) if driver.sync_secret else None
        )
        self.register_outputs(
            {
                "synced_secret": self.synced_secret,
                "namespace": self.namespace,
                "service_account": self.service_account,
                "secret_provider_class": self.secret_provider_class,
                "authorized_deployment": self.authorized_deployment,
                "unauthorized_deployment": self.unauthorized_deployment,
            }
        )

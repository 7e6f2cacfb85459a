"""The article's demo: the same hello-server twice, once as the trusted service account (it
serves the secret on /read) and once as `default` (its CSI mount is refused, so the pod stays
in ContainerCreating), with the namespace, ServiceAccount and SecretProviderClass they use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
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
from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs

from secretstore_csi import demo_app
from secretstore_csi.kubernetes.csi_driver import CsiDriver
from secretstore_csi.model import DriverSettings, Workload, env_var_name
from secretstore_csi.seam import DEMO_TYPE, IdentityBinding, KubernetesCluster, StoreBinding

CSI_DRIVER = "secrets-store.csi.k8s.io"


def secret_provider_class_spec(
    store: StoreBinding, identity: IdentityBinding, driver: DriverSettings
) -> dict[str, Any]:
    spec: dict[str, Any] = {"provider": store.provider, "parameters": {**store.parameters, **identity.parameters}}
    if driver.sync_secret:
        # The driver creates this Secret while a pod mounts the volume, and deletes it after.
        spec["secretObjects"] = [
            {
                "secretName": demo_app.SYNCED_SECRET,
                "type": "Opaque",
                "data": [{"objectName": file, "key": file} for file in store.mounted_files],
            }
        ]
    return spec


def _after(opts: pulumi.ResourceOptions, *dependencies: pulumi.Resource) -> pulumi.ResourceOptions:
    """`opts`, and created after `dependencies` (so destroyed before them)."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(dependencies)))


def demo_deployment_args(
    name: str,
    namespace: str,
    image: str,
    service_account: str,
    secret_provider_class: str,
    served_file: str,
    synced_files: Sequence[str] = (),
    annotations: Mapping[str, str] | None = None,
    pod_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The arguments of one hello-server Deployment that mounts the secret store volume.

    It serves `served_file` on /read, and gets each of `synced_files` from the synced
    Kubernetes Secret as an environment variable. The pod passes the Pod Security Standard
    "restricted" profile.
    """
    labels = {"app.kubernetes.io/name": "hello-server", "app.kubernetes.io/instance": name}
    env = [EnvVarArgs(name=demo_app.SERVED_FILE_VARIABLE, value=f"{demo_app.MOUNT_PATH}/{served_file}")]
    env += [
        EnvVarArgs(
            name=env_var_name(file),
            value_from=EnvVarSourceArgs(
                secret_key_ref=SecretKeySelectorArgs(name=demo_app.SYNCED_SECRET, key=file)
            ),
        )
        for file in synced_files
    ]
    container = ContainerArgs(
        name="hello-server",
        image=image,
        ports=[ContainerPortArgs(name="http", container_port=demo_app.PORT)],
        env=env,
        volume_mounts=[VolumeMountArgs(name=demo_app.VOLUME, mount_path=demo_app.MOUNT_PATH, read_only=True)],
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
            run_as_user=demo_app.UID,
            run_as_group=demo_app.UID,
            seccomp_profile=SeccompProfileArgs(type="RuntimeDefault"),
        ),
        containers=[container],
        volumes=[
            VolumeArgs(
                name=demo_app.VOLUME,
                csi=CSIVolumeSourceArgs(
                    driver=CSI_DRIVER,
                    read_only=True,
                    volume_attributes={"secretProviderClass": secret_provider_class},
                ),
            )
        ],
    )
    return dict(
        metadata=ObjectMetaArgs(name=name, namespace=namespace, labels=labels, annotations=annotations),
        spec=DeploymentSpecArgs(
            replicas=1,
            selector=LabelSelectorArgs(match_labels=labels),
            template=PodTemplateSpecArgs(metadata=ObjectMetaArgs(labels={**labels, **(pod_labels or {})}), spec=pod),
        ),
    )


class SecretStoreDemo(pulumi.ComponentResource):
    """The namespace, the trusted ServiceAccount, the SecretProviderClass and the two pods."""

    namespace: pulumi.Output[str]
    service_account: pulumi.Output[str]
    synced_secret: pulumi.Output[str] | None
    secret_provider_class: pulumi.Output[str]
    authorized_deployment: pulumi.Output[str]
    unauthorized_deployment: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        cluster: KubernetesCluster,
        workload: Workload,
        image: str,
        store: StoreBinding,
        identity: IdentityBinding,
        csi: CsiDriver,
        driver: DriverSettings,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(DEMO_TYPE, name, None, opts)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider)

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
                annotations=dict(identity.service_account_annotations) or None,
            ),
            automount_service_account_token=False,
            opts=in_namespace,
        )

        spc_name = f"{store.provider}-secret-provider"
        # The SecretProviderClass CRD comes with the driver chart.
        secret_provider_class = CustomResource(
            f"{name}-secret-provider-class",
            api_version="secrets-store.csi.x-k8s.io/v1",
            kind="SecretProviderClass",
            metadata=ObjectMetaArgs(name=spc_name, namespace=workload.namespace),
            spec=secret_provider_class_spec(store, identity, driver),
            opts=_after(in_namespace, csi.driver_release),
        )

        # Depending on the releases also makes destroy delete the pods before the driver and
        # the provider; pods whose CSI driver is gone hang in Terminating.
        before_pods = [*csi.releases, secret_provider_class, service_account]
        served = store.mounted_files[0]
        authorized = Deployment(
            f"{name}-authorized",
            **demo_deployment_args(
                demo_app.AUTHORIZED,
                workload.namespace,
                image,
                workload.service_account,
                spc_name,
                served,
                synced_files=store.mounted_files if driver.sync_secret else (),
                pod_labels=identity.pod_labels,
            ),
            opts=_after(in_namespace, *before_pods, *identity.ready, *store.ready),
        )
        # Pulumi waits for a Deployment to become available; this one never can, by design.
        # It starts once the store is ready, so that it is refused for the reason the demo
        # shows (with Vault: once the configuration Job has written the role).
        unauthorized = Deployment(
            f"{name}-unauthorized",
            **demo_deployment_args(
                demo_app.UNAUTHORIZED,
                workload.namespace,
                image,
                "default",
                spc_name,
                served,
                # No synced env: its mount must fail for the reason the demo shows, not for
                # a missing Secret.
                annotations={"pulumi.com/skipAwait": "true"},
                pod_labels=identity.pod_labels,
            ),
            opts=_after(in_namespace, *before_pods, *store.ready),
        )

        self.namespace = service_account.metadata.namespace
        self.service_account = service_account.metadata.name
        self.secret_provider_class = secret_provider_class.urn.apply(lambda _: spc_name)
        self.authorized_deployment = authorized.metadata.name
        self.unauthorized_deployment = unauthorized.metadata.name
        self.synced_secret = (
            secret_provider_class.urn.apply(lambda _: demo_app.SYNCED_SECRET) if driver.sync_secret else None
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

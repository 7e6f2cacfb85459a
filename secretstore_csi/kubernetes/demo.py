"""The article's demo: the same hello-server twice, once as the workload's service account (it
serves the secret on /read) and once as `default` (its CSI mount is refused, so the pod stays
in ContainerCreating). Both mount the workload's SecretProviderClass."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi_kubernetes.apps.v1 import Deployment, DeploymentSpecArgs
from pulumi_kubernetes.core.v1 import (
    CapabilitiesArgs,
    ContainerArgs,
    ContainerPortArgs,
    CSIVolumeSourceArgs,
    EnvVarArgs,
    EnvVarSourceArgs,
    HTTPGetActionArgs,
    PodSecurityContextArgs,
    PodSpecArgs,
    PodTemplateSpecArgs,
    ProbeArgs,
    ResourceRequirementsArgs,
    SeccompProfileArgs,
    SecretKeySelectorArgs,
    SecurityContextArgs,
    VolumeArgs,
    VolumeMountArgs,
)
from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs

from secretstore_csi import demo_app
from secretstore_csi.kubernetes.workload import CSI_DRIVER
from secretstore_csi.model import DriverSettings, KubernetesNames, WorkloadSpec, env_var_name
from secretstore_csi.seam import DEMO_TYPE, IdentityBinding, StoreBinding, was_at_top


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
    synced_secret: str | None = None,
    synced_files: Sequence[str] = (),
    annotations: Mapping[str, str] | None = None,
    pod_labels: Mapping[str, str] | None = None,
    csi_driver: str = CSI_DRIVER,
) -> dict[str, Any]:
    """The arguments of one hello-server Deployment that mounts the secret store volume.

    It serves `served_file` on /read, and gets each of `synced_files` from the synced
    Kubernetes Secret `synced_secret` as an environment variable. The pod passes the Pod Security Standard
    "restricted" profile.
    """
    labels = {"app.kubernetes.io/name": "hello-server", "app.kubernetes.io/instance": name}
    env = [EnvVarArgs(name=demo_app.SERVED_FILE_VARIABLE, value=f"{demo_app.MOUNT_PATH}/{served_file}")]
    env += [
        EnvVarArgs(
            name=env_var_name(file),
            value_from=EnvVarSourceArgs(secret_key_ref=SecretKeySelectorArgs(name=synced_secret, key=file)),
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
                    driver=csi_driver,
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
    """The article's two hello-server Deployments for one workload."""

    authorized_deployment: pulumi.Output[str]
    unauthorized_deployment: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        workload: WorkloadSpec,
        names: KubernetesNames,
        image: str,
        store: StoreBinding,
        identity: IdentityBinding[Any],
        driver: DriverSettings,
        before: Sequence[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
        csi_driver: str = CSI_DRIVER,
    ) -> None:
        """`before`: what both pods need first (the workload's ServiceAccount and
        SecretProviderClass, the driver and the provider), so that destroy deletes the pods
        first: pods whose CSI driver is gone hang in Terminating."""
        # Before a workload held it, the demo was at the top of the stack.
        super().__init__(DEMO_TYPE, name, None, was_at_top(opts, workload))
        child = pulumi.ResourceOptions(parent=self)
        served = store.mounted_files[0]
        authorized = Deployment(
            f"{name}-authorized",
            **demo_deployment_args(
                names.authorized,
                workload.namespace,
                image,
                workload.service_account,
                names.secret_provider_class,
                served,
                synced_secret=names.synced_secret if driver.sync_secret else None,
                synced_files=store.mounted_files if driver.sync_secret else (),
                pod_labels=identity.pod_labels,
                csi_driver=csi_driver,
            ),
            opts=_after(child, *before, *identity.ready, *store.ready),
        )
        # Pulumi waits for a Deployment to become available; this one never can, by design.
        # It starts once the store is ready, so that it is refused for the reason the demo
        # shows (with Vault: once the configuration Job has written the role).
        unauthorized = Deployment(
            f"{name}-unauthorized",
            **demo_deployment_args(
                names.unauthorized,
                workload.namespace,
                image,
                "default",
                names.secret_provider_class,
                served,
                # No synced env: its mount must fail for the reason the demo shows, not for
                # a missing Secret.
                annotations={"pulumi.com/skipAwait": "true"},
                pod_labels=identity.pod_labels,
                csi_driver=csi_driver,
            ),
            opts=_after(child, *before, *store.ready),
        )
        self.authorized_deployment = authorized.metadata.name
        self.unauthorized_deployment = unauthorized.metadata.name
        self.register_outputs(
            {
                "authorized_deployment": self.authorized_deployment,
                "unauthorized_deployment": self.unauthorized_deployment,
            }
        )

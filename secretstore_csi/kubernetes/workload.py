"""What every workload has in its namespace: the trusted ServiceAccount and the
SecretProviderClass that names its secrets. And the namespaces themselves, with the
restricted Pod Security Standard."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.core.v1 import Namespace, ServiceAccount
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs

from secretstore_csi.model import WorkloadSpec
from secretstore_csi.seam import IdentityBinding, StoreBinding

CSI_DRIVER = "secrets-store.csi.k8s.io"
"""The driver a pod's CSI volume names."""
SPC_API_VERSION = "secrets-store.csi.x-k8s.io/v1"

RESTRICTED = {
    # The API server itself then refuses any pod that is not hardened.
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}


def restricted_namespace(name: str, namespace: str, opts: pulumi.ResourceOptions) -> Namespace:
    return Namespace(name, metadata=ObjectMetaArgs(name=namespace, labels=RESTRICTED), opts=opts)


def secret_provider_class_spec(
    provider: str, store: StoreBinding, identity: IdentityBinding[Any], synced_secret: str | None
) -> dict[str, Any]:
    spec: dict[str, Any] = {"provider": provider, "parameters": {**store.parameters, **identity.parameters}}
    if synced_secret is not None:
        # The driver creates this Secret while a pod mounts the volume, and deletes it after.
        spec["secretObjects"] = [
            {
                "secretName": synced_secret,
                "type": "Opaque",
                "data": [{"objectName": file, "key": file} for file in store.mounted_files],
            }
        ]
    return spec


def service_account(
    name: str, workload: WorkloadSpec, identity: IdentityBinding[Any], opts: pulumi.ResourceOptions
) -> ServiceAccount:
    """The one service account the workload's principal trusts."""
    return ServiceAccount(
        name,
        metadata=ObjectMetaArgs(
            name=workload.service_account,
            namespace=workload.namespace,
            annotations=dict(identity.service_account_annotations) or None,
        ),
        automount_service_account_token=False,
        opts=opts,
    )


def secret_provider_class(
    name: str, workload: WorkloadSpec, class_name: str, spec: dict[str, Any], opts: pulumi.ResourceOptions
) -> CustomResource:
    """The SecretProviderClass; its CRD comes with the driver chart."""
    return CustomResource(
        name,
        api_version=SPC_API_VERSION,
        kind="SecretProviderClass",
        metadata=ObjectMetaArgs(name=class_name, namespace=workload.namespace),
        spec=spec,
        opts=opts,
    )

"""Vault's Kubernetes auth: Vault checks the pod's service-account token with the API server
and logs it in only as the one role bound to the workload's service account and namespace.

The role itself is written by the store's configuration Job, with the read policy; this
mode names it, and the SecretProviderClass asks for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from secretstore_csi.model import WorkloadSpec
from secretstore_csi.seam import Cluster, IdentityBinding
from secretstore_csi.settings import PlatformConfig
from secretstore_csi.vault import configure
from secretstore_csi.vault.store import VaultRole


class KubernetesAuth:
    """Nothing per cluster: the store's Job enables the auth method where Vault runs."""

    def __init__(self, name: str, config: PlatformConfig, cluster: Cluster, opts: pulumi.ResourceOptions) -> None:
        self.outputs: Mapping[str, pulumi.Input[Any]] = {}

    def grant(self, name: str, workload: WorkloadSpec, opts: pulumi.ResourceOptions) -> IdentityBinding[VaultRole]:
        role = VaultRole(
            name=configure.role_name(workload), namespace=workload.namespace, service_account=workload.service_account
        )
        return IdentityBinding(reader=role, parameters={"roleName": role.name})

"""Vault's Kubernetes auth: Vault checks the pod's service-account token with the API server
and logs it in only as the one role bound to the trusted service account and namespace.

The role itself is written by the store's configuration Job, with the read policy; this
mode names it, and the SecretProviderClass asks for it.
"""

from __future__ import annotations

from secretstore_csi.model import Workload
from secretstore_csi.seam import Cluster, IdentityBinding
from secretstore_csi.settings import StackConfig
from secretstore_csi.vault import configure
from secretstore_csi.vault.store import VaultRole


def build(stack: StackConfig, cluster: Cluster, workload: Workload) -> IdentityBinding:
    role = VaultRole(
        name=configure.role_name(workload), namespace=workload.namespace, service_account=workload.service_account
    )
    return IdentityBinding(reader=role, parameters={"roleName": role.name})

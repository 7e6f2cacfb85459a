"""The config keys of the Vault store and its Kubernetes auth. Importing this module needs no SDK."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from secretstore_csi import PROJECT
from secretstore_csi.model import WorkloadSpec
from secretstore_csi.settings import DNS_LABEL_RULE, Accepted, PlatformConfig, SettingsModel, namespace_name


class VaultSettings(SettingsModel):
    vault_namespace: Annotated[
        str, Accepted(namespace_name, f"expected {DNS_LABEL_RULE}, not starting with 'kube-'")
    ] = "vault"
    """Where Vault and its CSI provider run: a namespace of their own."""

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        return [
            f"{PROJECT}:vaultNamespace = {self.vault_namespace!r}: expected a namespace other than the "
            f"workload's ({workload.config_path}namespace): Vault's CSI provider mounts host paths, so its "
            "namespace cannot enforce the restricted profile that the workload's does"
            for workload in workloads
            if workload.namespace == self.vault_namespace
        ]


class KubernetesAuthSettings(SettingsModel):
    """Vault's Kubernetes auth has no settings: each workload's role is bound to exactly its
    service account and namespace."""

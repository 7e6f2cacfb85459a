"""The config keys of the Vault store and its Kubernetes auth. Importing this module needs no SDK."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from secretstore_csi import PROJECT
from secretstore_csi.model import WorkloadSpec
from secretstore_csi.settings import DNS_LABEL_RULE, Accepted, Boolean, PlatformConfig, SettingsModel, namespace_name


class VaultSettings(SettingsModel):
    vault_namespace: Annotated[
        str, Accepted(namespace_name, f"expected {DNS_LABEL_RULE}, not starting with 'kube-'")
    ] = "vault"
    """Where Vault and its CSI provider run: a namespace of their own."""
    vault_dev_mode: Boolean | None = None
    """Run Vault in the cluster in dev mode. None: only on a cluster of the user's own, such as
    kind; on EKS, AKS and GKE it must be asked for."""

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        problems = []
        if self.vault_dev_mode is not True and (self.vault_dev_mode is False or not platform.local_cluster):
            where = "" if self.vault_dev_mode is False else ", which this program runs only on a cluster of your own"
            problems.append(
                f"{PROJECT}:vaultDevMode is not true: store vault runs Vault in the cluster in dev mode (in memory, "
                f"over HTTP, with a root token that never expires){where}. To try it anyway, set "
                f"{PROJECT}:vaultDevMode to true; to keep secrets, use a Vault of your own outside the cluster, "
                f"with {PROJECT}:vaultAddress"
            )
        return problems + [
            f"{PROJECT}:vaultNamespace = {self.vault_namespace!r}: expected a namespace other than the "
            f"workload's ({workload.config_path}namespace): Vault's CSI provider mounts host paths, so its "
            "namespace cannot enforce the restricted profile that the workload's does"
            for workload in workloads
            if workload.namespace == self.vault_namespace
        ]


class KubernetesAuthSettings(SettingsModel):
    """Vault's Kubernetes auth has no settings: each workload's role is bound to exactly its
    service account and namespace."""

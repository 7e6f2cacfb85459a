"""The config keys of the Vault store and its Kubernetes auth. Importing this module needs no SDK."""

from __future__ import annotations

from typing import Annotated

from secretstore_csi import PROJECT
from secretstore_csi.settings import DNS_LABEL_RULE, Accepted, SettingsModel, StackConfig, namespace_name


class VaultSettings(SettingsModel):
    vault_namespace: Annotated[
        str, Accepted(namespace_name, f"expected {DNS_LABEL_RULE}, not starting with 'kube-'")
    ] = "vault"
    """Where Vault and its CSI provider run: a namespace of their own."""

    def problems(self, stack: StackConfig) -> list[str]:
        if self.vault_namespace == stack.workload.namespace:
            return [
                f"{PROJECT}:vaultNamespace = {self.vault_namespace!r}: expected a namespace other than the "
                f"workload's ({PROJECT}:namespace): Vault's CSI provider mounts host paths, so its namespace "
                "cannot enforce the restricted profile that the workload's does"
            ]
        return []


class KubernetesAuthSettings(SettingsModel):
    """Vault's Kubernetes auth has no settings: its one role is bound to exactly the
    workload's service account and namespace."""

"""The config keys of the Vault store and its Kubernetes auth. Importing this module needs no SDK.

Vault runs in the cluster in dev mode (`vaultDevMode`), or outside it: `vaultAddress` names a
Vault of your own, which the stack configures through pulumi-vault.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field

from secretstore_csi import PROJECT
from secretstore_csi.model import WorkloadSpec, stack_namespace
from secretstore_csi.settings import (
    DNS_LABEL_RULE,
    SECRET,
    Accepted,
    Boolean,
    ConfigSecret,
    PlatformConfig,
    SettingsModel,
    line,
    matching,
    namespace_name,
)

# Vault mounts are paths of letters, digits, '-', '_' and '.', and must not hold a glob that
# a policy would widen; sys, auth, identity and cubbyhole are Vault's own.
_MOUNT_PART = r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}"
MOUNT = rf"(?!(?:sys|auth|identity|cubbyhole)(?:/|$)){_MOUNT_PART}(?:/{_MOUNT_PART}){{0,3}}"
MOUNT_RULE = (
    "a Vault mount path: 1-4 parts of letters, digits, '-', '_' or '.', separated by '/', each starting with a "
    "letter, digit, '-' or '_'; not Vault's own (sys, auth, identity, cubbyhole)"
)


def https_url(value: Any) -> str:
    """An https:// URL with a host, an optional port, and no path, query or credentials."""
    if not isinstance(value, str) or any(c.isspace() for c in value):
        raise ValueError(value)
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise ValueError(value)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(value)
    # `port` raises ValueError for one out of range.
    if parts.port == 0:
        raise ValueError(value)
    return value.rstrip("/")


_PEM = re.compile(r"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.DOTALL)


def pem_certificates(value: Any) -> str:
    """One or more PEM certificates and nothing else, each of which decodes."""
    if not isinstance(value, str):
        raise ValueError(value)
    blocks = _PEM.findall(value)
    if not blocks or _PEM.sub("", value).strip():
        raise ValueError(value)
    for block in blocks:
        ssl.PEM_cert_to_DER_cert(block)  # raises ValueError for a block that is not one
    return value.strip() + "\n"


PEM_RULE = (
    "expected one or more PEM certificates (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----) and "
    'nothing else: set it with `pulumi config set secretstore-csi:{key} -- "$(cat ca.pem)"`'
)


def _vault_token(value: Any) -> ConfigSecret:
    if not isinstance(value, ConfigSecret):
        raise ValueError(value)
    if not value.stored_as_secret:
        raise line(
            "vault:token is stored in plain text in the stack file: remove it and run `pulumi config set --secret "
            "vault:token <token>`, or leave it unset and give pulumi-vault VAULT_TOKEN"
        )
    if not value.value.strip():
        raise ValueError(value)
    return value


def stack_id(owner: str, stack: str) -> str:
    """The stack in the names it gives things in a shared Vault: its name, as a DNS label, and
    a digest of organization/project/stack, so that two projects' `dev` stacks (or `Dev` and
    `dev`, as Vault lower-cases policy names) never meet."""
    digest = hashlib.sha256(owner.encode()).hexdigest()[:8]
    return f"{stack_namespace(stack).removeprefix('secretstore-')[:40].rstrip('-')}-{digest}"


def default_auth_mount(stack_id_: str) -> str:
    """A Kubernetes auth mount of the stack's own: two stacks never share one by default."""
    return f"secretstore-{stack_id_}"


# The keys that only a Vault outside the cluster reads.
EXTERNAL_KEYS = (
    "vault_ca_cert",
    "vault_auth_mount",
    "vault_kv_mount",
    "vault_kubernetes_host",
    "vault_kubernetes_ca_cert",
    "vault_token",
)


class VaultSettings(SettingsModel):
    vault_namespace: Annotated[
        str, Accepted(namespace_name, f"expected {DNS_LABEL_RULE}, not starting with 'kube-'")
    ] = "vault"
    """Where Vault's CSI provider runs, and Vault itself when it is in the cluster."""
    vault_dev_mode: Boolean | None = None
    """Run Vault in the cluster in dev mode. None: only on a cluster of the user's own, such as
    kind; on EKS, AKS and GKE it must be asked for."""
    vault_address: Annotated[
        str | None,
        Accepted(
            https_url,
            "expected the https:// URL of a Vault of your own, such as https://vault.example.com:8200: no path, "
            "query or credentials",
        ),
    ] = None
    """A Vault outside the cluster, configured through pulumi-vault; no server runs in the cluster."""
    vault_ca_cert: Annotated[str | None, Accepted(pem_certificates, PEM_RULE.format(key="vaultCaCert"))] = None
    """The CA the CSI provider checks Vault's certificate with; None: the system's."""
    vault_auth_mount: Annotated[str | None, Accepted(matching(MOUNT), f"expected {MOUNT_RULE}")] = None
    """Where the stack mounts Vault's Kubernetes auth for this cluster; None: secretstore-<stack>."""
    vault_kv_mount: Annotated[str, Accepted(matching(MOUNT), f"expected {MOUNT_RULE}: a KV version 2 engine")] = (
        "secret"
    )
    """The KV version 2 engine the secrets the stack makes go in."""
    vault_kubernetes_host: Annotated[
        str | None,
        Accepted(
            https_url,
            "expected the https:// URL at which Vault reaches the cluster's API server, such as "
            "https://203.0.113.10:6443",
        ),
    ] = None
    """Where Vault sends TokenReviews; None: the server of the stack's kubeconfig."""
    vault_kubernetes_ca_cert: Annotated[
        str | None, Accepted(pem_certificates, PEM_RULE.format(key="vaultKubernetesCaCert"))
    ] = None
    """The API server's CA, for Vault; None: the cluster's, from the ConfigMap kube-root-ca.crt."""
    vault_token: Annotated[
        ConfigSecret | None,
        Accepted(_vault_token, "expected a Vault token, set with `pulumi config set --secret vault:token <token>`"),
        SECRET,
    ] = Field(default=None, alias="vault:token")
    """The token pulumi-vault configures Vault with; None: VAULT_TOKEN from the environment."""

    @property
    def external(self) -> bool:
        return self.vault_address is not None

    def auth_mount(self, stack_id_: str) -> str:
        return self.vault_auth_mount or default_auth_mount(stack_id_)

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        problems = self._server_problems(platform)
        problems += [
            f"{workload.secret_key(index)}.existing = {secret.existing!r}: expected a path outside secretstore/, "
            "where the stack keeps the secrets it makes, each for one workload"
            for workload in workloads
            for index, secret in enumerate(workload.secrets)
            if secret.existing is not None and re.search(r"/data/secretstore(?:/|$)", secret.existing)
        ]
        return problems + [
            f"{PROJECT}:vaultNamespace = {self.vault_namespace!r}: expected a namespace other than the "
            f"workload's ({workload.config_path}namespace): Vault's CSI provider mounts host paths, so its "
            "namespace cannot enforce the restricted profile that the workload's does"
            for workload in workloads
            if workload.namespace == self.vault_namespace
        ]

    def _server_problems(self, platform: PlatformConfig) -> list[str]:
        fields = type(self).model_fields
        if self.external:
            problems = []
            if self.vault_dev_mode is not None:
                problems.append(
                    f"{PROJECT}:vaultDevMode runs Vault in the cluster, and {PROJECT}:vaultAddress names a Vault "
                    "outside it: remove vaultDevMode"
                )
            if platform.local_cluster and self.vault_kubernetes_host is None:
                problems.append(
                    f"{PROJECT}:vaultKubernetesHost is not set: expected the https:// URL at which the Vault at "
                    f"{self.vault_address} reaches this cluster's API server (for TokenReviews); a local cluster's "
                    "own kubeconfig names an address that only this machine reaches"
                )
            return problems
        outside = sorted(fields[name].alias or name for name in EXTERNAL_KEYS if name in self.model_fields_set)
        if outside:
            return [
                f"{', '.join(outside)}: {'configures' if len(outside) == 1 else 'configure'} a Vault outside the "
                f"cluster, and {PROJECT}:vaultAddress is not set: set it, or remove "
                + ("it" if len(outside) == 1 else "them")
            ]
        if self.vault_dev_mode is not True and (self.vault_dev_mode is False or not platform.local_cluster):
            where = "" if self.vault_dev_mode is False else ", which this program runs only on a cluster of your own"
            return [
                f"{PROJECT}:vaultDevMode is not true: store vault runs Vault in the cluster in dev mode (in memory, "
                f"over HTTP, with a root token that never expires){where}. To try it anyway, set "
                f"{PROJECT}:vaultDevMode to true; to keep secrets, use a Vault of your own outside the cluster, "
                f"with {PROJECT}:vaultAddress"
            ]
        return []


class KubernetesAuthSettings(SettingsModel):
    """Vault's Kubernetes auth has no settings: each workload's role is bound to exactly its
    service account and namespace."""

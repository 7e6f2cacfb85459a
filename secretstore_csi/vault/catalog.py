"""Vault's catalog entries: Vault in the cluster or a Vault of your own, and its Kubernetes
auth, on any cluster source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from secretstore_csi import charts
from secretstore_csi.catalog import ExistingSecretForm, IdentityMode, SecretStore, settings_model

if TYPE_CHECKING:
    from secretstore_csi.seam import Cluster, IdentityInstaller, StoreInstaller
    from secretstore_csi.vault.store import VaultRole

SETTINGS = "secretstore_csi.vault.settings"


def _vault() -> StoreInstaller[Cluster, VaultRole]:
    from secretstore_csi.vault.store import install

    return install


def _kubernetes_auth() -> IdentityInstaller[Cluster, VaultRole]:
    from secretstore_csi.vault.kubernetes_auth import KubernetesAuth

    return KubernetesAuth


VAULT: SecretStore[Cluster, VaultRole] = SecretStore(
    name="vault",
    title="HashiCorp Vault",
    settings=settings_model(SETTINGS, "VaultSettings"),
    provider="vault",
    chart=charts.VAULT,
    # The audience the SecretProviderClass asks for and the Vault role checks.
    token_audiences=("vault",),
    # Vault takes requests up to 32 MiB. What binds first is the Kubernetes Secret that
    # carries a value to the configuration Job: at most 1 MiB, base64-encoded, holding the
    # value about twice (whole, and key by key).
    max_secret_bytes=262_144,
    clusters=None,
    default_identity="kubernetesAuth",
    install=_vault,
    # A KV version 2 API path, `data/` after the mount: exactly what the policy grants and the
    # CSI provider reads. No glob (`*`, `+`) that would widen the policy, no `.` or `..` part.
    existing_secret=ExistingSecretForm(
        pattern=r"(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*/)+data(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]*)+",
        form="a KV version 2 API path, <mount>/data/<path>, such as secret/data/team/db",
    ),
)

KUBERNETES_AUTH: IdentityMode[Cluster, VaultRole] = IdentityMode(
    name="kubernetesAuth",
    title="Vault's Kubernetes auth, a role bound to the service account",
    settings=settings_model(SETTINGS, "KubernetesAuthSettings"),
    store=VAULT,
    clusters=None,
    # Vault's login refuses a token of another service account with 403.
    denials=("service account name not authorized",),
    install=_kubernetes_auth,
)

CLUSTERS = ()
STORES = (VAULT,)
IDENTITIES = (KUBERNETES_AUTH,)

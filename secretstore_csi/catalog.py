"""The kinds of entry in the catalog: a cluster source, a secret store, an identity mode.

Each package declares its own entries in its `catalog.py` (`secretstore_csi.aws.catalog`,
...), and `secretstore_csi.registry` collects them. An entry says what config it reads (a
settings model), what the Kubernetes layer installs for it, what the unauthorized pod's
refusal says, and which function builds it. Settings and builders are loaded when a stack
uses them: importing an entry imports no cloud SDK, no pydantic and no Pulumi.

Entries are generic in the principal an identity mode hands its store, so that mypy rejects
an identity mode whose principal its store cannot grant.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from secretstore_csi.charts import HelmChart

if TYPE_CHECKING:
    from secretstore_csi.seam import ClusterBuilder, IdentityInstaller, StoreInstaller
    from secretstore_csi.settings import SettingsModel

ClusterT = TypeVar("ClusterT", bound="Cluster")
Principal = TypeVar("Principal")

if TYPE_CHECKING:
    from secretstore_csi.seam import Cluster


def settings_model(module: str, name: str) -> Callable[[], type[SettingsModel]]:
    """A settings model, imported when it is first asked for."""

    def load() -> type[SettingsModel]:
        from secretstore_csi.settings import SettingsModel

        model = getattr(importlib.import_module(module), name)
        assert isinstance(model, type) and issubclass(model, SettingsModel), f"{module}.{name}"
        return model

    return load


@dataclass(frozen=True)
class ClusterSource(Generic[ClusterT]):
    name: str
    """The value of `secretstore-csi:cloud`."""
    title: str
    settings: Callable[[], type[SettingsModel]]
    default_store: str
    build: Callable[[], ClusterBuilder[ClusterT]]
    local: bool = False
    """A cluster of the user's own, such as kind: dev shortcuts (Vault in dev mode) are the
    default there, and only there."""


@dataclass(frozen=True)
class ExistingSecretForm:
    """How the store names a secret it holds already, for a workload's `existing` secret."""

    pattern: str
    """A regular expression the whole reference matches."""
    form: str
    """The form, as a message shows it: `arn:aws:secretsmanager:<region>:...`."""

    def matches(self, reference: str | None) -> bool:
        return reference is not None and re.fullmatch(self.pattern, reference) is not None


@dataclass(frozen=True)
class ManagedAddOn:
    """The cloud's managed add-on with the driver and the store's provider (`install: addon`)."""

    title: str
    """As a message names it: `the EKS add-on aws-secrets-store-csi-driver-provider`."""
    identities: tuple[str, ...]
    """The identity modes it serves."""


@dataclass(frozen=True)
class SecretStore(Generic[ClusterT, Principal]):
    name: str
    """The value of `secretstore-csi:store`."""
    title: str
    settings: Callable[[], type[SettingsModel]]
    provider: str
    """The SecretProviderClass `spec.provider`: the name the store's CSI provider registers."""
    chart: HelmChart | None
    """The provider's Helm chart, installed next to the shared driver release; None when the
    store installs its provider itself."""
    token_audiences: tuple[str, ...]
    """The service-account tokens the driver must request for this provider, when they are the
    same for every stack. Empty when they depend on the stack's config: the store's install
    always says which the driver requests."""
    max_secret_bytes: int
    """The largest value the store accepts for one secret."""
    clusters: tuple[str, ...] | None
    """The cluster sources it works with; None: any."""
    default_identity: str
    install: Callable[[], StoreInstaller[ClusterT, Principal]]
    existing_secret: ExistingSecretForm
    """What a workload's `existing` secret must look like in this store."""
    add_on: ManagedAddOn | None = None
    """The cloud's managed add-on for this store, if there is one."""


@dataclass(frozen=True)
class IdentityMode(Generic[ClusterT, Principal]):
    name: str
    """The value of `secretstore-csi:identity`."""
    title: str
    settings: Callable[[], type[SettingsModel]]
    store: SecretStore[Any, Principal]
    """The store whose grants take this mode's principal."""
    clusters: tuple[str, ...] | None
    """The cluster sources it works with; None: any."""
    denials: tuple[str, ...]
    """Text in the unauthorized pod's FailedMount event that shows the store refused it."""
    install: Callable[[], IdentityInstaller[ClusterT, Principal]]
    token_audiences: tuple[str, ...] = ()
    """Audiences the driver must request besides the store's, for this mode's token exchange."""

"""Every cluster source, secret store and identity mode the program has, and how they combine.

A stack is one of each. The entries are declared by their packages (`<package>/catalog.py`);
this module only collects them and says which combinations are valid. Importing it imports
no cloud SDK, no pydantic and no Pulumi, so `secretstore-csi-verify` reads the denial texts
without them.

Adding a cluster source, store or identity mode: a package with its settings model, its
builder and its `catalog.py`, and the package's catalog in `CATALOGS` below.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from secretstore_csi.aws import catalog as aws
from secretstore_csi.azure import catalog as azure
from secretstore_csi.catalog import ClusterSource, IdentityMode, SecretStore
from secretstore_csi.existing import catalog as existing
from secretstore_csi.gcp import catalog as gcp
from secretstore_csi.vault import catalog as vault

CATALOGS = (aws, azure, gcp, existing, vault)

E = TypeVar("E", ClusterSource[Any], SecretStore[Any, Any], IdentityMode[Any, Any])


def _by_name(entries: Iterable[E]) -> dict[str, E]:
    named: dict[str, E] = {}
    for entry in entries:
        assert entry.name not in named, f"two catalog entries are named {entry.name}"
        named[entry.name] = entry
    return named


CLUSTERS: dict[str, ClusterSource[Any]] = _by_name(e for c in CATALOGS for e in c.CLUSTERS)
STORES: dict[str, SecretStore[Any, Any]] = _by_name(e for c in CATALOGS for e in c.STORES)
IDENTITIES: dict[str, IdentityMode[Any, Any]] = _by_name(e for c in CATALOGS for e in c.IDENTITIES)


def _works_on(clusters: tuple[str, ...] | None, cluster: str) -> bool:
    return clusters is None or cluster in clusters


def combinations() -> list[tuple[str, str, str]]:
    """Every registered (cluster source, store, identity mode)."""
    return [
        (cluster, identity.store.name, identity.name)
        for identity in IDENTITIES.values()
        for cluster in CLUSTERS
        if _works_on(identity.clusters, cluster) and _works_on(identity.store.clusters, cluster)
    ]


def default_combination(cluster: str) -> tuple[str, str, str]:
    """The store a cluster source uses by default, and that store's default identity mode."""
    store = CLUSTERS[cluster].default_store
    return cluster, store, STORES[store].default_identity

"""The catalog entry of an existing cluster, such as kind: the program creates none."""

from __future__ import annotations

from typing import TYPE_CHECKING

from secretstore_csi.catalog import ClusterSource, settings_model

if TYPE_CHECKING:
    from secretstore_csi.existing.cluster import ExistingCluster
    from secretstore_csi.seam import ClusterBuilder


def _existing() -> ClusterBuilder[ExistingCluster]:
    from secretstore_csi.existing.cluster import build

    return build


EXISTING: ClusterSource[ExistingCluster] = ClusterSource(
    name="kubernetes",
    title="an existing cluster, such as kind",
    settings=settings_model("secretstore_csi.existing.settings", "ExistingClusterSettings"),
    default_store="vault",
    build=_existing,
    local=True,
)

CLUSTERS = (EXISTING,)
STORES = ()
IDENTITIES = ()

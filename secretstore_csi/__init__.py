"""secretstore-csi: a store's secrets mounted into pods by the Secrets Store CSI driver.

The library's API is two components: a `Platform` per cluster and a `Workload` per
application (`platform.workload(name, WorkloadArgs(...))`). A platform is a cluster source x a
secret store x an identity mode:

- `catalog`, `registry`: the kinds of entry, and every entry the packages declare;
- `settings`, `config`, `checks`: the typed settings, the stack config, the checks on them;
- `aws/`, `azure/`, `gcp/`: one package per cloud, a file per idea (cluster, store, identity);
- `existing/`, `vault/`: an existing cluster, and Vault in the cluster with its Kubernetes auth;
- `kubernetes/`: the cloud-independent layer (the CSI driver, a workload's objects, the demo);
- `platform`: the two components; `program`: the Pulumi program's stack outputs.

Importing the package loads no SDK: the components are imported when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

PROJECT = "secretstore-csi"

if TYPE_CHECKING:
    from secretstore_csi.model import DriverSettings, StoreSecret
    from secretstore_csi.platform import Platform, PlatformArgs, Workload, WorkloadArgs

__all__ = ["PROJECT", "DriverSettings", "Platform", "PlatformArgs", "StoreSecret", "Workload", "WorkloadArgs"]

_PUBLIC = {
    "Platform": "secretstore_csi.platform",
    "PlatformArgs": "secretstore_csi.platform",
    "Workload": "secretstore_csi.platform",
    "WorkloadArgs": "secretstore_csi.platform",
    "DriverSettings": "secretstore_csi.model",
    "StoreSecret": "secretstore_csi.model",
}


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'secretstore_csi' has no attribute {name!r}")

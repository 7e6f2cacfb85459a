"""The Secrets Store CSI driver and the store's provider, each a Helm release of its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi_kubernetes.helm.v3 import Release, RepositoryOptsArgs

from secretstore_csi import charts
from secretstore_csi.charts import HelmChart
from secretstore_csi.model import DriverSettings
from secretstore_csi.seam import KubernetesCluster, StoreBinding, moved_from_demo

SYSTEM_NAMESPACE = "kube-system"


def driver_values(cluster: KubernetesCluster, store: StoreBinding, driver: DriverSettings) -> dict[str, Any]:
    """Values for the shared driver release."""
    values: dict[str, Any] = {
        # Since the provider charts stopped minting tokens, the driver must request a token
        # for each audience its provider exchanges; without them every mount fails.
        "tokenRequests": [{"audience": audience} for audience in store.token_audiences],
        # Installs the RBAC that lets the driver write the synced Kubernetes Secret.
        "syncSecret": {"enabled": driver.sync_secret},
        "enableSecretRotation": driver.rotation_poll_interval is not None,
    }
    if driver.rotation_poll_interval is not None:
        values["rotationPollInterval"] = driver.rotation_poll_interval
    if cluster.kubelet_root_dir is not None:
        values["linux"] = {"kubeletRootDir": cluster.kubelet_root_dir}
    return values


def _release(name: str, chart: HelmChart, values: Mapping[str, Any], opts: pulumi.ResourceOptions) -> Release:
    return Release(
        name,
        name=chart.name,
        chart=chart.name,
        version=chart.version,
        repository_opts=RepositoryOptsArgs(repo=chart.repo),
        namespace=SYSTEM_NAMESPACE,
        values=values,
        opts=opts,
    )


class CsiDriver(pulumi.ComponentResource):
    """The driver, once per cluster, and the provider that serves the store's mounts.

    Neither release needs the other, so they install side by side; only the
    SecretProviderClass needs the driver's CRD.
    """

    def __init__(
        self,
        name: str,
        cluster: KubernetesCluster,
        store: StoreBinding,
        driver: DriverSettings,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("secretstore-csi:kubernetes:CsiDriver", name, None, opts)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider, aliases=moved_from_demo())
        self.driver_release = _release(
            f"{name}-driver", charts.DRIVER, driver_values(cluster, store, driver), on_cluster
        )
        self.releases: list[pulumi.Resource] = [self.driver_release]
        if store.chart is not None:
            self.releases.append(_release(f"{name}-provider", store.chart, store.chart_values, on_cluster))
        self.register_outputs({})

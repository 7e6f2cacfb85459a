"""The Secrets Store CSI driver and the store's provider, each a Helm release of its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi_kubernetes.helm.v3 import Release, RepositoryOptsArgs

from secretstore_csi import charts
from secretstore_csi.charts import HelmChart
from secretstore_csi.model import DriverSettings
from secretstore_csi.seam import DEMO_TYPE, KubernetesCluster, ProviderInstall

SYSTEM_NAMESPACE = "kube-system"
TYPE = "secretstore-csi:kubernetes:CsiDriver"


def driver_values(
    cluster: KubernetesCluster, install: ProviderInstall, driver: DriverSettings, audiences: Sequence[str] = ()
) -> dict[str, Any]:
    """Values for the shared driver release; `audiences`: the identity mode's own, if any."""
    values: dict[str, Any] = {
        # Since the provider charts stopped minting tokens, the driver must request a token
        # for each audience its provider exchanges; without them every mount fails.
        "tokenRequests": [{"audience": audience} for audience in [*install.token_audiences, *audiences]],
        # Installs the RBAC that lets the driver write the synced Kubernetes Secret.
        "syncSecret": {"enabled": driver.sync_secret},
        "enableSecretRotation": driver.rotation_poll_interval is not None,
    }
    if driver.rotation_poll_interval is not None:
        values["rotationPollInterval"] = driver.rotation_poll_interval
    if cluster.kubelet_root_dir is not None:
        values["linux"] = {"kubeletRootDir": cluster.kubelet_root_dir}
    return values


def _release(
    owner: str, part: str, chart: HelmChart, values: Mapping[str, Any], opts: pulumi.ResourceOptions
) -> Release:
    # Before the driver got a component of its own, its releases lived in the demo's.
    old = f"{owner}-demo"
    moved = pulumi.Alias(name=f"{old}-{part}", parent=pulumi.create_urn(old, DEMO_TYPE))
    return Release(
        f"{owner}-{part}",
        name=chart.name,
        chart=chart.name,
        version=chart.version,
        repository_opts=RepositoryOptsArgs(repo=chart.repo),
        namespace=SYSTEM_NAMESPACE,
        values=values,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[moved])),
    )


class CsiDriver(pulumi.ComponentResource):
    """The driver, once per cluster, and the provider that serves the store's mounts.

    Neither release needs the other, so they install side by side; only a SecretProviderClass
    needs the driver's CRD.
    """

    def __init__(
        self,
        name: str,
        cluster: KubernetesCluster,
        install: ProviderInstall,
        driver: DriverSettings,
        opts: pulumi.ResourceOptions | None = None,
        audiences: Sequence[str] = (),
    ) -> None:
        # Its name before a platform held it, at the top of the stack.
        moved = pulumi.ResourceOptions(aliases=[pulumi.Alias(name=f"{name}-demo", parent=pulumi.ROOT_STACK_RESOURCE)])
        super().__init__(TYPE, name, None, pulumi.ResourceOptions.merge(opts, moved))
        self.releases: list[pulumi.Resource] = []
        self.crd: list[pulumi.Resource] = list(install.ready)
        """What brings the SecretProviderClass CRD: the driver release, or the add-on."""
        if install.add_on:
            # The cloud's add-on brings both; the store made it, and says so in `install.ready`.
            self.register_outputs({})
            return
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        values = driver_values(cluster, install, driver, audiences)
        self.driver_release = _release(name, "driver", charts.DRIVER, values, on_cluster)
        self.releases.append(self.driver_release)
        self.crd = [self.driver_release]
        if install.chart is not None:
            self.releases.append(_release(name, "provider", install.chart, install.chart_values, on_cluster))
        self.register_outputs({})

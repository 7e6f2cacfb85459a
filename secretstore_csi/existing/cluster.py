"""A cluster that exists already: the program only connects to it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from secretstore_csi.existing.settings import ExistingClusterSettings
from secretstore_csi.seam import connect, was_at_top
from secretstore_csi.settings import PlatformConfig


class ExistingCluster(pulumi.ComponentResource):
    """The Kubernetes provider for a cluster the kubeconfig names."""

    outputs: Mapping[str, pulumi.Input[Any]]

    def __init__(
        self, name: str, settings: ExistingClusterSettings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Before a platform held it, it was at the top of the stack.
        super().__init__(
            "secretstore-csi:existing:ExistingCluster",
            name,
            None,
            was_at_top(opts),
        )
        kubeconfig = pulumi.Output.secret(settings.kubeconfig.value) if settings.kubeconfig else None
        self.kubernetes = connect(
            name, kubeconfig, parent=self, context=settings.kube_context, kubelet_root_dir=settings.kubelet_root_dir
        )
        self.outputs = {"kubeContext": settings.kube_context} if settings.kube_context else {}
        self.register_outputs({})


def build(name: str, config: PlatformConfig, opts: pulumi.ResourceOptions) -> ExistingCluster:
    return ExistingCluster(name, config.of(ExistingClusterSettings), opts)

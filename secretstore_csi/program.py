"""The Pulumi program's stack outputs: the platform's, and each workload's in `workloads`.

A stack without `workloads` also exports its single workload's outputs at the top, under
the names it had before stacks held several, which `secretstore-csi-verify` still reads.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from secretstore_csi.platform import Platform, Workload, WorkloadArgs
from secretstore_csi.settings import StackConfig


def deploy(name: str, stack: StackConfig) -> tuple[Platform, list[Workload]]:
    """One platform named `name` and the stack's workloads on it."""
    platform = Platform(name, stack.platform)
    workloads = [platform.workload(spec.name, WorkloadArgs.of(spec)) for spec in stack.workloads]
    return platform, workloads


def export(platform: Platform, workloads: Sequence[Workload], single: bool) -> None:
    config = platform.config
    pulumi.export("cloud", config.cloud)
    pulumi.export("store", config.store)
    pulumi.export("identity", config.identity)
    if platform.kubernetes.kubeconfig is not None:
        pulumi.export("kubeConfig", platform.kubernetes.kubeconfig)
    for name, value in platform.outputs.items():
        pulumi.export(name, value)
    pulumi.export("workloads", {workload.name: workload.outputs for workload in workloads})
    if single:
        for name, value in workloads[0].outputs.items():
            pulumi.export(name, value)

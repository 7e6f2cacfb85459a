"""The config keys of an existing cluster. Importing this module needs no SDK.

The program checks nothing it cannot know: whether the cluster is there and answers is for
Pulumi's Kubernetes provider to say.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Annotated, Any

import yaml

from secretstore_csi import PROJECT
from secretstore_csi.model import WorkloadSpec
from secretstore_csi.settings import (
    SECRET,
    Accepted,
    ConfigSecret,
    PlatformConfig,
    SettingsModel,
    line,
    matching,
    plain_text_problem,
)


def _kubeconfig(value: Any) -> ConfigSecret:
    if not isinstance(value, ConfigSecret):
        raise ValueError(value)
    if not value.stored_as_secret:
        raise line(plain_text_problem("<key>"))
    try:
        document = yaml.safe_load(value.value)
    except yaml.YAMLError:
        raise ValueError(value) from None
    if not isinstance(document, dict) or not isinstance(document.get("contexts"), list):
        raise ValueError(value)
    return value


def _kubelet_root_dir(value: Any) -> str:
    path = matching(r"/[A-Za-z0-9._/-]{1,255}")(value)
    if posixpath.normpath(path) != path or path == "/" or "//" in path:
        raise ValueError(value)
    return path


def _contexts(kubeconfig: ConfigSecret) -> list[str]:
    document = yaml.safe_load(kubeconfig.value)
    return [str(c.get("name")) for c in document["contexts"] if isinstance(c, dict)]


class ExistingClusterSettings(SettingsModel):
    kubeconfig: Annotated[
        ConfigSecret | None,
        Accepted(
            _kubeconfig,
            "expected a kubeconfig (YAML or JSON, with its contexts), set with `pulumi config set "
            '--secret secretstore-csi:kubeconfig -- "$(cat kubeconfig.yaml)"`; leave it unset to use your '
            "own, as kubectl would",
        ),
        SECRET,
    ] = None
    kube_context: Annotated[
        str | None, Accepted(matching(r"[^\s]{1,253}"), "expected the name of a context of the kubeconfig")
    ] = None
    """None: the kubeconfig's current context."""
    kubelet_root_dir: Annotated[
        str | None,
        Accepted(
            _kubelet_root_dir,
            "expected the absolute, normalised path where the kubelet keeps pods (no '.' or '..' parts, no "
            "trailing or doubled '/'), such as /var/snap/microk8s/common/var/lib/kubelet",
        ),
    ] = None
    """None: /var/lib/kubelet, as on kind, EKS, AKS and GKE."""

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        if self.kubeconfig is not None and self.kube_context is not None:
            contexts = _contexts(self.kubeconfig)
            if self.kube_context not in contexts:
                return [
                    f"{PROJECT}:kubeContext = {self.kube_context!r}: expected one of the contexts of "
                    f"{PROJECT}:kubeconfig: {', '.join(map(str, contexts))}"
                ]
        return []

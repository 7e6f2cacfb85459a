"""What a cloud module hands the cloud-independent Kubernetes layer.

A cloud turns the stack config into a cluster, a secret store and an identity that only the
trusted service account can use. The Kubernetes layer needs just this value to install the
driver and the cloud's provider and to run the demo; it never imports a cloud SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import pulumi

from infra.charts import HelmChart


@dataclass(frozen=True)
class SecretStoreTarget:
    kubeconfig: pulumi.Output[str]
    """Kubeconfig of the new cluster, marked secret."""

    provider: str
    """The SecretProviderClass `spec.provider`: the name the cloud's provider registers."""

    provider_chart: HelmChart
    provider_chart_values: Mapping[str, Any]
    """Values for the provider chart, without its bundled driver (the layer turns that off)."""

    token_audiences: Sequence[str]
    """Audiences of the service-account tokens the driver passes to the provider."""

    parameters: Mapping[str, pulumi.Input[str]]
    """SecretProviderClass `spec.parameters`; every value is a string."""

    mounted_files: Sequence[str]
    """Every file the SecretProviderClass mounts, relative to the mount; the demo serves the
    first on /read."""

    service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)

    identity_ready: Sequence[pulumi.Resource] = ()
    """Resources that must exist before the authorized pod can mount, such as a policy attachment."""


@dataclass(frozen=True)
class Cloud:
    """A cloud module's result: the target for the Kubernetes layer and the stack outputs."""

    target: SecretStoreTarget
    outputs: Mapping[str, pulumi.Input[Any]]

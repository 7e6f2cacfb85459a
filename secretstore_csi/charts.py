"""Every Helm chart this project installs, pinned in one place.

Bump a version here only together with the chart vendored in tests/charts/, which the tests
render with the program's values.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HelmChart:
    name: str
    version: str
    repo: str


DRIVER = HelmChart(
    name="secrets-store-csi-driver",
    version="1.6.0",
    repo="https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts",
)

AWS_PROVIDER = HelmChart(
    name="secrets-store-csi-driver-provider-aws",
    version="3.1.1",
    repo="https://aws.github.io/secrets-store-csi-driver-provider-aws",
)

AZURE_PROVIDER = HelmChart(
    name="csi-secrets-store-provider-azure",
    version="1.8.2",
    repo="https://azure.github.io/secrets-store-csi-driver-provider-azure/charts",
)

VAULT = HelmChart(
    name="vault",
    version="0.34.1",
    repo="https://helm.releases.hashicorp.com",
)
# The Vault the chart 0.34.1 runs (its server.image); the configuration Job uses its CLI. By
# digest: HashiCorp publishes none beside the tag; this is the one public pins of 2.0.4 agree
# on (kroxylicious/kroxylicious b4bccddf, the update to 2.0.4).
VAULT_IMAGE = "hashicorp/vault:2.0.4@sha256:5be49781ecf78bfe775c5309c6a4d9f4e9e040b6c885c99eb2b12fb69855e1a2"

# The driver chart 1.6.0 declares `kubeVersion: ">=1.30.0-0"`.
MIN_KUBERNETES_VERSION = (1, 30)

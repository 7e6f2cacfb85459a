"""An EKS cluster that exists, and what IRSA and Pod Identity find on it: read with pulumi-aws's
data sources when the config is checked, once per stack.

Each function returns what it found, or a `Missing` with what AWS said.
"""

from __future__ import annotations

from dataclasses import dataclass

from pulumi_aws import eks, iam

from secretstore_csi import ownership
from secretstore_csi.aws.settings import AwsClusterSettings
from secretstore_csi.login import exec_kubeconfig
from secretstore_csi.lookup import Missing, read

POD_IDENTITY_AGENT = "eks-pod-identity-agent"
SECRETS_STORE_ADD_ON = "aws-secrets-store-csi-driver-provider"
"""The EKS add-on with the Secrets Store CSI Driver and the AWS provider."""


@dataclass(frozen=True)
class FoundEksCluster:
    name: str
    arn: str
    endpoint: str
    certificate_authority: str
    """Base64 PEM, as a kubeconfig's certificate-authority-data takes it."""
    issuer_url: str
    """The cluster's OIDC issuer, https://oidc.eks.<region>.amazonaws.com/id/<id>."""
    version: str
    """The Kubernetes minor version, such as 1.33."""
    region: str

    def kubeconfig(self) -> str:
        """The kubeconfig `aws eks update-kubeconfig` writes: it logs in as the caller, with
        `aws eks get-token`."""
        return exec_kubeconfig(
            self.arn,
            self.endpoint,
            self.certificate_authority,
            "aws",
            ["--region", self.region, "eks", "get-token", "--cluster-name", self.name, "--output", "json"],
        )


@dataclass(frozen=True)
class FoundOidcProvider:
    arn: str
    url: str
    """As IAM keeps it: the issuer without https://, the prefix of IRSA's condition keys."""
    ours: bool
    """Whether this stack made it (an earlier run with createOidcProvider)."""


def _cluster(settings: AwsClusterSettings) -> FoundEksCluster | Missing:
    name = settings.existing_cluster
    assert name is not None
    found = read(lambda: eks.get_cluster(name=name, region=settings.region))
    if isinstance(found, Missing):
        return found
    issuers = [oidc.issuer for identity in found.identities or [] for oidc in identity.oidcs or [] if oidc.issuer]
    authorities = [authority.data for authority in found.certificate_authorities or [] if authority.data]
    if not issuers or not authorities or not found.endpoint:
        return Missing(f"EKS reports no {'OIDC issuer' if not issuers else 'endpoint or certificate authority'}")
    return FoundEksCluster(
        name=found.name,
        arn=found.arn,
        endpoint=found.endpoint,
        certificate_authority=authorities[0],
        issuer_url=issuers[0],
        version=found.version,
        region=settings.region,
    )


def cluster(settings: AwsClusterSettings) -> FoundEksCluster | Missing | None:
    """The cluster `existingCluster` names, what is missing, or None for a cluster the stack
    creates."""
    if settings.existing_cluster is None:
        return None
    return settings.remembered("cluster", lambda: _cluster(settings))


def oidc_provider(settings: AwsClusterSettings, found: FoundEksCluster) -> FoundOidcProvider | Missing:
    """The IAM OIDC provider for the cluster's issuer, looked up by its URL."""

    def find() -> FoundOidcProvider | Missing:
        provider = read(lambda: iam.get_open_id_connect_provider(url=found.issuer_url))
        if isinstance(provider, Missing):
            return provider
        return FoundOidcProvider(
            arn=provider.arn, url=provider.url.removeprefix("https://"), ours=ownership.ours(provider.tags)
        )

    return settings.remembered("oidc-provider", find)


def add_on(settings: AwsClusterSettings, found: FoundEksCluster, name: str) -> eks.GetAddonResult | Missing:
    """The cluster's add-on `name`, such as the Pod Identity agent."""

    def find() -> eks.GetAddonResult | Missing:
        return read(lambda: eks.get_addon(addon_name=name, cluster_name=found.name, region=found.region))

    return settings.remembered(f"add-on/{name}", find)


def pod_identity_agent(settings: AwsClusterSettings, found: FoundEksCluster) -> eks.GetAddonResult | Missing:
    """The cluster's Pod Identity agent add-on."""
    return add_on(settings, found, POD_IDENTITY_AGENT)

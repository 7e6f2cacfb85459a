"""AWS's catalog entries: an EKS cluster, Secrets Manager, IRSA and EKS Pod Identity."""

from __future__ import annotations

from typing import TYPE_CHECKING

from secretstore_csi import charts
from secretstore_csi.catalog import (
    ClusterSource,
    ExistingSecretForm,
    IdentityMode,
    ManagedAddOn,
    SecretStore,
    settings_model,
)

if TYPE_CHECKING:
    from secretstore_csi.aws.cluster import Eks
    from secretstore_csi.aws.secrets_manager import SecretReaderRole
    from secretstore_csi.seam import ClusterBuilder, IdentityInstaller, StoreInstaller

SETTINGS = "secretstore_csi.aws.settings"


def _eks() -> ClusterBuilder[Eks]:
    from secretstore_csi.aws.cluster import build

    return build


def _secrets_manager() -> StoreInstaller[Eks, SecretReaderRole]:
    from secretstore_csi.aws.secrets_manager import SecretsManager

    return SecretsManager


def _irsa() -> IdentityInstaller[Eks, SecretReaderRole]:
    from secretstore_csi.aws.irsa import IrsaIssuer

    return IrsaIssuer


def _pod_identity() -> IdentityInstaller[Eks, SecretReaderRole]:
    from secretstore_csi.aws.pod_identity import PodIdentityAgent

    return PodIdentityAgent


EKS: ClusterSource[Eks] = ClusterSource(
    name="aws",
    title="an EKS cluster",
    settings=settings_model(SETTINGS, "AwsClusterSettings"),
    default_store="secretsManager",
    build=_eks,
)

SECRETS_MANAGER: SecretStore[Eks, SecretReaderRole] = SecretStore(
    name="secretsManager",
    title="AWS Secrets Manager",
    settings=settings_model(SETTINGS, "SecretsManagerSettings"),
    provider="aws",
    chart=charts.AWS_PROVIDER,
    # The provider exchanges the first for IRSA and the second for EKS Pod Identity; the
    # driver requests both, as the provider chart's default does.
    token_audiences=("sts.amazonaws.com", "pods.eks.amazonaws.com"),
    # SecretString: at most 65,536 bytes (Secrets Manager quotas).
    max_secret_bytes=65_536,
    clusters=("aws",),
    default_identity="irsa",
    install=_secrets_manager,
    # The whole ARN, with the six characters Secrets Manager adds to the name, so that the
    # grant names exactly the secret (Secrets Manager User Guide, "Secret ARN").
    existing_secret=ExistingSecretForm(
        pattern=r"arn:aws(?:-[a-z]+)*:secretsmanager:[a-z]{2}(?:-[a-z]+)+-[0-9]:[0-9]{12}:secret:"
        r"[A-Za-z0-9/_+=.@-]{1,512}-[A-Za-z0-9]{6}",
        form="the secret's whole ARN, arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters> "
        "(`aws secretsmanager describe-secret --secret-id <name> --query ARN`)",
    ),
    # Since November 2025; the provider reads IRSA's and Pod Identity's tokens as the chart's.
    add_on=ManagedAddOn(
        title="the EKS add-on aws-secrets-store-csi-driver-provider", identities=("irsa", "podIdentity")
    ),
)

IRSA: IdentityMode[Eks, SecretReaderRole] = IdentityMode(
    name="irsa",
    title="IAM Roles for Service Accounts",
    settings=settings_model(SETTINGS, "IrsaSettings"),
    store=SECRETS_MANAGER,
    clusters=("aws",),
    denials=("An IAM role must be associated with service account",),
    install=_irsa,
)

POD_IDENTITY: IdentityMode[Eks, SecretReaderRole] = IdentityMode(
    name="podIdentity",
    title="EKS Pod Identity",
    settings=settings_model(SETTINGS, "PodIdentitySettings"),
    store=SECRETS_MANAGER,
    clusters=("aws",),
    # The agent finds no association for `default`; the provider then fails to fetch the
    # secret ("Failed fetching secret" in the primary region, "Failed to fetch secret from
    # all regions" with a failover region), not with IRSA's message.
    denials=("Failed fetching secret", "Failed to fetch secret"),
    install=_pod_identity,
)

CLUSTERS = (EKS,)
STORES = (SECRETS_MANAGER,)
IDENTITIES = (IRSA, POD_IDENTITY)

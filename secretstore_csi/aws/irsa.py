"""IAM Roles for Service Accounts: the cluster's OIDC issuer is trusted in IAM, and one role
trusts exactly the workload's service account through it, as in the article."""

from __future__ import annotations

import asyncio

import pulumi
from pulumi_aws import iam as aws_iam

from secretstore_csi import PREFIX
from secretstore_csi.aws import iam
from secretstore_csi.aws.cluster import EksCluster
from secretstore_csi.aws.secrets_manager import SecretReaderRole
from secretstore_csi.aws.thumbprint import ThumbprintError, issuer_ca_thumbprint
from secretstore_csi.model import Workload
from secretstore_csi.seam import MOVED_FROM_STACK, Cluster, IdentityBinding
from secretstore_csi.settings import StackConfig


async def _thumbprint(issuer_url: str) -> str:
    # A blocking TLS handshake; run it off the event loop so other registrations go on.
    try:
        return await asyncio.to_thread(
            issuer_ca_thumbprint, issuer_url, attempts=6, retry_delay=10.0, progress=pulumi.log.info
        )
    except ThumbprintError as error:
        raise pulumi.RunError(f"Cannot trust the cluster's OIDC issuer: {error}") from error


class Irsa(pulumi.ComponentResource):
    """The IAM OIDC provider for the cluster's issuer, and a role only `workload` can assume."""

    def __init__(
        self, name: str, cluster: EksCluster, workload: Workload, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("secretstore-csi:aws:Irsa", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, aliases=MOVED_FROM_STACK)
        issuer_url = cluster.eks.oidc_provider_url
        thumbprint: pulumi.Output[str] = issuer_url.apply(_thumbprint)
        self.oidc_provider = aws_iam.OpenIdConnectProvider(
            f"{name}-oidc-provider",
            url=issuer_url,
            client_id_lists=[iam.STS_AUDIENCE],
            thumbprint_lists=[thumbprint],
            opts=child,
        )
        subject = workload.subject
        self.role = aws_iam.Role(
            f"{name}-secret-reader",
            description=f"Assumed by {subject}",
            assume_role_policy=pulumi.Output.all(self.oidc_provider.arn, cluster.eks.oidc_issuer).apply(
                lambda args: iam.irsa_trust_policy(args[0], args[1], subject)
            ),
            opts=child,
        )
        self.register_outputs({"role_arn": self.role.arn, "oidc_provider_arn": self.oidc_provider.arn})


def build(stack: StackConfig, cluster: Cluster, workload: Workload) -> IdentityBinding:
    if not isinstance(cluster, EksCluster):
        raise TypeError("IRSA needs an EKS cluster")
    irsa = Irsa(PREFIX, cluster, workload)
    return IdentityBinding(
        reader=SecretReaderRole(irsa.role),
        # The provider reads this annotation to learn the role for the pod's token.
        service_account_annotations={"eks.amazonaws.com/role-arn": irsa.role.arn},
        parameters={"usePodIdentity": "false"},
        ready=[irsa.role],
        outputs={"secretReaderRoleArn": irsa.role.arn, "oidcProviderArn": irsa.oidc_provider.arn},
    )

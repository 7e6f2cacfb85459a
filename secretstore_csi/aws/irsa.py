"""IAM Roles for Service Accounts: the cluster's OIDC issuer is trusted in IAM once, and each
workload gets a role that trusts exactly its service account through it, as in the article."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi_aws import iam as aws_iam

from secretstore_csi.aws import iam
from secretstore_csi.aws.cluster import EksCluster
from secretstore_csi.aws.secrets_manager import SecretReaderRole
from secretstore_csi.aws.thumbprint import ThumbprintError, issuer_ca_thumbprint
from secretstore_csi.model import WorkloadSpec
from secretstore_csi.seam import MOVED_FROM_STACK, IdentityBinding, moved_from, top_aliases, was_at_top
from secretstore_csi.settings import PlatformConfig

TYPE = "secretstore-csi:aws:Irsa"


async def _thumbprint(issuer_url: str) -> str:
    # A blocking TLS handshake; run it off the event loop so other registrations go on.
    try:
        return await asyncio.to_thread(
            issuer_ca_thumbprint, issuer_url, attempts=6, retry_delay=10.0, progress=pulumi.log.info
        )
    except ThumbprintError as error:
        raise pulumi.RunError(f"Cannot trust the cluster's OIDC issuer: {error}") from error


class IrsaIssuer(pulumi.ComponentResource):
    """The IAM OIDC provider for the cluster's issuer: IRSA's one part per cluster."""

    outputs: Mapping[str, pulumi.Input[Any]]

    def __init__(
        self, name: str, config: PlatformConfig, cluster: EksCluster, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("secretstore-csi:aws:IrsaIssuer", name, None, opts)
        self.cluster = cluster
        issuer_url = cluster.eks.oidc_provider_url
        thumbprint: pulumi.Output[str] = issuer_url.apply(_thumbprint)
        self.oidc_provider = aws_iam.OpenIdConnectProvider(
            f"{name}-oidc-provider",
            url=issuer_url,
            client_id_lists=[iam.STS_AUDIENCE],
            thumbprint_lists=[thumbprint],
            # It was in the Irsa component of the stack's single workload, and before that at
            # the top of the stack.
            opts=pulumi.ResourceOptions(parent=self, aliases=[*MOVED_FROM_STACK, *moved_from(name, TYPE)]),
        )
        self.outputs = {"oidcProviderArn": self.oidc_provider.arn}
        self.register_outputs({"oidc_provider_arn": self.oidc_provider.arn})

    def grant(
        self, name: str, workload: WorkloadSpec, opts: pulumi.ResourceOptions
    ) -> IdentityBinding[SecretReaderRole]:
        irsa = Irsa(name, self, workload, opts)
        return IdentityBinding(
            reader=SecretReaderRole(irsa.role),
            # The provider reads this annotation to learn the role for the pod's token.
            service_account_annotations={"eks.amazonaws.com/role-arn": irsa.role.arn},
            parameters={"usePodIdentity": "false"},
            ready=[irsa.role],
            outputs={"secretReaderRoleArn": irsa.role.arn},
        )


class Irsa(pulumi.ComponentResource):
    """A role that only `workload`'s service account can assume, through the cluster's issuer."""

    def __init__(
        self, name: str, issuer: IrsaIssuer, workload: WorkloadSpec, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Before a workload held it, it was at the top of the stack.
        super().__init__(TYPE, name, None, was_at_top(opts, workload))
        subject = workload.subject
        self.role = aws_iam.Role(
            iam.role_name(name),
            description=f"Assumed by {subject}",
            assume_role_policy=pulumi.Output.all(issuer.oidc_provider.arn, issuer.cluster.eks.oidc_issuer).apply(
                lambda args: iam.irsa_trust_policy(args[0], args[1], subject)
            ),
            opts=pulumi.ResourceOptions(parent=self, aliases=top_aliases(workload)),
        )
        self.register_outputs({"role_arn": self.role.arn})

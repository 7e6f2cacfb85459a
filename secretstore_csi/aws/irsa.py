"""IAM Roles for Service Accounts: the cluster's OIDC issuer is trusted in IAM once, and each
workload gets a role that trusts exactly its service account through it, as in the article.

The IAM OIDC provider is the stack's own, or, with `createOidcProvider = false`, the one an
existing cluster has, as `aws.iam.get_open_id_connect_provider` found it by the issuer's URL."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi_aws import iam as aws_iam

from secretstore_csi import ownership
from secretstore_csi.aws import existing, iam
from secretstore_csi.aws.cluster import Eks
from secretstore_csi.aws.secrets_manager import SecretReaderRole
from secretstore_csi.aws.settings import AwsClusterSettings, IrsaSettings
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

    provider_arn: pulumi.Output[str]
    """The IAM OIDC provider every workload's role trusts."""
    issuer: pulumi.Output[str]
    """Its issuer without https://, the prefix of the trust policy's condition keys."""

    def __init__(
        self, name: str, config: PlatformConfig, cluster: Eks, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("secretstore-csi:aws:IrsaIssuer", name, None, opts)
        if cluster.found is not None and not config.of(IrsaSettings).create_oidc_provider:
            found = existing.oidc_provider(config.of(AwsClusterSettings), cluster.found)
            # The config check refused an existing cluster whose provider cannot be read.
            assert isinstance(found, existing.FoundOidcProvider), found
            self.provider_arn = pulumi.Output.from_input(found.arn)
            self.issuer = pulumi.Output.from_input(found.url)
        else:
            thumbprint: pulumi.Output[str] = cluster.issuer_url.apply(_thumbprint)
            oidc_provider = aws_iam.OpenIdConnectProvider(
                f"{name}-oidc-provider",
                url=cluster.issuer_url,
                client_id_lists=[iam.STS_AUDIENCE],
                thumbprint_lists=[thumbprint],
                # On a cluster it does not own, the stack marks what it adds, so that its next
                # run tells it from one made by others.
                tags=ownership.owner_tags() if cluster.found is not None else None,
                # It was in the Irsa component of the stack's single workload, and before that at
                # the top of the stack.
                opts=pulumi.ResourceOptions(parent=self, aliases=[*MOVED_FROM_STACK, *moved_from(name, TYPE)]),
            )
            self.provider_arn = oidc_provider.arn
            self.issuer = cluster.issuer
        self.outputs = {"oidcProviderArn": self.provider_arn}
        self.register_outputs({"oidc_provider_arn": self.provider_arn})

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
            assume_role_policy=pulumi.Output.all(issuer.provider_arn, issuer.issuer).apply(
                lambda args: iam.irsa_trust_policy(args[0], args[1], subject)
            ),
            opts=pulumi.ResourceOptions(parent=self, aliases=top_aliases(workload)),
        )
        self.register_outputs({"role_arn": self.role.arn})

"""AWS: an EKS cluster, a Secrets Manager secret, and IAM Roles for Service Accounts (IRSA).

The IRSA pieces are built explicitly, as in the article: an IAM OIDC provider for the
cluster's issuer, a role that trusts exactly one service account through it, and a policy
that can read exactly the secret this stack created.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import yaml

from infra import PREFIX, charts
from infra.config import StackConfig, StoreSecret
from infra.store_secrets import secret_value
from infra.seam import Cloud, SecretStoreTarget
from infra.thumbprint import ThumbprintError, issuer_ca_thumbprint

STS_AUDIENCE = "sts.amazonaws.com"
# The provider exchanges the sts.amazonaws.com token for IRSA and the pods.eks.amazonaws.com
# token for EKS Pod Identity; the driver requests both, as the provider chart's default does.
TOKEN_AUDIENCES = (STS_AUDIENCE, "pods.eks.amazonaws.com")
SECRET_READ_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")
_JMESPATH_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def trust_policy(provider_arn: str, issuer: str, subject: str) -> str:
    """Only tokens for `subject`, minted for STS, may assume the role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{issuer}:sub": subject,
                            f"{issuer}:aud": STS_AUDIENCE,
                        }
                    },
                }
            ],
        }
    )


def read_secrets_policy(secret_arns: list[str]) -> str:
    """Read access to exactly these secrets, and nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": list(SECRET_READ_ACTIONS),
                    "Resource": secret_arns,
                }
            ],
        }
    )


def jmes_path(key: str) -> str:
    """A JMESPath expression selecting one top-level key; keys such as `my-key` need quotes."""
    return key if _JMESPATH_IDENTIFIER.fullmatch(key) else json.dumps(key)


def secret_objects(secrets: Sequence[tuple[StoreSecret, str]]) -> str:
    """The SecretProviderClass `objects` parameter: each secret by full ARN, mounted as its
    name, and each key of a JSON document also as a file of its own."""
    objects = []
    for secret, arn in secrets:
        entry: dict[str, Any] = {
            "objectName": arn,
            "objectType": "secretsmanager",
            "objectAlias": secret.name,
        }
        if secret.keys:
            entry["jmesPath"] = [
                {"path": jmes_path(key), "objectAlias": secret.key_file(key)} for key in secret.keys
            ]
        objects.append(entry)
    return yaml.safe_dump(objects, sort_keys=False)


async def _thumbprint(issuer_url: str) -> str:
    # A blocking TLS handshake; run it off the event loop so other registrations go on.
    try:
        return await asyncio.to_thread(
            issuer_ca_thumbprint, issuer_url, attempts=6, retry_delay=10.0, progress=pulumi.log.info
        )
    except ThumbprintError as error:
        raise pulumi.RunError(f"Cannot trust the cluster's OIDC issuer: {error}") from error


def build(config: StackConfig) -> Cloud:
    settings = config.aws
    assert settings is not None, "config.load() fills aws settings when cloud is aws"

    cluster = eks.Cluster(
        f"{PREFIX}-cluster",
        version=config.kubernetes_version,
        authentication_mode=eks.AuthenticationMode.API,
        instance_type=config.nodes.machine_type,
        desired_capacity=config.nodes.desired,
        min_size=config.nodes.minimum,
        max_size=config.nodes.maximum,
        # The OIDC provider is built below, explicitly.
        create_oidc_provider=False,
    )

    secrets = []
    for spec in config.secrets:
        secret = aws.secretsmanager.Secret(
            f"{PREFIX}-{spec.name}",
            name=spec.store_name,
            description=f"secretstore-csi secret '{spec.name}', read through the Secrets Store CSI driver",
            recovery_window_in_days=settings.recovery_window_in_days,
        )
        aws.secretsmanager.SecretVersion(
            f"{PREFIX}-{spec.name}-value", secret_id=secret.id, secret_string=secret_value(spec)
        )
        secrets.append(secret)
    arns = pulumi.Output.all(*[secret.arn for secret in secrets])

    oidc_provider = aws.iam.OpenIdConnectProvider(
        f"{PREFIX}-oidc-provider",
        url=cluster.oidc_provider_url,
        client_id_lists=[STS_AUDIENCE],
        thumbprint_lists=[cluster.oidc_provider_url.apply(_thumbprint)],
    )
    subject = config.workload.subject
    role = aws.iam.Role(
        f"{PREFIX}-secret-reader",
        description=f"Assumed by {subject}",
        assume_role_policy=pulumi.Output.all(oidc_provider.arn, cluster.oidc_issuer).apply(
            lambda args: trust_policy(args[0], args[1], subject)
        ),
    )
    policy = aws.iam.Policy(
        f"{PREFIX}-read-secret",
        description="Read the secrets of this secretstore-csi stack, and nothing else",
        policy=arns.apply(lambda values: read_secrets_policy(list(values))),
    )
    attachment = aws.iam.RolePolicyAttachment(
        f"{PREFIX}-read-secret", role=role.name, policy_arn=policy.arn
    )

    target = SecretStoreTarget(
        kubeconfig=pulumi.Output.secret(cluster.kubeconfig_json),
        provider="aws",
        provider_chart=charts.AWS_PROVIDER,
        # With the region set the provider chart leaves out the RBAC it would need to look
        # the region up from node labels.
        provider_chart_values={"awsRegion": settings.region},
        token_audiences=TOKEN_AUDIENCES,
        parameters={
            "region": settings.region,
            "usePodIdentity": "false",
            "objects": arns.apply(lambda values: secret_objects(list(zip(config.secrets, values)))),
        },
        mounted_files=[file for spec in config.secrets for file in spec.files],
        service_account_annotations={"eks.amazonaws.com/role-arn": role.arn},
        identity_ready=[attachment],
    )
    outputs: dict[str, Any] = {
        "region": settings.region,
        "clusterName": cluster.eks_cluster.name,
        "secretArn": secrets[0].arn,
        "secretArns": {spec.name: secret.arn for spec, secret in zip(config.secrets, secrets)},
        "secretReaderRoleArn": role.arn,
        "oidcProviderArn": oidc_provider.arn,
    }
    return Cloud(target=target, outputs=outputs)

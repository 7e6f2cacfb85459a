"""Secrets Manager: the workload's secrets, and read access to exactly them for one IAM role.

The read access is a managed policy listing the secrets' ARNs, attached to the role the
identity mode made. When the ARNs do not fit one policy they are split across several.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import yaml
from pulumi_aws import iam as aws_iam
from pulumi_aws import secretsmanager

from infra import PREFIX, registry
from infra.aws import iam
from infra.aws.settings import AwsClusterSettings, SecretsManagerSettings, longest_arns
from infra.model import StoreSecret, Workload
from infra.seam import MOVED_FROM_STACK, Cluster, IdentityBinding, StoreBinding
from infra.secret_values import secret_value
from infra.settings import StackConfig

_JMESPATH_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SecretReaderRole:
    """The principal an AWS identity mode hands the store: an IAM role its pods assume."""

    role: aws_iam.Role


def jmes_path(key: str) -> str:
    """A JMESPath expression selecting one top-level key; keys such as `my-key` need quotes."""
    return key if _JMESPATH_IDENTIFIER.fullmatch(key) else json.dumps(key)


def secret_objects(secrets: Sequence[tuple[StoreSecret, str]]) -> str:
    """The SecretProviderClass `objects` parameter: each secret by full ARN, mounted as its
    name, and each key of a JSON document also as a file of its own."""
    objects = []
    for secret, arn in secrets:
        entry: dict[str, Any] = {"objectName": arn, "objectType": "secretsmanager", "objectAlias": secret.name}
        if secret.keys:
            entry["jmesPath"] = [{"path": jmes_path(key), "objectAlias": secret.key_file(key)} for key in secret.keys]
        objects.append(entry)
    return yaml.safe_dump(objects, sort_keys=False)


def _checked_policy(arns: Sequence[str]) -> str:
    document = iam.read_secrets_policy(arns)
    if iam.policy_characters(document) > iam.POLICY_MAX_CHARACTERS:
        # Only with ARNs longer than the config check assumed, such as custom autonaming.
        raise pulumi.RunError(
            f"The read policy for {len(arns)} secrets has {iam.policy_characters(document)} characters, "
            f"more than the {iam.POLICY_MAX_CHARACTERS} IAM allows"
        )
    return document


class SecretsManagerStore(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        stack: StackConfig,
        workload: Workload,
        reader: SecretReaderRole,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("secretstore-csi:aws:SecretsManagerStore", name, None, opts)
        settings = stack.of(SecretsManagerSettings)
        region = stack.of(AwsClusterSettings).region
        child = pulumi.ResourceOptions(parent=self, aliases=MOVED_FROM_STACK)

        self.secrets = []
        for index, spec in enumerate(workload.secrets):
            secret = secretsmanager.Secret(
                spec.resource_name,
                name=settings.secret_name if stack.demo_secret and index == 0 else None,
                description=f"secretstore-csi secret '{spec.name}', read through the Secrets Store CSI driver",
                recovery_window_in_days=settings.secret_recovery_window_in_days,
                opts=child,
            )
            secretsmanager.SecretVersion(
                f"{spec.resource_name}-value",
                secret_id=secret.id,
                secret_string=secret_value(spec, parent=self),
                opts=child,
            )
            self.secrets.append(secret)
        self.arns = pulumi.Output.all(*[secret.arn for secret in self.secrets])

        # Worst-case ARN lengths fix the split now, so each policy is a resource of its own.
        self.attachments = []
        for number, group in enumerate(iam.read_policy_groups(longest_arns(stack, settings, region)), start=1):
            policy_name = f"{name}-read-secret" + (f"-{number}" if number > 1 else "")
            policy = aws_iam.Policy(
                policy_name,
                description="Read the secrets of this secretstore-csi stack, and nothing else",
                policy=pulumi.Output.all(*[self.secrets[i].arn for i in group]).apply(_checked_policy),
                opts=child,
            )
            self.attachments.append(
                aws_iam.RolePolicyAttachment(policy_name, role=reader.role.name, policy_arn=policy.arn, opts=child)
            )
        self.register_outputs({"secret_arns": self.arns})


def build(stack: StackConfig, cluster: Cluster, workload: Workload, identity: IdentityBinding) -> StoreBinding:
    if not isinstance(identity.reader, SecretReaderRole):
        raise TypeError("Secrets Manager grants read access to an IAM role")
    store = SecretsManagerStore(PREFIX, stack, workload, identity.reader)
    region = stack.of(AwsClusterSettings).region
    entry = registry.STORES["secretsManager"]
    return StoreBinding(
        provider=entry.provider,
        chart=entry.chart,
        # With the region set the provider chart leaves out the RBAC it would need to look
        # the region up from node labels.
        chart_values={"awsRegion": region},
        token_audiences=entry.token_audiences,
        parameters={
            "region": region,
            "objects": store.arns.apply(lambda arns: secret_objects(list(zip(workload.secrets, arns, strict=True)))),
        },
        mounted_files=[file for spec in workload.secrets for file in spec.files],
        ready=store.attachments,
        outputs={
            "secretArn": store.secrets[0].arn,
            "secretArns": {spec.name: secret.arn for spec, secret in zip(workload.secrets, store.secrets, strict=True)},
        },
    )

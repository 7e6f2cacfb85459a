"""Secrets Manager: each workload's secrets, and read access to exactly them for its IAM role.

A secret the store holds already (`existing`, by its ARN) is only granted: nothing is created
for it, and its value is never read. The SecretProviderClass reads the region its secrets
are in.

The read access is a managed policy listing the secrets' ARNs, attached to the role the
identity mode made. When the ARNs do not fit one policy they are split across several.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import yaml
from pulumi_aws import eks as aws_eks
from pulumi_aws import iam as aws_iam
from pulumi_aws import secretsmanager

from secretstore_csi import ownership
from secretstore_csi.aws import existing, iam
from secretstore_csi.aws.catalog import SECRETS_MANAGER
from secretstore_csi.aws.cluster import Eks
from secretstore_csi.aws.settings import (
    ADD_ON_VERSION,
    AwsClusterSettings,
    SecretsManagerSettings,
    longest_arns,
    workload_region,
)
from secretstore_csi.model import DriverSettings, StoreSecret, WorkloadSpec
from secretstore_csi.seam import IdentityBinding, ProviderInstall, StoreBinding, top_aliases, was_at_top
from secretstore_csi.secret_values import secret_value
from secretstore_csi.settings import PlatformConfig

_JMESPATH_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ADD_ON = existing.SECRETS_STORE_ADD_ON


@dataclass(frozen=True)
class SecretReaderRole:
    """The principal an AWS identity mode hands the store: an IAM role its pods assume."""

    role: aws_iam.Role


def jmes_path(key: str) -> str:
    """A JMESPath expression selecting one top-level key; keys such as `my-key` need quotes."""
    return key if _JMESPATH_IDENTIFIER.fullmatch(key) else json.dumps(key)


def replica_arn(arn: str, region: str, failover_region: str) -> str:
    """The ARN of a secret's replica: the primary's, in the other region."""
    return arn.replace(f":secretsmanager:{region}:", f":secretsmanager:{failover_region}:", 1)


def secret_objects(secrets: Sequence[tuple[StoreSecret, str]], replicas: Sequence[str] | None = None) -> str:
    """The SecretProviderClass `objects` parameter: each secret by full ARN, mounted as its
    name, and each key of a JSON document also as a file of its own. With `replicas`, each
    names its replica's ARN as the object to read in the failover region."""
    objects = []
    for index, (secret, arn) in enumerate(secrets):
        entry: dict[str, Any] = {"objectName": arn, "objectType": "secretsmanager", "objectAlias": secret.name}
        if replicas is not None:
            entry["failoverObject"] = {"objectName": replicas[index]}
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


def add_on_values(driver: DriverSettings) -> dict[str, Any]:
    """The EKS add-on's configuration: the driver's keys of the provider chart, which the
    add-on takes as they are (aws/secrets-store-csi-driver-provider-aws, the add-on tests'
    tests/addon_config_values.yaml). The audiences are those the driver requests for the
    provider's two exchanges, as with the Helm release."""
    driver_values: dict[str, Any] = {
        "enableSecretRotation": driver.rotation_poll_interval is not None,
        "syncSecret": {"enabled": driver.sync_secret},
        "tokenRequests": [{"audience": audience} for audience in SECRETS_MANAGER.token_audiences],
    }
    if driver.rotation_poll_interval is not None:
        driver_values["rotationPollInterval"] = driver.rotation_poll_interval
    return {"secrets-store-csi-driver": driver_values}


class SecretsManager:
    """Secrets Manager's part per cluster: the AWS provider chart, told the region, or the EKS
    add-on with the driver and the provider."""

    def __init__(self, name: str, config: PlatformConfig, cluster: Eks, opts: pulumi.ResourceOptions) -> None:
        self.settings = config.of(SecretsManagerSettings)
        self.region = config.of(AwsClusterSettings).region
        failover = self.settings.failover_region
        self.outputs: Mapping[str, pulumi.Input[Any]] = {"failoverRegion": failover} if failover else {}
        if config.add_on:
            self.install = self._add_on(name, config, cluster, opts)
            return
        self.install = ProviderInstall(
            provider=SECRETS_MANAGER.provider,
            token_audiences=SECRETS_MANAGER.token_audiences,
            chart=SECRETS_MANAGER.chart,
            chart_values={
                # With the region set the chart leaves out the RBAC it would need to look the
                # region up from node labels.
                "awsRegion": self.region,
                # The chart bundles the driver as a subchart: a second copy collides on the
                # CSIDriver, ServiceAccount and ClusterRoles of the shared driver release.
                "secrets-store-csi-driver": {"install": False},
            },
        )

    @staticmethod
    def _add_on(name: str, config: PlatformConfig, cluster: Eks, opts: pulumi.ResourceOptions) -> ProviderInstall:
        """The EKS add-on, pinned; on an existing cluster that has it already, the cluster's."""
        found = existing.add_on(config.of(AwsClusterSettings), cluster.found, ADD_ON) if cluster.found else None
        if isinstance(found, aws_eks.GetAddonResult) and not ownership.ours(found.tags):
            pulumi.log.warn(
                f"Cluster {cluster.found.name if cluster.found else ''} has the EKS add-on {ADD_ON} already: the "
                "stack uses it as it is, with the rotation and sync its owner configured.",
                resource=opts.parent,
            )
            return ProviderInstall(provider=SECRETS_MANAGER.provider, token_audiences=(), add_on=True)
        add_on = aws_eks.Addon(
            f"{name}-secrets-store-add-on",
            cluster_name=cluster.cluster_name,
            addon_name=ADD_ON,
            addon_version=ADD_ON_VERSION,
            configuration_values=json.dumps(add_on_values(config.driver), sort_keys=True),
            # Never over what is there: a Helm-installed driver makes the create fail.
            resolve_conflicts_on_create="NONE",
            tags=ownership.owner_tags() if cluster.found is not None else None,
            opts=pulumi.ResourceOptions(parent=opts.parent),
        )
        return ProviderInstall(provider=SECRETS_MANAGER.provider, token_audiences=(), ready=[add_on], add_on=True)

    def grant(
        self,
        name: str,
        workload: WorkloadSpec,
        identity: IdentityBinding[SecretReaderRole],
        opts: pulumi.ResourceOptions,
    ) -> StoreBinding:
        store = SecretsManagerStore(name, self.settings, self.region, workload, identity.reader, opts)
        failover = self.settings.failover_region
        parameters: dict[str, pulumi.Input[str]] = {"region": workload_region(self.region, workload)}
        if store.replica_arns is not None and failover:
            parameters["failoverRegion"] = failover
            parameters["objects"] = pulumi.Output.all(store.arns, store.replica_arns).apply(
                lambda pair: secret_objects(list(zip(workload.secrets, pair[0], strict=True)), pair[1])
            )
        else:
            parameters["objects"] = store.arns.apply(
                lambda arns: secret_objects(list(zip(workload.secrets, arns, strict=True)))
            )
        outputs: dict[str, pulumi.Input[Any]] = {
            "secretArn": store.arns[0],
            "secretArns": store.arns.apply(
                lambda arns: {spec.name: arn for spec, arn in zip(workload.secrets, arns, strict=True)}
            ),
        }
        if store.replica_arns is not None:
            outputs["secretReplicaArns"] = store.replica_arns.apply(
                lambda arns: {spec.name: arn for spec, arn in zip(workload.secrets, arns, strict=True)}
            )
        return StoreBinding(
            parameters=parameters,
            mounted_files=[file for spec in workload.secrets for file in spec.files],
            ready=store.attachments,
            outputs=outputs,
        )


class SecretsManagerStore(pulumi.ComponentResource):
    """A workload's secrets, and the read policies that its role gets on exactly them."""

    def __init__(
        self,
        name: str,
        settings: SecretsManagerSettings,
        region: str,
        workload: WorkloadSpec,
        reader: SecretReaderRole,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # Before a workload held it, it was at the top of the stack.
        super().__init__(
            "secretstore-csi:aws:SecretsManagerStore",
            name,
            None,
            was_at_top(opts, workload),
        )
        failover = settings.failover_region
        child = pulumi.ResourceOptions(parent=self, aliases=top_aliases(workload))

        arns: list[pulumi.Input[str]] = []
        for spec in workload.secrets:
            if spec.existing is not None:
                arns.append(spec.existing)
                continue
            secret = secretsmanager.Secret(
                workload.resource_name(spec),
                name=settings.secret_name if spec.article else None,
                description=f"secretstore-csi secret '{spec.name}', read through the Secrets Store CSI driver",
                recovery_window_in_days=settings.secret_recovery_window_in_days,
                # Secrets Manager keeps the replica in step with every version of the primary.
                replicas=[secretsmanager.SecretReplicaArgs(region=failover)] if failover else None,
                opts=child,
            )
            secretsmanager.SecretVersion(
                f"{workload.resource_name(spec)}-value",
                secret_id=secret.id,
                secret_string=secret_value(workload, spec, parent=self),
                opts=child,
            )
            arns.append(secret.arn)
        self.arns = pulumi.Output.all(*arns)
        # Each region's client reads with the pod's credentials: the role needs both ARNs.
        self.replica_arns: pulumi.Output[list[str]] | None = (
            self.arns.apply(lambda arns: [replica_arn(arn, region, failover) for arn in arns]) if failover else None
        )
        readable = [
            pulumi.Output.all(arn, *([self.replica_arns[i]] if self.replica_arns is not None else []))
            for i, arn in enumerate(arns)
        ]

        # Worst-case ARN lengths fix the split now, so each policy is a resource of its own.
        self.attachments = []
        for number, group in enumerate(iam.read_policy_groups(longest_arns(settings, region, workload)), start=1):
            policy_name = iam.policy_name(name, number)
            policy = aws_iam.Policy(
                policy_name,
                description="Read the secrets of this secretstore-csi stack, and nothing else",
                policy=pulumi.Output.all(*[readable[i] for i in group]).apply(
                    lambda arns: _checked_policy([arn for pair in arns for arn in pair])
                ),
                opts=child,
            )
            self.attachments.append(
                aws_iam.RolePolicyAttachment(policy_name, role=reader.role.name, policy_arn=policy.arn, opts=child)
            )
        self.register_outputs({"secret_arns": self.arns})

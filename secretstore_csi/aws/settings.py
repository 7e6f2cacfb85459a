"""The config keys of the AWS cluster source, the Secrets Manager store and IRSA.

Importing this module needs no SDK; checking `aws:region` reads the list of regions that
the installed pulumi-aws knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from typing import Annotated, Any

from pydantic import Field

from secretstore_csi import PROJECT
from secretstore_csi.aws import iam
from secretstore_csi.model import WorkloadSpec
from secretstore_csi.settings import (
    Accepted,
    ManagedClusterSettings,
    PlatformConfig,
    SettingsModel,
    matching,
    node_count,
)

# CreateAutoScalingGroup takes MinSize, MaxSize and DesiredCapacity as 32-bit integers.
EksNodeCount = Annotated[int, node_count(2**31 - 1, "EC2 Auto Scaling takes a 32-bit count")]
# "Pod Identity associations per cluster: 5,000" (Amazon EKS service quotas).
POD_IDENTITY_ASSOCIATIONS_MAX = 5000


def aws_region(value: Any) -> str:
    """A region code that the installed pulumi-aws lists in its Region enum."""
    import pulumi_aws

    return str(pulumi_aws.Region(value).value)


KNOWN_REGION = f"an AWS region code that pulumi-aws {metadata.version('pulumi-aws')} knows"


def instance_type(value: Any) -> str:
    """An EC2 instance type that the installed pulumi-aws lists in its InstanceType enum."""
    from pulumi_aws.ec2 import InstanceType

    return str(InstanceType(value).value)


class AwsClusterSettings(ManagedClusterSettings):
    region: Annotated[
        str,
        Accepted(
            aws_region,
            f"expected {KNOWN_REGION}, such as eu-central-1; set it with `pulumi config set aws:region <region>`",
        ),
    ] = Field(alias="aws:region")
    node_instance_type: Annotated[
        str,
        Accepted(
            instance_type,
            f"expected an EC2 instance type that pulumi-aws {metadata.version('pulumi-aws')} knows, such as t3.medium",
        ),
    ] = "t3.medium"
    node_desired_count: EksNodeCount = 2
    node_min_count: EksNodeCount = 1
    node_max_count: EksNodeCount = 3


def recovery_window(value: Any) -> int:
    days = int(matching(r"[0-9]{1,2}")(value))
    if days != 0 and not 7 <= days <= 30:
        raise ValueError(value)
    return days


class SecretsManagerSettings(SettingsModel):
    secret_name: Annotated[
        str | None,
        Accepted(
            matching(r"[A-Za-z0-9/_+=.@-]{1,512}"),
            "expected a Secrets Manager name: 1-512 characters from letters, digits and /_+=.@-",
        ),
    ] = None
    """The name of the default demo secret; otherwise autonamed."""
    secret_recovery_window_in_days: Annotated[
        int,
        Accepted(
            recovery_window,
            "expected 0 (delete at once, so the name is free again after `pulumi destroy`) or a "
            "whole number of days from 7 to 30",
        ),
    ] = 30
    failover_region: Annotated[
        str | None,
        Accepted(aws_region, f"expected {KNOWN_REGION}, such as eu-west-1, other than aws:region"),
    ] = None
    """Where every secret is replicated, for mounts to read when the primary region fails."""

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        problems = []
        region = platform.of(AwsClusterSettings).region
        if self.failover_region == region:
            problems.append(
                f"{PROJECT}:failoverRegion = {region!r}: expected {KNOWN_REGION} other than aws:region "
                f"({region}); the provider refuses a failover region that is the primary one"
            )
        if self.secret_name is not None and workloads and not any(s.article for w in workloads for s in w.secrets):
            replacing = "secrets" if all(w.legacy_names for w in workloads) else "workloads"
            problems.append(
                f"{PROJECT}:secretName configures the default demo secret, which {PROJECT}:{replacing} "
                "replaces: remove it, and give a listed secret its value with valueFrom"
            )
        for workload in workloads:
            problem = iam.read_policies_problem(longest_arns(self, region, workload))
            if problem:
                problems.append(f"{workload.config_path}secrets: {problem}")
        return problems


def longest_arns(settings: SecretsManagerSettings, region: str, workload: WorkloadSpec) -> list[list[str]]:
    """For each of the workload's secrets, ARNs at least as long as its real ones: in the
    primary region and, with a failover region, of its replica."""
    regions = [region, *([settings.failover_region] if settings.failover_region else [])]
    return [
        [
            iam.longest_secret_arn(
                where, workload.resource_name(secret), settings.secret_name if secret.article else None
            )
            for where in regions
        ]
        for secret in workload.secrets
    ]


def role_name_problems(workloads: Sequence[WorkloadSpec]) -> list[str]:
    return [
        f"{workload.config_path}name = {workload.name!r}: {problem}"
        for workload in workloads
        if (problem := iam.role_name_problem(workload.name)) is not None
    ]


class IrsaSettings(SettingsModel):
    """IRSA has no settings: each workload's role trusts exactly its service account."""

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        return role_name_problems(workloads)


class PodIdentitySettings(SettingsModel):
    """EKS Pod Identity has no settings: one association per workload, for exactly its service
    account, and a role whose trust checks the session tags the association sets."""

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        problems = role_name_problems(workloads)
        if len(workloads) > POD_IDENTITY_ASSOCIATIONS_MAX:
            problems.append(
                f"{PROJECT}:workloads: {len(workloads)} workloads, each with a Pod Identity association: expected "
                f"at most {POD_IDENTITY_ASSOCIATIONS_MAX}, the associations EKS allows per cluster"
            )
        return problems

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
from secretstore_csi.lookup import Missing
from secretstore_csi.model import WorkloadSpec
from secretstore_csi.settings import (
    Accepted,
    Boolean,
    ManagedClusterSettings,
    PlatformConfig,
    SettingsModel,
    matching,
    node_count,
    shown,
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


# "The name can contain only alphanumeric characters (case-sensitive), hyphens, and
# underscores. It must start with an alphanumeric character and can't be longer than 100
# characters." (Amazon EKS API Reference, CreateCluster, name)
EKS_CLUSTER_NAME = r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}"


class AwsClusterSettings(ManagedClusterSettings):
    CREATED_ONLY = (*ManagedClusterSettings.CREATED_ONLY, "node_instance_type")

    existing_cluster: Annotated[
        str | None,
        Accepted(
            matching(EKS_CLUSTER_NAME),
            "expected the name of an EKS cluster in aws:region: 1-100 letters, digits, '-' or '_', starting with a "
            "letter or digit (`aws eks list-clusters`)",
        ),
    ] = None
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

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        from secretstore_csi.aws import existing

        found = existing.cluster(self)
        if isinstance(found, Missing):
            return [
                f"{PROJECT}:existingCluster = {shown(self.existing_cluster)}: no EKS cluster of that name can be "
                f"read in {self.region} (AWS said: {found.reason}); expected the name of a cluster there "
                f"(`aws eks list-clusters --region {self.region}`)"
            ]
        return add_on_problems(platform)


# The EKS add-on with the driver and the AWS provider, pinned: the build of the provider 3.1.1
# that the Helm path pins too. AWS offers it for Kubernetes 1.35 and 1.36: `aws eks
# describe-addon-versions --kubernetes-version 1.35` lists v3.1.1-eksbuild.1 for both
# (aws-controllers-k8s/test-infra #1051, 2026-08-12), where it is 1.35's default (#983).
ADD_ON_VERSION = "v3.1.1-eksbuild.1"
ADD_ON_KUBERNETES_VERSIONS = ("1.35", "1.36")


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
            existing = workload.existing_secrets
            if existing and self.failover_region:
                problems.append(
                    f"{workload.config_path}secrets: {PROJECT}:failoverRegion replicates the secrets the stack "
                    "makes, and an existing secret's replica is not known to it: expected no `existing` secret "
                    "with failoverRegion"
                )
            regions = secret_regions(region, workload)
            if len(set(regions.values())) > 1:
                listed = ", ".join(f"{name} in {where}" for name, where in regions.items())
                problems.append(
                    f"{workload.config_path}secrets: {listed}: expected every secret of a workload in one region, "
                    "as the AWS provider reads one region per SecretProviderClass and refuses an ARN of another; "
                    "the secrets the stack makes are in aws:region"
                )
                continue
            problem = iam.read_policies_problem(longest_arns(self, region, workload))
            if problem:
                problems.append(f"{workload.config_path}secrets: {problem}")
        return problems


def add_on_problems(platform: PlatformConfig) -> list[str]:
    """The EKS add-on against what the stack asks of it. On an existing cluster that has it
    and `install: helm`, the Helm release would collide with its driver, whatever the store;
    with `install: addon`, an add-on that is not the stack's is used as it is, so it must do
    the rotation and sync the stack asks for; one the stack makes is the pinned build, which
    must be offered for the cluster's Kubernetes version."""
    from secretstore_csi import ownership
    from secretstore_csi.aws import existing
    from secretstore_csi.aws.catalog import SECRETS_MANAGER

    cluster = platform.of(AwsClusterSettings)
    found = existing.cluster(cluster)
    if isinstance(found, Missing):
        return []
    present = existing.add_on(cluster, found, existing.SECRETS_STORE_ADD_ON) if found is not None else None
    add_on = present if present is not None and not isinstance(present, Missing) else None
    if not platform.add_on:
        if found is None or add_on is None:
            return []
        serves = platform.store == SECRETS_MANAGER.name
        fix = (
            "the stack added it with install addon: switching takes two steps, removing the add-on first "
            "(docs/add-ons.md)"
            if ownership.ours(add_on.tags)
            else ("set install to addon, which uses it" if serves else "remove the add-on, or use another cluster")
        )
        return [
            f"{PROJECT}:install = 'helm': cluster {found.name} runs the EKS add-on {existing.SECRETS_STORE_ADD_ON}, "
            f"whose Secrets Store CSI Driver the stack's Helm release would collide with on the CSIDriver object: "
            f"{fix}"
        ]
    key = f"{PROJECT}:install = 'addon'"
    if add_on is not None and not ownership.ours(add_on.tags):
        return _foreign_add_on_problems(key, found, add_on.configuration_values, platform)
    version = found.version if found is not None else cluster.kubernetes_version
    if version not in ADD_ON_KUBERNETES_VERSIONS:
        return [
            f"{key}: the pinned add-on {existing.SECRETS_STORE_ADD_ON} {ADD_ON_VERSION} is offered for Kubernetes "
            f"{' and '.join(ADD_ON_KUBERNETES_VERSIONS)}, and the cluster runs {version}: expected helm, or a "
            f"cluster on one of those (`aws eks describe-addon-versions --addon-name {existing.SECRETS_STORE_ADD_ON} "
            f"--kubernetes-version {version}`)"
        ]
    return []


def _foreign_add_on_problems(key: str, found: Any, configuration: str | None, platform: PlatformConfig) -> list[str]:
    """What the stack asks of the driver that an add-on it does not own does not do: its
    configuration values are the chart's keys (`secrets-store-csi-driver.syncSecret.enabled`,
    `.enableSecretRotation`), off unless set."""
    import json

    try:
        values = json.loads(configuration or "{}")
    except ValueError:
        values = {}
    driver = (values.get("secrets-store-csi-driver") or {}) if isinstance(values, dict) else {}
    sync = bool((driver.get("syncSecret") or {}).get("enabled")) if isinstance(driver, dict) else False
    rotation = bool(driver.get("enableSecretRotation")) if isinstance(driver, dict) else False
    missing = [
        name
        for name, wanted, has in (
            ("syncSecret", platform.driver.sync_secret, sync),
            ("rotation", platform.driver.rotation_poll_interval is not None, rotation),
        )
        if wanted and not has
    ]
    if not missing:
        return []
    return [
        f"{key}: cluster {found.name} runs the EKS add-on aws-secrets-store-csi-driver-provider, which the stack "
        f"uses as it is, and it has {' and '.join(missing)} off: turn {'them' if len(missing) > 1 else 'it'} on "
        "in the add-on's configuration (`aws eks update-addon --configuration-values`), or off in the stack"
    ]


def arn_region(arn: str) -> str:
    """The region of a Secrets Manager ARN: arn:<partition>:secretsmanager:<region>:..."""
    return arn.split(":")[3]


def secret_regions(region: str, workload: WorkloadSpec) -> dict[str, str]:
    """Where each of the workload's secrets is: an existing one in its ARN's region, the
    others in `region`, aws:region. A malformed ARN, refused on its own, is left out."""
    from secretstore_csi.aws.catalog import SECRETS_MANAGER

    return {
        secret.name: arn_region(secret.existing) if secret.existing is not None else region
        for secret in workload.secrets
        if secret.existing is None or SECRETS_MANAGER.existing_secret.matches(secret.existing)
    }


def workload_region(region: str, workload: WorkloadSpec) -> str:
    """The region the workload's SecretProviderClass reads, the one all its secrets are in."""
    return next(iter(secret_regions(region, workload).values()), region)


def longest_arns(settings: SecretsManagerSettings, region: str, workload: WorkloadSpec) -> list[list[str]]:
    """For each of the workload's secrets, ARNs at least as long as its real ones: in the
    primary region and, with a failover region, of its replica. An existing secret's ARN is
    known."""
    regions = [region, *([settings.failover_region] if settings.failover_region else [])]
    return [
        [secret.existing]
        if secret.existing is not None
        else [
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
    """Each workload's role trusts exactly its service account, through the IAM OIDC provider
    of the cluster's issuer: one the stack creates, or, with `createOidcProvider = false`, the
    one an existing cluster has."""

    create_oidc_provider: Boolean = True

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        from secretstore_csi.aws import existing

        problems = role_name_problems(workloads)
        cluster = platform.of(AwsClusterSettings)
        found = existing.cluster(cluster)
        if self.create_oidc_provider:
            if isinstance(found, existing.FoundEksCluster):
                # IAM holds one provider per issuer: one made before the stack's first run
                # cannot be made again, and must not be taken over.
                provider = existing.oidc_provider(cluster, found)
                if isinstance(provider, existing.FoundOidcProvider) and not provider.ours:
                    problems.append(
                        f"{PROJECT}:createOidcProvider is true, and IAM has an OIDC provider for the issuer of "
                        f"cluster {found.name} already ({provider.arn}), which IAM holds one of per issuer: trust "
                        f"it with `pulumi config set {PROJECT}:createOidcProvider false`"
                    )
            return problems
        if found is None:
            problems.append(
                f"{PROJECT}:createOidcProvider = false looks up the IAM OIDC provider of an existing cluster, and "
                f"{PROJECT}:existingCluster is not set: the stack's own cluster needs the provider it creates; "
                "remove createOidcProvider"
            )
        elif not isinstance(found, Missing):
            provider = existing.oidc_provider(cluster, found)
            if isinstance(provider, Missing):
                problems.append(
                    f"{PROJECT}:createOidcProvider = false: IAM has no OIDC provider for the issuer of cluster "
                    f"{found.name}, {found.issuer_url} (AWS said: {provider.reason}); create it (`eksctl utils "
                    f"associate-iam-oidc-provider --cluster {found.name} --approve`) or remove createOidcProvider"
                )
        return problems


class PodIdentitySettings(SettingsModel):
    """One association per workload, for exactly its service account, and a role whose trust
    checks the session tags the association sets. The stack's own cluster gets the Pod
    Identity agent add-on; an existing cluster must have it, unless `installPodIdentityAgent`
    lets the stack add it."""

    install_pod_identity_agent: Boolean = False

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        from secretstore_csi import ownership
        from secretstore_csi.aws import existing

        problems = role_name_problems(workloads)
        cluster = platform.of(AwsClusterSettings)
        found = existing.cluster(cluster)
        if found is None and "install_pod_identity_agent" in self.model_fields_set:
            problems.append(
                f"{PROJECT}:installPodIdentityAgent applies to an existing cluster, and {PROJECT}:existingCluster "
                "is not set: the stack's own cluster always gets the agent; remove installPodIdentityAgent"
            )
        elif isinstance(found, existing.FoundEksCluster) and self.install_pod_identity_agent:
            agent = existing.pod_identity_agent(cluster, found)
            if not isinstance(agent, Missing) and not ownership.ours(agent.tags):
                problems.append(
                    f"{PROJECT}:installPodIdentityAgent is true, and cluster {found.name} has the "
                    f"{existing.POD_IDENTITY_AGENT} add-on already, which the stack would then delete on `pulumi "
                    "destroy`: remove installPodIdentityAgent"
                )
        elif isinstance(found, existing.FoundEksCluster):
            agent = existing.pod_identity_agent(cluster, found)
            if isinstance(agent, Missing):
                problems.append(
                    f"{PROJECT}:identity = 'podIdentity': cluster {found.name} has no {existing.POD_IDENTITY_AGENT} "
                    f"add-on (AWS said: {agent.reason}); add it (`aws eks create-addon --cluster-name {found.name} "
                    f"--addon-name {existing.POD_IDENTITY_AGENT}`), or let the stack add it with "
                    f"`pulumi config set {PROJECT}:installPodIdentityAgent true`"
                )
        if len(workloads) > POD_IDENTITY_ASSOCIATIONS_MAX:
            problems.append(
                f"{PROJECT}:workloads: {len(workloads)} workloads, each with a Pod Identity association: expected "
                f"at most {POD_IDENTITY_ASSOCIATIONS_MAX}, the associations EKS allows per cluster"
            )
        return problems

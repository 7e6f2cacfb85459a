"""Secret Manager: one secret per workload secret, a version holding its value, and the
accessor role on each secret for exactly the identity's principal. No grant is project-wide.

The GCP provider for the CSI driver is installed here too, next to the shared driver release.
"""

from __future__ import annotations

from functools import partial

import pulumi
import pulumi_random as random
import yaml
from pulumi_gcp import secretmanager

from secretstore_csi import PREFIX, registry
from secretstore_csi.gcp.cluster import GkeCluster, enable_api
from secretstore_csi.gcp.provider import GcpProvider
from secretstore_csi.gcp.settings import SecretManagerSettings, secret_id
from secretstore_csi.gcp.workload_identity import WorkloadPrincipal
from secretstore_csi.model import StoreSecret, Workload
from secretstore_csi.seam import Cluster, IdentityBinding, StoreBinding
from secretstore_csi.secret_values import secret_value
from secretstore_csi.settings import StackConfig

SECRET_MANAGER_API = "secretmanager.googleapis.com"
ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
# A generated prefix is this and a random suffix: stacks that share a project do not clash.
GENERATED_PREFIX = "secretstore-"
SUFFIX_LENGTH = 8


def latest_version(project: str, secret_id_: str) -> str:
    """The resource the provider reads: the newest version, so rotation picks up new ones."""
    return f"projects/{project}/secrets/{secret_id_}/versions/latest"


def provider_secrets(project: str, ids: list[str], secrets: tuple[StoreSecret, ...]) -> str:
    """The SecretProviderClass `secrets` parameter: each mounted file, from its secret's
    latest version, and each key of a JSON secret through `extractJSONKey`."""
    entries = []
    for spec, id_ in zip(secrets, ids, strict=True):
        entries.append({"resourceName": latest_version(project, id_), "path": spec.name})
        entries += [
            {"resourceName": latest_version(project, id_), "path": spec.key_file(key), "extractJSONKey": key}
            for key in spec.keys
        ]
    return yaml.safe_dump(entries, sort_keys=False)


class SecretManagerStore(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        settings: SecretManagerSettings,
        cluster: GkeCluster,
        workload: Workload,
        reader: WorkloadPrincipal,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("secretstore-csi:gcp:SecretManagerStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        project = cluster.project
        self.api = enable_api(f"{name}-secretmanager-api", project, SECRET_MANAGER_API, self)
        if settings.secret_id_prefix is not None:
            prefix: pulumi.Output[str] = pulumi.Output.from_input(settings.secret_id_prefix)
        else:
            suffix = random.RandomString(
                f"{name}-secret-id-suffix", length=SUFFIX_LENGTH, upper=False, special=False, opts=child
            )
            prefix = pulumi.Output.concat(GENERATED_PREFIX, suffix.result, "-")
        after_api = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.api]))
        self.secrets = [
            secretmanager.Secret(
                spec.resource_name,
                project=project,
                secret_id=prefix.apply(partial(secret_id, name=spec.name)),
                replication=secretmanager.SecretReplicationArgs(auto=secretmanager.SecretReplicationAutoArgs()),
                opts=after_api,
            )
            for spec in workload.secrets
        ]
        self.versions = [
            secretmanager.SecretVersion(
                f"{spec.resource_name}-version",
                secret=secret.id,
                # secret_value() is a secret Output, so the value is encrypted in the state.
                secret_data=secret_value(spec, parent=self),
                opts=child,
            )
            for spec, secret in zip(workload.secrets, self.secrets, strict=True)
        ]
        # The role on each secret, for one principal: a secret added to the project later
        # stays unreadable.
        self.grants = [
            secretmanager.SecretIamMember(
                f"{spec.resource_name}-accessor",
                project=secret.project,
                secret_id=secret.secret_id,
                role=ACCESSOR_ROLE,
                member=reader.member,
                opts=child,
            )
            for spec, secret in zip(workload.secrets, self.secrets, strict=True)
        ]
        self.provider = GcpProvider(f"{name}-gcp-provider", cluster.kubernetes, opts=child)
        self.register_outputs({"secretIds": [secret.secret_id for secret in self.secrets]})


def build(stack: StackConfig, cluster: Cluster, workload: Workload, identity: IdentityBinding) -> StoreBinding:
    if not isinstance(cluster, GkeCluster):
        raise TypeError("Secret Manager is read through a GKE cluster's workload pool")
    if not isinstance(identity.reader, WorkloadPrincipal):
        raise TypeError("Secret Manager grants read access to an IAM principal")
    store = SecretManagerStore(PREFIX, stack.of(SecretManagerSettings), cluster, workload, identity.reader)
    entry = registry.STORES["secretManager"]
    ids = pulumi.Output.all(*(secret.secret_id for secret in store.secrets))
    return StoreBinding(
        provider=entry.provider,
        # The store installs its provider itself: upstream publishes a manifest, not a chart.
        chart=None,
        chart_values={},
        # The provider exchanges a token for the cluster's workload pool; the AWS or Azure
        # audiences alone would fail every mount.
        token_audiences=(cluster.workload_pool,),
        parameters={
            "secrets": ids.apply(lambda values: provider_secrets(cluster.project, list(values), workload.secrets))
        },
        mounted_files=[file for spec in workload.secrets for file in spec.files],
        ready=[*store.versions, *store.grants, store.provider.daemonset],
        outputs={
            "secretManagerSecretIds": [secret.secret_id for secret in store.secrets],
            "secretManagerSecretNames": [secret.name for secret in store.secrets],
        },
    )

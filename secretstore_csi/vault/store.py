"""Vault in the cluster: the hashicorp/vault chart in dev mode with its CSI provider, in a
namespace of its own, configured by a Job that Pulumi awaits.

The Pulumi host needs no network path to Vault. The Job writes the workload's secrets to KV
v2, a policy that reads exactly them, and a Kubernetes auth role bound to exactly the
trusted service account. It gets the root token and the values from a Kubernetes Secret.
Its name carries a keyed digest of everything it writes, so any change makes a new Job.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_random as random
import yaml
from pulumi_kubernetes.batch.v1 import Job, JobSpecArgs
from pulumi_kubernetes.core.v1 import (
    CapabilitiesArgs,
    ContainerArgs,
    EmptyDirVolumeSourceArgs,
    EnvVarArgs,
    EnvVarSourceArgs,
    Namespace,
    PodSecurityContextArgs,
    PodSpecArgs,
    PodTemplateSpecArgs,
    ProjectedVolumeSourceArgs,
    ResourceRequirementsArgs,
    SeccompProfileArgs,
    Secret,
    SecretKeySelectorArgs,
    SecretProjectionArgs,
    SecurityContextArgs,
    VolumeArgs,
    VolumeMountArgs,
    VolumeProjectionArgs,
)
from pulumi_kubernetes.helm.v3 import Release, RepositoryOptsArgs
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs

from secretstore_csi import charts
from secretstore_csi.model import StoreSecret, WorkloadSpec
from secretstore_csi.seam import (
    Cluster,
    IdentityBinding,
    ProviderInstall,
    StoreBinding,
    moved_from,
    was_at_top,
)
from secretstore_csi.secret_values import secret_values
from secretstore_csi.settings import PlatformConfig
from secretstore_csi.vault import configure
from secretstore_csi.vault.catalog import VAULT
from secretstore_csi.vault.settings import VaultSettings

RELEASE = "vault"
"""The Helm release name, which names the chart's objects: the Service `vault` among them."""
# The chart's own user and group for the server (server.uid, server.gid).
VAULT_UID, VAULT_GID = 100, 1000
ROOT_TOKEN_LENGTH = 32
TOKEN_SECRET = "vault-configure-token"


def value_secret(workload: WorkloadSpec, secret: StoreSecret) -> str:
    """The Kubernetes Secret that hands one secret's entry to the configuration Job."""
    return f"vault-value-{secret.name}" if workload.legacy_names else f"vault-value-{workload.resource_name(secret)}"


@dataclass(frozen=True)
class VaultRole:
    """The principal Vault's Kubernetes auth hands the store: a role for one service account."""

    name: str
    namespace: str
    service_account: str


def chart_values(root_token: pulumi.Input[str]) -> dict[str, Any]:
    restricted_pod = {
        "runAsNonRoot": True,
        "runAsUser": VAULT_UID,
        "runAsGroup": VAULT_GID,
        "fsGroup": VAULT_GID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return {
        "server": {
            # In memory, one pod, HTTP, unsealed at start: for trying the demo, not for keeping secrets.
            "dev": {"enabled": True, "devRootToken": root_token},
            # Setting the pod's context replaces the chart's default, so it is given whole:
            # the server then passes the restricted profile.
            "statefulSet": {
                "securityContext": {
                    "pod": restricted_pod,
                    "container": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                }
            },
        },
        "injector": {"enabled": False},
        "csi": {"enabled": True},
    }


def _entry_of(secret: StoreSecret) -> Callable[[list[Any]], str]:
    def entry(pair: list[Any]) -> str:
        return configure.entry(secret, pair[0], pair[1])

    return entry


def job_name(root_token: str, inputs: str) -> str:
    """`vault-configure-` and a digest of what the Job writes, keyed with the root token: it
    changes with any value, and tells nothing about the values to whoever can read it."""
    digest = hmac.new(root_token.encode(), inputs.encode(), hashlib.sha256).hexdigest()[:12]
    return f"vault-configure-{digest}"


def spc_objects(workload: WorkloadSpec) -> str:
    """The SecretProviderClass `objects`: each mounted file, from its secret's field."""
    objects = [
        {
            "objectName": file,
            "secretPath": configure.api_path(workload, secret),
            "secretKey": configure.field_of(secret, file),
        }
        for secret in workload.secrets
        for file in secret.files
    ]
    return yaml.safe_dump(objects, sort_keys=False)


STORE_TYPE = "secretstore-csi:vault:VaultStore"


class VaultServer(pulumi.ComponentResource):
    """Vault's part per cluster: its namespace, its root token, and the chart with the server
    and the CSI provider."""

    def __init__(
        self, name: str, config: PlatformConfig, cluster: Cluster, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("secretstore-csi:vault:VaultServer", name, None, opts)
        settings = config.of(VaultSettings)
        # Everything here was in the store of the stack's single workload.
        moved = moved_from(name, STORE_TYPE)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.kubernetes.provider, aliases=moved)
        self.provider = cluster.kubernetes.provider
        self.namespace_name = namespace = settings.vault_namespace
        self.address = f"http://{RELEASE}.{namespace}.svc:8200"

        self.namespace = Namespace(
            f"{name}-vault-namespace",
            metadata=ObjectMetaArgs(
                name=namespace,
                # The CSI provider DaemonSet mounts host paths, which even `baseline` refuses;
                # the server itself would pass `restricted`.
                labels={"pod-security.kubernetes.io/enforce": "privileged"},
            ),
            opts=on_cluster,
        )
        self.root_token: pulumi.Output[str] = pulumi.Output.secret(
            random.RandomPassword(
                f"{name}-vault-root-token",
                length=ROOT_TOKEN_LENGTH,
                special=False,
                opts=pulumi.ResourceOptions(parent=self, aliases=moved),
            ).result
        )
        chart = charts.VAULT
        in_namespace = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[self.namespace]))
        self.release = Release(
            f"{name}-vault",
            name=RELEASE,
            chart=chart.name,
            version=chart.version,
            repository_opts=RepositoryOptsArgs(repo=chart.repo),
            namespace=namespace,
            values=chart_values(self.root_token),
            opts=in_namespace,
        )
        # A Kubernetes Secret holds at most 1 MiB: the token gets one of its own, and each
        # workload's values theirs.
        self.token_secret = Secret(
            f"{name}-vault-configure-token",
            metadata=ObjectMetaArgs(name=TOKEN_SECRET, namespace=namespace),
            type="Opaque",
            string_data={configure.TOKEN_KEY: self.root_token},
            opts=in_namespace,
        )
        self.install = ProviderInstall(
            provider=VAULT.provider,
            token_audiences=VAULT.token_audiences,
            # The chart holds the server as well as the provider: installed here, not next to
            # the driver.
            chart=None,
        )
        self.outputs: Mapping[str, pulumi.Input[Any]] = {
            "vaultNamespace": self.namespace.metadata.name,
            "vaultAddress": self.address,
        }
        self.register_outputs({"address": self.address})

    def grant(
        self, name: str, workload: WorkloadSpec, identity: IdentityBinding[VaultRole], opts: pulumi.ResourceOptions
    ) -> StoreBinding:
        store = VaultStore(name, self, workload, opts)
        return StoreBinding(
            parameters={
                "audience": configure.AUDIENCE,
                "objects": spc_objects(workload),
            },
            mounted_files=[file for secret in workload.secrets for file in secret.files],
            ready=[store.job],
            outputs={
                "vaultRole": identity.reader.name,
                "vaultSecretPaths": {
                    secret.name: configure.api_path(workload, secret) for secret in workload.secrets
                },
            },
        )


class VaultStore(pulumi.ComponentResource):
    """A workload's secrets, policy and role in Vault, written by a Job that Pulumi awaits."""

    def __init__(
        self, name: str, server: VaultServer, workload: WorkloadSpec, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Before a workload held it, it was at the top of the stack.
        super().__init__(
            STORE_TYPE, name, None, was_at_top(opts, workload)
        )
        self.server = server
        namespace = server.namespace_name
        in_namespace = pulumi.ResourceOptions(parent=self, provider=server.provider, depends_on=[server.namespace])

        renamed = workload.legacy_names
        entries: list[pulumi.Output[str]] = []
        for secret in workload.secrets:
            values = secret_values(workload, secret, parent=self)
            entries.append(pulumi.Output.all(values.value, values.parts).apply(_entry_of(secret)))
        self.inputs = [
            Secret(
                f"{workload.resource_name(secret)}-vault-value",
                metadata=ObjectMetaArgs(name=value_secret(workload, secret), namespace=namespace),
                type="Opaque",
                string_data={configure.values_key(secret): value},
                # The stack's single workload named it after the store first.
                opts=pulumi.ResourceOptions.merge(
                    in_namespace,
                    pulumi.ResourceOptions(
                        aliases=[pulumi.Alias(name=f"{name}-vault-value-{secret.name}")] if renamed else []
                    ),
                ),
            )
            for secret, value in zip(workload.secrets, entries, strict=True)
        ]
        script = configure.script(workload)
        digest_inputs = pulumi.Output.all(server.root_token, *entries).apply(
            lambda values: job_name(values[0], json.dumps([script, charts.VAULT_IMAGE, server.address, *values[1:]]))
        )
        self.job = Job(
            f"{name}-vault-configure",
            # The digest is keyed with the root token, so it may be shown.
            metadata=ObjectMetaArgs(name=pulumi.Output.unsecret(digest_inputs), namespace=namespace),
            spec=self._job_spec(script, workload),
            opts=pulumi.ResourceOptions(
                parent=self, provider=server.provider, depends_on=[server.release, server.token_secret, *self.inputs]
            ),
        )
        self.register_outputs({})

    def _job_spec(self, script: str, workload: WorkloadSpec) -> JobSpecArgs:
        container = ContainerArgs(
            name="configure",
            image=charts.VAULT_IMAGE,
            command=["/bin/sh", "-c", script],
            env=[
                EnvVarArgs(name="VAULT_ADDR", value=self.server.address),
                EnvVarArgs(
                    name="VAULT_TOKEN",
                    value_from=EnvVarSourceArgs(
                        secret_key_ref=SecretKeySelectorArgs(name=TOKEN_SECRET, key=configure.TOKEN_KEY)
                    ),
                ),
                # The CLI keeps nothing when VAULT_TOKEN is set; HOME points at scratch anyway.
                EnvVarArgs(name="HOME", value="/tmp"),
            ],
            volume_mounts=[
                VolumeMountArgs(name="values", mount_path=configure.VALUES_DIR, read_only=True),
                VolumeMountArgs(name="scratch", mount_path="/tmp"),
            ],
            resources=ResourceRequirementsArgs(
                requests={"cpu": "10m", "memory": "32Mi"}, limits={"cpu": "200m", "memory": "128Mi"}
            ),
            security_context=SecurityContextArgs(
                allow_privilege_escalation=False,
                read_only_root_filesystem=True,
                capabilities=CapabilitiesArgs(drop=["ALL"]),
            ),
        )
        pod = PodSpecArgs(
            restart_policy="Never",
            automount_service_account_token=False,
            security_context=PodSecurityContextArgs(
                run_as_non_root=True,
                run_as_user=VAULT_UID,
                run_as_group=VAULT_GID,
                seccomp_profile=SeccompProfileArgs(type="RuntimeDefault"),
            ),
            containers=[container],
            volumes=[
                VolumeArgs(
                    name="values",
                    projected=ProjectedVolumeSourceArgs(
                        sources=[
                            VolumeProjectionArgs(secret=SecretProjectionArgs(name=value_secret(workload, secret)))
                            for secret in workload.secrets
                        ]
                    ),
                ),
                VolumeArgs(name="scratch", empty_dir=EmptyDirVolumeSourceArgs()),
            ],
        )
        return JobSpecArgs(backoff_limit=3, template=PodTemplateSpecArgs(spec=pod))

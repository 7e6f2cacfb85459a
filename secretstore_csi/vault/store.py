"""Vault in the cluster: the hashicorp/vault chart in dev mode, in a namespace of its own, with
the Vault CSI provider next to it, configured for each workload by a Job that Pulumi awaits.

The Pulumi host needs no network path to Vault. A workload's Job writes its secrets to KV v2,
a policy that reads exactly them, and a Kubernetes auth role bound to exactly its service
account. Its names carry a keyed digest of everything it writes, so any change makes a new
Job.

The Job gets the dev root token and the values from Kubernetes Secrets that do not outlive
it: they belong (ownerReferences) to a keeper Job that only sleeps, and Kubernetes deletes
them with it a quarter of an hour later (ttlSecondsAfterFinished). The configuration Job
itself goes five minutes after it finishes. So nothing the program leaves behind holds the
token or a value, and a NetworkPolicy lets only the CSI provider and the configuration Jobs
reach Vault.
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
from pulumi_kubernetes.meta.v1 import LabelSelectorArgs, ObjectMetaArgs, OwnerReferenceArgs
from pulumi_kubernetes.networking.v1 import (
    NetworkPolicy,
    NetworkPolicyIngressRuleArgs,
    NetworkPolicyPeerArgs,
    NetworkPolicyPortArgs,
    NetworkPolicySpecArgs,
)

from secretstore_csi import charts
from secretstore_csi.model import StoreSecret, WorkloadSpec
from secretstore_csi.seam import (
    Cluster,
    IdentityBinding,
    ProviderInstall,
    StoreBinding,
    StoreInstall,
    moved_from,
    was_at_top,
)
from secretstore_csi.secret_values import secret_values
from secretstore_csi.settings import PlatformConfig
from secretstore_csi.vault import configure, csi_provider
from secretstore_csi.vault.catalog import VAULT
from secretstore_csi.vault.settings import VaultSettings

RELEASE = "vault"
"""The Helm release name, which names the chart's objects: the Service `vault` among them."""
# The chart's own user and group for the server (server.uid, server.gid).
VAULT_UID, VAULT_GID = 100, 1000
ROOT_TOKEN_LENGTH = 32
# The chart's labels of the server's pods.
SERVER_LABELS = {"app.kubernetes.io/name": "vault", "app.kubernetes.io/instance": RELEASE, "component": "server"}
CONFIGURE_LABELS = {"app.kubernetes.io/name": "vault-configure"}
# Kubernetes deletes the inputs with their keeper this long after it starts; the configuration
# Job, whose await times out after 10 minutes, is done by then.
INPUTS_LIFETIME = 900
# Kubernetes deletes a configuration Job this long after it finishes: Pulumi has seen it done.
JOB_LIFETIME = 300


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
        # The CSI provider is the program's own (csi_provider.py): the chart's may create tokens.
        "csi": {"enabled": False},
    }


def _entry_of(secret: StoreSecret) -> Callable[[list[Any]], str]:
    def entry(pair: list[Any]) -> str:
        return configure.entry(secret, pair[0], pair[1])

    return entry


def digest(root_token: str, inputs: str) -> str:
    """A digest of what a Job writes, keyed with the root token: it changes with any value,
    and tells nothing about the values to whoever can read it."""
    return hmac.new(root_token.encode(), inputs.encode(), hashlib.sha256).hexdigest()[:12]


def _named(pattern: str) -> Callable[[str], str]:
    """An object's name from the digest: `pattern` with it in place of {}."""
    return lambda digest_: pattern.format(digest_)


def spc_objects(workload: WorkloadSpec, mount: str = configure.KV_MOUNT, root: str = configure.ROOT) -> str:
    """The SecretProviderClass `objects`: each mounted file, from its secret's field."""
    objects = []
    for secret in workload.secrets:
        for file in secret.files:
            entry = {"objectName": file, "secretPath": configure.api_path(workload, secret, mount, root)}
            field = configure.field_of(secret, file)
            if field is not None:
                entry["secretKey"] = field
            objects.append(entry)
    return yaml.safe_dump(objects, sort_keys=False)


STORE_TYPE = "secretstore-csi:vault:VaultStore"


def install(
    name: str, config: PlatformConfig, cluster: Cluster, opts: pulumi.ResourceOptions
) -> StoreInstall[VaultRole]:
    """Vault's part per cluster: a Vault of your own (`vaultAddress`), configured through
    pulumi-vault, or Vault in the cluster."""
    if config.of(VaultSettings).external:
        from secretstore_csi.vault.external import ExternalVault

        return ExternalVault(name, config, cluster, opts)
    return VaultServer(name, config, cluster, opts)


class VaultServer(pulumi.ComponentResource):
    """Vault's part per cluster: its namespace, its root token, the chart with the server, the
    CSI provider, and who may reach the server."""

    def __init__(
        self, name: str, config: PlatformConfig, cluster: Cluster, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("secretstore-csi:vault:VaultServer", name, None, opts)
        settings = config.of(VaultSettings)
        # The namespace, token and release were in the store of the stack's single workload.
        moved = moved_from(name, STORE_TYPE)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.kubernetes.provider)
        self.provider = cluster.kubernetes.provider
        self.namespace_name = namespace = settings.vault_namespace
        self.address = f"http://{RELEASE}.{namespace}.svc:8200"

        self.namespace = Namespace(
            f"{name}-vault-namespace",
            metadata=ObjectMetaArgs(
                name=namespace,
                # The strictest level the CSI provider allows: its DaemonSet mounts a host
                # directory, which `baseline` and `restricted` refuse. The server, the Jobs
                # and the keepers pass `restricted`.
                labels={"pod-security.kubernetes.io/enforce": "privileged"},
            ),
            opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(aliases=moved)),
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
            opts=pulumi.ResourceOptions.merge(in_namespace, pulumi.ResourceOptions(aliases=moved)),
        )
        # After the release: an upgrade from the chart's own provider removes that one first.
        self.csi_provider = csi_provider.VaultCsiProvider(
            f"{name}-vault-csi-provider",
            namespace,
            RELEASE,
            self.address,
            opts=pulumi.ResourceOptions.merge(in_namespace, pulumi.ResourceOptions(depends_on=[self.release])),
        )
        self.network_policy = NetworkPolicy(
            f"{name}-vault-ingress",
            metadata=ObjectMetaArgs(name="vault-server-ingress", namespace=namespace),
            spec=NetworkPolicySpecArgs(
                pod_selector=LabelSelectorArgs(match_labels=SERVER_LABELS),
                policy_types=["Ingress"],
                ingress=[
                    NetworkPolicyIngressRuleArgs(
                        from_=[
                            NetworkPolicyPeerArgs(
                                pod_selector=LabelSelectorArgs(
                                    match_labels={
                                        "app.kubernetes.io/name": csi_provider.NAME,
                                        "app.kubernetes.io/instance": RELEASE,
                                    }
                                )
                            ),
                            NetworkPolicyPeerArgs(pod_selector=LabelSelectorArgs(match_labels=CONFIGURE_LABELS)),
                        ],
                        ports=[NetworkPolicyPortArgs(port=8200, protocol="TCP")],
                    )
                ],
            ),
            opts=in_namespace,
        )
        self.install = ProviderInstall(
            provider=VAULT.provider,
            token_audiences=VAULT.token_audiences,
            # The chart holds the server: installed here, not next to the driver.
            chart=None,
            ready=[self.csi_provider.daemonset],
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
                "vaultSecretPaths": {secret.name: configure.api_path(workload, secret) for secret in workload.secrets},
            },
        )


class VaultStore(pulumi.ComponentResource):
    """A workload's secrets, policy and role in Vault, written by a Job that Pulumi awaits,
    from inputs that Kubernetes deletes after it."""

    def __init__(
        self, name: str, server: VaultServer, workload: WorkloadSpec, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Before a workload held it, it was at the top of the stack.
        super().__init__(STORE_TYPE, name, None, was_at_top(opts, workload))
        self.server = server
        namespace = server.namespace_name
        on_cluster = pulumi.ResourceOptions(parent=self, provider=server.provider, depends_on=[server.namespace])

        entries: list[pulumi.Output[str]] = []
        for secret in workload.managed_secrets:
            values = secret_values(workload, secret, parent=self)
            entries.append(pulumi.Output.all(values.value, values.parts).apply(_entry_of(secret)))
        script = configure.script(workload)
        # Every name carries the digest: a change makes new objects, never an update of one
        # that Kubernetes has deleted already.
        suffix = pulumi.Output.unsecret(
            pulumi.Output.all(server.root_token, *entries).apply(
                lambda values: digest(values[0], json.dumps([script, charts.VAULT_IMAGE, server.address, *values[1:]]))
            )
        )

        self.keeper = Job(
            f"{name}-vault-inputs",
            metadata=ObjectMetaArgs(
                name=suffix.apply(_named("vault-inputs-{}")),
                namespace=namespace,
                # It only sleeps, and never becomes ready in the sense Pulumi waits for.
                annotations={"pulumi.com/skipAwait": "true"},
            ),
            spec=_keeper_spec(),
            opts=on_cluster,
        )
        owner = [
            OwnerReferenceArgs(
                api_version="batch/v1",
                kind="Job",
                name=self.keeper.metadata.name,
                uid=self.keeper.metadata.uid,
            )
        ]
        self.token = Secret(
            f"{name}-vault-configure-token",
            metadata=ObjectMetaArgs(
                name=suffix.apply(_named("vault-token-{}")), namespace=namespace, owner_references=owner
            ),
            type="Opaque",
            string_data={configure.TOKEN_KEY: server.root_token},
            opts=on_cluster,
        )
        # A Kubernetes Secret holds at most 1 MiB: each value gets one of its own.
        self.inputs = [
            Secret(
                f"{workload.resource_name(secret)}-vault-value",
                metadata=ObjectMetaArgs(
                    name=suffix.apply(_named(f"vault-value-{{}}-{index}")),
                    namespace=namespace,
                    owner_references=owner,
                ),
                type="Opaque",
                string_data={configure.values_key(secret): value},
                # The stack's single workload named it after the store first.
                opts=pulumi.ResourceOptions.merge(
                    on_cluster,
                    pulumi.ResourceOptions(
                        aliases=[pulumi.Alias(name=f"{name}-vault-value-{secret.name}")]
                        if workload.legacy_names
                        else []
                    ),
                ),
            )
            for index, (secret, value) in enumerate(zip(workload.managed_secrets, entries, strict=True))
        ]
        self.job = Job(
            f"{name}-vault-configure",
            # The digest is keyed with the root token, so it may be shown.
            metadata=ObjectMetaArgs(name=suffix.apply(_named("vault-configure-{}")), namespace=namespace),
            spec=self._job_spec(script),
            opts=pulumi.ResourceOptions.merge(
                on_cluster, pulumi.ResourceOptions(depends_on=[server.release, self.token, *self.inputs])
            ),
        )
        self.register_outputs({})

    def _job_spec(self, script: str) -> JobSpecArgs:
        container = ContainerArgs(
            name="configure",
            image=charts.VAULT_IMAGE,
            command=["/bin/sh", "-c", script],
            env=[
                EnvVarArgs(name="VAULT_ADDR", value=self.server.address),
                EnvVarArgs(
                    name="VAULT_TOKEN",
                    value_from=EnvVarSourceArgs(
                        secret_key_ref=SecretKeySelectorArgs(name=self.token.metadata.name, key=configure.TOKEN_KEY)
                    ),
                ),
                # The CLI keeps nothing when VAULT_TOKEN is set; HOME points at scratch anyway.
                EnvVarArgs(name="HOME", value="/tmp"),
            ],
            volume_mounts=[
                VolumeMountArgs(name="values", mount_path=configure.VALUES_DIR, read_only=True),
                VolumeMountArgs(name="scratch", mount_path="/tmp"),
            ],
            resources=_resources(),
            security_context=_restricted_container(),
        )
        pod = PodSpecArgs(
            restart_policy="Never",
            automount_service_account_token=False,
            security_context=_restricted_pod(),
            containers=[container],
            volumes=[
                VolumeArgs(
                    name="values",
                    projected=ProjectedVolumeSourceArgs(
                        sources=[
                            VolumeProjectionArgs(secret=SecretProjectionArgs(name=secret.metadata.name))
                            for secret in self.inputs
                        ]
                    ),
                ),
                VolumeArgs(name="scratch", empty_dir=EmptyDirVolumeSourceArgs()),
            ],
        )
        return JobSpecArgs(
            backoff_limit=3,
            ttl_seconds_after_finished=JOB_LIFETIME,
            template=PodTemplateSpecArgs(metadata=ObjectMetaArgs(labels=CONFIGURE_LABELS), spec=pod),
        )


def _keeper_spec() -> JobSpecArgs:
    """A Job that sleeps for INPUTS_LIFETIME seconds and then goes, with what it owns."""
    pod = PodSpecArgs(
        restart_policy="Never",
        automount_service_account_token=False,
        security_context=_restricted_pod(),
        containers=[
            ContainerArgs(
                name="keep",
                image=charts.VAULT_IMAGE,
                command=["sleep", str(INPUTS_LIFETIME)],
                resources=_resources(),
                security_context=_restricted_container(),
            )
        ],
    )
    return JobSpecArgs(backoff_limit=0, ttl_seconds_after_finished=0, template=PodTemplateSpecArgs(spec=pod))


def _resources() -> ResourceRequirementsArgs:
    return ResourceRequirementsArgs(
        requests={"cpu": "10m", "memory": "32Mi"}, limits={"cpu": "200m", "memory": "128Mi"}
    )


def _restricted_pod() -> PodSecurityContextArgs:
    return PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=VAULT_UID,
        run_as_group=VAULT_GID,
        seccomp_profile=SeccompProfileArgs(type="RuntimeDefault"),
    )


def _restricted_container() -> SecurityContextArgs:
    return SecurityContextArgs(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        capabilities=CapabilitiesArgs(drop=["ALL"]),
    )

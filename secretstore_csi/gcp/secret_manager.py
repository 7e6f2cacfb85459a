"""Secret Manager: one secret per workload secret, a version holding its value, and the
accessor role on each secret for exactly the workload's principal. No grant is project-wide.
A secret the store holds already (`existing`, `projects/<project>/secrets/<id>`) gets the
role and nothing else, in whatever project it is.

The GCP provider for the CSI driver is installed here too, once, next to the shared driver
release.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import pulumi
import pulumi_random as random
import yaml
from pulumi_gcp import secretmanager

from secretstore_csi.gcp.catalog import SECRET_MANAGER
from secretstore_csi.gcp.cluster import Gke, enable_api
from secretstore_csi.gcp.provider import GcpProvider
from secretstore_csi.gcp.settings import SecretManagerSettings, secret_id, secret_id_name
from secretstore_csi.gcp.workload_identity import WorkloadPrincipal
from secretstore_csi.model import StoreSecret, WorkloadSpec
from secretstore_csi.seam import (
    IdentityBinding,
    ProviderInstall,
    StoreBinding,
    moved_from,
    was_at_top,
)
from secretstore_csi.secret_values import secret_value
from secretstore_csi.settings import PlatformConfig

SECRET_MANAGER_API = "secretmanager.googleapis.com"
ADD_ON_PROVIDER = "gke"
ADD_ON_DRIVER = "secrets-store-gke.csi.k8s.io"
ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
# A generated prefix is the workload's name and a random suffix: stacks that share a project
# do not clash.
SUFFIX_LENGTH = 8


def secret_name(project: str, secret_id_: str) -> str:
    """A secret's resource name, as `existing` gives it and the provider reads it."""
    return f"projects/{project}/secrets/{secret_id_}"


def latest_version(name: str) -> str:
    """The resource the provider reads: the newest version, so rotation picks up new ones."""
    return f"{name}/versions/latest"


def provider_secrets(names: list[str], secrets: tuple[StoreSecret, ...], keys: bool = True) -> str:
    """The SecretProviderClass `secrets` parameter: each mounted file, from its secret's
    latest version, and, with `keys`, each key of a JSON secret through `extractJSONKey`."""
    entries = []
    for spec, name in zip(secrets, names, strict=True):
        entries.append({"resourceName": latest_version(name), "path": spec.name})
        entries += [
            {"resourceName": latest_version(name), "path": spec.key_file(key), "extractJSONKey": key}
            for key in (spec.keys if keys else ())
        ]
    return yaml.safe_dump(entries, sort_keys=False)


def mounted_files(secrets: tuple[StoreSecret, ...], keys: bool = True) -> list[str]:
    return [file for spec in secrets for file in (spec.files if keys else [spec.name])]


STORE_TYPE = "secretstore-csi:gcp:SecretManagerStore"


class SecretManager(pulumi.ComponentResource):
    """Secret Manager's part per cluster: its API turned on, and the GCP provider installed
    next to the shared driver."""

    def __init__(self, name: str, config: PlatformConfig, cluster: Gke, opts: pulumi.ResourceOptions) -> None:
        super().__init__("secretstore-csi:gcp:SecretManager", name, None, opts)
        self.settings = config.of(SecretManagerSettings)
        self.cluster = cluster
        # Both were in the store of the stack's single workload.
        moved = moved_from(name, STORE_TYPE)
        self.api = enable_api(f"{name}-secretmanager-api", cluster.project, SECRET_MANAGER_API, self, moved)
        self.outputs: Mapping[str, pulumi.Input[Any]] = {}
        # GKE's add-on documents no extractJSONKey: each secret is mounted whole, as Key Vault's are.
        self.keys = not config.add_on
        if config.add_on:
            # GKE's add-on runs its own driver, secrets-store-gke.csi.k8s.io, with provider `gke`
            # (Secret Manager docs, "Use Secret Manager add-on with GKE").
            self.install = ProviderInstall(
                provider=ADD_ON_PROVIDER, token_audiences=(), add_on=True, csi_driver=ADD_ON_DRIVER
            )
            self.register_outputs({})
            return
        self.provider = GcpProvider(
            f"{name}-gcp-provider", cluster.kubernetes, opts=pulumi.ResourceOptions(parent=self, aliases=moved)
        )
        self.install = ProviderInstall(
            provider=SECRET_MANAGER.provider,
            # The provider exchanges a token for the cluster's workload pool; the AWS or Azure
            # audiences alone would fail every mount.
            token_audiences=(cluster.workload_pool,),
            ready=[self.provider.daemonset],
        )
        self.register_outputs({})

    def grant(
        self,
        name: str,
        workload: WorkloadSpec,
        identity: IdentityBinding[WorkloadPrincipal],
        opts: pulumi.ResourceOptions,
    ) -> StoreBinding:
        store = SecretManagerStore(name, self.settings, self.cluster, self.api, workload, identity.reader, opts)
        names = pulumi.Output.all(*store.names)
        return StoreBinding(
            parameters={
                "secrets": names.apply(lambda values: provider_secrets(list(values), workload.secrets, self.keys))
            },
            mounted_files=mounted_files(workload.secrets, self.keys),
            ready=[*store.versions, *store.grants],
            outputs={
                "secretManagerSecretIds": store.ids,
                "secretManagerSecretNames": store.resource_names,
            },
        )


class SecretManagerStore(pulumi.ComponentResource):
    """A workload's secrets, each with its accessor role for exactly the workload's principal."""

    def __init__(
        self,
        name: str,
        settings: SecretManagerSettings,
        cluster: Gke,
        api: pulumi.Resource,
        workload: WorkloadSpec,
        reader: WorkloadPrincipal,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # Before a workload held it, it was at the top of the stack.
        super().__init__(STORE_TYPE, name, None, was_at_top(opts, workload))
        child = pulumi.ResourceOptions(parent=self)
        project = cluster.project
        if settings.secret_id_prefix is not None:
            prefix: pulumi.Output[str] = pulumi.Output.from_input(settings.secret_id_prefix)
        else:
            suffix = random.RandomString(
                f"{name}-secret-id-suffix", length=SUFFIX_LENGTH, upper=False, special=False, opts=child
            )
            prefix = pulumi.Output.concat(name, "-", suffix.result, "-")
        after_api = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[api]))
        self.names: list[pulumi.Input[str]] = []
        """Each secret's name with the project's ID: what the provider reads."""
        self.ids: list[pulumi.Input[str]] = []
        self.resource_names: list[pulumi.Input[str]] = []
        """Each secret's name as Secret Manager gives it (with the project's number)."""
        self.versions: list[secretmanager.SecretVersion] = []
        self.grants: list[secretmanager.SecretIamMember] = []
        for spec in workload.secrets:
            if spec.existing is not None:
                _, secret_project, _, existing_id = spec.existing.split("/")
                where: tuple[pulumi.Input[str], pulumi.Input[str]] = (secret_project, existing_id)
                self.names.append(spec.existing)
                self.resource_names.append(spec.existing)
            else:
                secret = secretmanager.Secret(
                    workload.resource_name(spec),
                    project=project,
                    secret_id=prefix.apply(partial(secret_id, name=secret_id_name(settings, workload, spec))),
                    replication=secretmanager.SecretReplicationArgs(auto=secretmanager.SecretReplicationAutoArgs()),
                    opts=after_api,
                )
                self.versions.append(
                    secretmanager.SecretVersion(
                        f"{workload.resource_name(spec)}-version",
                        secret=secret.id,
                        # secret_value() is a secret Output, so the value is encrypted in the state.
                        secret_data=secret_value(workload, spec, parent=self),
                        opts=child,
                    )
                )
                where = (secret.project, secret.secret_id)
                self.names.append(secret.secret_id.apply(partial(secret_name, project)))
                self.resource_names.append(secret.name)
            self.ids.append(where[1])
            # The role on each secret, for one principal: a secret added to the project later
            # stays unreadable.
            self.grants.append(
                secretmanager.SecretIamMember(
                    f"{workload.resource_name(spec)}-accessor",
                    project=where[0],
                    secret_id=where[1],
                    role=ACCESSOR_ROLE,
                    member=reader.member,
                    opts=child,
                )
            )
        self.register_outputs({"secretIds": self.ids})

"""What the program deploys, whatever the cloud: workloads and the secrets they read.

These types are handed from the config (or a library caller) to the stores, the identities
and the Kubernetes layer. They import no SDK, so the shared layer can use them without the
config parser.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pulumi

SINGLE_VALUE = ""
"""The key of `StoreSecret.given` for a secret that is one value, not a JSON document."""

GENERATED_LENGTH = 32
"""Characters of a generated value: letters and digits."""


@dataclass(frozen=True)
class StoreSecret:
    """One secret in the store, mounted as the file `name`."""

    name: str
    keys: tuple[str, ...] = ()
    """The keys of its JSON document; empty when the secret is a single value."""

    given: Mapping[str, pulumi.Input[str]] | None = None
    """Values from config, by key (SINGLE_VALUE for a single value); the rest are generated."""

    article: bool = False
    """The article's secret, `{username, password}`, which a stack without `secrets` or
    `workloads` holds; AWS names it `secretName` when that is set."""

    existing: str | None = None
    """A secret the store holds already, in the store's own terms (an ARN, a Key Vault URL,
    a Secret Manager name, a KV v2 path): nothing is created for it, its value is never read,
    and exactly it is granted. None: the store makes it, with `given` or generated values."""

    def key_file(self, key: str) -> str:
        """The file one key of the document is mounted as, where the provider can do that."""
        return f"{self.name}-{key}"

    @property
    def files(self) -> list[str]:
        """Every file this secret can be mounted as: the whole value, then each key."""
        return [self.name, *(self.key_file(key) for key in self.keys)]

    @property
    def generated_keys(self) -> list[str]:
        """The keys whose values are generated, because config gives none."""
        if self.existing is not None:
            return []
        return [key for key in self.keys or (SINGLE_VALUE,) if key not in (self.given or {})]


def secret_document(values: Mapping[str, str]) -> str:
    """A secret's stored value when it has keys: the JSON document of `values`, in order."""
    return json.dumps(dict(values))


def env_var_name(file: str) -> str:
    """The environment variable that carries a synced file's value: `db-password` -> DB_PASSWORD."""
    return re.sub(r"[^A-Z0-9_]", "_", file.upper())


LABEL_MAX = 63


def stack_namespace(stack: str, workload: str | None = None) -> str:
    """A namespace of the stack's own: `secretstore-<stack>` for a stack's single workload,
    `<stack>-<workload>` for a listed one, as a DNS-1123 label. Two stacks never share it by
    default, which matters where a (namespace, service account) pair is one principal for a
    whole project, as on GKE."""
    wanted = f"secretstore-{stack}" if workload is None else f"{stack}-{workload}"
    label = re.sub(r"[^a-z0-9]+", "-", wanted.lower()).strip("-")
    if label.startswith("kube-"):
        label = f"ns-{label}"
    if len(label) > LABEL_MAX:
        digest = hashlib.sha256(wanted.encode()).hexdigest()[:8]
        label = f"{label[: LABEL_MAX - len(digest) - 1].rstrip('-')}-{digest}"
    return label


@dataclass(frozen=True)
class KubernetesNames:
    """The names of the Kubernetes objects a workload makes in its namespace."""

    secret_provider_class: str
    synced_secret: str
    authorized: str
    """The demo's hello-server that runs as the workload's service account."""
    unauthorized: str
    """The demo's hello-server that runs as `default`."""

    @classmethod
    def of(cls, workload: str) -> KubernetesNames:
        return cls(
            secret_provider_class=workload,
            synced_secret=f"{workload}-synced",
            authorized=f"{workload}-authorized",
            unauthorized=f"{workload}-unauthorized",
        )

    @classmethod
    def legacy(cls, provider: str) -> KubernetesNames:
        """The names a stack's single workload had before a stack could hold several."""
        return cls(
            secret_provider_class=f"{provider}-secret-provider",
            synced_secret="secretstore-synced",
            authorized="hello-server-authorized",
            unauthorized="hello-server-unauthorized",
        )


@dataclass(frozen=True)
class WorkloadSpec:
    """An application: where it runs, the one service account the store trusts, its secrets.

    `name` names every part the workload owns: its Pulumi resources (`<name>-...`) and, unless
    `legacy_names`, its Kubernetes objects and its names in the store.
    """

    name: str
    namespace: str
    service_account: str
    secrets: tuple[StoreSecret, ...]
    """What the store holds for it; the first is the file the demo serves on /read."""
    demo: bool = False
    """Also run the article's hello-server pair: one as the service account, one as `default`."""
    legacy_names: bool = False
    """Keep the names of a stack's single workload from before a stack could hold several, so
    that such a stack is updated in place. Only `__main__.py`'s stack without `workloads` sets it."""
    config_path: str = ""
    """Where the workload's settings are, at the start of a message about them: `secretstore-csi:`
    for a stack's single workload, `secretstore-csi:workloads[1].` for a listed one."""

    @property
    def subject(self) -> str:
        """The `sub` claim of this service account's tokens: what a cloud identity trusts."""
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"

    @property
    def label(self) -> str:
        """The workload in a message about it as a whole: its config key and name, or its name."""
        return f"{self.config_path.removesuffix('.')} ({self.name})" if self.config_path.endswith(".") else self.name

    def resource_name(self, secret: StoreSecret) -> str:
        """The Pulumi name of a secret in the store."""
        return f"{self.name}-{secret.name}"

    def generated_value_name(self, secret: StoreSecret, key: str) -> str:
        """The Pulumi name of the random value generated for `key` (SINGLE_VALUE: the value)."""
        return f"{self.name}-{secret.name}-{key or 'value'}"

    def kubernetes_names(self, provider: str) -> KubernetesNames:
        return KubernetesNames.legacy(provider) if self.legacy_names else KubernetesNames.of(self.name)

    def secret_key(self, index: int) -> str:
        """The config key of its secret `index`, for a message."""
        return f"{self.config_path}secrets[{index}]"

    @property
    def managed_secrets(self) -> tuple[StoreSecret, ...]:
        """The secrets the store makes for it."""
        return tuple(secret for secret in self.secrets if secret.existing is None)

    @property
    def existing_secrets(self) -> tuple[StoreSecret, ...]:
        """The secrets the store holds already, which it is only granted."""
        return tuple(secret for secret in self.secrets if secret.existing is not None)


@dataclass(frozen=True)
class DriverSettings:
    sync_secret: bool = False
    """Also sync the mounted secrets to a Kubernetes Secret, and use it for env variables."""

    rotation_poll_interval: str | None = None
    """How often mounted secrets are refreshed (a Go duration); None: rotation is off."""

"""What the program deploys, whatever the cloud: a workload and the secrets it reads.

These types are handed from the config to the stores, the identities and the Kubernetes
layer. They import no SDK, so the shared layer can use them without the config parser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from secretstore_csi import PREFIX

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
    keys: tuple[str, ...]
    """The keys of its JSON document; empty when the secret is a single value."""

    given: Mapping[str, pulumi.Input[str]]
    """Values from config, by key (SINGLE_VALUE for a single value); the rest are generated."""

    store_name: str | None = None
    """Its name in the store when config sets one (AWS `secretName`); otherwise autonamed."""

    def key_file(self, key: str) -> str:
        """The file one key of the document is mounted as, where the provider can do that."""
        return f"{self.name}-{key}"

    @property
    def files(self) -> list[str]:
        """Every file this secret can be mounted as: the whole value, then each key."""
        return [self.name, *(self.key_file(key) for key in self.keys)]

    @property
    def resource_name(self) -> str:
        """The Pulumi name of the secret in the store."""
        return f"{PREFIX}-{self.name}"

    def generated_value_name(self, key: str) -> str:
        """The Pulumi name of the random value generated for `key` (SINGLE_VALUE: the value)."""
        return f"{PREFIX}-{self.name}-{key or 'value'}"

    @property
    def generated_keys(self) -> list[str]:
        """The keys whose values are generated, because config gives none."""
        return [key for key in self.keys or (SINGLE_VALUE,) if key not in self.given]


def secret_document(values: Mapping[str, str]) -> str:
    """A secret's stored value when it has keys: the JSON document of `values`, in order."""
    return json.dumps(dict(values))


def env_var_name(file: str) -> str:
    """The environment variable that carries a synced file's value: `db-password` -> DB_PASSWORD."""
    return re.sub(r"[^A-Z0-9_]", "_", file.upper())


@dataclass(frozen=True)
class Workload:
    """An application: where it runs, the one service account the store trusts, its secrets."""

    namespace: str
    service_account: str
    secrets: tuple[StoreSecret, ...]
    """What the store holds for it; the first is the file the demo serves on /read."""

    @property
    def subject(self) -> str:
        """The `sub` claim of this service account's tokens: what a cloud identity trusts."""
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"


@dataclass(frozen=True)
class DriverSettings:
    sync_secret: bool
    """Also sync the mounted secrets to a Kubernetes Secret, and use it for env variables."""

    rotation_poll_interval: str | None
    """How often mounted secrets are refreshed (a Go duration); None: rotation is off."""

"""The typed stack config: pydantic models for the settings every stack has, and the pieces
that each cluster source, store and identity mode builds its own model from.

A model's fields are its config keys. Every value reaches it as the string Pulumi passes
(objects and lists as JSON), and every field parses that string itself, so that a bad value
is one problem naming the key, the value (shortened) and what is accepted. Importing this
module needs no SDK and reads no config: `secretstore_csi.config` does that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, PrivateAttr, ValidationInfo, model_validator
from pydantic.alias_generators import to_camel
from pydantic.functional_validators import BeforeValidator
from pydantic_core import PydanticCustomError, core_schema

from secretstore_csi import PROJECT, charts, demo_app
from secretstore_csi.model import DriverSettings, WorkloadSpec

INT64_MAX = 2**63 - 1
# Go's time.Duration is an int64 of nanoseconds; this is the largest ParseDuration accepts.
GO_DURATION_MAX_NS = INT64_MAX
# Each rotation poll reads every mounted secret of every pod that mounts it; more often
# than once a minute, a few hundred pods exhaust a store's read quota (docs/rotation-and-sync.md).
ROTATION_FLOOR = "1m"
DEFAULT_KUBERNETES_VERSION = "1.35"
# The newest minor version the pinned tools know: kubernetes-validate 1.37.0 has schemas up
# to 1.37, and the kubernetes client 37 speaks its API.
NEWEST_KUBERNETES_VERSION = (1, 37)
# AWS recommends about an hour: every poll reads every mounted secret of every pod.
DEFAULT_POLL_INTERVAL = "1h"


# What the user typed, shown in a message

SHOWN_CHARACTERS = 60


def shown(value: Any) -> str:
    """`value` as a message shows it: its repr, cut to SHOWN_CHARACTERS characters."""
    text = repr(value)
    if len(text) <= SHOWN_CHARACTERS:
        return text
    length = len(value) if isinstance(value, (str, list, dict)) else len(text)
    return f"{text[: SHOWN_CHARACTERS - 20]}... ({length} characters in all)"


@dataclass(frozen=True, repr=False)
class ConfigSecret:
    """A config value that must be stored with `pulumi config set --secret`; never shown."""

    value: str
    stored_as_secret: bool

    def __repr__(self) -> str:
        return "ConfigSecret(<hidden>)"


# Field types: each parses the raw value and knows what it accepts


@dataclass(frozen=True)
class Accepted:
    """Annotation metadata: parse the value with `parse`; on ValueError, say `text`."""

    parse: Callable[[Any], Any]
    text: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def validate(value: Any) -> Any:
            try:
                return self.parse(value)
            except PydanticCustomError:
                raise
            except (ValueError, TypeError):
                raise PydanticCustomError("config", self.text) from None

        return core_schema.no_info_plain_validator_function(validate)


SECRET = "secret"
"""Annotation metadata: the key is read as a ConfigSecret, and its value is never shown."""


def note(message: str) -> PydanticCustomError:
    """A problem printed after the key, as `<key><message>`; `<key>` in it is the key too."""
    return PydanticCustomError("config_note", message)


def line(message: str) -> PydanticCustomError:
    """A problem printed as is; `<key>` in it is replaced by the key it is about."""
    return PydanticCustomError("config_line", message)


def matching(pattern: str) -> Callable[[Any], str]:
    compiled = re.compile(pattern)

    def parse(value: Any) -> str:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise ValueError(value)
        return value

    return parse


def whole_number(low: int, high: int) -> Callable[[Any], int]:
    """Digits only (no sign, no spaces), from `low` to `high`."""
    assert high <= INT64_MAX

    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError(value)
        text = str(value)
        if not re.fullmatch(r"[0-9]{1,19}", text) or not low <= int(text) <= high:
            raise ValueError(value)
        return int(text)

    return parse


def boolean(value: Any) -> bool:
    """`true` or `false`, as a string or, inside a JSON object, as a JSON boolean."""
    if isinstance(value, bool):
        return value
    if value not in ("true", "false"):
        raise ValueError(value)
    return bool(value == "true")


def json_value(value: Any) -> Any:
    """The JSON document of an object or list key, as Pulumi passes it."""
    if not isinstance(value, str):
        raise ValueError(value)
    return json.loads(value)


Boolean = Annotated[bool, Accepted(boolean, "expected true or false")]

DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
DNS_LABEL_RULE = "a DNS-1123 label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit"


def dns_label(value: Any) -> str:
    return matching(DNS_LABEL)(value)


# Go's time.ParseDuration, without a sign: a sequence of decimal numbers with units.
_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)")
_NANOSECONDS = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,
    "μs": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}


def go_duration_ns(value: Any) -> int:
    """The nanoseconds of a Go duration such as 90s, 1h30m or 1.5h; it must fit Go's int64."""
    if not isinstance(value, str) or not value:
        raise ValueError(value)
    position, total = 0, Fraction(0)
    while position < len(value):
        part = _DURATION_PART.match(value, position)
        if part is None or not (part[1] or part[2]):
            raise ValueError(value)
        number = Fraction(f"{part[1] or '0'}.{part[2] or '0'}")
        total += number * _NANOSECONDS[part[3]]
        position = part.end()
    if int(total) > GO_DURATION_MAX_NS:
        raise ValueError(value)
    return int(total)


# Names and versions


def kubernetes_version(value: Any) -> str:
    match = re.fullmatch(r"(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})", value if isinstance(value, str) else "")
    if not match:
        raise ValueError(value)
    if not charts.MIN_KUBERNETES_VERSION <= (int(match[1]), int(match[2])) <= NEWEST_KUBERNETES_VERSION:
        raise ValueError(value)
    return str(value)


def _version(pair: tuple[int, int]) -> str:
    return f"{pair[0]}.{pair[1]}"


KubernetesVersion = Annotated[
    str,
    Accepted(
        kubernetes_version,
        f"expected a Kubernetes minor version such as {DEFAULT_KUBERNETES_VERSION} (major.minor, no "
        f"patch), from {_version(charts.MIN_KUBERNETES_VERSION)} (the secrets-store-csi-driver chart "
        f"{charts.DRIVER.version} requires it) to {_version(NEWEST_KUBERNETES_VERSION)} (the newest the "
        "pinned tools know)",
    ),
]

# The image reference grammar of distribution/reference (regexp.go): an optional registry
# host and port, a lower-case path, an optional tag and an optional digest.
_HOST_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    rf"(?:(?P<host>{_HOST_COMPONENT}(?:\.{_HOST_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::(?P<port>[0-9]+))?/)?"
    rf"(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::[\w][\w.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?",
    re.ASCII,  # \w in a tag is [A-Za-z0-9_], as in Go
)
# distribution/reference NameTotalLengthMax: the registry and path together.
_IMAGE_NAME_MAX = 255


def image_reference(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(value)
    match = _IMAGE.fullmatch(value)
    if not match:
        raise ValueError(value)
    host = match["host"]
    # distribution/reference (normalize.go, splitDockerDomain): the first component is a
    # registry only with a '.' or a port, or as `localhost`; otherwise it is part of the path,
    # which is lower-case. `Team/app` would be pulled from a registry named `Team`.
    is_registry = host is not None and ("." in host or match["port"] or host == "localhost" or host[0] == "[")
    if host is not None and not is_registry and not re.fullmatch(_PATH_COMPONENT, host):
        raise ValueError(value)
    port = match["port"]
    if port is not None and not 1 <= int(port) <= 65535:
        raise ValueError(value)
    name = value[: match.end("path")]
    if len(name) > _IMAGE_NAME_MAX:
        raise ValueError(value)
    return value


INSTALLS = ("helm", "addon")
"""How the driver and the store's provider get into the cluster: pinned charts, or the cloud's add-on."""

# Models

M = TypeVar("M", bound="SettingsModel")
T = TypeVar("T")


def _project_key(field: str) -> str:
    return f"{PROJECT}:{to_camel(field)}"


class SettingsModel(BaseModel):
    """The keys of one part of the stack config: every stack's, or one cluster source's, store's
    or identity mode's. Field aliases are the keys; keys of another namespace, such as
    `aws:region`, set their alias themselves.

    A program that uses the library makes them by field name instead:
    `AwsClusterSettings(region="eu-central-1")`, with the same checks."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=_project_key,
        validate_by_name=True,
        validate_by_alias=True,
        # Each field's docstring is its description: the configuration reference is made of them.
        use_attribute_docstrings=True,
    )

    @classmethod
    def config_keys(cls) -> list[str]:
        return [field.alias or name for name, field in cls.model_fields.items()]

    @classmethod
    def secret_keys(cls) -> list[str]:
        return [field.alias or name for name, field in cls.model_fields.items() if SECRET in field.metadata]

    @classmethod
    def accepted(cls, key: str) -> str:
        """What `key` accepts, for a missing value."""
        for name, field in cls.model_fields.items():
            if (field.alias or name) == key:
                for item in field.metadata:
                    if isinstance(item, Accepted):
                        return item.text
        return "expected a value"

    _found: dict[str, Any] = PrivateAttr(default_factory=dict)

    def problems(self, platform: PlatformConfig, workloads: Sequence[WorkloadSpec]) -> list[str]:
        """Limits that need the rest of the platform's settings or its workloads; one line each.
        Called with every workload of a stack at once, and for each workload as it is added."""
        return []

    def remembered(self, key: str, find: Callable[[], T]) -> T:
        """What `find` returns, asked once per settings object: a cloud's data source is read
        when the config is checked, and its answer used again when the stack is built."""
        if key not in self._found:
            self._found[key] = find()
        found: T = self._found[key]
        return found


class ConfigObject(BaseModel):
    """An object inside one key's JSON value: fields are camelCase, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel)

    FIELDS: ClassVar[str]
    """What the object holds, for a message: `{name, keys, valueFrom}`."""

    @model_validator(mode="before")
    @classmethod
    def _an_object_of_known_fields(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise PydanticCustomError("config", f"expected {cls.FIELDS}")
        aliases = [field.alias for field in cls.model_fields.values()]
        unknown = [name for name in value if name not in aliases]
        if unknown:
            known = ", ".join(str(a) for a in aliases[:-1]) + f" or {aliases[-1]}"
            raise note(f".{unknown[0]} is not a known field: expected {known}")
        for field in cls.model_fields.values():
            if field.is_required() and field.alias not in value:
                accepted = next(
                    (m.text for m in field.metadata if isinstance(m, Accepted)), field.description or "expected a value"
                )
                raise note(f".{field.alias} is not set: {accepted}")
        return value


class ManagedClusterSettings(SettingsModel):
    """An EKS, AKS or GKE cluster: one the stack creates, with its Kubernetes version and one
    autoscaled node pool, or one that exists, named by `existingCluster`.

    A cloud's model narrows the node counts to what that cloud accepts, redeclares
    `existing_cluster` with the names that cloud accepts, and lists its own keys that only a
    created cluster has in `CREATED_ONLY`.
    """

    CREATED_ONLY: ClassVar[tuple[str, ...]] = (
        "kubernetes_version",
        "node_desired_count",
        "node_min_count",
        "node_max_count",
    )

    existing_cluster: str | None = None
    """The name of a cluster that exists: the stack creates no cluster, node pool, network or
    resource group, and reads what it needs from the cloud's data source."""
    kubernetes_version: KubernetesVersion = DEFAULT_KUBERNETES_VERSION
    node_desired_count: int = 2
    node_min_count: int = 1
    node_max_count: int = 3
    """Each cloud's model redeclares the three counts with `node_count(...)`."""

    @model_validator(mode="after")
    def _counts_in_order(self) -> ManagedClusterSettings:
        if not self.node_min_count <= self.node_desired_count <= self.node_max_count:
            raise line(
                f"{PROJECT}:nodeMinCount = {self.node_min_count}, {PROJECT}:nodeDesiredCount = "
                f"{self.node_desired_count}, {PROJECT}:nodeMaxCount = {self.node_max_count}: "
                "expected nodeMinCount <= nodeDesiredCount <= nodeMaxCount"
            )
        return self

    @model_validator(mode="after")
    def _nothing_to_create_for_an_existing_cluster(self) -> ManagedClusterSettings:
        if self.existing_cluster is None:
            return self
        fields = type(self).model_fields
        created_only = sorted(fields[name].alias or name for name in self.CREATED_ONLY if name in self.model_fields_set)
        if created_only:
            raise line(
                f"{', '.join(created_only)}: {'applies' if len(created_only) == 1 else 'apply'} only to a cluster "
                f"the stack creates, and {PROJECT}:existingCluster = {self.existing_cluster!r} names one that "
                "exists: remove " + ("it" if len(created_only) == 1 else "them")
            )
        return self


def node_count(high: int, why: str) -> Accepted:
    """What a node count accepts when its cloud takes at most `high`: `Annotated[int, node_count(...)]`."""
    return Accepted(whole_number(1, high), f"expected a whole number from 1 to {high} ({why})")


def rotation_interval(value: Any) -> str:
    if go_duration_ns(value) < go_duration_ns(ROTATION_FLOOR):
        raise ValueError(value)
    return str(value)


class Rotation(ConfigObject):
    FIELDS: ClassVar[str] = "{enabled: true or false, pollInterval: a Go duration such as 120s, 2m or 1h}"

    enabled: Boolean = False
    poll_interval: Annotated[
        str,
        Accepted(
            rotation_interval,
            f"expected a Go duration such as 2m, 1h or 1h30m, from {ROTATION_FLOOR} (more often "
            "exhausts the store's read quota) to 2562047h47m16.854775807s (Go's largest)",
        ),
    ] = DEFAULT_POLL_INTERVAL


_JSON_KEY = r"[A-Za-z_][A-Za-z0-9_-]{0,62}"
_CONFIG_KEY_NAME = r"[A-Za-z][A-Za-z0-9]{0,63}"


JSON_KEYS_RULE = (
    "expected a non-empty list of distinct JSON keys, each 1-63 letters, digits, '_' or '-', starting with a "
    "letter or '_'; leave keys out for a secret that is one value"
)


def json_keys(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or len(set(map(str, value))) != len(value):
        raise ValueError(value)
    return tuple(matching(_JSON_KEY)(key) for key in value)


class SecretEntry(ConfigObject):
    """One secret of `secrets`: its name, the keys of its JSON document, where its value is,
    or the secret the store holds already."""

    FIELDS: ClassVar[str] = "{name, keys, valueFrom, existing}"

    name: Annotated[str, Accepted(dns_label, f"expected {DNS_LABEL_RULE}")]
    keys: Annotated[tuple[str, ...], Accepted(json_keys, JSON_KEYS_RULE)] = ()
    value_from: Annotated[
        str | None,
        Accepted(
            matching(_CONFIG_KEY_NAME),
            "expected the name of a key of this project, such as dbCredentials, set with `pulumi config set --secret`",
        ),
    ] = None
    existing: Annotated[
        str | None,
        Accepted(
            matching(r"\S{1,2048}"),
            "expected the store's reference to a secret it holds already: an ARN, a Key Vault secret URL, "
            "projects/<project>/secrets/<id> or a KV v2 path, without spaces",
        ),
    ] = None
    """The secret as the store names it; the store's settings check its form."""

    _values: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def values(self) -> dict[str, str]:
        """The values `valueFrom` gives, by key ("" for a single value); never shown."""
        return self._values

    @model_validator(mode="after")
    def _value_source(self, info: ValidationInfo) -> SecretEntry:
        """Reads the key `valueFrom` names: set, stored as a secret, and with exactly `keys`."""
        if self.value_from is not None and self.existing is not None:
            raise note(
                f".valueFrom = {self.value_from!r}: a secret with `existing` keeps the value the store holds, "
                "which the program never reads or writes: remove valueFrom, or existing"
            )
        if self.value_from is None:
            return self
        context = info.context or {}
        source = f"{PROJECT}:{self.value_from}"
        if self.value_from in context.get("own_keys", ()):
            raise note(
                f".valueFrom = {self.value_from!r}: expected the name of a key of this project set "
                "with `pulumi config set --secret`, not one of the project's own settings"
            )
        secret: ConfigSecret | None = context["read_secret"](self.value_from)
        if secret is None:
            raise note(
                f".valueFrom = {self.value_from!r}: {source} is not set; set it with "
                f"`pulumi config set --secret {source} <value>`"
            )
        if not secret.stored_as_secret:
            raise line(plain_text_problem(source))
        if not self.keys:
            self._values[""] = secret.value
            return self
        document = _json_object_of_strings(secret.value)
        if document is None or set(document) != set(self.keys):
            raise line(
                f"{source}: expected a JSON object with exactly the keys {', '.join(self.keys)}, each "
                "a string, as secrets[].keys lists them (the value is not shown)"
            )
        self._values.update((key, document[key]) for key in self.keys)
        return self


def plain_text_problem(key: str) -> str:
    return (
        f"{key} is stored in plain text in the stack file: remove it and run "
        f"`pulumi config set --secret {key} <value>`, or leave it unset to generate one"
    )


def _json_object_of_strings(raw: str) -> dict[str, str] | None:
    try:
        document = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(document, dict) or not all(isinstance(v, str) for v in document.values()):
        return None
    return document


def _secret_value(value: Any) -> ConfigSecret:
    if not isinstance(value, ConfigSecret):
        raise ValueError(value)
    if not value.stored_as_secret:
        raise line(plain_text_problem("<key>"))
    if not value.value:
        raise ValueError(value)
    return value


def _json_list_of_objects(value: Any) -> Any:
    document = json_value(value)
    if not isinstance(document, list) or not document:
        raise ValueError(value)
    return document


def _json_object(value: Any) -> Any:
    document = json_value(value)
    if not isinstance(document, dict):
        raise ValueError(value)
    return document


def _then(first: Callable[[Any], Any], text: str) -> Any:
    """A before-validator: `first` turns the raw value into what the field type validates."""

    def validate(value: Any) -> Any:
        try:
            return first(value)
        except (ValueError, TypeError):
            raise PydanticCustomError("config", text) from None

    return BeforeValidator(validate)


def namespace_name(value: Any) -> str:
    if str(value).startswith("kube-"):
        raise ValueError(value)
    return dns_label(value)


def trusted_service_account(value: Any) -> str:
    if value == "default":
        raise ValueError(value)
    return dns_label(value)


def _list_of_objects(value: Any) -> Any:
    if not isinstance(value, list) or not value:
        raise ValueError(value)
    return value


def _optional(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def optional(value: Any) -> Any:
        return None if value is None else parse(value)

    return optional


NAMESPACE_RULE = f"expected {DNS_LABEL_RULE}, not starting with 'kube-'"
SERVICE_ACCOUNT_RULE = (
    f"expected {DNS_LABEL_RULE}, other than 'default' (the unauthorized demo runs as 'default' and must not be trusted)"
)
SECRETS_RULE = "expected a non-empty list of secrets, each {name, keys, valueFrom, existing}"


class WorkloadEntry(ConfigObject):
    """One workload of `workloads`: an application with its own service account and secrets."""

    FIELDS: ClassVar[str] = "{name, namespace, serviceAccount, secrets, demo}"

    name: Annotated[str, Accepted(dns_label, f"expected {DNS_LABEL_RULE}, unique in the stack")]
    namespace: Annotated[str | None, Accepted(_optional(namespace_name), NAMESPACE_RULE)] = None
    """None: `<stack>-<name>`, a namespace of the stack's own."""
    service_account: Annotated[str | None, Accepted(_optional(trusted_service_account), SERVICE_ACCOUNT_RULE)] = None
    """None: the workload's name."""
    secrets: Annotated[tuple[SecretEntry, ...], _then(_list_of_objects, SECRETS_RULE)] = Field(description=SECRETS_RULE)
    demo: Boolean = False

    @model_validator(mode="after")
    def _name_as_account(self) -> WorkloadEntry:
        """The name stands in for a service account left out, and must fit it."""
        if self.service_account is None:
            try:
                trusted_service_account(self.name)
            except ValueError:
                raise note(
                    f".name = {self.name!r}: it is also the serviceAccount, which is not set: {SERVICE_ACCOUNT_RULE}"
                ) from None
        return self


class CommonSettings(SettingsModel):
    """The keys every stack has: its workloads, the demo and the driver's options.

    A stack without `workloads` has one workload, configured by `namespace`,
    `serviceAccount`, `secrets` (or the demo secret's keys), with the demo.
    """

    WORKLOAD_KEYS: ClassVar[tuple[str, ...]] = ("namespace", "serviceAccount", "secrets")

    DEMO_SECRET_KEYS: ClassVar[tuple[str, ...]] = ("secretUsername", "secretPassword")

    namespace: Annotated[str | None, Accepted(_optional(namespace_name), NAMESPACE_RULE)] = None
    """None: `secretstore-<stack>`, a namespace of the stack's own. The namespace of the
    stack's single workload, made with the Pod Security Standard `restricted` enforced unless
    it is `default`. Not with `workloads`."""
    service_account: Annotated[str, Accepted(trusted_service_account, SERVICE_ACCOUNT_RULE)] = "test"
    """The one service account the stack's single workload's identity trusts. Not with `workloads`."""
    demo_image: Annotated[
        str,
        Accepted(
            image_reference,
            "expected a container image reference such as registry/path:tag or "
            "registry/path@sha256:<digest>: a lower-case path, a registry port up to 65535, at "
            f"most {_IMAGE_NAME_MAX} characters before the tag",
        ),
    ] = demo_app.IMAGE
    """The demo's hello-server image. Published only as `latest`; pin it with `@sha256:<digest>`."""
    secret_username: Annotated[
        str, Accepted(matching(r"\S{1,128}"), "expected 1-128 characters without whitespace")
    ] = "demo"
    """The default demo secret's `username`. Not with `secrets`."""
    secret_password: Annotated[
        ConfigSecret | None,
        Accepted(_secret_value, "expected a non-empty value set with `pulumi config set --secret`"),
        SECRET,
    ] = None
    """None: generated (32 characters, kept in the state). The default demo secret's
    `password`. Not with `secrets`."""
    secrets: Annotated[tuple[SecretEntry, ...] | None, _then(_json_list_of_objects, SECRETS_RULE)] = None
    """The stack's single workload's secrets; none: one, `secret`, with `username` and
    `password` (the article's demo). Each secret, with generated values at full length, must
    fit the store."""
    workloads: Annotated[
        tuple[WorkloadEntry, ...] | None,
        _then(
            _json_list_of_objects,
            "expected a non-empty list of workloads, each {name, namespace, serviceAccount, secrets, demo}",
        ),
    ] = None
    """A non-empty list of workloads, each `{name, namespace, serviceAccount, secrets, demo}`;
    none: one workload, from `namespace`, `serviceAccount` and `secrets`, with the demo. No two
    workloads may share a name, or a namespace and service account."""
    sync_secret: Boolean = False
    """Also sync the mounted files to a Kubernetes Secret, and give the authorized demo pod
    each as an environment variable."""
    install: Annotated[
        str,
        Accepted(
            matching("|".join(INSTALLS)),
            "expected helm (the driver and the store's provider as pinned Helm charts) or addon (the cloud's "
            "managed add-on: EKS, AKS or GKE)",
        ),
    ] = "helm"
    """How the driver and the store's provider get into the cluster; not addon on cloud
    kubernetes, nor with store vault or identity identityBinding."""
    rotation: Annotated[
        Rotation,
        _then(
            _json_object,
            "expected {enabled: true or false, pollInterval: a Go duration such as 120s, 2m or 1h}",
        ),
    ] = Rotation()
    """`{enabled, pollInterval}`: refresh mounted secrets, at most once per `pollInterval`."""

    @property
    def driver(self) -> DriverSettings:
        return DriverSettings(
            sync_secret=self.sync_secret,
            rotation_poll_interval=self.rotation.poll_interval if self.rotation.enabled else None,
        )


@dataclass(frozen=True)
class PlatformConfig:
    """What a platform is made of: one cluster source, store and identity mode, their
    settings, the driver's options and the demo's image."""

    cloud: str
    store: str
    identity: str
    cluster: SettingsModel
    """The cluster source's settings, such as the region and the node pool."""
    store_settings: SettingsModel
    identity_settings: SettingsModel
    driver: DriverSettings
    demo_image: str
    local_cluster: bool = False
    """A cluster of the user's own, such as kind, where dev shortcuts are the default."""
    install: str = "helm"
    """How the driver and the store's provider get into the cluster: `helm` (pinned charts)
    or `addon` (the cloud's managed add-on)."""

    @property
    def add_on(self) -> bool:
        return self.install == "addon"

    def of(self, kind: type[M]) -> M:
        """The settings of this kind: `config.of(AwsClusterSettings).region`."""
        for settings in (self.cluster, self.store_settings, self.identity_settings):
            if isinstance(settings, kind):
                return settings
        raise LookupError(f"this platform ({self.cloud}, {self.store}, {self.identity}) has no {kind.__name__}")

    @property
    def settings(self) -> tuple[SettingsModel, SettingsModel, SettingsModel]:
        return self.cluster, self.store_settings, self.identity_settings


@dataclass(frozen=True)
class StackConfig:
    """The whole stack config, parsed and checked: what `secretstore_csi.config.load()` returns."""

    platform: PlatformConfig
    workloads: tuple[WorkloadSpec, ...]
    """The listed workloads, or the stack's single one when `workloads` is not set."""

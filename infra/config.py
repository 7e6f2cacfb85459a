"""The stack configuration: read once, validated as a whole, handed around as one typed value.

No other module calls `pulumi.Config`. `load()` reads every key, collects every problem and
raises one `ConfigError` that lists them all before a single resource is registered, so a
typo never leaves a half-made stack behind.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence, TypeVar

import pulumi

from infra import charts

PROJECT = "secretstore-csi"

DEFAULT_KUBERNETES_VERSION = "1.35"
DEFAULT_IMAGE = "ghcr.io/dirien/hello-server/hello-server:latest"
DEFAULT_SECRET = "secret"
# AWS recommends about an hour: every poll reads every mounted secret of every pod.
DEFAULT_POLL_INTERVAL = "1h"

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_MAJOR_MINOR = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[1-9][0-9]?$")
_EC2_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
_AZURE_LOCATION = re.compile(r"^[A-Za-z][A-Za-z0-9 ]*[A-Za-z0-9]$")
_AZURE_VM_SIZE = re.compile(r"^(Standard|Basic)_[A-Za-z0-9_]+$")
_JSON_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$")
_CONFIG_KEY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")
# Go's time.ParseDuration, without a sign: positive durations only.
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
# Key Vault: 3-24 letters, digits and hyphens, starting with a letter, ending with a letter or
# digit, without consecutive hyphens.
_KEY_VAULT_NAME = re.compile(r"^(?=.{3,24}$)[A-Za-z](?:-?[A-Za-z0-9])+$")
# Secrets Manager CreateSecret: 1-512 characters from ASCII letters, digits and /_+=.@-
_SECRETS_MANAGER_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
# An image reference: [registry[:port]/]path[:tag][@sha256:digest], lower-case path.
_IMAGE = re.compile(
    r"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)


class ConfigError(pulumi.RunError):
    """Bad stack configuration. Pulumi prints a RunError's message without a traceback."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"The stack configuration has {len(problems)} problem(s); nothing was deployed:\n{lines}"
        )


@dataclass(frozen=True)
class NodePool:
    machine_type: str
    """EC2 instance type on AWS, VM size on Azure."""

    desired: int
    minimum: int
    maximum: int


@dataclass(frozen=True)
class Workload:
    """Where the demo runs and which service account the cloud identity trusts."""

    namespace: str
    service_account: str
    image: str

    @property
    def subject(self) -> str:
        """The `sub` claim of this service account's tokens: what the cloud identity trusts."""
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"


SINGLE_VALUE = ""
"""The key of `StoreSecret.given` for a secret that is one value, not a JSON document."""


@dataclass(frozen=True)
class StoreSecret:
    """One secret in the cloud's store, mounted as the file `name`."""

    name: str
    keys: tuple[str, ...]
    """The keys of its JSON document; empty when the secret is a single value."""

    given: Mapping[str, pulumi.Input[str]]
    """Values from config, by key (SINGLE_VALUE for a single value); the rest are generated."""

    store_name: Optional[str] = None
    """Its name in the store when config sets one (AWS `secretName`); otherwise autonamed."""

    def key_file(self, key: str) -> str:
        """The file one key of the document is mounted as, where the provider can do that."""
        return f"{self.name}-{key}"

    @property
    def files(self) -> list[str]:
        """Every file this secret can be mounted as: the whole value, then each key."""
        return [self.name, *(self.key_file(key) for key in self.keys)]


def env_var_name(file: str) -> str:
    """The environment variable that carries a synced file's value: `db-password` -> DB_PASSWORD."""
    return re.sub(r"[^A-Z0-9_]", "_", file.upper())


@dataclass(frozen=True)
class DriverSettings:
    sync_secret: bool
    """Also sync the mounted secrets to a Kubernetes Secret, and use it for env variables."""

    rotation_poll_interval: Optional[str]
    """How often mounted secrets are refreshed (a Go duration); None: rotation is off."""


@dataclass(frozen=True)
class AwsSettings:
    region: str
    recovery_window_in_days: int


@dataclass(frozen=True)
class AzureSettings:
    location: str
    vault_name: Optional[str]
    """None: a unique name is generated."""
    soft_delete_retention_days: int
    purge_protection: bool


@dataclass(frozen=True)
class StackConfig:
    cloud: str
    kubernetes_version: str
    nodes: NodePool
    workload: Workload
    secrets: tuple[StoreSecret, ...]
    """What the store holds; the first one is the file the demo serves on /read."""

    driver: DriverSettings
    aws: Optional[AwsSettings] = None
    azure: Optional[AzureSettings] = None


# Every key of the project namespace, and the cloud it belongs to (None: every cloud).
KEYS: dict[str, Optional[str]] = {
    "cloud": None,
    "kubernetesVersion": None,
    "nodeDesiredCount": None,
    "nodeMinCount": None,
    "nodeMaxCount": None,
    "namespace": None,
    "serviceAccount": None,
    "demoImage": None,
    "secretUsername": None,
    "secretPassword": None,
    "secrets": None,
    "syncSecret": None,
    "rotation": None,
    "nodeInstanceType": "aws",
    "secretName": "aws",
    "secretRecoveryWindowInDays": "aws",
    "nodeVmSize": "azure",
    "keyVaultName": "azure",
    "keyVaultSoftDeleteRetentionDays": "azure",
    "keyVaultPurgeProtection": "azure",
}

T = TypeVar("T")


class _Reader:
    """Reads raw config strings and records one problem per bad value."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.value_sources: set[str] = set()
        self._project = pulumi.Config(PROJECT)

    def problem(self, key: str, value: object, accepted: str) -> None:
        self.problems.append(f"{key} = {value!r}: {accepted}")

    def value(
        self,
        name: str,
        default: Optional[T],
        parse: Callable[[str], T],
        accepted: str,
        namespace: Optional[pulumi.Config] = None,
    ) -> Optional[T]:
        """The parsed value of `name`, its default when unset, or None after a problem."""
        config = namespace or self._project
        raw = config.get(name)
        key = config.full_key(name)
        if raw is None:
            if default is None:
                self.problems.append(f"{key} is not set: {accepted}")
            return default
        try:
            return parse(raw)
        except ValueError:
            self.problem(key, raw, accepted)
            return None

    def secret(self, name: str) -> Optional[pulumi.Output[str]]:
        """A secret value; it must have been stored with `pulumi config set --secret`."""
        key = self._project.full_key(name)
        if self._project.get(name) is None:
            return None
        if not pulumi.runtime.is_config_secret(key):
            self.problems.append(
                f"{key} is stored in plain text in the stack file: remove it and run "
                f"`pulumi config set --secret {key} <value>`, or leave it unset to generate one"
            )
            return None
        return self._project.require_secret(name)

    def json(self, name: str, accepted: str) -> Any:
        """The parsed JSON of an object or list key (Pulumi passes them as JSON), or None."""
        raw = self._project.get(name)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            self.problem(self._project.full_key(name), raw, accepted)
            return None

    def is_set(self, name: str) -> bool:
        return self._project.get(name) is not None

    def secret_source(self, where: str, name: Any, keys: tuple[str, ...]) -> Optional[dict[str, Any]]:
        """The values a listed secret's `valueFrom` names, by key, as secret Outputs."""
        accepted = (
            "expected the name of a key of this project, such as dbCredentials, set with "
            "`pulumi config set --secret`"
        )
        if not isinstance(name, str) or not _CONFIG_KEY_NAME.fullmatch(name) or name in KEYS:
            self.problem(where, name, accepted + ", and not one of the project's own settings")
            return None
        self.value_sources.add(name)
        key = self._project.full_key(name)
        if not self.is_set(name):
            self.problems.append(
                f"{where} = {name!r}: {key} is not set; set it with "
                f"`pulumi config set --secret {key} <value>`"
            )
            return None
        value = self.secret(name)
        if value is None:
            return None
        if not keys:
            return {SINGLE_VALUE: value}
        document = _json_object_of_strings(self._project.get(name))
        if document is None or set(document) != set(keys):
            self.problems.append(
                f"{key}: expected a JSON object with exactly the keys {', '.join(keys)}, "
                "each a string, as secrets[].keys lists them (the value is not shown)"
            )
            return None
        return {k: pulumi.Output.secret(document[k]) for k in keys}

    def unknown_keys(self, cloud: Optional[str]) -> None:
        prefix = f"{PROJECT}:"
        for key in sorted(_configured_keys()):
            if not key.startswith(prefix):
                continue
            name = key[len(prefix):]
            if name in self.value_sources:
                continue
            if name not in KEYS:
                known = ", ".join(sorted(KEYS))
                self.problems.append(f"{key} is not a known key: expected one of {known}")
            elif KEYS[name] is not None and cloud is not None and KEYS[name] != cloud:
                self.problems.append(
                    f"{key} applies only when {PROJECT}:cloud is {KEYS[name]}, "
                    f"but this stack's cloud is {cloud}"
                )


def _json_object_of_strings(raw: Optional[str]) -> Optional[dict[str, str]]:
    try:
        document = json.loads(raw or "")
    except ValueError:
        return None
    if not isinstance(document, dict) or not all(isinstance(v, str) for v in document.values()):
        return None
    return document


def _configured_keys() -> set[str]:
    """Every key set for this stack, from the runtime's config map or the environment."""
    from pulumi.runtime.config import CONFIG, get_config_env

    return set(CONFIG.get()) | set(get_config_env())


def _matching(pattern: re.Pattern[str]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not pattern.fullmatch(raw):
            raise ValueError(raw)
        return raw

    return parse


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise ValueError(raw)
        return raw

    return parse


def _positive_int(raw: str) -> int:
    if not re.fullmatch(r"[0-9]+", raw.strip()) or int(raw) < 1:
        raise ValueError(raw)
    return int(raw)


def _kubernetes_version(raw: str) -> str:
    match = _MAJOR_MINOR.fullmatch(raw)
    if not match:
        raise ValueError(raw)
    if (int(match[1]), int(match[2])) < charts.MIN_KUBERNETES_VERSION:
        raise ValueError(raw)
    return raw


def _dns_label(raw: str) -> str:
    if not _DNS1123_LABEL.fullmatch(raw):
        raise ValueError(raw)
    return raw


def _namespace(raw: str) -> str:
    if raw.startswith("kube-"):
        raise ValueError(raw)
    return _dns_label(raw)


def _service_account(raw: str) -> str:
    if raw == "default":
        raise ValueError(raw)
    return _dns_label(raw)


def _whole_number_in(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not re.fullmatch(r"[0-9]+", raw.strip()) or not low <= int(raw) <= high:
            raise ValueError(raw)
        return int(raw)

    return parse


def _bool(raw: str) -> bool:
    if raw not in ("true", "false"):
        raise ValueError(raw)
    return raw == "true"


def _recovery_window(raw: str) -> int:
    if not re.fullmatch(r"[0-9]+", raw.strip()):
        raise ValueError(raw)
    days = int(raw)
    if days != 0 and not 7 <= days <= 30:
        raise ValueError(raw)
    return days


def _go_duration(raw: str) -> str:
    position, seconds = 0, 0.0
    for part in _DURATION_PART.finditer(raw):
        if part.start() != position:
            break
        seconds += float(part[1]) * _DURATION_UNITS[part[2]]
        position = part.end()
    if not raw or position != len(raw) or seconds <= 0:
        raise ValueError(raw)
    return raw


def _bool_or_json_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _bool(value)
    raise ValueError(value)


_DNS_LABEL_RULE = (
    "a DNS-1123 label: 1-63 lower-case letters, digits or '-', "
    "starting and ending with a letter or digit"
)
_MIN_VERSION = ".".join(str(p) for p in charts.MIN_KUBERNETES_VERSION)


_SECRET_FIELDS = ("name", "keys", "valueFrom")
_DEMO_SECRET_KEYS = ("secretUsername", "secretPassword", "secretName")


def _demo_secret(r: _Reader, cloud: Optional[str]) -> StoreSecret:
    """The article's secret: {"username", "password"}, from the secret* keys or generated."""
    given: dict[str, pulumi.Input[str]] = {
        "username": r.value(
            "secretUsername",
            "demo",
            _matching(re.compile(r"^\S{1,128}$")),
            "expected 1-128 characters without whitespace",
        )
    }
    password = r.secret("secretPassword")
    if password is not None:
        given["password"] = password
    store_name = None
    if cloud == "aws":
        store_name = r.value(
            "secretName",
            "",
            _matching(_SECRETS_MANAGER_NAME),
            "expected a Secrets Manager name: 1-512 characters from letters, digits and /_+=.@-",
        )
    return StoreSecret(
        name=DEFAULT_SECRET, keys=("username", "password"), given=given, store_name=store_name or None
    )


def _store_secrets(r: _Reader, cloud: Optional[str]) -> tuple[StoreSecret, ...]:
    """The `secrets` list, or the article's single secret when it is unset."""
    key = f"{PROJECT}:secrets"
    accepted = "expected a non-empty list of secrets, each {name, keys, valueFrom}"
    listed = r.json("secrets", accepted)
    if listed is None:
        return (_demo_secret(r, cloud),) if not r.is_set("secrets") else ()
    for name in _DEMO_SECRET_KEYS:
        if r.is_set(name):
            r.problems.append(
                f"{PROJECT}:{name} configures the default demo secret, which {key} replaces: "
                "remove it, and give a listed secret its value with valueFrom"
            )
    if not isinstance(listed, list) or not listed:
        r.problem(key, listed, accepted)
        return ()

    secrets: list[StoreSecret] = []
    owners: dict[str, str] = {}
    for index, entry in enumerate(listed):
        where = f"{key}[{index}]"
        if not isinstance(entry, dict):
            r.problem(where, entry, "expected {name, keys, valueFrom}")
            continue
        for field in entry:
            if field not in _SECRET_FIELDS:
                r.problems.append(f"{where}.{field} is not a known field: expected name, keys or valueFrom")
        name = entry.get("name")
        if not isinstance(name, str) or not _DNS1123_LABEL.fullmatch(name):
            r.problem(f"{where}.name", name, f"expected {_DNS_LABEL_RULE}")
            continue
        keys = entry.get("keys", [])
        if not (
            isinstance(keys, list)
            and all(isinstance(k, str) and _JSON_KEY.fullmatch(k) for k in keys)
            and len(set(keys)) == len(keys)
        ):
            r.problem(
                f"{where}.keys",
                keys,
                "expected a list of distinct JSON keys, each 1-63 letters, digits, '_' or '-', "
                "starting with a letter or '_'",
            )
            continue
        given: Optional[dict[str, Any]] = {}
        if "valueFrom" in entry:
            given = r.secret_source(f"{where}.valueFrom", entry["valueFrom"], tuple(keys))
        secret = StoreSecret(name=name, keys=tuple(keys), given=given or {})
        logged = [f for f in secret.files if env_var_name(f).startswith("TEST")]
        if logged:
            r.problem(
                f"{where}.name",
                name,
                f"expected a name whose environment variables do not start with TEST: the demo "
                f"server prints every such variable to its log, and {env_var_name(logged[0])} "
                "would carry the secret there when syncSecret is on",
            )
            continue
        clashes = [f for f in secret.files if f in owners or env_var_name(f) in owners]
        if clashes:
            r.problem(
                f"{where}.name",
                name,
                f"expected a name whose files ({', '.join(secret.files)}) and their environment "
                f"variables no other secret uses; {clashes[0]} clashes with "
                f"{owners.get(clashes[0]) or owners[env_var_name(clashes[0])]}",
            )
            continue
        for file in secret.files:
            owners[file] = owners[env_var_name(file)] = f"{where} ({name})"
        if given is not None:
            secrets.append(secret)
    return tuple(secrets)


def _rotation(r: _Reader) -> Optional[str]:
    """The rotation poll interval when `rotation.enabled` is true, else None."""
    key = f"{PROJECT}:rotation"
    accepted = "expected {enabled: true or false, pollInterval: a Go duration such as 120s, 2m or 1h}"
    rotation = r.json("rotation", accepted)
    if rotation is None:
        return None
    if not isinstance(rotation, dict):
        r.problem(key, rotation, accepted)
        return None
    for field in rotation:
        if field not in ("enabled", "pollInterval"):
            r.problems.append(f"{key}.{field} is not a known field: {accepted}")
    try:
        enabled = _bool_or_json_bool(rotation.get("enabled", False))
    except ValueError:
        r.problem(f"{key}.enabled", rotation.get("enabled"), "expected true or false")
        enabled = False
    interval = rotation.get("pollInterval", DEFAULT_POLL_INTERVAL)
    try:
        if not isinstance(interval, str):
            raise ValueError(interval)
        _go_duration(interval)
    except ValueError:
        r.problem(
            f"{key}.pollInterval",
            interval,
            "expected a positive Go duration such as 120s, 2m, 1h or 1h30m",
        )
        return None
    return interval if enabled else None


def _aws_settings(r: _Reader) -> tuple[AwsSettings, Optional[str]]:
    """The AWS settings, and the node instance type."""
    region = r.value(
        "region",
        None,
        _matching(_AWS_REGION),
        "expected an AWS region code such as eu-central-1; set it with "
        "`pulumi config set aws:region <region>`",
        namespace=pulumi.Config("aws"),
    )
    instance_type = r.value(
        "nodeInstanceType",
        "t3.medium",
        _matching(_EC2_INSTANCE_TYPE),
        "expected an EC2 instance type such as t3.medium",
    )
    recovery = r.value(
        "secretRecoveryWindowInDays",
        30,
        _recovery_window,
        "expected 0 (delete at once, so the name is free again after `pulumi destroy`) "
        "or a whole number of days from 7 to 30",
    )
    return AwsSettings(region=region, recovery_window_in_days=recovery), instance_type


def _azure_settings(r: _Reader) -> tuple[AzureSettings, Optional[str]]:
    """The Azure settings, and the node VM size."""
    location = r.value(
        "location",
        None,
        _matching(_AZURE_LOCATION),
        "expected an Azure region such as westeurope; set it with "
        "`pulumi config set azure-native:location <region>`",
        namespace=pulumi.Config("azure-native"),
    )
    vm_size = r.value(
        "nodeVmSize",
        "Standard_D2s_v5",
        _matching(_AZURE_VM_SIZE),
        "expected an Azure VM size such as Standard_D2s_v5",
    )
    vault_name = r.value(
        "keyVaultName",
        "",
        _matching(_KEY_VAULT_NAME),
        "expected a Key Vault name: 3-24 letters, digits and hyphens, starting with a "
        "letter, ending with a letter or digit, with no consecutive hyphens",
    )
    retention = r.value(
        "keyVaultSoftDeleteRetentionDays",
        90,
        _whole_number_in(7, 90),
        "expected a whole number of days from 7 to 90",
    )
    purge_protection = r.value("keyVaultPurgeProtection", False, _bool, "expected true or false")
    settings = AzureSettings(
        location=location,
        vault_name=vault_name or None,
        soft_delete_retention_days=retention,
        purge_protection=purge_protection,
    )
    return settings, vm_size


def load(clouds: Sequence[str]) -> StackConfig:
    """Reads and validates the whole stack configuration, or raises ConfigError.

    `clouds` are the names of the cloud modules the program has.
    """
    r = _Reader()
    cloud = r.value(
        "cloud", None, _one_of(tuple(clouds)), f"expected one of: {', '.join(clouds)}"
    )

    kubernetes_version = r.value(
        "kubernetesVersion",
        DEFAULT_KUBERNETES_VERSION,
        _kubernetes_version,
        f"expected a Kubernetes minor version such as {DEFAULT_KUBERNETES_VERSION} "
        f"(major.minor, no patch), at least {_MIN_VERSION} as the "
        f"secrets-store-csi-driver chart {charts.DRIVER.version} requires",
    )
    count_rule = "expected a positive whole number"
    desired = r.value("nodeDesiredCount", 2, _positive_int, count_rule)
    minimum = r.value("nodeMinCount", 1, _positive_int, count_rule)
    maximum = r.value("nodeMaxCount", 3, _positive_int, count_rule)
    if None not in (desired, minimum, maximum) and not minimum <= desired <= maximum:
        r.problems.append(
            f"{PROJECT}:nodeMinCount = {minimum}, {PROJECT}:nodeDesiredCount = {desired}, "
            f"{PROJECT}:nodeMaxCount = {maximum}: expected nodeMinCount <= nodeDesiredCount "
            f"<= nodeMaxCount"
        )

    namespace = r.value(
        "namespace", "default", _namespace, f"expected {_DNS_LABEL_RULE}, not starting with 'kube-'"
    )
    service_account = r.value(
        "serviceAccount",
        "test",
        _service_account,
        f"expected {_DNS_LABEL_RULE}, other than 'default' (the unauthorized demo runs as "
        "'default' and must not be trusted)",
    )
    image = r.value(
        "demoImage",
        DEFAULT_IMAGE,
        _matching(_IMAGE),
        "expected a container image reference such as registry/path:tag or registry/path@sha256:<digest>",
    )
    secrets = _store_secrets(r, cloud)
    driver = DriverSettings(
        sync_secret=r.value("syncSecret", False, _bool, "expected true or false"),
        rotation_poll_interval=_rotation(r),
    )

    aws, azure, machine_type = None, None, None
    if cloud == "aws":
        aws, machine_type = _aws_settings(r)
    elif cloud == "azure":
        azure, machine_type = _azure_settings(r)

    r.unknown_keys(cloud)
    if r.problems:
        raise ConfigError(r.problems)

    return StackConfig(
        cloud=cloud,
        kubernetes_version=kubernetes_version,
        nodes=NodePool(machine_type=machine_type, desired=desired, minimum=minimum, maximum=maximum),
        workload=Workload(namespace=namespace, service_account=service_account, image=image),
        secrets=secrets,
        driver=driver,
        aws=aws,
        azure=azure,
    )

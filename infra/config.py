"""The stack configuration: read once, validated as a whole, handed around as one typed value.

No other module calls `pulumi.Config`. `load()` reads every key, collects every problem and
raises one `ConfigError` that lists them all before a single resource is registered, so a
typo never leaves a half-made stack behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, TypeVar

import pulumi

from infra import charts

PROJECT = "secretstore-csi"

DEFAULT_KUBERNETES_VERSION = "1.35"
DEFAULT_IMAGE = "ghcr.io/dirien/hello-server/hello-server:latest"

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_MAJOR_MINOR = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[1-9][0-9]?$")
_EC2_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
_AZURE_LOCATION = re.compile(r"^[A-Za-z][A-Za-z0-9 ]*[A-Za-z0-9]$")
_AZURE_VM_SIZE = re.compile(r"^(Standard|Basic)_[A-Za-z0-9_]+$")
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


@dataclass(frozen=True)
class DemoSecret:
    """The JSON document `{"username": ..., "password": ...}` stored in the cloud's secret store.

    `password` is a secret Output from `pulumi config set --secret`, or None to generate one.
    """

    username: str
    password: Optional[pulumi.Output[str]]


@dataclass(frozen=True)
class AwsSettings:
    region: str
    secret_name: Optional[str]
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
    secret: DemoSecret
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

    def unknown_keys(self, cloud: Optional[str]) -> None:
        prefix = f"{PROJECT}:"
        for key in sorted(_configured_keys()):
            if not key.startswith(prefix):
                continue
            name = key[len(prefix):]
            if name not in KEYS:
                known = ", ".join(sorted(KEYS))
                self.problems.append(f"{key} is not a known key: expected one of {known}")
            elif KEYS[name] is not None and cloud is not None and KEYS[name] != cloud:
                self.problems.append(
                    f"{key} applies only when {PROJECT}:cloud is {KEYS[name]}, "
                    f"but this stack's cloud is {cloud}"
                )


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


_DNS_LABEL_RULE = (
    "a DNS-1123 label: 1-63 lower-case letters, digits or '-', "
    "starting and ending with a letter or digit"
)
_MIN_VERSION = ".".join(str(p) for p in charts.MIN_KUBERNETES_VERSION)


def load(clouds: Sequence[str]) -> StackConfig:
    """Reads and validates the whole stack configuration, or raises ConfigError.

    `clouds` are the names of the cloud modules the program has.
    """
    r = _Reader()
    cloud = r.value(
        "cloud", None, _one_of(tuple(clouds)), f"expected one of: {', '.join(clouds)}"
    )
    r.unknown_keys(cloud)

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
    username = r.value(
        "secretUsername",
        "demo",
        _matching(re.compile(r"^\S{1,128}$")),
        "expected 1-128 characters without whitespace",
    )
    password = r.secret("secretPassword")

    aws = None
    azure = None
    machine_type = None
    if cloud == "aws":
        region = r.value(
            "region",
            None,
            _matching(_AWS_REGION),
            "expected an AWS region code such as eu-central-1; set it with "
            "`pulumi config set aws:region <region>`",
            namespace=pulumi.Config("aws"),
        )
        machine_type = r.value(
            "nodeInstanceType",
            "t3.medium",
            _matching(_EC2_INSTANCE_TYPE),
            "expected an EC2 instance type such as t3.medium",
        )
        secret_name = r.value(
            "secretName",
            "",
            _matching(_SECRETS_MANAGER_NAME),
            "expected a Secrets Manager name: 1-512 characters from letters, digits and /_+=.@-",
        )
        recovery = r.value(
            "secretRecoveryWindowInDays",
            30,
            _recovery_window,
            "expected 0 (delete at once, so the name is free again after `pulumi destroy`) "
            "or a whole number of days from 7 to 30",
        )
        aws = AwsSettings(
            region=region, secret_name=secret_name or None, recovery_window_in_days=recovery
        )
    elif cloud == "azure":
        location = r.value(
            "location",
            None,
            _matching(_AZURE_LOCATION),
            "expected an Azure region such as westeurope; set it with "
            "`pulumi config set azure-native:location <region>`",
            namespace=pulumi.Config("azure-native"),
        )
        machine_type = r.value(
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
        purge_protection = r.value(
            "keyVaultPurgeProtection", False, _bool, "expected true or false"
        )
        azure = AzureSettings(
            location=location,
            vault_name=vault_name or None,
            soft_delete_retention_days=retention,
            purge_protection=purge_protection,
        )

    if r.problems:
        raise ConfigError(r.problems)

    return StackConfig(
        cloud=cloud,
        kubernetes_version=kubernetes_version,
        nodes=NodePool(machine_type=machine_type, desired=desired, minimum=minimum, maximum=maximum),
        workload=Workload(namespace=namespace, service_account=service_account, image=image),
        secret=DemoSecret(username=username, password=password),
        aws=aws,
        azure=azure,
    )

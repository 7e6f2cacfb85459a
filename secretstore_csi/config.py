"""Reads the stack config once, checks all of it, and returns one typed `StackConfig`.

No other module calls `pulumi.Config`. The registry says which settings models a stack's
cluster source, store and identity mode have; `load()` validates each, then the limits that
span several keys, and raises one `ConfigError` that lists every problem, one line each,
before a single resource is registered. Secret values are never shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pulumi
from pydantic import ValidationError

from secretstore_csi import PROJECT, checks, registry
from secretstore_csi.errors import ConfigError
from secretstore_csi.model import StoreSecret, WorkloadSpec, stack_namespace
from secretstore_csi.settings import (
    CommonSettings,
    ConfigSecret,
    M,
    PlatformConfig,
    SecretEntry,
    SettingsModel,
    StackConfig,
    shown,
)

DEFAULT_SECRET = "secret"
AXES = ("cloud", "store", "identity")


def _configured_keys() -> set[str]:
    """Every key set for this stack, from the runtime's config map or the environment."""
    from pulumi.runtime.config import CONFIG, get_config_env

    return set(CONFIG.get()) | set(get_config_env())


def _read(key: str) -> str | None:
    namespace, _, name = key.partition(":")
    return pulumi.Config(namespace).get(name)


def _read_secret(key: str) -> ConfigSecret | None:
    raw = _read(key)
    if raw is None:
        return None
    return ConfigSecret(value=raw, stored_as_secret=pulumi.runtime.is_config_secret(key))


def _location(loc: Iterable[Any]) -> str:
    where = ""
    for part in loc:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return where


def validation_problems(error: ValidationError, model: type[SettingsModel], hidden: set[str]) -> list[str]:
    """One line per problem pydantic found: the key, the value unless it is secret (a key in
    `hidden`), and what is accepted."""
    problems = []
    for item in error.errors(include_url=False):
        where = _location(item["loc"])
        message = str(item["msg"]).replace("<key>", where)
        kind = item["type"]
        if kind == "config_line":
            problems.append(message)
        elif kind == "config_note":
            problems.append(f"{where}{message}")
        elif kind == "missing":
            problems.append(f"{where} is not set: {model.accepted(where)}")
        elif item["loc"][0] in hidden or isinstance(item.get("input"), ConfigSecret):
            problems.append(f"{where}: {message} (the value is not shown)")
        else:
            problems.append(f"{where} = {shown(item.get('input'))}: {message}")
    return problems


def _validate(model: type[M], context: dict[str, Any], problems: list[str]) -> M | None:
    secret_keys = set(model.secret_keys())
    data: dict[str, Any] = {}
    for key in model.config_keys():
        value = _read_secret(key) if key in secret_keys else _read(key)
        if value is not None:
            data[key] = value
    # Any key set with --secret keeps its value out of messages, whatever it configures.
    hidden = secret_keys | {key for key in data if pulumi.runtime.is_config_secret(key)}
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        problems.extend(validation_problems(error, model, hidden))
        return None


def _axis(name: str, choices: Iterable[str], default: str | None, problems: list[str]) -> str | None:
    """The value of `cloud`, `store` or `identity`; the last two default from the one before."""
    key = f"{PROJECT}:{name}"
    value = _read(key)
    accepted = f"expected one of: {', '.join(choices)}"
    if value is None:
        if name == "cloud":
            problems.append(f"{key} is not set: {accepted}")
        return default
    if value not in choices:
        where = f"{key}: the value is not shown" if pulumi.runtime.is_config_secret(key) else f"{key} = {shown(value)}"
        problems.append(f"{where}: {accepted}")
        return None
    return value


def _combination(problems: list[str]) -> tuple[str, str, str] | None:
    cloud = _axis("cloud", list(registry.CLUSTERS), None, problems)
    default_store = registry.CLUSTERS[cloud].default_store if cloud else None
    store = _axis("store", list(registry.STORES), default_store, problems)
    default_identity = registry.STORES[store].default_identity if store else None
    identity = _axis("identity", list(registry.IDENTITIES), default_identity, problems)
    if cloud is None or store is None or identity is None:
        return None
    if (cloud, store, identity) not in registry.combinations():
        valid = "; ".join(f"cloud {c}, store {s}, identity {i}" for c, s, i in registry.combinations())
        problems.append(
            f"{PROJECT}:cloud = {cloud!r}, {PROJECT}:store = {store!r}, {PROJECT}:identity = "
            f"{identity!r}: not a registered combination; expected one of: {valid}"
        )
        return None
    return cloud, store, identity


def _owners() -> dict[str, list[str]]:
    """For every key some model reads, the axis values whose model reads it."""
    owners: dict[str, list[str]] = {}
    for axis, entries in (("cloud", registry.CLUSTERS), ("store", registry.STORES), ("identity", registry.IDENTITIES)):
        for entry in entries.values():
            for key in entry.settings().config_keys():
                owners.setdefault(key, []).append(f"{PROJECT}:{axis} is {entry.name}")
    return owners


def _unknown_keys(read: set[str], allowed: set[str], combination: tuple[str, str, str] | None) -> list[str]:
    owners = _owners()
    known = sorted(
        key.removeprefix(f"{PROJECT}:")
        for key in {*CommonSettings.config_keys(), *owners, *(f"{PROJECT}:{a}" for a in AXES)}
        if key.startswith(f"{PROJECT}:")
    )
    problems = []
    for key in sorted(_configured_keys()):
        if not key.startswith(f"{PROJECT}:") or key in read or key in allowed:
            continue
        if key in owners:
            if combination is not None:
                cloud, store, identity = combination
                problems.append(
                    f"{key} applies only when {' or '.join(owners[key])}, but this stack has "
                    f"cloud {cloud}, store {store} and identity {identity}"
                )
        else:
            problems.append(f"{key} is not a known key: expected one of {', '.join(known)}")
    return problems


def _json_list(key: str) -> list[Any]:
    try:
        listed = json.loads(_read(f"{PROJECT}:{key}") or "[]")
    except ValueError:
        return []
    return listed if isinstance(listed, list) else []


def _value_sources() -> set[str]:
    """The keys that `secrets[].valueFrom` and `workloads[].secrets[].valueFrom` name, even in
    a list with problems of its own."""
    entries = _json_list("secrets") + [
        secret
        for workload in _json_list("workloads")
        if isinstance(workload, dict) and isinstance(workload.get("secrets"), list)
        for secret in workload["secrets"]
    ]
    return {
        f"{PROJECT}:{entry['valueFrom']}"
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("valueFrom"), str)
    }


def _demo_secret(common: CommonSettings) -> StoreSecret:
    """The article's secret: {"username", "password"}, from the secret* keys or generated."""
    given: dict[str, pulumi.Input[str]] = {"username": common.secret_username}
    if common.secret_password is not None:
        given["password"] = pulumi.Output.secret(common.secret_password.value)
    return StoreSecret(name=DEFAULT_SECRET, keys=("username", "password"), given=given, article=True)


def _listed_secret(entry: SecretEntry) -> StoreSecret:
    return StoreSecret(
        name=entry.name,
        keys=entry.keys,
        given={key: pulumi.Output.secret(value) for key, value in entry.values.items()},
        existing=entry.existing,
    )


Values = dict[tuple[str, str], dict[str, str]]
"""The values config gives secrets, by (workload, secret): known only here, to size them."""


def _workloads(name: str, common: CommonSettings) -> tuple[tuple[WorkloadSpec, ...], Values]:
    """The stack's workloads, and the values config gives their secrets."""
    if common.workloads is not None:
        listed = tuple(
            WorkloadSpec(
                name=entry.name,
                namespace=entry.namespace or stack_namespace(pulumi.get_stack(), entry.name),
                service_account=entry.service_account or entry.name,
                secrets=tuple(_listed_secret(secret) for secret in entry.secrets),
                demo=entry.demo,
                config_path=f"{PROJECT}:workloads[{index}].",
            )
            for index, entry in enumerate(common.workloads)
        )
        return listed, {(e.name, secret.name): secret.values for e in common.workloads for secret in e.secrets}
    if common.secrets is None:
        secrets: tuple[StoreSecret, ...] = (_demo_secret(common),)
        article = {"username": common.secret_username}
        if common.secret_password is not None:
            article["password"] = common.secret_password.value
        values = {(name, DEFAULT_SECRET): article}
    else:
        secrets = tuple(_listed_secret(entry) for entry in common.secrets)
        values = {(name, entry.name): entry.values for entry in common.secrets}
    single = WorkloadSpec(
        name=name,
        namespace=common.namespace or stack_namespace(pulumi.get_stack()),
        service_account=common.service_account,
        secrets=secrets,
        demo=True,
        legacy_names=True,
        config_path=f"{PROJECT}:",
    )
    return (single,), values


def _replaced_keys(common: CommonSettings) -> list[str]:
    """Keys of the stack's single workload that `secrets` or `workloads` replace."""
    problems = []
    if common.workloads is not None:
        for name in (*CommonSettings.WORKLOAD_KEYS, *CommonSettings.DEMO_SECRET_KEYS):
            if _read(f"{PROJECT}:{name}") is not None:
                problems.append(
                    f"{PROJECT}:{name} configures the stack's single workload, which {PROJECT}:workloads "
                    "replaces: remove it, and set it on each workload instead"
                )
    elif common.secrets is not None:
        for name in CommonSettings.DEMO_SECRET_KEYS:
            if _read(f"{PROJECT}:{name}") is not None:
                problems.append(
                    f"{PROJECT}:{name} configures the default demo secret, which {PROJECT}:secrets "
                    "replaces: remove it, and give a listed secret its value with valueFrom"
                )
    return problems


def load(name: str) -> StackConfig:
    """Reads and checks the whole stack config, or raises ConfigError listing every problem.
    `name` is the platform's, and that of the stack's single workload when `workloads` is not set."""
    problems: list[str] = []
    combination = _combination(problems)
    own_keys = (
        {k.removeprefix(f"{PROJECT}:") for k in _owners()}
        | {k.removeprefix(f"{PROJECT}:") for k in CommonSettings.config_keys()}
        | set(AXES)
    )
    context: dict[str, Any] = {
        "own_keys": own_keys,
        "read_secret": lambda name: _read_secret(f"{PROJECT}:{name}"),
    }
    common = _validate(CommonSettings, context, problems)
    models: list[SettingsModel | None] = [None, None, None]
    read = {*CommonSettings.config_keys(), *(f"{PROJECT}:{a}" for a in AXES)}
    if combination is not None:
        cloud, store, identity = combination
        kinds: tuple[type[SettingsModel], ...] = (
            registry.CLUSTERS[cloud].settings(),
            registry.STORES[store].settings(),
            registry.IDENTITIES[identity].settings(),
        )
        for index, kind in enumerate(kinds):
            models[index] = _validate(kind, context, problems)
            read |= set(kind.config_keys())
    problems += _unknown_keys(read, _value_sources(), combination)

    if common is not None:
        problems += _replaced_keys(common)
    if combination is None or common is None or None in models:
        raise ConfigError(problems)

    cloud, store, identity = combination
    cluster, store_settings, identity_settings = models
    assert cluster is not None and store_settings is not None and identity_settings is not None
    platform = PlatformConfig(
        cloud=cloud,
        store=store,
        identity=identity,
        cluster=cluster,
        store_settings=store_settings,
        identity_settings=identity_settings,
        driver=common.driver,
        demo_image=common.demo_image,
        local_cluster=registry.CLUSTERS[cloud].local,
        install=common.install,
    )
    workloads, values = _workloads(name, common)
    problems += checks.platform_problems(platform, workloads, values)
    if problems:
        raise ConfigError(problems)
    return StackConfig(platform=platform, workloads=workloads)

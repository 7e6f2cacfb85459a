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

from secretstore_csi import PROJECT, demo_app, registry
from secretstore_csi.model import GENERATED_LENGTH, SINGLE_VALUE, StoreSecret, Workload, env_var_name, secret_document
from secretstore_csi.settings import CommonSettings, ConfigSecret, M, SecretEntry, SettingsModel, StackConfig, shown

DEFAULT_SECRET = "secret"
AXES = ("cloud", "store", "identity")


class ConfigError(pulumi.RunError):
    """Bad stack configuration. Pulumi prints a RunError's message without a traceback."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"The stack configuration has {len(problems)} problem(s); nothing was deployed:\n{lines}"
        )


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


def _problems(error: ValidationError, model: type[SettingsModel], hidden: set[str]) -> list[str]:
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
        problems.extend(_problems(error, model, hidden))
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
            for key in entry.settings.config_keys():
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


def _value_sources() -> set[str]:
    """The keys that `secrets[].valueFrom` names, even in a list with problems of its own."""
    try:
        listed = json.loads(_read(f"{PROJECT}:secrets") or "[]")
    except ValueError:
        return set()
    entries = listed if isinstance(listed, list) else []
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
    return StoreSecret(name=DEFAULT_SECRET, keys=("username", "password"), given=given)


def _listed_secret(entry: SecretEntry) -> StoreSecret:
    return StoreSecret(
        name=entry.name,
        keys=entry.keys,
        given={key: pulumi.Output.secret(value) for key, value in entry.values.items()},
    )


def _plain_values(common: CommonSettings) -> list[dict[str, str]]:
    """Each secret's values as known now: given ones, and a stand-in of the generated length."""
    if common.secrets is None:
        values = {"username": common.secret_username}
        if common.secret_password is not None:
            values["password"] = common.secret_password.value
        return [values]
    return [dict(entry.values) for entry in common.secrets]


def _secret_problems(common: CommonSettings, secrets: tuple[StoreSecret, ...], max_bytes: int, store: str) -> list[str]:
    """Names that collide once derived, variables the API server or hello-server would take
    badly, and values larger than the store accepts."""
    problems: list[str] = []
    files_of: dict[str, str] = {}
    variables_of: dict[str, str] = {}
    resource_names: dict[str, str] = {}
    for index, (secret, given) in enumerate(zip(secrets, _plain_values(common), strict=True)):
        if common.secrets is None:
            where = label = owner = f"{PROJECT}:secretPassword"
        else:
            where = f"{PROJECT}:secrets[{index}]"
            label = f"{where}.name = {secret.name!r}"
            owner = f"{where} ({secret.name})"
        problems += _name_problems(secret, label, common.sync_secret, files_of, variables_of, resource_names)
        for file in secret.files:
            files_of[file] = owner
            if common.sync_secret:
                variables_of[env_var_name(file)] = owner
        for name in _resource_names(secret):
            resource_names[name] = owner
        size = _largest_value(secret, given)
        if size > max_bytes:
            problems.append(
                f"{where}: its value can be {size} bytes, more than the {max_bytes} that {store} "
                "accepts for one secret (the value is not shown)"
            )
    return problems


def _resource_names(secret: StoreSecret) -> list[str]:
    """The Pulumi names of the values generated for the secret. Names of the store's own
    resources follow from the secret's name alone, which is unique; these add the key."""
    return [secret.generated_value_name(key) for key in secret.generated_keys]


def _name_problems(
    secret: StoreSecret,
    label: str,
    sync: bool,
    files_of: dict[str, str],
    variables_of: dict[str, str],
    resource_names: dict[str, str],
) -> list[str]:
    files = secret.files
    variables = [env_var_name(file) for file in files] if sync else []
    clash = next((f for f in files if f in files_of), None) or next((v for v in variables if v in variables_of), None)
    if clash is not None:
        other = files_of.get(clash) or variables_of[clash]
        return [
            f"{label}: expected a name whose files ({', '.join(files)}) and their environment "
            f"variables no other secret uses; {clash} clashes with {other}"
        ]
    twice = next((v for i, v in enumerate(variables) if v in variables[:i]), None)
    if twice is not None:
        return [
            f"{label}: expected keys whose environment variables differ in more than case and "
            f"'-' or '_'; two of them would be {twice} (syncSecret is on)"
        ]
    problems = []
    taken = next((name for name in _resource_names(secret) if name in resource_names), None)
    if taken is not None:
        problems.append(
            f"{label}: expected a name and keys whose Pulumi resource names no other secret uses; "
            f"{taken} is also {resource_names[taken]}'s"
        )
    leading_digit = next((v for v in variables if v[0].isdigit()), None)
    if leading_digit is not None:
        problems.append(
            f"{label}: expected a name whose environment variables start with a letter or '_', "
            f"as the API server requires; {leading_digit} would not (syncSecret is on)"
        )
    read = next((v for v in variables if v in demo_app.READ_BY_SERVER), None)
    if read is not None:
        problems.append(
            f"{label}: expected a name whose environment variables are not "
            f"{' or '.join(demo_app.READ_BY_SERVER)}, which hello-server reads itself; {read} would "
            "carry the secret there (syncSecret is on)"
        )
    logged = next((v for v in variables if v.startswith(demo_app.LOGGED_PREFIX)), None)
    if logged is not None:
        problems.append(
            f"{label}: expected a name whose environment variables do not start with "
            f"{demo_app.LOGGED_PREFIX}: the demo server prints every such variable to its log, and "
            f"{logged} would carry the secret there (syncSecret is on)"
        )
    return problems


def _largest_value(secret: StoreSecret, given: dict[str, str]) -> int:
    """The stored value's size in bytes, with generated values at their full length."""
    generated = "x" * GENERATED_LENGTH
    if not secret.keys:
        return len(given.get(SINGLE_VALUE, generated).encode())
    return len(secret_document({k: given.get(k, generated) for k in secret.keys}).encode())


def load() -> StackConfig:
    """Reads and checks the whole stack config, or raises ConfigError listing every problem."""
    problems: list[str] = []
    combination = _combination(problems)
    own_keys = {k.removeprefix(f"{PROJECT}:") for k in _owners()} | {
        k.removeprefix(f"{PROJECT}:") for k in CommonSettings.config_keys()
    } | set(AXES)
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
            registry.CLUSTERS[cloud].settings,
            registry.STORES[store].settings,
            registry.IDENTITIES[identity].settings,
        )
        for index, kind in enumerate(kinds):
            models[index] = _validate(kind, context, problems)
            read |= set(kind.config_keys())
    problems += _unknown_keys(read, _value_sources(), combination)

    if common is not None:
        for name in CommonSettings.DEMO_SECRET_KEYS if common.secrets is not None else ():
            if _read(f"{PROJECT}:{name}") is not None:
                problems.append(
                    f"{PROJECT}:{name} configures the default demo secret, which {PROJECT}:secrets "
                    "replaces: remove it, and give a listed secret its value with valueFrom"
                )
    if combination is None or common is None or None in models:
        raise ConfigError(problems)

    cloud, store, identity = combination
    cluster, store_settings, identity_settings = models
    assert cluster is not None and store_settings is not None and identity_settings is not None
    secrets = (
        (_demo_secret(common),)
        if common.secrets is None
        else tuple(_listed_secret(entry) for entry in common.secrets)
    )
    stack = StackConfig(
        cloud=cloud,
        store=store,
        identity=identity,
        common=common,
        cluster=cluster,
        store_settings=store_settings,
        identity_settings=identity_settings,
        workload=Workload(namespace=common.namespace, service_account=common.service_account, secrets=secrets),
        demo_secret=common.secrets is None,
    )
    entry = registry.STORES[store]
    problems += _secret_problems(common, secrets, entry.max_secret_bytes, entry.title)
    for settings in (cluster, store_settings, identity_settings):
        problems += settings.problems(stack)
    if problems:
        raise ConfigError(problems)
    return stack


"""The checks every workload gets, whatever the store: its secrets' names and sizes, and what
must differ between the workloads of one platform.

The stack config runs them on every workload before the first resource; a program that uses
the library gets them as it adds each workload. Importing this module needs no SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from secretstore_csi import PROJECT, demo_app, registry
from secretstore_csi.model import (
    GENERATED_LENGTH,
    SINGLE_VALUE,
    StoreSecret,
    WorkloadSpec,
    env_var_name,
    secret_document,
)
from secretstore_csi.settings import (
    DNS_LABEL_RULE,
    JSON_KEYS_RULE,
    NAMESPACE_RULE,
    SECRETS_RULE,
    SERVICE_ACCOUNT_RULE,
    PlatformConfig,
    dns_label,
    json_keys,
    namespace_name,
    shown,
    trusted_service_account,
)

# Kubernetes: a label value is at most 63 characters, and the demo's Deployments carry their
# names in the label app.kubernetes.io/instance (kubernetes.io, "Labels and Selectors").
LABEL_VALUE_MAX = 63
DEMO_NAME_MAX = LABEL_VALUE_MAX - len("-unauthorized")


def plain_values(secret: StoreSecret) -> dict[str, str]:
    """The values of a secret that are known now: those given as plain strings."""
    return {key: value for key, value in (secret.given or {}).items() if isinstance(value, str)}


def name_problems(workload: WorkloadSpec) -> list[str]:
    """The names a workload and its secrets have, checked as the stack config checks its keys:
    for a workload a program makes itself."""
    checks: list[tuple[str, object, Callable[[Any], object], str]] = [
        ("name", workload.name, dns_label, DNS_LABEL_RULE),
        ("namespace", workload.namespace, namespace_name, NAMESPACE_RULE),
        ("serviceAccount", workload.service_account, trusted_service_account, SERVICE_ACCOUNT_RULE),
    ]
    for index, secret in enumerate(workload.secrets):
        checks.append((f"secrets[{index}].name", secret.name, dns_label, DNS_LABEL_RULE))
        if secret.keys:
            checks.append((f"secrets[{index}].keys", list(secret.keys), json_keys, JSON_KEYS_RULE))
    problems = []
    for key, value, parse, rule in checks:
        try:
            parse(value)
        except ValueError:
            problems.append(f"{workload.config_path}{key} = {value!r}: {rule.removeprefix('expected ')}")
    if not workload.secrets:
        problems.append(f"{workload.config_path}secrets: {SECRETS_RULE.removeprefix('expected ')}")
    return problems


def platform_problems(
    platform: PlatformConfig,
    workloads: Sequence[WorkloadSpec],
    values: Mapping[tuple[str, str], Mapping[str, str]] | None = None,
) -> list[str]:
    """Every problem of `workloads` on `platform`, one line each: each workload's secrets,
    what two workloads must not share, and the limits of the platform's store and identity.
    `values` holds values known only as secrets, by (workload, secret), to size them."""
    store = registry.STORES[platform.store]
    problems: list[str] = install_problems(platform)
    for workload in workloads:
        given = values or {}
        known = {s.name: {**plain_values(s), **given.get((workload.name, s.name), {})} for s in workload.secrets}
        problems += secret_problems(workload, known, platform.driver.sync_secret, store.max_secret_bytes, store.title)
        if workload.demo and not workload.legacy_names and len(workload.name) > DEMO_NAME_MAX:
            problems.append(
                f"{workload.config_path}name = {workload.name!r}: expected at most {DEMO_NAME_MAX} characters "
                f"with the demo on: its Deployment {workload.name}-unauthorized is a label value, at most "
                f"{LABEL_VALUE_MAX} characters"
            )
        problems += existing_problems(workload, platform.store)
    problems += shared_problems(workloads)
    for settings in platform.settings:
        problems += settings.problems(platform, workloads)
    return problems


def install_problems(platform: PlatformConfig) -> list[str]:
    """Why `install: addon` cannot serve the platform's combination, in one line, or nothing."""
    if not platform.add_on:
        return []
    store = registry.STORES[platform.store]
    key = f"{PROJECT}:install = 'addon'"
    if platform.local_cluster:
        return [f"{key}: a cluster of your own, such as kind, has no managed add-on: expected helm"]
    if store.add_on is None:
        return [f"{key}: {store.title} has no managed add-on: expected helm"]
    if platform.identity not in store.add_on.identities:
        return [
            f"{key}: {store.add_on.title} serves the identity modes {', '.join(store.add_on.identities)}, not "
            f"{platform.identity}: expected helm, or one of those"
        ]
    return []


def existing_problems(workload: WorkloadSpec, store_name: str) -> list[str]:
    """Each `existing` reference that is not in the form the store names its secrets."""
    store = registry.STORES[store_name]
    return [
        f"{workload.secret_key(index)}.existing = {shown(secret.existing)}: expected {store.existing_secret.form}"
        for index, secret in enumerate(workload.secrets)
        if secret.existing is not None and not store.existing_secret.matches(secret.existing)
    ]


def shared_problems(workloads: Sequence[WorkloadSpec]) -> list[str]:
    """What two workloads must not share: a name, the trusted service account, or the name of
    a Pulumi resource made for one of their secrets."""
    problems: list[str] = []
    named: dict[str, WorkloadSpec] = {}
    trusted: dict[tuple[str, str], WorkloadSpec] = {}
    derived: dict[str, tuple[WorkloadSpec, int]] = {}
    granted: dict[str, tuple[WorkloadSpec, int]] = {}
    for workload in workloads:
        for index, secret in enumerate(workload.secrets):
            if secret.existing is None:
                continue
            other, other_index = granted.setdefault(secret.existing, (workload, index))
            if (other, other_index) != (workload, index):
                problems.append(
                    f"{workload.secret_key(index)}.existing = {shown(secret.existing)}: {other.label}'s secret "
                    f"{other.secrets[other_index].name!r} names it too: expected a secret that exactly one workload "
                    "reads, as each is granted to one principal"
                )
        other = named.setdefault(workload.name, workload)
        if other is not workload:
            problems.append(
                f"{workload.config_path}name = {workload.name!r}: expected a name no other workload has; "
                f"{other.label} has it too"
            )
            continue
        pair = (workload.namespace, workload.service_account)
        other = trusted.setdefault(pair, workload)
        if other is not workload:
            problems.append(
                f"{workload.label}: namespace {pair[0]!r} and serviceAccount {pair[1]!r} are also {other.label}'s: "
                "expected a service account that no other workload's principal trusts"
            )
        for index, secret in enumerate(workload.secrets):
            names = _derived_names(workload, secret)
            clash = next((name for name in names if derived.get(name, (workload,))[0] is not workload), None)
            if clash is not None:
                other, other_index = derived[clash]
                problems.append(
                    f"{workload.secret_key(index)}.name = {secret.name!r}: a resource of it would be named {clash}, "
                    f"as one of {other.label}'s secret {other.secrets[other_index].name!r} is: expected workload "
                    "and secret names that do not run into another workload's"
                )
            for name in names:
                derived.setdefault(name, (workload, index))
    return problems


def _derived_names(workload: WorkloadSpec, secret: StoreSecret) -> list[str]:
    """The Pulumi names a store derives from the secret: `<workload>-<secret>` with a suffix of
    its own, and the generated values' names."""
    return [
        workload.resource_name(secret),
        *(workload.generated_value_name(secret, key) for key in secret.generated_keys),
    ]


def secret_problems(
    workload: WorkloadSpec, values: Mapping[str, Mapping[str, str]], sync: bool, max_bytes: int, store: str
) -> list[str]:
    """Names that collide once derived, variables the API server or hello-server would take
    badly, and values larger than the store accepts. `values` holds each secret's known values."""
    problems: list[str] = []
    files_of: dict[str, str] = {}
    variables_of: dict[str, str] = {}
    resource_names: dict[str, str] = {}
    for index, secret in enumerate(workload.secrets):
        if secret.article:
            where = label = owner = f"{workload.config_path}secretPassword"
        else:
            where = workload.secret_key(index)
            label = f"{where}.name = {secret.name!r}"
            owner = f"{where} ({secret.name})"
        problems += _name_problems(workload, secret, label, sync, files_of, variables_of, resource_names)
        for file in secret.files:
            files_of[file] = owner
            if sync:
                variables_of[env_var_name(file)] = owner
        for name in _generated_names(workload, secret):
            resource_names[name] = owner
        size = _largest_value(secret, values.get(secret.name, {}))
        if size > max_bytes:
            problems.append(
                f"{where}: its value can be {size} bytes, more than the {max_bytes} that {store} "
                "accepts for one secret (the value is not shown)"
            )
    return problems


def _generated_names(workload: WorkloadSpec, secret: StoreSecret) -> list[str]:
    """The Pulumi names of the values generated for the secret. Names of the store's own
    resources follow from the secret's name alone, which is unique; these add the key."""
    return [workload.generated_value_name(secret, key) for key in secret.generated_keys]


def _name_problems(
    workload: WorkloadSpec,
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
    taken = next((name for name in _generated_names(workload, secret) if name in resource_names), None)
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


def _largest_value(secret: StoreSecret, given: Mapping[str, str]) -> int:
    """The stored value's size in bytes, with generated values at their full length; 0 for a
    secret that exists, whose value the program never sees."""
    if secret.existing is not None:
        return 0
    generated = "x" * GENERATED_LENGTH
    if not secret.keys:
        return len(given.get(SINGLE_VALUE, generated).encode())
    return len(secret_document({k: given.get(k, generated) for k in secret.keys}).encode())

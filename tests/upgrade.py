"""What a deployed stack holds, so that an upgrade of the program can be checked against it.

`tests/fixtures/upgrade/*.json` were recorded by running this module:

    venv/bin/python -m tests.upgrade [scenario ...]

`aws-dev*` and `azure-dev*` with the program as it was before the stacks became cluster x
store x identity (commit d047aab); one file per registered combination, plain and with the
lifecycle settings, and the failover region, with the program as it was before a stack
could hold several workloads (commit 5463b8a).

Each file lists, per resource, the URN and the inputs that program sent under the test
mocks. `tests/test_upgrade.py` runs today's program with the same config and checks that
every recorded resource is still there, under its URN or an alias of it, with the same
inputs: then `pulumi up` on a stack deployed by that version plans no replacement and no
deletion. Do not re-record these files to make that test pass; they are the baseline. An input a later
version changes on purpose, in place, is listed in ON_PURPOSE with the reason.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.harness import ProgramRun, Registered, loopback_issuer, run_combination, run_program, unsecret

FIXTURES = Path(__file__).parent / "fixtures" / "upgrade"
P = "secretstore-csi"
# Rotation, sync, a namespace of its own and several secrets, one valued from secret config.
LIFECYCLE = {
    "set_": {
        f"{P}:rotation": json.dumps({"enabled": True, "pollInterval": "2m"}),
        f"{P}:syncSecret": "true",
        f"{P}:namespace": "payments",
        f"{P}:secrets": json.dumps(
            [
                {"name": "db", "keys": ["username", "password"], "valueFrom": "dbCredentials"},
                {"name": "api-token"},
            ]
        ),
    },
    "secrets": {f"{P}:dbCredentials": json.dumps({"username": "app", "password": "from-config-pw"})},
}
# Every combination the registry had then, as `pulumi up` deployed it.
COMBINATIONS = [
    ("aws", "secretsManager", "irsa"),
    ("aws", "secretsManager", "podIdentity"),
    ("azure", "keyVault", "application"),
    ("azure", "keyVault", "managedIdentity"),
    ("gcp", "secretManager", "workloadIdentity"),
    ("aws", "vault", "kubernetesAuth"),
    ("azure", "vault", "kubernetesAuth"),
    ("gcp", "vault", "kubernetesAuth"),
    ("kubernetes", "vault", "kubernetesAuth"),
]
FAILOVER = {"set_": {f"{P}:failoverRegion": "eu-west-1"}}
# name: (stack file, combination or None for the stack file's own, config changes)
SCENARIOS: dict[str, tuple[str, tuple[str, str, str] | None, dict[str, Any]]] = {
    "aws-dev": ("aws-dev", None, {}),
    "azure-dev": ("azure-dev", None, {}),
    "aws-dev-lifecycle": ("aws-dev", None, LIFECYCLE),
    "azure-dev-lifecycle": ("azure-dev", None, LIFECYCLE),
    **{"-".join(c): ("", c, {}) for c in COMBINATIONS},
    **{"-".join(c) + "-lifecycle": ("", c, LIFECYCLE) for c in COMBINATIONS},
    "aws-secretsManager-irsa-failover": ("", COMBINATIONS[0], FAILOVER),
    "aws-secretsManager-podIdentity-failover": ("", COMBINATIONS[1], FAILOVER),
}


@dataclass(frozen=True)
class OnPurpose:
    """An input that a later version changes on a deployed stack on purpose, and why."""

    type: str
    path: tuple[str, ...]
    """Where in the inputs; () for all of them."""
    why: str
    name: str = ""
    """The end of the names of the resources it applies to; "" for any of the type."""
    when: Callable[[dict[str, Any]], bool] = lambda recorded: True
    """Whether it applies to a resource with these recorded inputs."""


ON_PURPOSE = (
    OnPurpose(
        "aws:iam/role:Role",
        ("assumeRolePolicy",),
        "Pod Identity's trust pins aws:SourceAccount; IAM updates a trust policy in place (UpdateAssumeRolePolicy)",
        name="secret-reader",
        when=lambda recorded: "pods.eks.amazonaws.com" in str(recorded.get("assumeRolePolicy")),
    ),
    OnPurpose(
        "azure-native:keyvault:Vault",
        ("properties", "accessPolicies"),
        "the application's access policy grants secrets get, and no more keys and certificates get; Key Vault "
        "updates a vault's access policies in place",
    ),
    OnPurpose(
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        ("rules",),
        "the GCP provider may no longer create tokens for any service account; a ClusterRole's rules are updated "
        "in place",
    ),
    OnPurpose(
        "kubernetes:apps/v1:DaemonSet",
        ("spec", "template", "spec", "initContainers"),
        "the GCP provider's init container runs busybox by digest; a DaemonSet rolls its pods in place",
    ),
    OnPurpose(
        "kubernetes:batch/v1:Job",
        (),
        "Vault's configuration Job runs the CLI image by digest: a Job is one run, named after what it does, and "
        "any change to it is a new run by design",
    ),
    OnPurpose(
        "kubernetes:helm.sh/v3:Release",
        ("values", "csi"),
        "the vault chart no longer installs the CSI provider, whose ClusterRole creates tokens; the program's "
        "own provider takes over; Helm upgrades the release in place",
        name="-vault",
    ),
    OnPurpose(
        "kubernetes:core/v1:Secret",
        (),
        "a Vault Job's inputs no longer outlive it: each configuration gets new ones, owned by a keeper Job that "
        "Kubernetes deletes with them",
    ),
)
# Resources a later version adds on purpose: (type, end of the name, why).
ADDED_ON_PURPOSE = (
    ("kubernetes:batch/v1:Job", "-vault-inputs", "the keeper of a Vault Job's inputs"),
    ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "-vault-ingress", "only the CSI provider and Jobs reach Vault"),
    *(
        (f"kubernetes:{kind}", "", "Vault's CSI provider, the program's own, without the chart's token ClusterRole")
        for kind in (
            "core/v1:ServiceAccount",
            "core/v1:ConfigMap",
            "rbac.authorization.k8s.io/v1:Role",
            "rbac.authorization.k8s.io/v1:RoleBinding",
            "apps/v1:DaemonSet",
        )
    ),
)


def added_on_purpose(resource: Registered) -> bool:
    provider = "secretstore-csi:vault:VaultCsiProvider$" in resource.urn
    return any(
        resource.type == type_ and resource.name.endswith(end) and (end or provider)
        for type_, end, _ in ADDED_ON_PURPOSE
    )


def _inside_secret(value: Any) -> Any:
    """A recorded value marked secret is a wrapper around the value: the value itself."""
    return unsecret(value)[0]


def masked(resource_type: str, urn: str, inputs: dict[str, Any], recorded: dict[str, Any]) -> dict[str, Any]:
    """`inputs` without what ON_PURPOSE says may change for this resource, which had
    `recorded` as its inputs."""
    inputs = copy.deepcopy(inputs)
    for change in ON_PURPOSE:
        if change.type != resource_type or not urn.endswith(change.name) or not change.when(recorded):
            continue
        if not change.path:
            return {}
        *parents, last = change.path
        holder: Any = inputs
        for key in parents:
            holder = holder.get(key, {}) if isinstance(holder, dict) else {}
            holder = _inside_secret(holder)
        if isinstance(holder, dict):
            holder.pop(last, None)
    return inputs


# The loopback issuer's address and certificate change with every test session.
ISSUER = "<issuer>"
THUMBPRINT = "<issuer-ca-thumbprint>"


def snapshot(run: ProgramRun, issuer_url: str, thumbprint: str) -> list[dict[str, Any]]:
    """Each resource's URN, type and inputs, with the session-specific issuer replaced."""
    host = issuer_url.removeprefix("https://").split("/")[0]
    text = json.dumps(
        [{"urn": r.urn, "type": r.type, "inputs": r.inputs} for r in run.resources],
        sort_keys=True,
        default=str,
    )
    return json.loads(text.replace(host, ISSUER).replace(thumbprint, THUMBPRINT))


def _parts(urn: str) -> tuple[str, str, str]:
    """A URN's prefix (`urn:pulumi:<stack>::<project>`), qualified type and name."""
    prefix, qualified, name = urn.rsplit("::", 2)
    return prefix, qualified, name


def inherited_child_alias(child_type: str, child_name: str, parent_name: str, parent_alias: str) -> str:
    """The engine's inheritedChildAlias (pulumi/pulumi pkg/resource/deploy/step_generator.go):
    the child under its parent's old URN; a child named after its parent takes the parent's
    old name in place of the new one."""
    prefix, qualified, old_name = _parts(parent_alias)
    alias_name = old_name + child_name[len(parent_name) :] if child_name.startswith(parent_name) else child_name
    return f"{prefix}::{qualified}${child_type}::{alias_name}"


def engine_matches(olds: set[str], run: ProgramRun) -> dict[str, str]:
    """The old URN `pulumi up` finds each registered resource under, as the engine's
    generateAliases and getOldResource (step_generator.go) do it: its own URN first, then its
    aliases, and for a resource whose parent was found under an alias, the aliases it
    inherits from that parent. Resources register after their parents, so one pass does."""
    found: dict[str, str] = {}
    by_alias: dict[str, str] = {}
    for resource in run.resources:
        aliases = list(resource.aliases)
        if resource.parent in by_alias:
            parent_alias, parent_name = by_alias[resource.parent], _parts(resource.parent)[2]
            aliases.append(inherited_child_alias(resource.type, resource.name, parent_name, parent_alias))
            aliases += [
                inherited_child_alias(_parts(alias)[1].rsplit("$", 1)[-1], _parts(alias)[2], parent_name, parent_alias)
                for alias in resource.aliases
            ]
        for urn in (resource.urn, *aliases):
            if urn in olds:
                found[resource.urn] = urn
                if urn != resource.urn:
                    by_alias[resource.urn] = urn
                break
    return found


def upgrade_problems(recorded: list[dict[str, Any]], run: ProgramRun, issuer_url: str, thumbprint: str) -> list[str]:
    """What `pulumi up` would replace, delete or create when today's program meets a stack
    that holds `recorded`: each recorded resource must be found exactly once, under its URN
    or an alias (its own, or one the engine derives from its parent's), with the same type
    and inputs, and every new resource that is not a component must be one of them."""
    current = {item["urn"]: item for item in snapshot(run, issuer_url, thumbprint)}
    found = engine_matches({old["urn"] for old in recorded}, run)
    problems = []
    for old in recorded:
        claims = [urn for urn, old_urn in found.items() if old_urn == old["urn"]]
        if len(claims) != 1:
            problems.append(f"{old['urn']}: found {len(claims)} times, by URN or alias")
            continue
        new = current[claims[0]]
        if new["type"] != old["type"]:
            problems.append(f"{old['urn']}: now of type {new['type']}")
        elif masked(new["type"], old["urn"], new["inputs"], old["inputs"]) != masked(
            old["type"], old["urn"], old["inputs"], old["inputs"]
        ):
            problems.append(f"{old['urn']}: inputs differ: {new['inputs']} != {old['inputs']}")
    for resource in run.resources:
        if resource.custom and resource.urn not in found and not added_on_purpose(resource):
            problems.append(f"{resource.urn}: a new resource")
    return problems


# A stack deployed before the default namespace was the stack's own had `default`; its
# owner keeps it with `pulumi config set secretstore-csi:namespace default`.
KEPT = {f"{P}:namespace": "default"}


def scenario_run(name: str) -> ProgramRun:
    stack, combination, changes = SCENARIOS[name]
    changes = {key: dict(value) for key, value in changes.items()}
    changes["set_"] = {**KEPT, **changes.get("set_", {})}
    if combination is not None:
        return run_combination(*combination, **changes)
    return run_program(stack, **changes)


def record(names: list[str]) -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    with loopback_issuer() as issuer:
        for name in names:
            resources = snapshot(scenario_run(name), issuer.url, issuer.chain.intermediate.sha1)
            path = FIXTURES / f"{name}.json"
            path.write_text(json.dumps(resources, indent=1, sort_keys=True) + "\n")
            print(f"{path}: {len(resources)} resources")


if __name__ == "__main__":
    import sys

    record(sys.argv[1:] or list(SCENARIOS))

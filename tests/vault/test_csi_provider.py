"""Vault's CSI provider, the program's own: the objects the pinned vault chart renders with
`csi.enabled`, field by field, without the ClusterRole that lets it create tokens for any
service account; and the NetworkPolicy that lets only it and the configuration Jobs reach
the server."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from secretstore_csi.vault import csi_provider
from tests.authorities import render, validate_strict
from tests.harness import ProgramRun, reveal, run_program
from tests.policy_pack import pod_security

# Labels Helm adds about itself; the program's objects are Pulumi's.
HELM_LABELS = ("app.kubernetes.io/managed-by", "helm.sh/chart")
TOKEN_RULE = {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}
PROVIDER_KINDS = ("ServiceAccount", "ConfigMap", "Role", "RoleBinding", "DaemonSet")


@pytest.fixture(scope="module")
def local() -> ProgramRun:
    return run_program("local-dev")


def chart_provider(run: ProgramRun) -> list[dict[str, Any]]:
    """The chart's own provider objects, as it renders them with `csi.enabled`, for the
    release the program installs."""
    release = reveal(run.one("kubernetes:helm.sh/v3:Release", "secretstore-vault").inputs)
    values = {**release["values"], "csi": {"enabled": True}, "server": {"enabled": False}}
    return [o for o in render(release, "1.35", values) if "vault-csi-provider" in o["metadata"]["name"]]


def programs_provider(run: ProgramRun) -> list[dict[str, Any]]:
    return [
        o
        for o in run.kubernetes_objects()
        if o["kind"] in PROVIDER_KINDS and o["metadata"]["name"].startswith(csi_provider.NAME)
    ]


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    """Without Helm's labels, and with images by tag: the program pins what it can by digest
    (test_the_agent_runs_vault_by_digest)."""
    obj = copy.deepcopy(obj)
    for holder in (obj["metadata"], obj.get("spec", {}).get("template", {}).get("metadata", {})):
        labels = holder.get("labels") or {}
        for label in HELM_LABELS:
            labels.pop(label, None)
    for container in obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
        container["image"] = container["image"].split("@")[0]
    return obj


def differences(program: list[dict[str, Any]], chart: list[dict[str, Any]]) -> list[str]:
    """Where the program's objects differ from the chart's, apart from Helm's labels, image
    digests and the ClusterRole (and its binding) the program leaves out."""
    key = lambda o: (o["kind"], o["metadata"]["name"])  # noqa: E731
    ours = {key(o): _comparable(o) for o in program}
    theirs = {key(o): _comparable(o) for o in chart if o["kind"] not in ("ClusterRole", "ClusterRoleBinding")}
    found = [f"{k} only in the program" for k in ours.keys() - theirs.keys()]
    found += [f"{k} only in the chart" for k in theirs.keys() - ours.keys()]
    for k in ours.keys() & theirs.keys():
        found += _diff(ours[k], theirs[k], f"{k[0]} {k[1]}")
    return found


def _diff(mine: Any, theirs: Any, where: str) -> list[str]:
    if isinstance(mine, dict) and isinstance(theirs, dict):
        return [
            p
            for name in sorted(mine.keys() | theirs.keys())
            for p in _diff(mine.get(name), theirs.get(name), f"{where}.{name}")
        ]
    if isinstance(mine, list) and isinstance(theirs, list) and len(mine) == len(theirs):
        return [p for i, (a, b) in enumerate(zip(mine, theirs, strict=True)) for p in _diff(a, b, f"{where}[{i}]")]
    return [] if mine == theirs else [f"{where}: {mine!r} is not {theirs!r}"]


def test_the_provider_is_the_charts_apart_from_its_token_clusterrole(local: ProgramRun):
    chart = chart_provider(local)
    (role,) = [o for o in chart if o["kind"] == "ClusterRole"]
    assert role["rules"] == [TOKEN_RULE], "the rule the program leaves out is the chart's only one"
    ours = programs_provider(local)
    assert sorted(o["kind"] for o in ours) == sorted(PROVIDER_KINDS)
    assert differences(ours, chart) == []
    assert not [o for o in local.kubernetes_objects() if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda o: o["DaemonSet"]["spec"]["template"]["spec"]["containers"][0]["args"].pop(), "args"),
        (lambda o: o["Role"]["rules"].append({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}), "rules"),
        (lambda o: o["ConfigMap"]["data"].update({"config.hcl": "vault {}"}), "config.hcl"),
    ],
)
def test_a_field_that_differs_from_the_chart_fails_the_comparison(local: ProgramRun, change, expected: str):
    ours = {o["kind"]: copy.deepcopy(o) for o in programs_provider(local)}
    change(ours)
    found = differences(list(ours.values()), chart_provider(local))
    assert len(found) == 1 and expected in found[0], found


@pytest.mark.parametrize("version", ["1.30", "1.35", "1.37"])
def test_every_provider_object_passes_the_strict_schema(local: ProgramRun, version: str):
    for obj in programs_provider(local):
        validate_strict(obj, version)


def test_the_agent_runs_vault_by_digest(local: ProgramRun):
    (daemonset,) = [o for o in programs_provider(local) if o["kind"] == "DaemonSet"]
    agent = next(c for c in daemonset["spec"]["template"]["spec"]["containers"] if c["name"] == "vault-agent")
    assert agent["image"].startswith("hashicorp/vault:2.0.4@sha256:")


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_only_the_provider_and_the_configuration_jobs_reach_the_server(local: ProgramRun):
    (policy,) = [o for o in local.kubernetes_objects() if o["kind"] == "NetworkPolicy"]
    validate_strict(policy, "1.35")
    spec = policy["spec"]
    assert policy["metadata"]["namespace"] == "vault" and spec["policyTypes"] == ["Ingress"]
    (rule,) = spec["ingress"]
    assert rule["ports"] == [{"port": 8200, "protocol": "TCP"}]
    # The selectors match the pods the chart and the program make, and nothing else here.
    release = reveal(local.one("kubernetes:helm.sh/v3:Release", "secretstore-vault").inputs)
    (server,) = [o for o in render(release, "1.35") if o["kind"] == "StatefulSet"]
    assert _matches(spec["podSelector"]["matchLabels"], server["spec"]["template"]["metadata"]["labels"])
    pods = {
        obj["metadata"]["name"]: obj["spec"]["template"].get("metadata", {}).get("labels") or {}
        for obj in local.kubernetes_objects()
        if obj["kind"] in ("DaemonSet", "Job", "Deployment")
    }
    allowed = {
        name
        for name, labels in pods.items()
        if any(_matches(peer["podSelector"]["matchLabels"], labels) for peer in rule["from"])
    }
    configure = reveal(local.one("kubernetes:batch/v1:Job", "secretstore-vault-configure").inputs)["metadata"]["name"]
    assert allowed == {csi_provider.NAME, configure}


def test_the_provider_needs_host_paths_which_is_why_vaults_namespace_is_privileged(local: ProgramRun):
    (daemonset,) = [o for o in programs_provider(local) if o["kind"] == "DaemonSet"]
    assert pod_security.violations(daemonset["spec"]["template"]["spec"]) != []
    (namespace,) = [
        o for o in local.kubernetes_objects() if o["kind"] == "Namespace" and o["metadata"]["name"] == "vault"
    ]
    assert namespace["metadata"]["labels"] == {"pod-security.kubernetes.io/enforce": "privileged"}

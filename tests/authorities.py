"""Checks against outside authorities: Kubernetes' schemas, the upstream CRD, the pinned charts.

Shared by every test module that builds Kubernetes objects or Helm values.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from tests.harness import ProgramRun
from tests.harness import reveal as plain

KUBERNETES_VERSION = "1.35"
CRD = Path(__file__).parent / "crds" / "secrets-store.csi.x-k8s.io_secretproviderclasses.yaml"
CRD_SHA256 = "ef1623b34403bb11311fc92763b5b364ba456a166f1637eeec8d29052dd115f3"
CHARTS = Path(__file__).parent / "charts"
RELEASE = "kubernetes:helm.sh/v3:Release"


def strict(schema: Any) -> Any:
    """The schema with unknown fields refused wherever it lists the known ones.

    The API server prunes unknown fields of a structural schema silently; here they fail.
    """
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def spc_schema() -> dict[str, Any]:
    """The v1 schema of the upstream SecretProviderClass CRD, strict."""
    text = CRD.read_bytes()
    assert hashlib.sha256(text).hexdigest() == CRD_SHA256, "not the upstream 1.6.0 CRD"
    crd = yaml.safe_load(text)
    (v1,) = [version for version in crd["spec"]["versions"] if version["name"] == "v1"]
    assert v1["served"] and v1["storage"]
    return strict(v1["schema"]["openAPIV3Schema"])


def validate_kubernetes_objects(run: ProgramRun) -> int:
    """Validates every object the run registers; returns how many were checked."""
    objects = run.kubernetes_objects()
    for obj in objects:
        if obj["kind"] == "SecretProviderClass":
            jsonschema.validate(obj, spc_schema())
        else:
            validate_strict(obj, KUBERNETES_VERSION)
    return len(objects)


def value_problems(values: Any, defaults: Any, path: str = "") -> list[str]:
    """Every place where `values` sets a key the chart does not have, or a different kind."""
    where = path.rstrip(".") or "."
    if defaults is None:  # the chart leaves it empty: any value goes
        return []
    if isinstance(defaults, dict) != isinstance(values, dict) or isinstance(defaults, list) != isinstance(values, list):
        return [f"{where}: the chart has {type(defaults).__name__} here, not {type(values).__name__}"]
    if not isinstance(values, dict) or defaults == {}:
        return []  # a scalar, or a map the chart leaves open ({}), such as annotations
    problems = []
    for key, value in values.items():
        if key not in defaults:
            problems.append(f"{path}{key}: not a value of the chart")
        else:
            problems += value_problems(value, defaults[key], f"{path}{key}.")
    return problems


def chart_directory(release: dict[str, Any]) -> Path:
    """The vendored copy of the chart a recorded Helm release installs, at its version."""
    return CHARTS / f"{release['chart']}-{release['version']}"


def chart_defaults(release: dict[str, Any]) -> Any:
    return yaml.safe_load((chart_directory(release) / "values.yaml").read_text())


def release_value_problems(run: ProgramRun) -> dict[str, list[str]]:
    """For each Helm release of the run, the values its pinned chart does not have."""
    releases = run.of_type(RELEASE)
    assert releases
    return {r.name: value_problems(plain(r.inputs["values"]), chart_defaults(r.inputs)) for r in releases}


def helm() -> str:
    """The pinned helm that ./tests/run.sh installs into the virtualenv."""
    path = Path(sys.prefix) / "bin" / "helm"
    assert path.is_file(), "no helm in the virtualenv: run ./tests/run.sh, or venv/bin/python -m tests.install_helm"
    return str(path)


def render(release: dict[str, Any], kubernetes_version: str, values: Any = None) -> list[dict[str, Any]]:
    """The objects `helm install` would create for a recorded release (its CRDs and hooks
    included), from the vendored chart and exactly the values the program passes."""
    given = json.dumps(plain(release["values"] if values is None else values), sort_keys=True)
    text = _helm_template(
        release["name"], str(chart_directory(release)), release["namespace"], given, kubernetes_version
    )
    return [document for document in yaml.safe_load_all(text) if document]


@functools.cache
def _helm_template(name: str, chart: str, namespace: str, values: str, kubernetes_version: str) -> str:
    """`helm template`'s output; the same release renders once per test session."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        file.write(values)
        file.flush()
        result = subprocess.run(
            [
                helm(),
                "template",
                name,
                chart,
                "--namespace",
                namespace,
                "--values",
                file.name,
                "--kube-version",
                f"{kubernetes_version}.0",
                "--include-crds",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    return result.stdout


def validate_strict(obj: dict[str, Any], kubernetes_version: str) -> None:
    """kubernetes-validate in strict mode; an object checked once need not be checked again."""
    _validate_strict(json.dumps(obj, sort_keys=True), kubernetes_version)


@functools.cache
def _validate_strict(obj: str, kubernetes_version: str) -> None:
    kubernetes_validate.validate(json.loads(obj), kubernetes_version, strict=True)

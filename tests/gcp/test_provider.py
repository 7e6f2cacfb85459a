"""The GCP provider for the CSI driver: the objects of its upstream v1.15.0 manifest, made with
pulumi-kubernetes, with every image pinned."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from secretstore_csi.gcp import provider
from tests.authorities import validate_strict
from tests.harness import ProgramRun, run_program

MANIFEST = Path(__file__).parent.parent / "manifests" / "provider-gcp-plugin-v1.15.0.yaml"
MANIFEST_SHA256 = "cee15cdb884b842b3e14885f34eb58f90f20f12f1f007a609d70b0b10038c2ac"
# The v1.15.0 digest, as the tag's CHANGELOG.md gives it.
CHANGELOG_DIGEST = "sha256:c87cfa3e8be097c0034f136fb56e37d76966430b69223c12d179398ea0584576"
# busybox 1.37.0's index digest, as docker-library/repo-info records it (repos/busybox/remote/1.37.0.md).
BUSYBOX_DIGEST = "sha256:9db7b59979c38555a39def84a31fb98b5296952f9e3afd4f6f11f05b07adfab0"
# The rule upstream has and the program leaves out: the driver passes the provider a token.
TOKEN_RULE = {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}


@pytest.fixture(scope="module")
def gcp_dev() -> ProgramRun:
    return run_program("gcp-dev")


def upstream() -> list[dict[str, Any]]:
    text = MANIFEST.read_bytes()
    assert hashlib.sha256(text).hexdigest() == MANIFEST_SHA256, "not the upstream v1.15.0 manifest"
    return [document for document in yaml.safe_load_all(text) if document]


def _init_containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj.get("spec", {}).get("template", {}).get("spec", {}).get("initContainers", [])


def differences(program: list[dict[str, Any]], manifest: list[dict[str, Any]], path: str = "") -> list[str]:
    """Where the program's objects differ from the manifest's, apart from the init image and
    the token rule the program leaves out."""
    key = lambda o: (o["kind"], o["metadata"]["name"])  # noqa: E731
    ours, theirs = {key(o): o for o in program}, {key(o): o for o in manifest}
    found = [f"{k} only in the program" for k in ours.keys() - theirs.keys()]
    found += [f"{k} only in the manifest" for k in theirs.keys() - ours.keys()]
    for k in ours.keys() & theirs.keys():
        mine, upstream_ = copy.deepcopy(ours[k]), copy.deepcopy(theirs[k])
        for container in [*_init_containers(mine), *_init_containers(upstream_)]:
            container.pop("image")
        if k[0] == "ClusterRole":
            upstream_["rules"] = [rule for rule in upstream_["rules"] if rule != TOKEN_RULE]
        found += _diff(mine, upstream_, f"{k[0]} {k[1]}")
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


def test_the_provider_is_the_upstream_manifest_apart_from_the_init_image_and_the_token_rule(gcp_dev: ProgramRun):
    objects = gcp_dev.next_to_driver()
    assert {o["kind"] for o in objects} == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "DaemonSet"}
    assert differences(objects, upstream()) == []
    (upstream_role,) = [o for o in upstream() if o["kind"] == "ClusterRole"]
    assert TOKEN_RULE in upstream_role["rules"]


def test_the_provider_may_not_create_tokens_and_reads_service_accounts_only(gcp_dev: ProgramRun):
    (role,) = [o for o in gcp_dev.next_to_driver() if o["kind"] == "ClusterRole"]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get"]}]


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda objects: objects[-1]["spec"]["template"]["spec"].pop("tolerations"), "tolerations"),
        (
            lambda objects: objects[2]["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}),
            "rules",
        ),
        # The token rule put back is a difference too: the comparison drops it from upstream only.
        (lambda objects: objects[2]["rules"].insert(0, dict(TOKEN_RULE)), "rules"),
        (
            lambda objects: objects[-1]["spec"]["template"]["spec"]["containers"][0]["env"][0].update(value="/tmp"),
            "env[0].value",
        ),
    ],
)
def test_a_field_that_differs_from_the_manifest_fails_the_comparison(gcp_dev: ProgramRun, change, expected: str):
    objects = sorted(
        gcp_dev.next_to_driver(),
        key=lambda o: ["ServiceAccount", "ClusterRoleBinding", "ClusterRole", "DaemonSet"].index(o["kind"]),
    )
    change(objects)
    found = differences(objects, upstream())
    assert len(found) == 1 and expected in found[0], found


def test_a_changed_manifest_fails_its_digest(tmp_path, monkeypatch):
    changed = tmp_path / MANIFEST.name
    changed.write_bytes(MANIFEST.read_bytes().replace(b"cpu: 50m", b"cpu: 500m", 1))
    monkeypatch.setattr(f"{__name__}.MANIFEST", changed)
    with pytest.raises(AssertionError, match="not the upstream v1.15.0 manifest"):
        upstream()


def test_every_image_is_pinned(gcp_dev: ProgramRun):
    (daemonset,) = [o for o in gcp_dev.next_to_driver() if o["kind"] == "DaemonSet"]
    pod = daemonset["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == provider.IMAGE
    assert container["image"].endswith(f"@{CHANGELOG_DIGEST}")
    (init,) = pod["initContainers"]
    # Upstream's is `busybox`, untagged: whatever `latest` is when a node pulls it.
    assert init["image"] == f"busybox:1.37.0@{BUSYBOX_DIGEST}"


@pytest.mark.parametrize("version", ["1.30", "1.35", "1.37"])
def test_every_provider_object_passes_the_strict_schema(gcp_dev: ProgramRun, version: str):
    for obj in gcp_dev.next_to_driver():
        validate_strict(obj, version)


def test_the_provider_installs_in_parallel_and_the_authorized_pod_waits_for_it(gcp_dev: ProgramRun):
    on_cluster = [
        r for r in gcp_dev.resources if r.type.startswith("kubernetes:") and r.name.startswith("secretstore-gcp")
    ]
    assert len(on_cluster) == 4
    assert gcp_dev.longest_chain(on_cluster) == 1
    authorized = gcp_dev.one("kubernetes:apps/v1:Deployment", "secretstore-demo-authorized")
    assert gcp_dev.depends_on(authorized, gcp_dev.one("kubernetes:apps/v1:DaemonSet"))

"""The pinned charts, rendered by the pinned helm with exactly the values the program passes.

For every registered cluster source x store x identity mode, with rotation and sync off and
on, each Helm release the program would install is rendered with `helm template` from the
vendored chart (tests/charts/) at the minimum and the default Kubernetes version. Helm ignores
values it does not know, so only the rendered objects show whether a value took effect.
"""

from __future__ import annotations

import copy
import json
import posixpath
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
import yaml

from secretstore_csi import charts, registry, settings
from tests.authorities import CHARTS, RELEASE, chart_defaults, plain, render, validate_strict, value_problems
from tests.harness import ProgramRun, run_combination

P = "secretstore-csi"
DRIVER = "secretstore-driver"
LIFECYCLE = {f"{P}:rotation": json.dumps({"enabled": True, "pollInterval": "2m"}), f"{P}:syncSecret": "true"}
VERSIONS = [".".join(map(str, charts.MIN_KUBERNETES_VERSION)), settings.DEFAULT_KUBERNETES_VERSION]
# Kinds that live outside any namespace, among those the charts and the program create.
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "CSIDriver", "CustomResourceDefinition", "Namespace"}


@cache
def _run(combination: tuple[str, str, str], lifecycle: bool) -> ProgramRun:
    return run_combination(*combination, set_=dict(LIFECYCLE) if lifecycle else {})


@dataclass(frozen=True)
class Rendered:
    combination: tuple[str, str, str]
    lifecycle: bool
    version: str
    run: ProgramRun
    releases: dict[str, list[dict[str, Any]]]
    """The rendered objects, by the Pulumi name of the release."""
    provider: str | None
    """The Pulumi name of the release of the store's chart (which the store may install itself);
    None for a store whose provider is not a chart."""
    provider_objects: list[dict[str, Any]]
    """What installs the store's provider: its release, rendered, or the objects the program
    makes for it next to the driver (in kube-system, and their cluster roles)."""

    @property
    def store(self) -> registry.SecretStore:
        return registry.STORES[self.combination[1]]

    def release(self, name: str) -> dict[str, Any]:
        return self.run.one(RELEASE, name).inputs


SCENARIOS = [
    (combination, lifecycle, version)
    for combination in registry.combinations()
    for lifecycle in (False, True)
    for version in VERSIONS
]


@pytest.fixture(
    scope="module",
    params=SCENARIOS,
    ids=[f"{'/'.join(c)}-{'lifecycle' if lc else 'plain'}-{v}" for c, lc, v in SCENARIOS],
)
def rendered(request: pytest.FixtureRequest) -> Rendered:
    combination, lifecycle, version = request.param
    run = _run(combination, lifecycle)
    releases = {r.name: render(r.inputs, version) for r in run.of_type(RELEASE)}
    chart = registry.STORES[combination[1]].chart
    if chart is None:
        provider = None
        objects = run.next_to_driver()
        assert set(releases) == {DRIVER}
    else:
        (provider,) = [r.name for r in run.of_type(RELEASE) if r.inputs["chart"] == chart.name]
        # With the release, what the program makes in its namespace: Vault's CSI provider.
        namespace = run.one(RELEASE, provider).inputs["namespace"]
        objects = releases[provider] + [
            o
            for o in run.kubernetes_objects()
            if o["metadata"].get("namespace") == namespace and o["kind"] in ("DaemonSet", "ServiceAccount", "Role")
        ]
        assert set(releases) == {DRIVER, provider}
    return Rendered(combination, lifecycle, version, run, releases, provider, objects)


def _of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def _driver_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (daemonset,) = _of_kind(objects, "DaemonSet")
    return next(c for c in daemonset["spec"]["template"]["spec"]["containers"] if c["name"] == "secrets-store")


# The checks, each a list of problems, so that a test can also show that it fails.


def audience_problems(driver_objects: list[dict[str, Any]], audiences: tuple[str, ...]) -> list[str]:
    (csidriver,) = _of_kind(driver_objects, "CSIDriver")
    requested = [request["audience"] for request in csidriver["spec"].get("tokenRequests") or []]
    return (
        []
        if requested == list(audiences)
        else [f"the CSIDriver requests tokens for {requested}, not {list(audiences)}"]
    )


def bundled_driver_problems(provider_objects: list[dict[str, Any]]) -> list[str]:
    """What the provider release renders of the driver it bundles; nothing, when it is off."""
    problems = [
        f"{o['kind']} {o['metadata']['name']}"
        for o in provider_objects
        if o["kind"] in ("CSIDriver", "CustomResourceDefinition")
    ]
    for daemonset in _of_kind(provider_objects, "DaemonSet"):
        images = [c["image"] for c in daemonset["spec"]["template"]["spec"]["containers"]]
        if any("csi-secrets-store/driver" in image for image in images):
            problems.append(f"DaemonSet {daemonset['metadata']['name']} runs the driver")
    return problems


def duplicate_problems(objects: list[dict[str, Any]], release_namespace: str) -> list[str]:
    seen: dict[tuple[str, str, str], int] = {}
    for obj in objects:
        namespace = "" if obj["kind"] in CLUSTER_SCOPED else obj["metadata"].get("namespace", release_namespace)
        key = (obj["kind"], namespace, obj["metadata"]["name"])
        seen[key] = seen.get(key, 0) + 1
    return [f"{kind} {namespace}/{name} {count} times" for (kind, namespace, name), count in seen.items() if count > 1]


def _host_path(daemonset: dict[str, Any], container: dict[str, Any], directory: str) -> str | None:
    """The node directory behind `directory` in `container`, through its hostPath volumes."""
    volumes = {v["name"]: v.get("hostPath", {}).get("path") for v in daemonset["spec"]["template"]["spec"]["volumes"]}
    for mount in container.get("volumeMounts", []):
        if posixpath.normpath(mount["mountPath"]) == posixpath.normpath(directory):
            path = volumes.get(mount["name"])
            return posixpath.normpath(path) if path else None
    return None


def socket_problems(
    driver_objects: list[dict[str, Any]], provider_objects: list[dict[str, Any]], provider: str
) -> list[str]:
    """The provider's socket must be `<provider>.sock` in a node directory the driver reads."""
    (driver_set,) = _of_kind(driver_objects, "DaemonSet")
    driver = _driver_container(driver_objects)
    read: set[str | None] = set()
    for arg in driver.get("args", []):
        name, _, value = arg.partition("=")
        if name in ("--provider-volume", "--additional-provider-volume-paths"):
            read |= {_host_path(driver_set, driver, directory) for directory in value.split(",") if directory}
    problems = []
    for daemonset in _of_kind(provider_objects, "DaemonSet"):
        for container in daemonset["spec"]["template"]["spec"]["containers"]:
            args = dict(arg.partition("=")[::2] for arg in container.get("args", []))
            if "--endpoint" in args:
                socket = args["--endpoint"].removeprefix("unix://")
            elif "--provider-volume" in args:
                # The AWS provider names its socket after itself in this directory.
                socket = posixpath.join(args["--provider-volume"], f"{provider}.sock")
            elif "TARGET_DIR" in (env := {e["name"]: e.get("value") for e in container.get("env", [])}):
                # The GCP provider listens on $TARGET_DIR/$PROVIDER_NAME.sock, `gcp` by default
                # (main.go and vars/vars.go at v1.15.0).
                socket = posixpath.join(env["TARGET_DIR"], f"{env.get('PROVIDER_NAME') or 'gcp'}.sock")
            else:
                continue
            directory = _host_path(daemonset, container, posixpath.dirname(socket))
            if posixpath.basename(socket) != f"{provider}.sock" or directory not in read:
                problems.append(f"{socket} (node {directory}) is not <dir>/{provider}.sock in {sorted(map(str, read))}")
    return problems


# Every scenario


def test_the_vendored_charts_are_the_pinned_versions():
    pinned = [charts.DRIVER, *(store.chart for store in registry.STORES.values() if store.chart)]
    for chart in pinned:
        document = yaml.safe_load((CHARTS / f"{chart.name}-{chart.version}" / "Chart.yaml").read_text())
        assert (document["name"], document["version"]) == (chart.name, chart.version)
        assert (CHARTS / f"{chart.name}-{chart.version}" / "LICENSE").is_file()
    vendored = {path.name for path in CHARTS.iterdir() if path.is_dir()}
    assert vendored == {f"{chart.name}-{chart.version}" for chart in pinned}, "a vendored chart that no pin uses"


def test_every_value_the_program_sets_is_a_key_of_the_chart(rendered: Rendered):
    for name in rendered.releases:
        release = rendered.release(name)
        assert value_problems(plain(release["values"]), chart_defaults(release)) == [], name


def test_the_driver_requests_exactly_the_stores_and_the_identitys_token_audiences(rendered: Rendered):
    platform = rendered.run.program["platform"]
    binding = platform.store.install
    assert binding.token_audiences, "every provider here exchanges a token the driver requests"
    if rendered.store.token_audiences:
        assert tuple(binding.token_audiences) == rendered.store.token_audiences
    identity = registry.IDENTITIES[platform.config.identity].token_audiences
    assert audience_problems(rendered.releases[DRIVER], (*binding.token_audiences, *identity)) == []


BUNDLING = [s for s in registry.STORES.values() if s.chart and s.chart.name != "vault"]


@pytest.mark.parametrize("store", BUNDLING, ids=lambda s: s.name)
def test_a_stores_audiences_are_ones_its_provider_chart_requests_itself(store: registry.SecretStore):
    # The provider chart's own default for its bundled driver is its maintainers' word on
    # what the provider exchanges. (Vault's chart bundles no driver; tests/vault checks its.)
    assert store.chart is not None
    values = yaml.safe_load((CHARTS / f"{store.chart.name}-{store.chart.version}" / "values.yaml").read_text())
    defaults = [request["audience"] for request in values["secrets-store-csi-driver"]["tokenRequests"]]
    assert store.token_audiences and set(store.token_audiences) <= set(defaults)
    # And those of each identity mode of the store: the Azure chart 1.8.2 requests identity
    # binding's api://AKSIdentityBinding too.
    for identity in registry.IDENTITIES.values():
        if identity.store is store:
            assert set(identity.token_audiences) <= set(defaults), identity.name


def test_the_provider_release_renders_none_of_the_driver(rendered: Rendered):
    assert _of_kind(rendered.provider_objects, "DaemonSet"), "the provider itself"
    assert bundled_driver_problems(rendered.provider_objects) == []


def test_no_two_objects_share_kind_namespace_and_name(rendered: Rendered):
    objects = [
        *(
            dict(o, metadata={"namespace": rendered.release(name)["namespace"], **o["metadata"]})
            for name, release in rendered.releases.items()
            for o in release
        ),
        *rendered.run.kubernetes_objects(),
    ]
    assert duplicate_problems(objects, "kube-system") == []


def test_rotation_and_sync_reach_the_driver_exactly_when_enabled(rendered: Rendered):
    driver = rendered.releases[DRIVER]
    args = _driver_container(driver)["args"]
    on = rendered.lifecycle
    rotation = [arg for arg in args if arg.startswith(("--enable-secret-rotation", "--rotation-poll-interval"))]
    assert rotation == (["--enable-secret-rotation=true", "--rotation-poll-interval=2m"] if on else [])
    (csidriver,) = _of_kind(driver, "CSIDriver")
    # Since 1.6.0 the kubelet drives rotation through CSI RequiresRepublish.
    assert csidriver["spec"]["requiresRepublish"] is on
    roles = {o["metadata"]["name"] for o in _of_kind(driver, "ClusterRole")}
    bindings = {o["roleRef"]["name"] for o in _of_kind(driver, "ClusterRoleBinding")}
    assert ("secretprovidersyncing-role" in roles) is on
    assert ("secretprovidersyncing-role" in bindings) is on


def test_the_providers_socket_is_where_the_driver_looks(rendered: Rendered):
    assert socket_problems(rendered.releases[DRIVER], rendered.provider_objects, rendered.store.provider) == []


def test_every_rendered_object_is_valid_in_strict_mode(rendered: Rendered):
    objects = [*rendered.releases[DRIVER], *rendered.provider_objects]
    assert {"DaemonSet", "CSIDriver", "CustomResourceDefinition"} <= {o["kind"] for o in objects}
    for obj in objects:
        validate_strict(obj, rendered.version)


# Each check fails for the mistake it is there for


@pytest.fixture(scope="module")
def aws_releases() -> dict[str, dict[str, Any]]:
    run = _run(("aws", "secretsManager", "irsa"), False)
    return {name: run.one(RELEASE, name).inputs for name in (DRIVER, "secretstore-provider")}


def test_a_misspelled_value_fails_the_key_check(aws_releases):
    release = aws_releases[DRIVER]
    values = {**release["values"], "syncSecrets": {"enabled": True}}
    assert value_problems(values, chart_defaults(release)) == ["syncSecrets: not a value of the chart"]


def test_a_missing_audience_fails_the_audience_check(aws_releases):
    release = aws_releases[DRIVER]
    values = copy.deepcopy(release["values"])
    values["tokenRequests"] = values["tokenRequests"][:1]
    objects = render(release, settings.DEFAULT_KUBERNETES_VERSION, values)
    assert audience_problems(objects, registry.STORES["secretsManager"].token_audiences) != []


def test_the_bundled_driver_left_on_fails_the_provider_check(aws_releases):
    release = aws_releases["secretstore-provider"]
    values = {**release["values"], "secrets-store-csi-driver": {"install": True}}
    objects = render(release, settings.DEFAULT_KUBERNETES_VERSION, values)
    problems = bundled_driver_problems(objects)
    assert "CSIDriver secrets-store.csi.k8s.io" in problems
    driver = render(aws_releases[DRIVER], settings.DEFAULT_KUBERNETES_VERSION)
    assert duplicate_problems([*driver, *objects], "kube-system") != []


def test_a_socket_in_a_directory_the_driver_does_not_read_fails_the_socket_check(aws_releases):
    release = aws_releases["secretstore-provider"]
    driver = render(aws_releases[DRIVER], settings.DEFAULT_KUBERNETES_VERSION)
    moved = render(
        release, settings.DEFAULT_KUBERNETES_VERSION, {**release["values"], "providerVolume": "/opt/elsewhere"}
    )
    assert socket_problems(driver, moved, "aws") != []

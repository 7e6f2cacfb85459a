"""The CSI driver and the store's provider: Helm releases of their own, checked against the
pinned charts, installed side by side."""

from __future__ import annotations

import pytest

from secretstore_csi import registry
from tests.authorities import chart_defaults, plain, value_problems
from tests.harness import ProgramRun, provider_install

RELEASE = "kubernetes:helm.sh/v3:Release"
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
DRIVER = "secretstore-driver"


@pytest.fixture
def run(combination_run: ProgramRun) -> ProgramRun:
    return combination_run


def _store(run: ProgramRun) -> registry.SecretStore:
    return registry.STORES[run.exports["store"].value]


def test_the_driver_is_the_pinned_upstream_chart_in_kube_system(run: ProgramRun):
    driver = run.one(RELEASE, DRIVER).inputs
    assert (driver["chart"], driver["version"], driver["repositoryOpts"]["repo"]) == (
        "secrets-store-csi-driver",
        "1.6.0",
        "https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts",
    )
    assert driver["namespace"] == "kube-system"
    # The store's chart is the other release, unless its provider is not a chart.
    assert len(run.of_type(RELEASE)) == (1 if _store(run).chart is None else 2)


def test_a_provider_chart_that_bundles_the_driver_gets_it_turned_off(run: ProgramRun):
    if _store(run).chart is None:
        pytest.skip("the store's provider is not a chart (tests/gcp checks its objects)")
    provider = provider_install(run).inputs
    defaults = chart_defaults(provider)
    if "secrets-store-csi-driver" in defaults:
        assert provider["values"]["secrets-store-csi-driver"] == {"install": False}
        assert provider["namespace"] == "kube-system"
    else:
        assert "secrets-store-csi-driver" not in provider["values"]


def test_every_helm_value_is_a_key_of_the_pinned_chart_version(run: ProgramRun):
    for release in run.of_type(RELEASE):
        assert value_problems(plain(release.inputs["values"]), chart_defaults(release.inputs)) == [], release.name


def test_the_values_check_would_catch_a_misplaced_key(run: ProgramRun):
    release = run.one(RELEASE, DRIVER).inputs
    wrong = {
        "secrets-store-csi-driver": {"enableSecretRotation": True},
        "syncSecret": True,
        "tokenRequests": {"audience": "sts.amazonaws.com"},
        "linux": {"crds": {"enabled": False, "enable": True}},
    }
    assert value_problems(wrong, chart_defaults(release)) == [
        "secrets-store-csi-driver: not a value of the chart",
        "syncSecret: the chart has dict here, not bool",
        "tokenRequests: the chart has list here, not dict",
        "linux.crds.enable: not a value of the chart",
    ]


def test_the_driver_and_the_provider_install_side_by_side(run: ProgramRun):
    driver, provider = run.one(RELEASE, DRIVER), provider_install(run)
    assert not run.depends_on(provider, driver) and not run.depends_on(driver, provider)


def test_only_the_secret_provider_class_waits_for_the_driver_and_its_crd(run: ProgramRun):
    spc = run.one(SPC)
    assert run.depends_on(spc, run.one(RELEASE, DRIVER))
    assert not run.depends_on(spc, provider_install(run))


def test_on_the_cluster_the_longest_path_is_driver_class_authorized_pod(run: ProgramRun):
    if _store(run).name == "vault":
        pytest.skip("Vault's server comes first: its release, then the configuration Job (tests/vault)")
    on_cluster = [r for r in run.resources if r.type.startswith("kubernetes:")]
    authorized = run.one("kubernetes:apps/v1:Deployment", "secretstore-demo-authorized")
    spc, driver = run.one(SPC), run.one(RELEASE, DRIVER)
    assert run.depends_on(authorized, spc) and run.depends_on(spc, driver)
    # One release after the other would make it four.
    assert run.longest_chain(on_cluster) == 3

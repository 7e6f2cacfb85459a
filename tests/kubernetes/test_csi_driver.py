"""The CSI driver and the store's provider: two Helm releases, checked against the charts."""

from __future__ import annotations

import pytest

from tests.authorities import chart_defaults, release_value_problems, value_problems
from tests.harness import ProgramRun


@pytest.fixture
def run(combination_run: ProgramRun) -> ProgramRun:
    return combination_run

RELEASE = "kubernetes:helm.sh/v3:Release"
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"


def test_the_driver_is_the_pinned_upstream_chart_in_kube_system(run: ProgramRun):
    driver = run.one(RELEASE, "secretstore-demo-driver").inputs
    provider = run.one(RELEASE, "secretstore-demo-provider").inputs
    assert (driver["chart"], driver["version"], driver["repositoryOpts"]["repo"]) == (
        "secrets-store-csi-driver",
        "1.6.0",
        "https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts",
    )
    assert driver["namespace"] == provider["namespace"] == "kube-system"

def test_the_provider_release_does_not_install_its_bundled_driver(run: ProgramRun):
    provider = run.one(RELEASE, "secretstore-demo-provider").inputs
    assert provider["values"]["secrets-store-csi-driver"] == {"install": False}

def test_every_helm_value_is_a_key_of_the_pinned_chart_version(run: ProgramRun):
    assert release_value_problems(run) == {
        "secretstore-demo-driver": [],
        "secretstore-demo-provider": [],
    }

def test_the_values_check_would_catch_a_misplaced_key(run: ProgramRun):
    release = run.one(RELEASE, "secretstore-demo-driver").inputs
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

def test_only_the_secret_provider_class_waits_for_the_driver_and_its_crd(run: ProgramRun):
    spc = run.one(SPC)
    driver = run.one(RELEASE, "secretstore-demo-driver")
    provider = run.one(RELEASE, "secretstore-demo-provider")
    assert run.depends_on(spc, driver)
    # Neither release needs the other, so they install side by side.
    assert not run.depends_on(provider, driver) and not run.depends_on(driver, provider)
    assert not run.depends_on(spc, provider)


def test_on_the_cluster_the_longest_path_is_driver_class_authorized_pod(run: ProgramRun):
    on_cluster = [r for r in run.resources if r.type.startswith("kubernetes:")]
    authorized = run.one("kubernetes:apps/v1:Deployment", "secretstore-demo-authorized")
    spc, driver = run.one(SPC), run.one(RELEASE, "secretstore-demo-driver")
    assert run.depends_on(authorized, spc) and run.depends_on(spc, driver)
    # One release after the other would make it four.
    assert run.longest_chain(on_cluster) == 3

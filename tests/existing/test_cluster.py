"""An existing cluster, such as kind: the program only connects to it, through the user's
kubeconfig and context, or through a kubeconfig and context from config."""

from __future__ import annotations

import pytest
import yaml

from tests.authorities import render
from tests.harness import config_problems, run_program, unsecret

P = "secretstore-csi"
PROVIDER = "pulumi:providers:kubernetes"
KUBECONFIG = yaml.safe_dump(
    {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "lab", "cluster": {"server": "https://10.0.0.1:6443"}}],
        "users": [{"name": "lab", "user": {"token": "t0ken"}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "lab"}}],
        "current-context": "lab",
    }
)


def test_the_local_stack_uses_the_kind_context_of_the_users_kubeconfig():
    run = run_program("local-dev")
    provider = run.one(PROVIDER).inputs
    assert provider["context"] == "kind-secretstore"
    assert "kubeconfig" not in provider
    assert run.exports["kubeContext"].value == "kind-secretstore"
    assert "kubeConfig" not in run.exports
    # Nothing of a cloud: the cluster exists already.
    assert {r.type.split(":")[0] for r in run.resources} <= {"secretstore-csi", "pulumi", "kubernetes", "random"}


def test_without_a_context_the_current_one_is_used():
    run = run_program("local-dev", remove=(f"{P}:kubeContext",))
    assert "context" not in run.one(PROVIDER).inputs
    assert "kubeContext" not in run.exports


def test_a_kubeconfig_from_secret_config_reaches_the_provider_as_a_secret():
    run = run_program("local-dev", secrets={f"{P}:kubeconfig": KUBECONFIG}, set_={f"{P}:kubeContext": "lab"})
    assert unsecret(run.one(PROVIDER).inputs["kubeconfig"]) == (KUBECONFIG, True)
    assert run.exports["kubeConfig"].secret and run.exports["kubeConfig"].value == KUBECONFIG


def test_a_kubeconfig_in_plain_text_is_refused_without_echoing_it():
    (problem,) = config_problems("local-dev", set_={f"{P}:kubeconfig": KUBECONFIG})
    assert "t0ken" not in problem
    assert problem.startswith(f"{P}:kubeconfig is stored in plain text in the stack file")


def test_a_secret_that_is_not_a_kubeconfig_is_refused_without_echoing_it():
    (problem,) = config_problems("local-dev", secrets={f"{P}:kubeconfig": "just-a-t0ken"})
    assert "t0ken" not in problem
    assert problem.startswith(f"{P}:kubeconfig: expected a kubeconfig (YAML or JSON, with its contexts)")
    assert problem.endswith("(the value is not shown)")


def test_a_context_the_given_kubeconfig_lacks_is_refused():
    problems = config_problems("local-dev", secrets={f"{P}:kubeconfig": KUBECONFIG})
    assert problems == [f"{P}:kubeContext = 'kind-secretstore': expected one of the contexts of {P}:kubeconfig: lab"]


def test_the_kubelet_directory_of_microk8s_reaches_the_driver():
    microk8s = "/var/snap/microk8s/common/var/lib/kubelet"
    run = run_program("local-dev", set_={f"{P}:kubeletRootDir": microk8s})
    driver = run.one("kubernetes:helm.sh/v3:Release", "secretstore-driver").inputs
    assert driver["values"]["linux"] == {"kubeletRootDir": microk8s}
    (daemonset,) = [o for o in render(driver, "1.35") if o["kind"] == "DaemonSet"]
    paths = [v["hostPath"]["path"] for v in daemonset["spec"]["template"]["spec"]["volumes"] if "hostPath" in v]
    assert f"{microk8s}/pods" in paths
    assert f"{microk8s}/plugins/csi-secrets-store/" in paths


@pytest.mark.parametrize(
    "path", ["var/lib/kubelet", "/var/lib/../../etc", "/var/lib/kubelet/", "/var/./lib/kubelet", "//var/lib", "/"]
)
def test_a_kubelet_directory_that_is_not_absolute_and_normalised_is_refused(path: str):
    assert config_problems("local-dev", set_={f"{P}:kubeletRootDir": path}) == [
        f"{P}:kubeletRootDir = {path!r}: expected the absolute, normalised path where the kubelet keeps pods (no "
        "'.' or '..' parts, no trailing or doubled '/'), such as /var/snap/microk8s/common/var/lib/kubelet"
    ]


def test_the_cloud_keys_do_not_apply_to_an_existing_cluster():
    (problem,) = config_problems("local-dev", set_={f"{P}:nodeDesiredCount": "3"})
    assert problem.startswith(f"{P}:nodeDesiredCount applies only when {P}:cloud is aws or {P}:cloud is azure")

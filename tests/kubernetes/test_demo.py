"""The demo: the namespace, the trusted ServiceAccount, the SecretProviderClass and the two
hello-server deployments, checked against Kubernetes' schemas, the upstream CRD and the Pod
Security Standard.

Every test runs against the real program for every registered cluster source x store x
identity mode, so the layer is checked as each of them uses it.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from tests.authorities import KUBERNETES_VERSION, spc_schema
from tests.harness import ProgramRun, provider_install, run_program, unsecret
from tests.policy_pack import pod_security

P = "secretstore-csi"

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
RELEASE = "kubernetes:helm.sh/v3:Release"
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"


@pytest.fixture
def run(combination_run: ProgramRun) -> ProgramRun:
    return combination_run


def _deployment(run: ProgramRun, instance: str) -> dict[str, Any]:
    return run.one(DEPLOYMENT, f"secretstore-demo-{instance}").inputs


def test_every_kubernetes_object_is_valid_in_strict_mode(run: ProgramRun):
    objects = [obj for obj in run.kubernetes_objects() if obj["kind"] != "SecretProviderClass"]
    assert {obj["kind"] for obj in objects} >= {"ServiceAccount", "Deployment"}
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_strict_validation_would_catch_a_misspelled_field(run: ProgramRun):
    deployment = copy.deepcopy(_deployment(run, "authorized"))
    deployment["spec"]["template"]["spec"]["serviceAccount_Name"] = "test"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_secret_provider_class_matches_the_upstream_v1_crd(run: ProgramRun):
    spc = run.one(SPC).inputs
    assert spc["apiVersion"] == "secrets-store.csi.x-k8s.io/v1"
    jsonschema.validate(spc, spc_schema())
    assert all(isinstance(value, str) for value in spc["spec"]["parameters"].values())


def test_the_crd_check_would_catch_a_parameter_that_is_not_a_string(run: ProgramRun):
    spc = copy.deepcopy(run.one(SPC).inputs)
    spc["spec"]["parameters"]["usePodIdentity"] = False
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(spc, spc_schema())


def test_the_authorized_deployment_runs_as_the_trusted_account_and_mounts_the_secret(run: ProgramRun):
    deployment = _deployment(run, "authorized")
    assert deployment["metadata"]["name"] == "hello-server-authorized"
    assert "annotations" not in deployment["metadata"], "Pulumi must await this one"
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "test"
    spc_name = run.one(SPC).inputs["metadata"]["name"]
    assert pod["volumes"] == [
        {
            "name": "secrets-store-inline",
            "csi": {
                "driver": "secrets-store.csi.k8s.io",
                "readOnly": True,
                "volumeAttributes": {"secretProviderClass": spc_name},
            },
        }
    ]
    (container,) = pod["containers"]
    assert container["volumeMounts"] == [
        {"name": "secrets-store-inline", "mountPath": "/mnt/secrets-store", "readOnly": True}
    ]
    assert container["env"] == [{"name": "FILE", "value": "/mnt/secrets-store/secret"}]
    assert container["image"] == "ghcr.io/dirien/hello-server/hello-server:latest"
    assert container["ports"] == [{"name": "http", "containerPort": 8080}]


def test_the_unauthorized_deployment_is_the_same_but_runs_as_default_and_is_not_awaited(run: ProgramRun):
    authorized = _deployment(run, "authorized")
    unauthorized = _deployment(run, "unauthorized")
    assert unauthorized["metadata"]["name"] == "hello-server-unauthorized"
    assert unauthorized["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}
    pod = unauthorized["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "default"
    same_pod = copy.deepcopy(authorized["spec"]["template"]["spec"])
    same_pod["serviceAccountName"] = "default"
    assert pod == same_pod


def test_both_demo_pods_pass_the_restricted_pod_security_standard(run: ProgramRun):
    for instance in ("authorized", "unauthorized"):
        pod = _deployment(run, instance)["spec"]["template"]["spec"]
        assert pod_security.violations(pod) == [], instance


def test_the_pod_security_check_would_catch_a_root_container(run: ProgramRun):
    pod = copy.deepcopy(_deployment(run, "authorized")["spec"]["template"]["spec"])
    del pod["securityContext"]["runAsNonRoot"]
    pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    assert len(pod_security.violations(pod)) == 2


def test_the_demo_containers_are_hardened_beyond_the_profile(run: ProgramRun):
    for instance in ("authorized", "unauthorized"):
        pod = _deployment(run, instance)["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        assert pod["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        assert container["resources"] == {
            "requests": {"cpu": "10m", "memory": "32Mi"},
            "limits": {"cpu": "100m", "memory": "64Mi"},
        }
        assert pod["automountServiceAccountToken"] is False


def test_the_deployments_come_after_the_class_the_account_and_the_releases(run: ProgramRun):
    # Destroy runs in reverse, so the pods also go before the driver they mount through.
    before = [run.one(SPC), run.one(SERVICE_ACCOUNT, "secretstore-service-account"), *run.of_type(RELEASE)]
    if provider_install(run) not in before:
        before.append(provider_install(run))
    assert len(before) == 4
    for instance in ("authorized", "unauthorized"):
        deployment = run.one(DEPLOYMENT, f"secretstore-demo-{instance}")
        for dependency in before:
            assert run.depends_on_transitively(deployment, dependency), (instance, dependency.name)


def test_every_kubernetes_resource_uses_the_cluster_provider(run: ProgramRun):
    (provider,) = run.of_type("pulumi:providers:kubernetes")
    kubernetes = [r for r in run.resources if r.type.startswith("kubernetes:")]
    assert kubernetes
    assert all(r.provider.startswith(provider.urn + "::") for r in kubernetes)
    # A cluster the program creates hands over its kubeconfig; an existing one is reached
    # through the user's own, as kubectl would.
    if run.exports["cloud"].value == "kubernetes":
        assert "kubeconfig" not in provider.inputs
    else:
        assert unsecret(provider.inputs["kubeconfig"]) == (run.exports["kubeConfig"].value, True)


def test_a_namespace_other_than_default_is_created_and_enforces_the_restricted_profile():
    run = run_program("aws-dev", set_={"secretstore-csi:namespace": "payments"})
    namespace = run.one("kubernetes:core/v1:Namespace")
    assert namespace.inputs["metadata"] == {
        "name": "payments",
        "labels": {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest",
        },
    }
    kubernetes_validate.validate(namespace.inputs, KUBERNETES_VERSION, strict=True)
    for resource in [run.one(SPC), run.one(SERVICE_ACCOUNT, "secretstore-service-account"), *run.of_type(DEPLOYMENT)]:
        assert resource.inputs["metadata"]["namespace"] == "payments"
        assert run.depends_on(resource, namespace), resource.name
    assert run.exports["namespace"].value == "payments"


def test_the_default_namespace_is_the_stacks_own_and_restricted(run: ProgramRun):
    stack = run.exports["workloads"].value["secretstore"]["namespace"]
    assert stack == f"secretstore-{run.stack}"
    created = {
        r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"]
        for r in run.of_type("kubernetes:core/v1:Namespace")
    }
    assert created.pop(stack)["pod-security.kubernetes.io/enforce"] == "restricted"
    assert list(created) in ([], ["vault"])  # Vault's own, on a Vault stack
    assert {r.inputs["metadata"]["namespace"] for r in run.of_type(DEPLOYMENT)} == {stack}


def test_namespace_default_keeps_a_stack_deployed_before_and_is_not_created():
    run = run_program("local-dev", set_={f"{P}:namespace": "default"})
    created = [r.inputs["metadata"]["name"] for r in run.of_type("kubernetes:core/v1:Namespace")]
    assert created == ["vault"]
    assert {r.inputs["metadata"]["namespace"] for r in run.of_type(DEPLOYMENT)} == {"default"}

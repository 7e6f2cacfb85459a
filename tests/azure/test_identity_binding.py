"""Identity binding: a managed identity per workload, bound to the AKS cluster, which RBAC lets
exactly the workload's service account use; no federated credential per service account;
the driver requests api://AKSIdentityBinding; Key Vault grants the identity each secret."""

from __future__ import annotations

import hashlib
import inspect
import json

import pytest
from pulumi_azure_native import containerservice

from tests.harness import ProgramRun, reveal, run_combination
from tests.isolation import SPC, isolation_problems, owner
from tests.policy_pack import analyze
from tests.test_isolation import WORKLOADS

P = "secretstore-csi"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
BINDING = "azure-native:containerservice:IdentityBinding"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"


@pytest.fixture(scope="module")
def bound() -> ProgramRun:
    return run_combination("azure", "keyVault", "identityBinding", set_={f"{P}:workloads": json.dumps(WORKLOADS)})


def _of(run: ProgramRun, type_: str, workload: str) -> dict:
    (found,) = [reveal(r.inputs) for r in run.of_type(type_) if owner(run, r) == workload]
    return found


def test_each_workloads_identity_is_bound_to_the_cluster(bound: ProgramRun):
    cluster = bound.one("azure-native:containerservice:ManagedCluster")
    identity = next(r for r in bound.of_type(IDENTITY) if owner(bound, r) == "payments")
    binding = _of(bound, BINDING, "payments")
    assert binding == {
        "resourceGroupName": reveal(cluster.inputs)["resourceGroupName"],
        "resourceName": cluster.outputs["name"],
        # The workload's name and a digest of organization/project/stack.
        "identityBindingName": "payments-" + hashlib.sha256(b"organization/secretstore-csi/azure-dev").hexdigest()[:8],
        "properties": {"managedIdentity": {"resourceId": identity.id}},
    }
    # Its arguments are the installed SDK's.
    names = set(inspect.signature(containerservice.IdentityBinding._internal_init).parameters)
    assert {"resource_group_name", "resource_name_", "identity_binding_name", "properties"} <= names


def test_exactly_the_workloads_service_account_may_use_its_identity(bound: ProgramRun):
    identity = next(r for r in bound.of_type(IDENTITY) if owner(bound, r) == "payments")
    role = _of(bound, CLUSTER_ROLE, "payments")
    # Named after the identity: unique on the cluster, whatever stack or workload made it.
    assert role["metadata"]["name"] == f"use-managed-identity-{identity.outputs['clientId']}"
    names = [reveal(r.inputs)["metadata"]["name"] for r in bound.of_type(CLUSTER_ROLE)]
    assert len(names) == 3 and len(set(names)) == 3
    assert role["rules"] == [
        {
            "apiGroups": ["cid.wi.aks.azure.com"],
            "resources": [identity.outputs["clientId"]],
            "verbs": ["use-managed-identity"],
        }
    ]
    binding = _of(bound, CLUSTER_ROLE_BINDING, "payments")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "payments-api", "namespace": "shop"}]
    assert isolation_problems(bound) == []


def test_no_federated_credential_is_made(bound: ProgramRun):
    assert not [r for r in bound.resources if "FederatedIdentityCredential" in r.type]


def test_the_secret_provider_class_goes_through_the_token_proxy(bound: ProgramRun):
    identity = next(r for r in bound.of_type(IDENTITY) if owner(bound, r) == "orders")
    spc = _of(bound, SPC, "orders")["spec"]["parameters"]
    assert (spc["clientID"], spc["useAzureTokenProxy"], spc["usePodIdentity"]) == (
        identity.outputs["clientId"],
        "true",
        "false",
    )


def test_the_driver_requests_the_identity_binding_audience(bound: ProgramRun):
    driver = next(
        r
        for r in bound.of_type("kubernetes:helm.sh/v3:Release")
        if reveal(r.inputs)["chart"] == "secrets-store-csi-driver"
    )
    assert reveal(driver.inputs)["values"]["tokenRequests"] == [
        {"audience": "api://AzureADTokenExchange"},
        {"audience": "api://AKSIdentityBinding"},
    ]


def test_the_policy_pack_finds_nothing_and_fires_on_a_wider_role(bound: ProgramRun):
    assert analyze(bound.resources) == []
    import copy

    resources = [copy.deepcopy(r) for r in bound.resources]
    role = next(r for r in resources if r.type == CLUSTER_ROLE and owner(bound, r) == "payments")
    role.inputs = reveal(role.inputs)
    role.inputs["rules"][0]["resources"] = ["*"]
    assert [d.policy for d in analyze(resources)] == ["identity-binding-role-one-identity"]

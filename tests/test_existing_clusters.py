"""Every combination on an existing EKS, AKS or GKE cluster: nothing that makes a cluster is
registered, the cluster is read once, and every isolation and least-privilege invariant of
tests/test_isolation.py holds with what the data sources returned."""

from __future__ import annotations

import json

import pytest

from secretstore_csi import registry
from tests.authorities import validate_kubernetes_objects
from tests.harness import (
    EXISTING_AKS,
    EXISTING_EKS,
    EXISTING_GKE,
    EXISTING_RESOURCE_GROUP,
    OidcIssuer,
    ProgramRun,
    run_combination,
)
from tests.isolation import isolation_problems
from tests.policy_pack import analyze
from tests.test_isolation import WORKLOADS

P = "secretstore-csi"
EXISTING = {
    "aws": ({f"{P}:existingCluster": EXISTING_EKS}, ()),
    "azure": ({f"{P}:existingCluster": EXISTING_AKS, f"{P}:existingClusterResourceGroup": EXISTING_RESOURCE_GROUP}, ()),
    "gcp": ({f"{P}:existingCluster": EXISTING_GKE}, (f"{P}:deletionProtection",)),
}
# What a created cluster is made of, by cloud: the cluster, its nodes, its network, its group.
CLUSTER_PARTS = {
    "aws": ("eks:", "aws:eks/cluster:", "aws:eks/nodeGroup:", "aws:ec2/", "aws:autoscaling/", "aws:cloudformation/"),
    "azure": (
        "azure-native:containerservice:ManagedCluster",
        "azure-native:containerservice:AgentPool",
        "azure-native:resources:ResourceGroup",
        "azure-native:network:",
    ),
    "gcp": ("gcp:container/", "gcp:compute/"),
}
LOOKUP = {
    "aws": "aws:eks/getCluster:getCluster",
    "azure": "azure-native:containerservice:getManagedCluster",
    "gcp": "gcp:container/getCluster:getCluster",
}
COMBINATIONS = [c for c in registry.combinations() if c[0] in EXISTING]


def test_every_cloud_cluster_source_can_name_an_existing_cluster():
    assert {c.name for c in registry.CLUSTERS.values() if not c.local} == set(EXISTING)


@pytest.fixture(scope="module", params=COMBINATIONS, ids=["/".join(c) for c in COMBINATIONS])
def on_existing(request: pytest.FixtureRequest, oidc_issuer: OidcIssuer) -> ProgramRun:
    cloud, _, identity = request.param
    set_, remove = EXISTING[cloud]
    if identity == "irsa":
        # The cluster's issuer has an IAM OIDC provider already, as most existing clusters do.
        set_ = {**set_, f"{P}:createOidcProvider": "false"}
    return run_combination(*request.param, set_={**set_, f"{P}:workloads": json.dumps(WORKLOADS)}, remove=remove)


def test_nothing_that_makes_a_cluster_is_registered(on_existing: ProgramRun):
    cloud = on_existing.exports["cloud"].value
    assert [r.type for r in on_existing.resources if r.type.startswith(CLUSTER_PARTS[cloud])] == []
    assert [token for token, _ in on_existing.calls].count(LOOKUP[cloud]) == 1
    assert on_existing.exports["existingCluster"].value is True


def test_isolation_and_least_privilege_hold(on_existing: ProgramRun):
    assert isolation_problems(on_existing) == []
    assert validate_kubernetes_objects(on_existing) >= 12
    dev_mode = {"no-vault-dev-mode": {"allowDevMode": True}} if on_existing.exports["store"].value == "vault" else {}
    assert analyze(on_existing.resources, dev_mode) == []


@pytest.mark.parametrize("cloud", list(EXISTING))
def test_the_check_would_see_a_created_cluster(cloud: str, oidc_issuer: OidcIssuer):
    combination = next(c for c in COMBINATIONS if c[0] == cloud)
    created = run_combination(*combination)
    assert [r for r in created.resources if r.type.startswith(CLUSTER_PARTS[cloud])]

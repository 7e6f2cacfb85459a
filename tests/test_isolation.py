"""Isolation, for every registered combination: three workloads on one platform, two of them
in one namespace and two with a secret of the same name. Each workload's principal trusts
exactly its service account and reads exactly its secrets, its SecretProviderClass names
exactly those, the cluster-wide parts exist once, and no two Kubernetes objects collide."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable

import pytest
import yaml

from secretstore_csi import registry
from tests.authorities import validate_kubernetes_objects
from tests.harness import OidcIssuer, ProgramRun, reveal, run_combination
from tests.isolation import READINGS, isolation_problems, owner
from tests.policy_pack import analyze

P = "secretstore-csi"
WORKLOADS = [
    {
        "name": "payments",
        "namespace": "shop",
        "serviceAccount": "payments-api",
        "secrets": [{"name": "db", "keys": ["username", "password"]}, {"name": "api-token"}],
        "demo": True,
    },
    {"name": "orders", "namespace": "shop", "serviceAccount": "orders-api", "secrets": [{"name": "db"}]},
    {"name": "reports", "secrets": [{"name": "signing-key"}], "demo": True},
]
COMBINATIONS = registry.combinations()


def _copy(run: ProgramRun) -> ProgramRun:
    """The run's resources and outputs, to change without changing the run."""
    return ProgramRun(resources=copy.deepcopy(run.resources), exports=run.exports)


def _run(combination: tuple[str, str, str], workloads: list[dict]) -> ProgramRun:
    # The stack file's single-workload keys configure what `workloads` replaces.
    return run_combination(*combination, set_={f"{P}:workloads": json.dumps(workloads)}, remove=(f"{P}:secretName",))


@pytest.fixture(scope="module", params=COMBINATIONS, ids=["/".join(c) for c in COMBINATIONS])
def three(request: pytest.FixtureRequest, oidc_issuer: OidcIssuer) -> ProgramRun:
    return _run(request.param, WORKLOADS)


def test_every_combination_has_a_reading():
    assert {(store, identity) for _, store, identity in COMBINATIONS} == set(READINGS)


def test_each_principal_trusts_exactly_its_account_and_reads_exactly_its_secrets(three: ProgramRun):
    assert isolation_problems(three) == []
    secrets = READINGS[(three.exports["store"].value, three.exports["identity"].value)].secrets(three)
    assert Counter(secrets.values()) == {"payments": 2, "orders": 1, "reports": 1}


def test_the_cluster_wide_parts_exist_once_whatever_the_number_of_workloads(three: ProgramRun):
    combination = (three.exports["cloud"].value, three.exports["store"].value, three.exports["identity"].value)
    one = _run(combination, WORKLOADS[:1])

    def platform_parts(run: ProgramRun) -> list[tuple[str, str]]:
        return sorted(
            (r.type, r.name)
            for r in run.resources
            if r.custom and owner(run, r) is None and r.type != "kubernetes:core/v1:Namespace"
        )

    assert platform_parts(three) == platform_parts(one)
    releases = [reveal(r.inputs)["chart"] for r in three.of_type("kubernetes:helm.sh/v3:Release")]
    assert releases.count("secrets-store-csi-driver") == 1 and len(set(releases)) == len(releases)
    # Two workloads share the namespace `shop`, which is made once.
    namespaces = [reveal(r.inputs)["metadata"]["name"] for r in three.of_type("kubernetes:core/v1:Namespace")]
    assert Counter(namespaces)["shop"] == 1 and Counter(namespaces)[f"{three.stack}-reports"] == 1


def test_every_object_is_valid_and_the_policy_pack_finds_nothing(three: ProgramRun):
    assert validate_kubernetes_objects(three) >= 12
    dev_mode = {"no-vault-dev-mode": {"allowDevMode": True}} if three.exports["store"].value == "vault" else {}
    assert analyze(three.resources, dev_mode) == []


def test_kubernetes_objects_and_releases_are_unique(three: ProgramRun):
    objects = [
        (o["apiVersion"], o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])
        for o in three.kubernetes_objects()
    ]
    releases = [
        ("helm", reveal(r.inputs)["namespace"], reveal(r.inputs)["name"])
        for r in three.of_type("kubernetes:helm.sh/v3:Release")
    ]
    assert len(objects) >= 9
    assert [item for item, count in Counter([*objects, *releases]).items() if count > 1] == []
    urns = [r.urn for r in three.resources]
    assert len(set(urns)) == len(urns)


def test_only_demo_workloads_get_the_hello_server_pair(three: ProgramRun):
    outputs = three.exports["workloads"].value
    assert [name for name, out in outputs.items() if "authorizedDeployment" in out] == ["payments", "reports"]
    deployments = sorted(reveal(r.inputs)["metadata"]["name"] for r in three.of_type("kubernetes:apps/v1:Deployment"))
    assert deployments == sorted(
        f"{name}-{kind}" for name in ("payments", "reports") for kind in ("authorized", "unauthorized")
    )


# A grant crossed over to another workload's secret, one way per store.


def _policy_reads_another_arn(run: ProgramRun) -> None:
    theirs = next(r for r in run.of_type("aws:secretsmanager/secret:Secret") if owner(run, r) == "orders")
    policy = next(r for r in run.of_type("aws:iam/policy:Policy") if owner(run, r) == "payments")
    document = json.loads(policy.inputs["policy"])
    document["Statement"][0]["Resource"].append(theirs.outputs["arn"])
    policy.inputs["policy"] = json.dumps(document)


def _role_assignment_on_another_secret(run: ProgramRun) -> None:
    theirs = next(r for r in run.of_type("azure-native:keyvault:Secret") if owner(run, r) == "orders")
    assignment = next(
        r for r in run.of_type("azure-native:authorization:RoleAssignment") if owner(run, r) == "payments"
    )
    assignment.inputs["scope"] = theirs.id


def _member_on_another_secret(run: ProgramRun) -> None:
    theirs = next(r for r in run.of_type("gcp:secretmanager/secret:Secret") if owner(run, r) == "orders")
    grant = next(
        r for r in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember") if owner(run, r) == "payments"
    )
    grant.inputs["secretId"] = theirs.inputs["secretId"]


def _vault_policy_on_another_path(run: ProgramRun) -> None:
    job = run.one("kubernetes:batch/v1:Job", "payments-vault-configure")
    command = job.inputs["spec"]["template"]["spec"]["containers"][0]["command"]
    command[-1] = command[-1].replace(
        "secret/data/secretstore/shop/payments/api-token", "secret/data/secretstore/shop/orders/db"
    )


CROSSINGS: dict[tuple[str, str, str], Callable[[ProgramRun], None]] = {
    ("aws", "secretsManager", "irsa"): _policy_reads_another_arn,
    ("azure", "keyVault", "managedIdentity"): _role_assignment_on_another_secret,
    ("gcp", "secretManager", "workloadIdentity"): _member_on_another_secret,
    ("kubernetes", "vault", "kubernetesAuth"): _vault_policy_on_another_path,
}


@pytest.mark.parametrize("combination", CROSSINGS, ids=["/".join(c) for c in CROSSINGS])
def test_a_crossed_grant_fails_the_check(combination: tuple[str, str, str], oidc_issuer: OidcIssuer):
    run = _run(combination, WORKLOADS)
    crossed = _copy(run)
    CROSSINGS[combination](crossed)
    problems = isolation_problems(crossed)
    assert len(problems) == 1 and problems[0].startswith("payments: its principal reads ['"), problems


def test_a_principal_that_trusts_another_account_fails_the_check(oidc_issuer: OidcIssuer):
    run = _copy(_run(("gcp", "secretManager", "workloadIdentity"), WORKLOADS))
    for grant in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember"):
        grant.inputs["member"] = grant.inputs["member"].replace("/sa/orders-api", "/sa/payments-api")
    problems = isolation_problems(run)
    assert "two workloads share a principal" not in " ".join(problems)
    assert any("orders: its principal reads [] besides its own, and misses" in p for p in problems), problems


def test_a_class_that_names_another_workloads_secret_fails_the_check(oidc_issuer: OidcIssuer):
    run = _copy(_run(("kubernetes", "vault", "kubernetesAuth"), WORKLOADS))
    spc = next(
        r
        for r in run.of_type("kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass")
        if owner(run, r) == "reports"
    )
    objects = yaml.safe_load(spc.inputs["spec"]["parameters"]["objects"])
    objects[0]["secretPath"] = "secret/data/secretstore/shop/orders/db"
    spc.inputs["spec"]["parameters"]["objects"] = yaml.safe_dump(objects)
    (problem,) = isolation_problems(run)
    assert problem.startswith("reports: its SecretProviderClass names ['secret/data/secretstore/shop/orders/db']")

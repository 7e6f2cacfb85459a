"""The benchmark's reading of a run: the longest chain of resources `pulumi up` creates one
after another, which must not grow with the number of workloads."""

from __future__ import annotations

import json

from benchmarks.workloads import longest_chain, workloads
from tests.harness import PROJECT, OidcIssuer, run_combination


def _chain(combination: tuple[str, str, str], count: int) -> list[str]:
    run = run_combination(
        *combination, set_={f"{PROJECT}:workloads": workloads(count)}, remove=(f"{PROJECT}:secretName",)
    )
    return longest_chain(
        [
            {
                "urn": r.urn,
                "type": r.type,
                "parent": r.parent,
                "dependencies": r.dependencies,
                "provider": r.provider,
                "custom": r.custom,
            }
            for r in run.resources
        ]
    )


def test_the_longest_chain_goes_from_the_cluster_to_the_demo_and_does_not_grow(oidc_issuer: OidcIssuer):
    one = _chain(("aws", "secretsManager", "irsa"), 1)
    assert one == [
        "eks:index:Cluster",
        "pulumi:providers:kubernetes",
        "kubernetes:helm.sh/v3:Release",
        "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass",
        "kubernetes:apps/v1:Deployment",
    ]
    assert _chain(("aws", "secretsManager", "irsa"), 4) == one


def test_a_chain_through_the_vault_job_is_found(oidc_issuer: OidcIssuer):
    chain = _chain(("kubernetes", "vault", "kubernetesAuth"), 2)
    assert chain[-3:] == ["kubernetes:helm.sh/v3:Release", "kubernetes:batch/v1:Job", "kubernetes:apps/v1:Deployment"]


def test_the_benchmark_workloads_have_two_secrets_each_and_one_demo():
    listed = json.loads(workloads(3))
    assert [len(w["secrets"]) for w in listed] == [2, 2, 2]
    assert [w["demo"] for w in listed] == [True, False, False]

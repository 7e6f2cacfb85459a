"""The `workloads` key: any number of applications on one platform, each with its own
namespace, service account, secrets and demo, every mistake refused before any resource."""

from __future__ import annotations

import json

import pytest

from tests.harness import PROJECT as P
from tests.harness import config_problems, run_program

SECRET = [{"name": "db"}]


def _workloads(*entries: dict) -> dict[str, str]:
    return {f"{P}:workloads": json.dumps(list(entries))}


def test_without_workloads_the_single_workload_is_also_in_the_workloads_output():
    exports = run_program("local-dev").exports
    (single,) = exports["workloads"].value.values()
    assert single["namespace"] == exports["namespace"].value == "secretstore-local-dev"
    assert single["authorizedDeployment"] == exports["authorizedDeployment"].value == "hello-server-authorized"
    assert list(exports["workloads"].value) == ["secretstore"]


def test_listed_workloads_are_outputs_by_name_and_only_demos_get_deployments():
    exports = run_program(
        "local-dev",
        set_=_workloads(
            {"name": "payments", "secrets": SECRET, "demo": True},
            {"name": "reports", "namespace": "shop", "serviceAccount": "reporter", "secrets": SECRET},
        ),
    ).exports
    workloads = exports["workloads"].value
    # A namespace of the stack's own: two stacks never share a principal on GKE by default.
    assert workloads["payments"]["namespace"] == "local-dev-payments"
    assert workloads["payments"]["serviceAccount"] == "payments"
    assert workloads["payments"]["unauthorizedDeployment"] == "payments-unauthorized"
    assert workloads["reports"]["secretProviderClass"] == "reports"
    assert "authorizedDeployment" not in workloads["reports"]
    # The single workload's outputs are not at the top any more.
    assert "namespace" not in exports and "authorizedDeployment" not in exports


def test_a_listed_secret_reads_its_value_from_secret_config():
    run = run_program(
        "local-dev",
        set_=_workloads({"name": "payments", "secrets": [{"name": "db", "valueFrom": "paymentsDb"}]}),
        secrets={f"{P}:paymentsDb": "from-config"},
    )
    (values,) = [r for r in run.of_type("kubernetes:core/v1:Secret") if "payments-db" in r.name]
    assert "from-config" in json.dumps(values.inputs)


W = "secretstore-csi:workloads"


@pytest.mark.parametrize(
    "stack, changes, problems",
    [
        pytest.param(
            "aws-dev",
            _workloads({"name": "a", "secrets": SECRET}, {"name": "a", "namespace": "x", "secrets": SECRET}),
            [
                f"{W}[1].name = 'a': expected a name no other workload has; {W}[0] (a) has it too",
            ],
            id="the same name",
        ),
        pytest.param(
            "aws-dev",
            _workloads(
                {"name": "a", "namespace": "n", "serviceAccount": "sa", "secrets": SECRET},
                {"name": "b", "namespace": "n", "serviceAccount": "sa", "secrets": SECRET},
            ),
            [
                f"{W}[1] (b): namespace 'n' and serviceAccount 'sa' are also {W}[0] (a)'s: expected a service account "
                "that no other workload's principal trusts",
            ],
            id="the same service account",
        ),
        pytest.param(
            "local-dev",
            _workloads({"name": "a", "secrets": [{"name": "b-c"}]}, {"name": "a-b", "secrets": [{"name": "c"}]}),
            [
                f"{W}[1].secrets[0].name = 'c': a resource of it would be named a-b-c, as one of {W}[0] (a)'s secret "
                "'b-c' is: expected workload and secret names that do not run into another workload's",
            ],
            id="derived names that collide",
        ),
        pytest.param(
            "aws-dev",
            _workloads({"name": "a" * 43, "secrets": SECRET}),
            [
                f"{W}[0].name = '{'a' * 43}': expected at most 42 characters: its IAM role would be named "
                f"{'a' * 43}-secret-reader and Pulumi's 8-character suffix, 65 characters, more than the 64 IAM allows",
            ],
            id="an IAM role name too long",
        ),
        pytest.param(
            "local-dev",
            _workloads({"name": "a" * 51, "secrets": SECRET, "demo": True}),
            [
                f"{W}[0].name = '{'a' * 51}': expected at most 50 characters with the demo on: its Deployment "
                f"{'a' * 51}-unauthorized is a label value, at most 63 characters",
            ],
            id="a demo name too long for a label",
        ),
        pytest.param(
            "local-dev",
            {**_workloads({"name": "a", "secrets": SECRET}), f"{P}:namespace": "x"},
            [
                f"{P}:namespace configures the stack's single workload, which {P}:workloads replaces: remove it, and "
                "set it on each workload instead",
            ],
            id="a key of the single workload",
        ),
        pytest.param(
            "aws-dev",
            {**_workloads({"name": "a", "secrets": SECRET}), f"{P}:secretName": "x"},
            [
                f"{P}:secretName configures the default demo secret, which {P}:workloads replaces: remove it, and give "
                "a listed secret its value with valueFrom",
            ],
            id="secretName",
        ),
        pytest.param(
            "azure-dev",
            {**_workloads({"name": "a", "secrets": SECRET}), f"{P}:keyVaultName": "myvault1"},
            [
                f"{P}:keyVaultName names the vault of the stack's single workload, and each of {P}:workloads gets a "
                "vault of its own: remove it",
            ],
            id="keyVaultName",
        ),
        pytest.param(
            "local-dev",
            _workloads({"name": "vaulted", "namespace": "vault", "secrets": SECRET}),
            [
                f"{P}:vaultNamespace = 'vault': expected a namespace other than the workload's ({W}[0].namespace): "
                "Vault's CSI provider mounts host paths, so its namespace cannot enforce the restricted profile that "
                "the workload's does",
            ],
            id="Vault's namespace",
        ),
        pytest.param(
            "local-dev",
            _workloads({"name": "default", "secrets": SECRET}),
            [
                f"{W}[0].name = 'default': it is also the serviceAccount, which is not set: expected a DNS-1123 label: "
                "1-63 lower-case letters, digits or '-', starting and ending with a letter or digit, other than "
                "'default' (the unauthorized demo runs as 'default' and must not be trusted)",
            ],
            id="a name that would trust default",
        ),
        pytest.param(
            "local-dev",
            _workloads({"name": "x", "namespace": "kube-x", "secrets": SECRET}),
            [
                f"{W}[0].namespace = 'kube-x': expected a DNS-1123 label: 1-63 lower-case letters, digits or '-', "
                "starting and ending with a letter or digit, not starting with 'kube-'",
            ],
            id="a kube- namespace",
        ),
        pytest.param(
            "local-dev",
            _workloads({"name": "a"}),
            [
                f"{W}[0].secrets is not set: expected a non-empty list of secrets, each {{name, keys, valueFrom, existing}}",
            ],
            id="no secrets",
        ),
        pytest.param(
            "local-dev",
            _workloads({"name": "a", "secrets": SECRET, "nmespace": "x"}),
            [
                f"{W}[0].nmespace is not a known field: expected name, namespace, serviceAccount, secrets or demo",
            ],
            id="an unknown field",
        ),
        pytest.param(
            "local-dev",
            {f"{P}:workloads": "[]"},
            [
                f"{W} = '[]': expected a non-empty list of workloads, each {{name, namespace, serviceAccount, secrets, demo}}",
            ],
            id="an empty list",
        ),
        pytest.param(
            "local-dev",
            _workloads({"name": "a", "secrets": SECRET, "demo": "yes"}),
            [
                f"{W}[0].demo = 'yes': expected true or false",
            ],
            id="demo not a boolean",
        ),
        pytest.param(
            "local-dev",
            _workloads({"name": "a", "secrets": [{"name": "s", "valueFrom": "aDb"}]}),
            [
                f"{W}[0].secrets[0].valueFrom = 'aDb': {P}:aDb is not set; set it with `pulumi config set --secret "
                f"{P}:aDb <value>`",
            ],
            id="valueFrom not set",
        ),
    ],
)
def test_a_bad_workload_is_one_problem_before_any_resource(stack: str, changes: dict[str, str], problems: list[str]):
    assert (
        config_problems(stack, set_=changes, remove=(f"{P}:secretName",) if f"{P}:secretName" not in changes else ())
        == problems
    )


def _many(count: int, secrets: int = 1) -> dict[str, str]:
    return _workloads(
        *({"name": f"w{i}", "secrets": [{"name": f"s{j}"} for j in range(secrets)]} for i in range(count))
    )


def test_more_pod_identity_associations_than_eks_allows_are_refused():
    (problem,) = config_problems(
        "aws-dev", set_={**_many(5001), f"{P}:identity": "podIdentity"}, remove=(f"{P}:secretName",)
    )
    assert problem == (
        f"{P}:workloads: 5001 workloads, each with a Pod Identity association: expected at most 5000, the "
        "associations EKS allows per cluster"
    )


def test_more_role_assignments_than_a_subscription_holds_are_refused():
    (problem,) = config_problems("azure-dev", set_={**_many(401, secrets=10), f"{P}:identity": "managedIdentity"})
    assert problem == (
        f"{P}:workloads: 4010 secrets, each with a role assignment for its workload's identity: expected at most "
        "4000, the role assignments Azure allows in a subscription (its other assignments count too)"
    )


def test_more_vaults_than_a_resource_group_holds_are_refused():
    (problem,) = config_problems("azure-dev", set_=_many(801))
    assert problem.startswith(f"{P}:workloads: 801 workloads, each with a Key Vault in the cluster's resource group")


@pytest.mark.parametrize(
    "stack, workload, namespace",
    [
        ("aws-dev", None, "secretstore-aws-dev"),
        ("aws-dev", "payments", "aws-dev-payments"),
        ("Team_A.prod", "api", "team-a-prod-api"),
        ("kube-lab", "api", "ns-kube-lab-api"),
        (
            "s" * 100,
            None,
            "secretstore-" + "s" * 42 + "-",
        ),
    ],
)
def test_a_stacks_own_namespace_is_a_dns_label_that_names_the_stack(stack: str, workload: str | None, namespace: str):
    from secretstore_csi.model import stack_namespace
    from secretstore_csi.settings import namespace_name

    made = stack_namespace(stack, workload)
    assert made.startswith(namespace) and namespace_name(made) == made
    assert len(made) <= 63
    # Another stack never gets it, even where the name is cut.
    assert stack_namespace(stack + "x", workload) != made

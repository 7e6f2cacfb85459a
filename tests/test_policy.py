"""The policy pack in policy/: silent on every program this project builds, and each rule
fires, alone, on a copy of a recorded program broken in the way it guards against.

The resources go through the pack's real analyzer, configured as the CLI configures it, and
once through the pack itself, started as the CLI starts it and asked over gRPC on 127.0.0.1.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from secretstore_csi import registry
from tests.harness import ROOT, ProgramRun, Registered, reveal, run_combination
from tests.policy_pack import PACK, analyze, policies

P = "secretstore-csi"
LIFECYCLE = {
    f"{P}:rotation": json.dumps({"enabled": True, "pollInterval": "2m"}),
    f"{P}:syncSecret": "true",
    f"{P}:secrets": json.dumps([{"name": "db", "keys": ["username", "password"]}, {"name": "api-token"}]),
}
SCENARIOS = [(c, lifecycle) for c in registry.combinations() for lifecycle in (False, True)]


WORKLOADS = json.dumps(
    [
        {
            "name": "payments",
            "namespace": "shop",
            "serviceAccount": "payments-api",
            "secrets": [{"name": "db"}],
            "demo": True,
        },
        {"name": "orders", "namespace": "shop", "serviceAccount": "orders-api", "secrets": [{"name": "db"}]},
    ]
)
# A stack with Vault in dev mode asks for it, and its pack is told so: the one knob these
# programs need.
DEV_MODE = {"no-vault-dev-mode": {"allowDevMode": True}}


@cache
def recorded(combination: tuple[str, str, str], lifecycle: bool) -> ProgramRun:
    return run_combination(*combination, set_=dict(LIFECYCLE) if lifecycle else {})


@cache
def external_vault() -> ProgramRun:
    """Vault of your own on kind, with two workloads: what pulumi-vault writes is checked too."""
    return run_combination(
        "kubernetes",
        "vault",
        "kubernetesAuth",
        set_={
            f"{P}:vaultAddress": "https://vault.example.com:8200",
            f"{P}:vaultKubernetesHost": "https://10.0.0.1:6443",
            f"{P}:workloads": WORKLOADS,
        },
    )


def test_a_vault_of_your_own_raises_no_violation_without_any_knob():
    assert analyze(external_vault().resources) == []


@pytest.mark.parametrize(
    "edit",
    [
        lambda i: i.update(boundServiceAccountNames=["payments-api", "orders-api"]),
        lambda i: i.update(boundServiceAccountNamespaces=["*"]),
        lambda i: i.update(boundServiceAccountNames=["default"]),
        lambda i: i.pop("audience"),
    ],
)
def test_a_vault_role_beyond_one_service_account_fires_its_rule(edit):
    resources = broken(
        external_vault(), "vault:kubernetes/authBackendRole:AuthBackendRole", edit, name="payments-vault-role"
    )
    only(fired(resources), "vault-role-one-service-account", "Bind exactly one service account")


def test_a_vault_policy_with_a_glob_fires_unless_the_knob_names_it():
    glob = 'path "secret/data/secretstore/+/db" {\n  capabilities = ["read"]\n}\n'
    resources = broken(
        external_vault(), "vault:index/policy:Policy", lambda i: i.update(policy=glob), name="payments-vault-policy"
    )
    only(fired(resources), "vault-policy-without-globs", "secret/data/secretstore/+/db")
    names = [reveal(r.inputs)["name"] for r in resources if r.type == "vault:index/policy:Policy"]
    assert fired(resources, {"vault-policy-without-globs": {"allowedPolicies": names}}) == {}


def knobs(combination: tuple[str, str, str]) -> dict[str, dict[str, Any]]:
    return DEV_MODE if combination[1] == "vault" else {}


@pytest.mark.parametrize(
    "combination, lifecycle", SCENARIOS, ids=[f"{'/'.join(c)}-{'lifecycle' if lc else 'plain'}" for c, lc in SCENARIOS]
)
def test_a_program_this_project_builds_raises_no_violation(combination: tuple[str, str, str], lifecycle: bool):
    run = recorded(combination, lifecycle)
    assert len(run.resources) > 10
    assert analyze(run.resources, knobs(combination)) == []


@pytest.mark.parametrize("combination", registry.combinations(), ids=["/".join(c) for c in registry.combinations()])
def test_a_program_with_workloads_raises_no_violation(combination: tuple[str, str, str]):
    run = run_combination(*combination, set_={f"{P}:workloads": WORKLOADS}, remove=(f"{P}:secretName",))
    assert analyze(run.resources, knobs(combination)) == []


def test_vault_in_dev_mode_is_a_violation_without_its_knob():
    run = recorded(("kubernetes", "vault", "kubernetesAuth"), False)
    only(fired(run.resources), "no-vault-dev-mode", "secretstore-vault", "allowDevMode")


# Each rule, alone, on a broken copy


def broken(
    run: ProgramRun, type_: str, change: Callable[[dict[str, Any]], None], name: str | None = None
) -> list[Registered]:
    """The run's resources with one resource's inputs changed, secrets revealed as the
    engine hands them to the analyzer."""
    resources = [copy.deepcopy(r) for r in run.resources]
    (target,) = [r for r in resources if r.type == type_ and (name is None or r.name == name)]
    target.inputs = reveal(target.inputs)
    change(target.inputs)
    return resources


def fired(resources: list[Registered], config: dict[str, dict[str, Any]] | None = None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for diagnostic in analyze(resources, config):
        assert diagnostic.mandatory, diagnostic
        found.setdefault(diagnostic.policy, []).append(diagnostic.message)
    return found


def only(found: dict[str, list[str]], rule: str, *fragments: str) -> None:
    assert list(found) == [rule], found
    message = "\n".join(found[rule])
    for fragment in fragments:
        assert fragment in message, message


def _edit_json(key: str, edit: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(inputs: dict[str, Any]) -> None:
        document = json.loads(inputs[key])
        edit(document["Statement"][0])
        inputs[key] = json.dumps(document)

    return change


@pytest.fixture(scope="module")
def aws() -> ProgramRun:
    return recorded(("aws", "secretsManager", "irsa"), False)


@pytest.mark.parametrize(
    "edit, shown",
    [
        (lambda s: s.update(Action="secretsmanager:*"), "'secretsmanager:*'"),
        (lambda s: s.update(Resource="*"), "the resources ['*']"),
        (lambda s: s.update(Action="*"), "the actions ['*']"),
        (
            lambda s: s.update(Resource=["arn:aws:secretsmanager:eu-central-1:123456789012:secret:secretstore-*"]),
            "secretstore-*",
        ),
    ],
)
def test_a_wildcard_in_a_read_policy_fires_the_iam_rule(aws: ProgramRun, edit, shown: str):
    resources = broken(aws, "aws:iam/policy:Policy", _edit_json("policy", edit))
    only(
        fired(resources),
        "secrets-manager-read-without-wildcards",
        "secretstore-read-secret",
        shown,
        "secretsmanager:GetSecretValue",
    )


def test_an_inline_role_policy_with_a_wildcard_fires_the_iam_rule(aws: ProgramRun):
    wide = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:Get*", "Resource": "*"}]}
    )
    resources = broken(aws, "aws:iam/role:Role", lambda i: i.update(inlinePolicies=[{"name": "wide", "policy": wide}]))
    only(fired(resources), "secrets-manager-read-without-wildcards", "inline policy 'wide'")


@pytest.mark.parametrize(
    "edit, shown",
    [
        (lambda s: s["Condition"].update(StringLike=s["Condition"].pop("StringEquals")), "StringLike"),
        (
            lambda s: s["Condition"]["StringEquals"].update(
                {k: "system:serviceaccount:default:*" for k in s["Condition"]["StringEquals"] if k.endswith(":sub")}
            ),
            "system:serviceaccount:default:*",
        ),
        (
            lambda s: s["Condition"]["StringEquals"].update(
                {
                    k: ["system:serviceaccount:default:test", "system:serviceaccount:default:other"]
                    for k in s["Condition"]["StringEquals"]
                    if k.endswith(":sub")
                }
            ),
            "not to exactly one",
        ),
        (
            lambda s: [
                s["Condition"]["StringEquals"].pop(k)
                for k in list(s["Condition"]["StringEquals"])
                if k.endswith(":aud")
            ],
            "does not pin `:aud`",
        ),
    ],
)
def test_an_irsa_trust_that_is_not_one_service_account_fires_the_irsa_rule(aws: ProgramRun, edit, shown: str):
    resources = broken(aws, "aws:iam/role:Role", _edit_json("assumeRolePolicy", edit))
    only(fired(resources), "irsa-trust-pins-one-service-account", shown, "StringEquals")


@pytest.mark.parametrize("tag", ["kubernetes-namespace", "kubernetes-service-account", "eks-cluster-arn"])
def test_a_pod_identity_trust_without_a_session_tag_fires_its_rule(tag: str):
    run = recorded(("aws", "secretsManager", "podIdentity"), False)
    resources = broken(
        run,
        "aws:iam/role:Role",
        _edit_json("assumeRolePolicy", lambda s: s["Condition"]["StringEquals"].pop(f"aws:RequestTag/{tag}")),
    )
    only(fired(resources), "pod-identity-trust-pins-session-tags", tag)


@pytest.fixture(scope="module")
def managed() -> ProgramRun:
    return recorded(("azure", "keyVault", "managedIdentity"), False)


def test_key_vault_secrets_user_on_a_vault_fires_unless_the_knob_allows_it(managed: ProgramRun):
    (assignment,) = managed.of_type("azure-native:authorization:RoleAssignment")
    vault_id = assignment.inputs["scope"].rsplit("/secrets/", 1)[0]
    assert vault_id.endswith("/providers/Microsoft.KeyVault/vaults/secretstore-k3x9q2mz")
    resources = broken(managed, "azure-native:authorization:RoleAssignment", lambda i: i.update(scope=vault_id))
    only(fired(resources), "key-vault-secrets-user-per-secret", "reaches every secret", "/secrets/<secret>")
    assert fired(resources, {"key-vault-secrets-user-per-secret": {"allowVaultScope": True}}) == {}
    group = vault_id.split("/providers/")[0]
    wider = broken(managed, "azure-native:authorization:RoleAssignment", lambda i: i.update(scope=group))
    only(
        fired(wider, {"key-vault-secrets-user-per-secret": {"allowVaultScope": True}}),
        "key-vault-secrets-user-per-secret",
    )


@pytest.mark.parametrize(
    "combination, type_",
    [
        (
            ("azure", "keyVault", "application"),
            "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential",
        ),
        (("azure", "keyVault", "managedIdentity"), "azure-native:managedidentity:FederatedIdentityCredential"),
    ],
)
@pytest.mark.parametrize("subject", ["system:serviceaccount:default", "system:serviceaccount:default:*", "*"])
def test_a_federated_credential_for_more_than_one_service_account_fires_its_rule(combination, type_: str, subject: str):
    resources = broken(recorded(combination, False), type_, lambda i: i.update(subject=subject))
    only(
        fired(resources),
        "federated-credential-one-service-account",
        repr(subject),
        "system:serviceaccount:<namespace>:<name>",
    )


def test_another_federation_is_left_alone_only_when_the_knob_names_it(managed: ProgramRun):
    github = "repo:example/app:ref:refs/heads/main"
    resources = broken(
        managed, "azure-native:managedidentity:FederatedIdentityCredential", lambda i: i.update(subject=github)
    )
    only(fired(resources), "federated-credential-one-service-account")
    assert fired(resources, {"federated-credential-one-service-account": {"otherSubjectPrefixes": ["repo:"]}}) == {}


@pytest.fixture(scope="module")
def gcp() -> ProgramRun:
    return recorded(("gcp", "secretManager", "workloadIdentity"), False)


def _added(run: ProgramRun, type_: str, inputs: dict[str, Any]) -> list[Registered]:
    extra = Registered(
        type=type_, name="extra", urn=f"urn:pulumi:gcp-dev::{P}::{type_}::extra", id="extra", inputs=inputs, outputs={}
    )
    return [*run.resources, extra]


@pytest.mark.parametrize(
    "type_, inputs",
    [
        (
            "gcp:projects/iAMMember:IAMMember",
            {
                "project": "p-123456",
                "role": "roles/secretmanager.secretAccessor",
                "member": "serviceAccount:app@p-123456.iam.gserviceaccount.com",
            },
        ),
        (
            "gcp:projects/iAMBinding:IAMBinding",
            {
                "project": "p-123456",
                "role": "roles/secretmanager.secretAccessor",
                "members": ["group:apps@example.com"],
            },
        ),
        (
            "gcp:folder/iAMMember:IAMMember",
            {"folder": "folders/1", "role": "roles/secretmanager.secretAccessor", "member": "user:a@example.com"},
        ),
        (
            "gcp:projects/iAMPolicy:IAMPolicy",
            {
                "project": "p-123456",
                "policyData": json.dumps(
                    {"bindings": [{"role": "roles/secretmanager.secretAccessor", "members": ["user:a@example.com"]}]}
                ),
            },
        ),
    ],
)
def test_a_project_wide_accessor_grant_fires_its_rule(gcp: ProgramRun, type_: str, inputs: dict[str, Any]):
    only(fired(_added(gcp, type_, inputs)), "no-project-wide-secret-access", "on each secret (SecretIamMember)")


def test_another_project_role_is_not_the_rules_business(gcp: ProgramRun):
    inputs = {
        "project": "p-123456",
        "role": "roles/logging.logWriter",
        "member": "serviceAccount:n@p.iam.gserviceaccount.com",
    }
    assert fired(_added(gcp, "gcp:projects/iAMMember:IAMMember", inputs)) == {}


@pytest.mark.parametrize(
    "member",
    [
        "allUsers",
        "allAuthenticatedUsers",
        "principalSet://iam.googleapis.com/projects/428190753511/locations/global/workloadIdentityPools/"
        "secretstore-demo-4711.svc.id.goog/namespace/default",
        "serviceAccount:app@secretstore-demo-4711.iam.gserviceaccount.com",
    ],
)
def test_a_secret_grant_beyond_one_workload_principal_fires_its_rule(gcp: ProgramRun, member: str):
    resources = broken(gcp, "gcp:secretmanager/secretIamMember:SecretIamMember", lambda i: i.update(member=member))
    only(fired(resources), "secret-access-for-one-workload-principal", member)


def test_a_public_secret_binding_fires_whatever_the_role(gcp: ProgramRun):
    inputs = {"project": "p-123456", "secretId": "s", "role": "roles/secretmanager.viewer", "members": ["allUsers"]}
    only(
        fired(_added(gcp, "gcp:secretmanager/secretIamBinding:SecretIamBinding", inputs)),
        "secret-access-for-one-workload-principal",
        "never public",
    )


AUTHORIZED = "secretstore-demo-authorized"


def _pod(inputs: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = inputs["spec"]["template"]["spec"]
    return pod


@pytest.mark.parametrize(
    "edit, shown",
    [
        (lambda pod: pod["containers"][0]["volumeMounts"][0].update(readOnly=False), "without readOnly: true"),
        (lambda pod: pod["volumes"][0]["csi"].pop("readOnly"), "is not readOnly: true"),
        (lambda pod: pod["securityContext"].pop("runAsNonRoot"), "Running as Non-root"),
        (
            lambda pod: pod["containers"][0]["securityContext"].update(allowPrivilegeEscalation=True),
            "Privilege Escalation",
        ),
    ],
)
def test_a_csi_pod_that_is_writable_or_not_restricted_fires_its_rule(aws: ProgramRun, edit, shown: str):
    resources = broken(aws, "kubernetes:apps/v1:Deployment", lambda i: edit(_pod(i)), name=AUTHORIZED)
    only(fired(resources), "csi-pods-read-only-and-restricted", AUTHORIZED, shown)


def test_a_pod_without_the_csi_volume_is_not_the_rules_business(aws: ProgramRun):
    def edit(inputs: dict[str, Any]) -> None:
        pod = _pod(inputs)
        pod["volumes"] = []
        pod["containers"][0]["volumeMounts"] = []
        pod["securityContext"].pop("runAsNonRoot")

    assert fired(broken(aws, "kubernetes:apps/v1:Deployment", edit, name=AUTHORIZED)) == {}


@pytest.mark.parametrize("value", [1, True, ["a"], {"a": "b"}])
def test_a_parameter_that_is_not_a_string_fires_its_rule(aws: ProgramRun, value: Any):
    spc = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
    resources = broken(aws, spc, lambda i: i["spec"]["parameters"].update(region=value))
    only(fired(resources), "secret-provider-class-parameters-are-strings", "spec.parameters.region", "not a string")


@pytest.mark.parametrize("version", ["^1.6.0", "1.6.x", ">=1.6.0", "1", None, ""])
def test_a_chart_without_an_exact_version_fires_its_rule(aws: ProgramRun, version: str | None):
    def change(inputs: dict[str, Any]) -> None:
        inputs.pop("version")
        if version is not None:
            inputs["version"] = version

    resources = broken(aws, "kubernetes:helm.sh/v3:Release", change, name="secretstore-driver")
    only(fired(resources), "secrets-store-charts-pinned", "secrets-store-csi-driver", "Pin one exact version")


def test_another_chart_is_not_the_rules_business_unless_the_knob_names_it(aws: ProgramRun):
    resources = broken(
        aws,
        "kubernetes:helm.sh/v3:Release",
        lambda i: i.update(chart="ingress-nginx", version="^4"),
        name="secretstore-driver",
    )
    assert fired(resources) == {}
    only(
        fired(resources, {"secrets-store-charts-pinned": {"charts": ["ingress-nginx"]}}), "secrets-store-charts-pinned"
    )


# What the rules leave alone, and the knobs

LEAST_PRIVILEGE_EXTRAS = [
    # Secrets Manager accepts only "*" for these actions.
    {"Effect": "Allow", "Action": ["secretsmanager:ListSecrets", "secretsmanager:GetRandomPassword"], "Resource": "*"},
    # The random suffix of a secret's ARN, as AWS documents matching it.
    {
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:app/db-??????",
    },
    # Everything but Secrets Manager is not this rule's business.
    {"Effect": "Allow", "NotAction": "secretsmanager:*", "Resource": "arn:aws:s3:::bucket/key"},
    {"Effect": "Deny", "Action": "secretsmanager:*", "Resource": "*"},
]


@pytest.mark.parametrize("extra", LEAST_PRIVILEGE_EXTRAS)
def test_least_privilege_read_policies_pass(aws: ProgramRun, extra: dict[str, Any]):
    def change(inputs: dict[str, Any]) -> None:
        document = json.loads(inputs["policy"])
        document["Statement"].append(extra)
        inputs["policy"] = json.dumps(document)

    assert fired(broken(aws, "aws:iam/policy:Policy", change)) == {}


def test_not_action_that_leaves_secrets_manager_in_fires(aws: ProgramRun):
    def change(inputs: dict[str, Any]) -> None:
        document = json.loads(inputs["policy"])
        document["Statement"].append({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"})
        inputs["policy"] = json.dumps(document)

    only(fired(broken(aws, "aws:iam/policy:Policy", change)), "secrets-manager-read-without-wildcards", "NotAction")


def test_string_not_like_only_narrows_a_trust(aws: ProgramRun):
    edit = _edit_json(
        "assumeRolePolicy", lambda s: s["Condition"].update(StringNotLike={"aws:PrincipalTag/team": "contractors-*"})
    )
    assert fired(broken(aws, "aws:iam/role:Role", edit)) == {}


def test_another_oidc_federation_is_left_alone_only_when_the_knob_names_it(aws: ProgramRun):
    github = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Principal": {
                        "Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
                    },
                    "Condition": {
                        "StringEquals": {
                            "token.actions.githubusercontent.com:sub": "repo:example/app:ref:refs/heads/main",
                            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        }
    )
    resources = broken(aws, "aws:iam/role:Role", lambda i: i.update(assumeRolePolicy=github))
    only(fired(resources), "irsa-trust-pins-one-service-account", "repo:example/app")
    knob = {"irsa-trust-pins-one-service-account": {"otherIssuers": ["token.actions.githubusercontent.com"]}}
    assert fired(resources, knob) == {}


def test_a_versioned_azure_native_type_is_checked_too(managed: ProgramRun):
    (assignment,) = managed.of_type("azure-native:authorization:RoleAssignment")
    versioned = copy.deepcopy(assignment)
    versioned.type = "azure-native:authorization/v20220401:RoleAssignment"
    versioned.inputs = {**reveal(assignment.inputs), "scope": assignment.inputs["scope"].rsplit("/secrets/", 1)[0]}
    only(fired([versioned]), "key-vault-secrets-user-per-secret")


def test_other_read_roles_count_and_the_knob_says_which(gcp: ProgramRun):
    owner = {"project": "p-123456", "role": "roles/owner", "member": "user:a@example.com"}
    only(fired(_added(gcp, "gcp:projects/iAMMember:IAMMember", owner)), "no-project-wide-secret-access", "roles/owner")
    assert (
        fired(
            _added(gcp, "gcp:projects/iAMMember:IAMMember", owner), {"no-project-wide-secret-access": {"readRoles": []}}
        )
        == {}
    )
    admin = broken(
        gcp,
        "gcp:secretmanager/secretIamMember:SecretIamMember",
        lambda i: i.update(role="roles/secretmanager.admin", member="user:a@example.com"),
    )
    only(fired(admin), "secret-access-for-one-workload-principal", "roles/secretmanager.admin")


def test_a_chart_from_disk_is_left_alone_and_the_knob_can_empty_the_list(aws: ProgramRun):
    local = broken(
        aws,
        "kubernetes:helm.sh/v3:Release",
        lambda i: i.update(chart="./charts/secrets-store-csi-driver-provider-gcp", version="^0"),
        name="secretstore-driver",
    )
    assert fired(local) == {}
    ranged = broken(aws, "kubernetes:helm.sh/v3:Release", lambda i: i.update(version="^1"), name="secretstore-driver")
    assert fired(ranged, {"secrets-store-charts-pinned": {"charts": []}}) == {}


@pytest.mark.parametrize(
    "edit, shown",
    [
        (lambda pod: pod["securityContext"].update(seLinuxOptions={"type": "spc_t"}), "SELinux"),
        (
            lambda pod: pod["containers"][0]["securityContext"].update(appArmorProfile={"type": "Unconfined"}),
            "AppArmor",
        ),
        (lambda pod: pod["securityContext"].update(windowsOptions={"hostProcess": True}), "HostProcess"),
        (
            lambda pod: pod.update(ephemeralContainers=[{"name": "debug", "image": f"busybox@sha256:{'0' * 64}"}]),
            "debug",
        ),
    ],
)
def test_every_restricted_control_counts(aws: ProgramRun, edit, shown: str):
    resources = broken(aws, "kubernetes:apps/v1:Deployment", lambda i: edit(_pod(i)), name=AUTHORIZED)
    only(fired(resources), "csi-pods-read-only-and-restricted", shown)


# Inputs of any shape: a violation or nothing, never a crash that stops the preview

ODD_VALUES = [None, 1, True, "text", [], {}, [None], {"a": None}]


def _odd_inputs() -> list[tuple[str, dict[str, Any]]]:
    types = sorted({t for policy in policies.POLICIES for t in policy_types(policy)})
    keys = [
        "policy",
        "assumeRolePolicy",
        "inlinePolicies",
        "scope",
        "roleDefinitionId",
        "subject",
        "role",
        "member",
        "members",
        "policyData",
        "spec",
        "chart",
        "version",
    ]
    cases = [(t, {key: value}) for t in types for key in keys for value in ODD_VALUES]
    statement_shapes = [
        {"Statement": s}
        for s in (
            None,
            "x",
            [None],
            [{"Effect": "Allow", "Condition": "x", "Principal": "*", "Action": None}],
            [{"Effect": "Allow", "NotAction": None}],
        )
    ]
    cases += [("aws:iam/role:Role", {"assumeRolePolicy": json.dumps(d)}) for d in statement_shapes]
    cases += [("aws:iam/policy:Policy", {"policy": json.dumps(d)}) for d in statement_shapes]
    pods = [
        {"volumes": v, "containers": c}
        for v in (None, [None], [{"csi": None}], [{"csi": {"driver": "secrets-store.csi.k8s.io"}}])
        for c in (None, [None], [{"volumeMounts": None, "securityContext": {"capabilities": {"drop": None}}}])
    ]
    cases += [("kubernetes:core/v1:Pod", {"spec": pod}) for pod in pods]
    cases += [("kubernetes:apps/v1:Deployment", {"spec": {"template": {"spec": pod}}}) for pod in pods]
    return cases


def policy_types(policy: Any) -> tuple[str, ...]:
    types: tuple[str, ...] = policies.POLICY_TYPES[policy.name]
    return types


def test_inputs_of_any_shape_never_crash_the_pack():
    cases = _odd_inputs()
    assert len(cases) > 1000
    resources = [
        Registered(type=t, name=f"odd-{i}", urn=f"urn:pulumi:s::p::{t}::odd-{i}", id="", inputs=inputs, outputs={})
        for i, (t, inputs) in enumerate(cases)
    ]
    analyze(resources)  # raises on a crash


# Every rule, once more: this table must hold a break for each, and each must fire


def _representative_breaks() -> dict[str, Callable[[], list[Registered]]]:
    aws_run, gcp_run = (
        recorded(("aws", "secretsManager", "irsa"), False),
        recorded(("gcp", "secretManager", "workloadIdentity"), False),
    )
    pod_run = recorded(("aws", "secretsManager", "podIdentity"), False)
    managed_run = recorded(("azure", "keyVault", "managedIdentity"), False)
    vault_run = external_vault()
    return {
        "secrets-manager-read-without-wildcards": lambda: broken(
            aws_run, "aws:iam/policy:Policy", _edit_json("policy", lambda s: s.update(Resource="*"))
        ),
        "irsa-trust-pins-one-service-account": lambda: broken(
            aws_run, "aws:iam/role:Role", _edit_json("assumeRolePolicy", lambda s: s.pop("Condition"))
        ),
        "pod-identity-trust-pins-session-tags": lambda: broken(
            pod_run, "aws:iam/role:Role", _edit_json("assumeRolePolicy", lambda s: s.pop("Condition"))
        ),
        "key-vault-secrets-user-per-secret": lambda: broken(
            managed_run, "azure-native:authorization:RoleAssignment", lambda i: i.update(scope="/subscriptions/x")
        ),
        "federated-credential-one-service-account": lambda: broken(
            managed_run, "azure-native:managedidentity:FederatedIdentityCredential", lambda i: i.update(subject="*")
        ),
        "no-project-wide-secret-access": lambda: _added(
            gcp_run,
            "gcp:projects/iAMMember:IAMMember",
            {"project": "p-123456", "role": "roles/secretmanager.secretAccessor", "member": "user:a@b.c"},
        ),
        "secret-access-for-one-workload-principal": lambda: broken(
            gcp_run, "gcp:secretmanager/secretIamMember:SecretIamMember", lambda i: i.update(member="allUsers")
        ),
        "csi-pods-read-only-and-restricted": lambda: broken(
            aws_run,
            "kubernetes:apps/v1:Deployment",
            lambda i: _pod(i)["volumes"][0]["csi"].pop("readOnly"),
            name=AUTHORIZED,
        ),
        "secret-provider-class-parameters-are-strings": lambda: broken(
            aws_run,
            "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass",
            lambda i: i["spec"]["parameters"].update(region=1),
        ),
        "secrets-store-charts-pinned": lambda: broken(
            aws_run, "kubernetes:helm.sh/v3:Release", lambda i: i.pop("version"), name="secretstore-driver"
        ),
        "no-aws-managed-policy-reads-secrets": lambda: broken(
            aws_run,
            "aws:iam/role:Role",
            lambda i: i.update(managedPolicyArns=["arn:aws:iam::aws:policy/SecretsManagerReadWrite"]),
        ),
        "no-trust-in-a-whole-account": lambda: _added(
            aws_run,
            "aws:iam/role:Role",
            {
                "assumeRolePolicy": json.dumps(
                    {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                "Action": "sts:AssumeRole",
                            }
                        ]
                    }
                )
            },
        ),
        "no-principal-for-default": lambda: broken(
            pod_run,
            "aws:eks/podIdentityAssociation:PodIdentityAssociation",
            lambda i: i.update(serviceAccount="default"),
        ),
        "key-vault-reads-secrets-only": lambda: _added(
            managed_run,
            "azure-native:keyvault:AccessPolicy",
            {"policy": {"objectId": "x", "permissions": {"keys": ["get"]}}},
        ),
        "federated-credential-aks-issuer-and-audience": lambda: broken(
            managed_run,
            "azure-native:managedidentity:FederatedIdentityCredential",
            lambda i: i.update(audiences=["api://other"]),
        ),
        "no-vault-dev-mode": lambda: recorded(("kubernetes", "vault", "kubernetesAuth"), False).resources,
        "no-token-creating-rbac": lambda: _added(
            aws_run,
            "kubernetes:rbac.authorization.k8s.io/v1:Role",
            {
                "metadata": {"name": "r"},
                "rules": [{"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}],
            },
        ),
        "images-pinned-by-digest": lambda: broken(
            gcp_run,
            "kubernetes:apps/v1:DaemonSet",
            lambda i: i["spec"]["template"]["spec"]["initContainers"][0].update(image="busybox"),
        ),
        "namespaces-restricted": lambda: broken(
            aws_run, "kubernetes:core/v1:Namespace", lambda i: i["metadata"].update(labels={})
        ),
        "identity-binding-role-one-identity": lambda: _added(
            aws_run,
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
            {
                "metadata": {"name": "r"},
                "rules": [
                    {"apiGroups": ["cid.wi.aks.azure.com"], "resources": ["*"], "verbs": ["use-managed-identity"]}
                ],
            },
        ),
        "vault-role-one-service-account": lambda: broken(
            vault_run,
            "vault:kubernetes/authBackendRole:AuthBackendRole",
            lambda i: i.update(boundServiceAccountNames=["*"]),
            name="payments-vault-role",
        ),
        "vault-policy-without-globs": lambda: broken(
            vault_run,
            "vault:index/policy:Policy",
            lambda i: i.update(policy='path "secret/data/*" {\n  capabilities = ["read"]\n}\n'),
            name="payments-vault-policy",
        ),
    }


# The rules of the security review's categories, each on a copy broken its way


def _trust(run: ProgramRun, edit: Callable[[dict[str, Any]], None]) -> list[Registered]:
    return broken(run, "aws:iam/role:Role", _edit_json("assumeRolePolicy", edit))


def test_a_pod_identity_trust_without_its_account_fires_its_rule():
    run = recorded(("aws", "secretsManager", "podIdentity"), False)
    resources = _trust(run, lambda s: s["Condition"]["StringEquals"].pop("aws:SourceAccount"))
    only(fired(resources), "pod-identity-trust-pins-session-tags", "aws:SourceAccount")


@pytest.mark.parametrize(
    "type_, inputs, shown",
    [
        (
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            {
                "role": "secretstore-secret-reader-1a2b3c4",
                "policyArn": "arn:aws:iam::aws:policy/SecretsManagerReadWrite",
            },
            "SecretsManagerReadWrite",
        ),
        (
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            {"role": "secretstore-secret-reader-1a2b3c4", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
            "AdministratorAccess",
        ),
    ],
)
def test_an_aws_managed_policy_that_reads_secrets_fires_its_rule(aws: ProgramRun, type_: str, inputs, shown: str):
    only(fired(_added(aws, type_, inputs)), "no-aws-managed-policy-reads-secrets", shown)


def test_any_aws_managed_policy_on_a_workloads_role_fires_and_the_knob_lists_the_readers(aws: ProgramRun):
    readonly = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    resources = broken(aws, "aws:iam/role:Role", lambda i: i.update(managedPolicyArns=[readonly]))
    only(fired(resources), "no-aws-managed-policy-reads-secrets", "ReadOnlyAccess")
    # Elsewhere, only the listed readers count: a node role's worker policy is not one.
    node = {"role": "nodes", "policyArn": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"}
    assert fired(_added(aws, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", node)) == {}
    ops = {"role": "ops", "policyArn": "arn:aws:iam::aws:policy/PowerUserAccess"}
    assert (
        fired(
            _added(aws, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", ops),
            {"no-aws-managed-policy-reads-secrets": {"secretReadingPolicies": []}},
        )
        == {}
    )


@pytest.mark.parametrize(
    "principal", [{"AWS": "arn:aws:iam::123456789012:root"}, {"AWS": "123456789012"}, {"AWS": "*"}, "*"]
)
def test_a_trust_in_a_whole_account_fires_its_rule_and_the_knob_names_accounts(aws: ProgramRun, principal):
    def edit(statement: dict[str, Any]) -> None:
        statement.update(Principal=principal, Action="sts:AssumeRole")
        statement.pop("Condition")

    found = fired(_trust(aws, edit))
    assert "no-trust-in-a-whole-account" in found, found
    if principal != "*" and principal != {"AWS": "*"}:
        knob = {"no-trust-in-a-whole-account": {"trustedAccounts": ["123456789012"]}}
        assert "no-trust-in-a-whole-account" not in fired(_trust(aws, edit), knob)


@pytest.mark.parametrize(
    "combination, type_, edit",
    [
        (
            ("aws", "secretsManager", "irsa"),
            "aws:iam/role:Role",
            _edit_json(
                "assumeRolePolicy",
                lambda s: s["Condition"]["StringEquals"].update(
                    {
                        k: "system:serviceaccount:shop:default"
                        for k in s["Condition"]["StringEquals"]
                        if k.endswith(":sub")
                    }
                ),
            ),
        ),
        (
            ("aws", "secretsManager", "podIdentity"),
            "aws:eks/podIdentityAssociation:PodIdentityAssociation",
            lambda i: i.update(serviceAccount="default"),
        ),
        (
            ("azure", "keyVault", "managedIdentity"),
            "azure-native:managedidentity:FederatedIdentityCredential",
            lambda i: i.update(subject="system:serviceaccount:shop:default"),
        ),
        (
            ("gcp", "secretManager", "workloadIdentity"),
            "gcp:secretmanager/secretIamMember:SecretIamMember",
            lambda i: i.update(member=re.sub(r"/sa/[^/]+$", "/sa/default", i["member"])),
        ),
    ],
)
def test_a_principal_for_the_default_service_account_fires_its_rule(combination, type_: str, edit):
    resources = broken(recorded(combination, False), type_, edit)
    only(fired(resources), "no-principal-for-default", "the service account `default`")


def test_a_gke_principal_in_namespace_default_fires_unless_a_kept_stack_allows_it():
    run = recorded(("gcp", "secretManager", "workloadIdentity"), False)
    resources = broken(
        run,
        "gcp:secretmanager/secretIamMember:SecretIamMember",
        lambda i: i.update(member=re.sub(r"/ns/[^/]+/", "/ns/default/", i["member"])),
    )
    only(fired(resources), "no-principal-for-default", "one principal for the whole project")
    assert fired(resources, {"no-principal-for-default": {"allowDefaultNamespace": True}}) == {}


@pytest.mark.parametrize(
    "permissions",
    [
        {"secrets": ["get"], "keys": ["get"]},
        {"secrets": ["get", "list"]},
        {"secrets": ["all"]},
        {"secrets": ["get"], "certificates": ["get"]},
    ],
)
def test_an_access_policy_beyond_secrets_get_fires_its_rule(permissions):
    run = recorded(("azure", "keyVault", "application"), False)
    resources = broken(
        run,
        "azure-native:keyvault:Vault",
        lambda i: i["properties"]["accessPolicies"][0].update(permissions=permissions),
    )
    only(fired(resources), "key-vault-reads-secrets-only", "secrets `get` and nothing else")


@pytest.mark.parametrize("role", ["b86a8fe4-44ce-4948-aee5-eccb2c155cd7", "00482a5a-887f-4fb3-b363-3b7fe8e74483"])
def test_another_key_vault_role_that_reads_secrets_fires_its_rule(managed: ProgramRun, role: str):
    def edit(inputs: dict[str, Any]) -> None:
        inputs["roleDefinitionId"] = inputs["roleDefinitionId"].rsplit("/", 1)[0] + "/" + role

    only(fired(broken(managed, "azure-native:authorization:RoleAssignment", edit)), "key-vault-reads-secrets-only")


@pytest.mark.parametrize(
    "edit, shown",
    [
        (lambda i: i.update(issuer="https://token.actions.githubusercontent.com"), "not an AKS cluster's OIDC issuer"),
        (lambda i: i.update(audiences=["api://AzureADTokenExchange", "sts.amazonaws.com"]), "not exactly"),
        (lambda i: i.update(audiences=["api://other"]), "not exactly"),
    ],
)
def test_a_federated_credential_with_another_issuer_or_audience_fires_its_rule(managed: ProgramRun, edit, shown: str):
    resources = broken(managed, "azure-native:managedidentity:FederatedIdentityCredential", edit)
    only(fired(resources), "federated-credential-aks-issuer-and-audience", shown)


def test_another_issuer_is_allowed_when_the_knob_names_it(managed: ProgramRun):
    issuer = "https://oidc.example.com/cluster/"
    resources = broken(
        managed, "azure-native:managedidentity:FederatedIdentityCredential", lambda i: i.update(issuer=issuer)
    )
    assert fired(resources, {"federated-credential-aks-issuer-and-audience": {"issuers": [issuer]}}) == {}


@pytest.mark.parametrize(
    "rule",
    [
        {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
    ],
)
def test_rbac_that_creates_tokens_fires_its_rule_and_the_knob_names_roles(gcp: ProgramRun, rule):
    kind = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
    resources = broken(gcp, kind, lambda i: i["rules"].append(rule))
    found = fired(resources)
    # A rule for everything also lets its subjects use every managed identity bound to the cluster.
    everything = rule["apiGroups"] == ["*"]
    expected = {"no-token-creating-rbac", *(["identity-binding-role-one-identity"] if everything else [])}
    assert set(found) == expected, found
    assert "create tokens for any service account of the cluster" in "\n".join(found["no-token-creating-rbac"])
    name = next(r for r in gcp.of_type(kind)).inputs["metadata"]["name"]
    knob = fired(resources, {"no-token-creating-rbac": {"allowedRoles": [name]}})
    assert set(knob) == expected - {"no-token-creating-rbac"}


@pytest.mark.parametrize("image", ["busybox", "busybox:1.37.0", "hashicorp/vault:2.0.4"])
def test_an_image_without_a_digest_fires_its_rule(gcp: ProgramRun, image: str):
    kind = "kubernetes:apps/v1:DaemonSet"
    resources = broken(gcp, kind, lambda i: i["spec"]["template"]["spec"]["initContainers"][0].update(image=image))
    only(fired(resources), "images-pinned-by-digest", repr(image))
    assert fired(resources, {"images-pinned-by-digest": {"allowedImages": [*policies.UNPINNED_BY_NEED, image]}}) == {}


def test_the_demo_image_is_allowed_by_the_default_knob_only(aws: ProgramRun):
    # No public source gives the demo image's digest; an empty knob shows it unpinned.
    only(
        fired(aws.resources, {"images-pinned-by-digest": {"allowedImages": []}}),
        "images-pinned-by-digest",
        "ghcr.io/dirien/hello-server/hello-server:latest",
    )


@pytest.mark.parametrize("labels", [{}, {"pod-security.kubernetes.io/enforce": "baseline"}])
def test_a_namespace_below_restricted_fires_its_rule(aws: ProgramRun, labels):
    resources = broken(aws, "kubernetes:core/v1:Namespace", lambda i: i["metadata"].update(labels=labels))
    only(fired(resources), "namespaces-restricted", "secretstore-aws-dev")
    assert fired(resources, {"namespaces-restricted": {"exemptNamespaces": ["secretstore-aws-dev"]}}) == {}


def test_a_csi_pod_in_namespace_default_fires_its_rule(aws: ProgramRun):
    resources = broken(
        aws, "kubernetes:apps/v1:Deployment", lambda i: i["metadata"].update(namespace="default"), name=AUTHORIZED
    )
    only(fired(resources), "namespaces-restricted", "namespace `default`")


def test_each_rule_has_a_break_that_fires_it_alone():
    breaks = _representative_breaks()
    assert set(breaks) == {policy.name for policy in policies.POLICIES}
    for rule, make in breaks.items():
        assert list(fired(make())) == [rule], rule


# The pack as the CLI runs it


def test_the_pack_is_laid_out_as_the_cli_expects():
    manifest = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}
    pins = dict(
        line.split("==")
        for line in (PACK / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(pins) >= {"pulumi-policy", "pulumi"}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [
        *project["dependencies"],
        *(r for extra in project["optional-dependencies"].values() for r in extra),
    ]
    program = dict(requirement.split("==") for requirement in requirements)
    for package, version in pins.items():
        assert re.fullmatch(r"[0-9]+(\.[0-9]+)+", version)
        if package in program:
            assert program[package] == version, package
    tree = ast.parse((PACK / "__main__.py").read_text())
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    assert [ast.unparse(call.func) for call in calls] == ["PolicyPack"]


def test_every_rule_is_mandatory_and_every_knob_has_a_default():
    assert len(policies.POLICIES) == 22
    assert len({p.name for p in policies.POLICIES}) == 22
    for policy in policies.POLICIES:
        assert policy.enforcement_level is not None and policy.enforcement_level.value == "mandatory", policy.name
        for knob, schema in (policy.config_schema.properties if policy.config_schema else {}).items():
            assert "default" in schema, (policy.name, knob)


@pytest.fixture(scope="module")
def pack_server() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """policy/__main__.py, started as the CLI starts a pack: it prints its port and serves."""
    process = subprocess.Popen([sys.executable, "-u", "__main__.py"], cwd=PACK, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.kill()
        process.wait()


def test_the_pack_serves_its_rules_as_mandatory(pack_server: analyzer_pb2_grpc.AnalyzerStub):
    info = pack_server.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "secretstore-csi-guardrails"
    assert {p.name for p in info.policies} == {p.name for p in policies.POLICIES}
    assert {p.enforcementLevel for p in info.policies} == {analyzer_pb2.MANDATORY}


def test_the_pack_reports_a_violation_over_grpc(pack_server: analyzer_pb2_grpc.AnalyzerStub, aws: ProgramRun):
    resources = broken(aws, "aws:iam/policy:Policy", _edit_json("policy", lambda s: s.update(Resource="*")))
    (policy,) = [r for r in resources if r.type == "aws:iam/policy:Policy"]
    properties = struct_pb2.Struct()
    json_format.ParseDict(policy.inputs, properties)
    response = pack_server.Analyze(
        analyzer_pb2.AnalyzeRequest(type=policy.type, properties=properties, urn=policy.urn, name=policy.name)
    )
    (diagnostic,) = response.diagnostics
    assert diagnostic.policyName == "secrets-manager-read-without-wildcards"
    assert diagnostic.enforcementLevel == analyzer_pb2.MANDATORY
    assert "the resources ['*']" in diagnostic.message

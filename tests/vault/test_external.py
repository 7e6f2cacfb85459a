"""A Vault of your own (`vaultAddress`): configured only through pulumi-vault, with no server,
no dev mode and no Job in the cluster; the Kubernetes auth of the stack's own mount checks
this cluster's tokens through a reviewer that may only review them; each workload's role is
bound to exactly its service account, namespace and audience, and its policy reads exactly
its paths; the token comes from `vault:token` as a secret, or the environment."""

from __future__ import annotations

import base64
import copy
import hashlib
import inspect
import json
import re
from typing import Any

import pulumi_vault
import pytest
import yaml

from tests.authorities import validate_kubernetes_objects
from tests.harness import (
    KUBE_ROOT_CA,
    REVIEWER_JWT,
    OidcIssuer,
    ProgramRun,
    Registered,
    config_problems,
    reveal,
    run_combination,
    run_program,
    unsecret,
)
from tests.isolation import SPC, isolation_problems, owner
from tests.policy_pack import analyze
from tests.test_isolation import WORKLOADS

P = "secretstore-csi"
ADDRESS = "https://vault.example.com:8200"
HOST = "https://203.0.113.10:6443"
# The framing and base64 of a certificate: what the config check looks at.
CA = f"-----BEGIN CERTIFICATE-----\n{base64.b64encode(b'vault-ca-der').decode()}\n-----END CERTIFICATE-----\n"
EXTERNAL = {f"{P}:vaultAddress": ADDRESS, f"{P}:vaultKubernetesHost": HOST, f"{P}:vaultCaCert": CA}
TOKEN = {"vault:token": "hvs.CAESIJ-example-token"}
# The stack in the names it gives things in the Vault: its name and a digest of
# organization/project/stack.
STACK_ID = "local-dev-" + hashlib.sha256(b"organization/secretstore-csi/local-dev").hexdigest()[:8]
MOUNT = f"secretstore-{STACK_ID}"


def _run(**set_: str) -> ProgramRun:
    return run_program("local-dev", set_={**EXTERNAL, f"{P}:workloads": json.dumps(WORKLOADS), **set_}, secrets=TOKEN)


@pytest.fixture(scope="module")
def external() -> ProgramRun:
    return _run()


def _one(run: ProgramRun, type_: str, name: str | None = None) -> dict[str, Any]:
    return dict(reveal(run.one(type_, name).inputs))


def test_no_vault_runs_in_the_cluster_and_nothing_is_configured_by_a_job(external: ProgramRun):
    types = {r.type for r in external.resources}
    assert "kubernetes:batch/v1:Job" not in types and "kubernetes:apps/v1:StatefulSet" not in types
    charts = [reveal(r.inputs)["chart"] for r in external.of_type("kubernetes:helm.sh/v3:Release")]
    assert charts == ["secrets-store-csi-driver"]
    # The policy pack's dev-mode rule runs with its default: dev mode refused.
    assert analyze(external.resources) == []
    assert validate_kubernetes_objects(external) >= 12


def test_isolation_holds_with_what_pulumi_vault_writes(external: ProgramRun):
    assert isolation_problems(external) == []
    assert len(external.of_type("vault:kubernetes/authBackendRole:AuthBackendRole")) == 3


def test_the_provider_takes_the_address_and_the_token_as_a_secret(external: ProgramRun):
    (provider,) = external.of_type("pulumi:providers:vault")
    assert provider.inputs["address"] == ADDRESS
    assert unsecret(provider.inputs["token"]) == (TOKEN["vault:token"], True)
    for resource in external.resources:
        if resource.type.startswith("vault:"):
            assert resource.provider.startswith(provider.urn), resource.name


def test_without_vault_token_the_provider_reads_the_environment():
    run = run_program("local-dev", set_=EXTERNAL)
    (provider,) = run.of_type("pulumi:providers:vault")
    assert "token" not in provider.inputs


def test_the_kubernetes_auth_checks_this_clusters_tokens_through_a_reviewer(external: ProgramRun):
    assert _one(external, "vault:index/authBackend:AuthBackend") == {
        "type": "kubernetes",
        "path": MOUNT,
        "description": "Service accounts of the cluster of secretstore-csi stack organization/secretstore-csi/local-dev",
    }
    config = external.one("vault:kubernetes/authBackendConfig:AuthBackendConfig").inputs
    assert unsecret(config["tokenReviewerJwt"]) == (REVIEWER_JWT, True)
    assert {k: v for k, v in reveal(config).items() if k != "tokenReviewerJwt"} == {
        "backend": MOUNT,
        "kubernetesHost": HOST,
        # Not given: the cluster's own, from kube-root-ca.crt.
        "kubernetesCaCert": KUBE_ROOT_CA,
        "disableLocalCaJwt": True,
    }
    (role,) = external.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
    assert reveal(role.inputs)["rules"] == [
        {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]}
    ]
    (binding,) = external.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
    assert reveal(binding.inputs)["roleRef"]["name"] == reveal(role.inputs)["metadata"]["name"]
    assert reveal(binding.inputs)["subjects"] == [
        {"kind": "ServiceAccount", "name": "vault-token-reviewer", "namespace": "vault"}
    ]
    token = next(
        r
        for r in external.of_type("kubernetes:core/v1:Secret")
        if reveal(r.inputs).get("type") == "kubernetes.io/service-account-token"
    )
    assert reveal(token.inputs)["metadata"]["annotations"] == {
        "kubernetes.io/service-account.name": "vault-token-reviewer"
    }


def test_each_role_binds_exactly_one_service_account_and_reads_exactly_its_paths(external: ProgramRun):
    role = _one(external, "vault:kubernetes/authBackendRole:AuthBackendRole", "payments-vault-role")
    assert role == {
        "backend": MOUNT,
        "roleName": "payments",
        "boundServiceAccountNames": ["payments-api"],
        "boundServiceAccountNamespaces": ["shop"],
        "audience": "vault",
        "tokenPolicies": [f"secretstore-{STACK_ID}-payments"],
        "tokenTtl": 1200,
    }
    policy = _one(external, "vault:index/policy:Policy", "payments-vault-policy")
    root = f"secret/data/secretstore/{STACK_ID}/shop/payments"
    assert policy == {
        "name": f"secretstore-{STACK_ID}-payments",
        "policy": f'path "{root}/db" {{\n  capabilities = ["read"]\n}}\n'
        f'path "{root}/api-token" {{\n  capabilities = ["read"]\n}}\n',
    }


def test_the_secrets_the_stack_makes_are_kv_v2_secrets_with_secret_values(external: ProgramRun):
    secret = external.one("vault:kv/secretV2:SecretV2", "payments-db-vault-secret")
    value, hidden = unsecret(secret.inputs["dataJson"])
    assert hidden
    assert set(json.loads(value)) == {"json", "username", "password"}
    assert reveal(secret.inputs)["mount"] == "secret"
    assert reveal(secret.inputs)["name"] == f"secretstore/{STACK_ID}/shop/payments/db"
    assert run_depends_on_mount(external, secret)


def run_depends_on_mount(run: ProgramRun, resource: Registered) -> bool:
    """Whether `resource` is written only once the stack's auth mount exists."""
    return run.depends_on_transitively(resource, run.one("vault:index/authBackend:AuthBackend"))


def test_nothing_is_written_before_the_mount_is_the_stacks(external: ProgramRun):
    for type_ in (
        "vault:index/policy:Policy",
        "vault:kv/secretV2:SecretV2",
        "vault:kubernetes/authBackendRole:AuthBackendRole",
    ):
        for resource in external.of_type(type_):
            assert run_depends_on_mount(external, resource), resource.name


def test_the_secret_provider_class_uses_the_external_address_mount_and_ca(external: ProgramRun):
    spc = reveal(next(r for r in external.of_type(SPC) if owner(external, r) == "payments").inputs)["spec"]
    parameters = spc["parameters"]
    assert {k: v for k, v in parameters.items() if k != "objects"} == {
        "audience": "vault",
        "vaultAddress": ADDRESS,
        "vaultAuthMountPath": MOUNT,
        "vaultCACertPath": "/vault/tls/ca.crt",
        "roleName": "payments",
    }
    assert [o["secretPath"] for o in yaml.safe_load(parameters["objects"])][0] == (
        f"secret/data/secretstore/{STACK_ID}/shop/payments/db"
    )


def test_the_csi_provider_trusts_the_ca_in_both_containers(external: ProgramRun):
    objects = external.kubernetes_objects()
    (config_map,) = [
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "vault-csi-provider-vault-ca"
    ]
    assert config_map["data"] == {"ca.crt": CA}
    (agent_config,) = [
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "vault-csi-provider-agent-config"
    ]
    assert f'"address" = "{ADDRESS}"' in agent_config["data"]["config.hcl"]
    assert '"ca_cert" = "/vault/tls/ca.crt"' in agent_config["data"]["config.hcl"]
    (daemonset,) = [o for o in objects if o["kind"] == "DaemonSet"]
    for container in daemonset["spec"]["template"]["spec"]["containers"]:
        assert {"name": "vault-ca", "mountPath": "/vault/tls", "readOnly": True} in container["volumeMounts"]


def test_on_a_cloud_cluster_vault_reaches_the_api_server_of_the_kubeconfig(oidc_issuer: OidcIssuer):
    run = run_combination(
        "aws", "vault", "kubernetesAuth", set_={f"{P}:vaultAddress": ADDRESS}, remove=(f"{P}:vaultDevMode",)
    )
    config = reveal(run.one("vault:kubernetes/authBackendConfig:AuthBackendConfig").inputs)
    assert config["kubernetesHost"] == "https://EXAMPLE.gr7.eu-central-1.eks.amazonaws.com"
    assert "vaultCACertPath" not in reveal(run.one(SPC).inputs)["spec"]["parameters"]


def _sdk_inputs(resource: Registered) -> set[str]:
    """The inputs the installed pulumi-vault takes for the resource's type, camelCased."""
    classes = [
        cls
        for module in (pulumi_vault, pulumi_vault.kubernetes, pulumi_vault.kv)
        for cls in vars(module).values()
        if inspect.isclass(cls) and getattr(cls, "pulumi_type", None) == resource.type
    ]
    assert len(classes) == 1, resource.type
    names = list(inspect.signature(classes[0]._internal_init).parameters)[2:-1]
    return {re.sub(r"_([a-z])", lambda m: m[1].upper(), name) for name in names}


def test_every_input_is_one_the_installed_sdk_takes(external: ProgramRun):
    checked = [r for r in external.resources if r.type.startswith("vault:")]
    assert len(checked) >= 10
    for resource in checked:
        assert set(resource.inputs) <= _sdk_inputs(resource), resource.type
    broken = Registered(**{**vars(checked[0]), "inputs": {**checked[0].inputs, "tokenTtlSeconds": 1}})
    assert not set(broken.inputs) <= _sdk_inputs(broken)


@pytest.mark.parametrize(
    "set_, secrets, expected",
    [
        (
            {f"{P}:vaultDevMode": "true"},
            TOKEN,
            [
                f"{P}:vaultDevMode runs Vault in the cluster, and {P}:vaultAddress names a Vault outside it: remove "
                "vaultDevMode"
            ],
        ),
        (
            {f"{P}:vaultKubernetesHost": None},
            TOKEN,
            [
                f"{P}:vaultKubernetesHost is not set: expected the https:// URL at which the Vault at {ADDRESS} reaches "
                "this cluster's API server (for TokenReviews); a local cluster's own kubeconfig names an address that "
                "only this machine reaches"
            ],
        ),
        (
            {f"{P}:vaultAddress": "http://vault.example.com:8200"},
            TOKEN,
            [
                f"{P}:vaultAddress = 'http://vault.example.com:8200': expected the https:// URL of a Vault of your own, "
                "such as https://vault.example.com:8200: no path, query or credentials"
            ],
        ),
        (
            {f"{P}:vaultCaCert": "not a certificate"},
            TOKEN,
            [
                f"{P}:vaultCaCert = 'not a certificate': expected one or more PEM certificates (-----BEGIN "
                "CERTIFICATE----- ... -----END CERTIFICATE-----) and nothing else: set it with `pulumi config set "
                f'{P}:vaultCaCert -- "$(cat ca.pem)"`'
            ],
        ),
        (
            {f"{P}:vaultAuthMount": "auth/kubernetes"},
            TOKEN,
            [
                f"{P}:vaultAuthMount = 'auth/kubernetes': expected a Vault mount path: 1-4 parts of letters, digits, "
                "'-', '_' or '.', separated by '/', each starting with a letter, digit, '-' or '_'; not Vault's own "
                "(sys, auth, identity, cubbyhole)"
            ],
        ),
    ],
)
def test_what_cannot_reach_or_trust_the_vault_is_refused(
    set_: dict[str, Any], secrets: dict[str, str], expected: list[str]
):
    config = {**EXTERNAL, **{k: v for k, v in set_.items() if v is not None}}
    remove = tuple(k for k, v in set_.items() if v is None)
    changed = {k: v for k, v in config.items() if k not in remove}
    assert config_problems("local-dev", set_=changed, secrets=secrets) == expected


def test_a_plain_text_token_and_keys_without_an_address_are_refused():
    assert config_problems("local-dev", set_={**EXTERNAL, "vault:token": "hvs.plain"}) == [
        "vault:token is stored in plain text in the stack file: remove it and run `pulumi config set --secret "
        "vault:token <token>`, or leave it unset and give pulumi-vault VAULT_TOKEN"
    ]
    assert config_problems("local-dev", set_={f"{P}:vaultKvMount": "kv", f"{P}:vaultKubernetesHost": HOST}) == [
        f"{P}:vaultKubernetesHost, {P}:vaultKvMount: configure a Vault outside the cluster, and {P}:vaultAddress "
        "is not set: set it, or remove them"
    ]


def test_an_existing_secret_is_read_not_written():
    listed = [
        {
            "name": "payments",
            "secrets": [{"name": "db", "keys": ["user"], "existing": "kv/data/team/db"}, {"name": "api-token"}],
        }
    ]
    run = run_program("local-dev", set_={**EXTERNAL, f"{P}:workloads": json.dumps(listed)}, secrets=TOKEN)
    written = [reveal(r.inputs)["name"] for r in run.of_type("vault:kv/secretV2:SecretV2")]
    assert written == [f"secretstore/{STACK_ID}/local-dev-payments/payments/api-token"]
    assert isolation_problems(run, existing={"kv/data/team/db": "payments"}) == []
    policy = reveal(run.one("vault:index/policy:Policy").inputs)["policy"]
    assert 'path "kv/data/team/db" {\n  capabilities = ["read"]\n}\n' in policy


def test_the_isolation_reading_sees_a_policy_that_grants_more_than_read(external: ProgramRun):
    resources = [copy.deepcopy(r) for r in external.resources]
    policy = next(r for r in resources if r.type == "vault:index/policy:Policy" and r.name == "payments-vault-policy")
    policy.inputs = {
        **reveal(policy.inputs),
        "policy": reveal(policy.inputs)["policy"].replace('["read"]', '["read", "list"]', 1),
    }
    widened = ProgramRun(resources=resources, exports=external.exports)
    (problem,) = isolation_problems(widened)
    assert problem.startswith("payments: its principal reads [") and "['read', 'list']" in problem

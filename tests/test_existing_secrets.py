"""Secrets the store holds already (`existing`), in every store and for every identity mode:
nothing is created for them and no value is read, exactly they are granted to exactly the
workload's principal, never their vault or project, the SecretProviderClass names them, and
lists that mix them with secrets the stack makes work. Malformed references are refused up
front, one line each."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import yaml

from secretstore_csi import registry
from secretstore_csi.settings import shown
from tests.authorities import validate_kubernetes_objects
from tests.harness import (
    ACCOUNT,
    SUBSCRIPTION,
    ExistingKeyVault,
    OidcIssuer,
    ProgramRun,
    World,
    config_problems,
    reveal,
    run_combination,
    stack_for,
)
from tests.isolation import SPC, isolation_problems, owner
from tests.policy_pack import analyze

P = "secretstore-csi"
W = f"{P}:workloads"
# The digest of the stack that the names of the secrets it makes in a shared vault end with.
AZURE_STACK = hashlib.sha256(b"organization/secretstore-csi/azure-dev").hexdigest()[:8]
ARN = f"arn:aws:secretsmanager:eu-central-1:{ACCOUNT}:secret"
# For each store: the existing secrets of `payments` (next to one the stack makes) and of
# `reports` (all existing), and each as the store names it in a grant.
EXISTING: dict[str, dict[str, Any]] = {
    "secretsManager": {
        "payments": f"{ARN}:team/payments-db-Ab12Cd",
        "reports": f"{ARN}:team/signing-key-Zy98Xw",
        "named": {f"{ARN}:team/payments-db-Ab12Cd": "payments", f"{ARN}:team/signing-key-Zy98Xw": "reports"},
        "set": {},
    },
    "keyVault": {
        "payments": "https://team-kv.vault.azure.net/secrets/payments-db",
        "reports": "https://reports-kv.vault.azure.net/secrets/signing-key",
        "named": {"team-kv/payments-db": "payments", "reports-kv/signing-key": "reports"},
        "set": {f"{P}:existingKeyVaultResourceGroup": "secrets-rg"},
    },
    "secretManager": {
        "payments": "projects/team-project-01/secrets/payments-db",
        "reports": "projects/428190753511/secrets/signing-key",
        "named": {
            "projects/team-project-01/secrets/payments-db": "payments",
            "projects/428190753511/secrets/signing-key": "reports",
        },
        "set": {},
    },
    "vault": {
        "payments": "secret/data/team/payments/db",
        "reports": "kv/apps/data/reports/signing-key",
        "named": {"secret/data/team/payments/db": "payments", "kv/apps/data/reports/signing-key": "reports"},
        "set": {},
    },
}
COMBINATIONS = [c for c in registry.combinations() if c[0] != "kubernetes" or c[1] == "vault"]
# Vault on one cluster source is enough: its grants do not depend on the cluster.
COMBINATIONS = [c for c in COMBINATIONS if c[1] != "vault" or c[0] == "kubernetes"]
STORE_SECRET = {
    "secretsManager": "aws:secretsmanager/secret:Secret",
    "keyVault": "azure-native:keyvault:Secret",
    "secretManager": "gcp:secretmanager/secret:Secret",
}


def workloads(store: str) -> list[dict[str, Any]]:
    refs = EXISTING[store]
    return [
        {
            "name": "payments",
            "secrets": [
                {"name": "db", "keys": ["username", "password"], "existing": refs["payments"]},
                {"name": "api-token"},
            ],
            "demo": True,
        },
        {"name": "reports", "secrets": [{"name": "signing-key", "existing": refs["reports"]}]},
        {"name": "orders", "secrets": [{"name": "db"}]},
    ]


def _run(cloud: str, store: str, identity: str, world: World | None = None) -> ProgramRun:
    return run_combination(
        cloud,
        store,
        identity,
        set_={W: json.dumps(workloads(store)), **EXISTING[store]["set"]},
        remove=(f"{P}:secretName",),
        world=world,
    )


@pytest.fixture(scope="module", params=COMBINATIONS, ids=["/".join(c) for c in COMBINATIONS])
def mixed(request: pytest.FixtureRequest, oidc_issuer: OidcIssuer) -> ProgramRun:
    return _run(*request.param)


def test_every_store_names_its_existing_secrets():
    assert set(EXISTING) == set(registry.STORES)


def test_exactly_the_existing_secrets_are_granted_to_exactly_their_workload(mixed: ProgramRun):
    store = mixed.exports["store"].value
    assert isolation_problems(mixed, existing=EXISTING[store]["named"]) == []
    # The check sees a grant that misses an existing secret.
    assert isolation_problems(mixed) != []
    assert validate_kubernetes_objects(mixed) >= 10
    dev_mode = {"no-vault-dev-mode": {"allowDevMode": True}} if store == "vault" else {}
    assert analyze(mixed.resources, dev_mode) == []


def test_nothing_is_created_for_an_existing_secret_and_no_value_made(mixed: ProgramRun):
    store = mixed.exports["store"].value
    values = sorted(r.name for r in mixed.of_type("random:index/randomPassword:RandomPassword") if owner(mixed, r))
    assert values == ["orders-db-value", "payments-api-token-value"]
    if store in STORE_SECRET:
        made = sorted(owner(mixed, r) or "" for r in mixed.of_type(STORE_SECRET[store]))
        assert made == ["orders", "payments"]
    else:
        kv_puts = [
            line
            for job in mixed.of_type("kubernetes:batch/v1:Job")
            for line in reveal(job.inputs)["spec"]["template"]["spec"]["containers"][0]["command"][-1].splitlines()
            if line.startswith("vault kv put")
        ]
        assert len(kv_puts) == 2 and not any("team" in line or "reports" in line for line in kv_puts)


def test_the_secret_provider_class_mounts_each_existing_secret_as_its_file(mixed: ProgramRun):
    store = mixed.exports["store"].value
    spc = reveal(next(r for r in mixed.of_type(SPC) if owner(mixed, r) == "reports").inputs)["spec"]
    parameters = json.dumps(spc["parameters"])
    assert EXISTING[store]["reports"].split("/")[-1] in parameters
    payments = json.dumps(reveal(next(r for r in mixed.of_type(SPC) if owner(mixed, r) == "payments").inputs)["spec"])
    assert EXISTING[store]["payments"].split("/")[-1] in payments and "api-token" in payments
    if store != "keyVault":  # Key Vault has no JSON-key selection
        assert "db-username" in payments and "db-password" in payments


def test_key_vault_uses_the_vault_of_the_existing_secrets_and_grants_each_secret():
    run = _run("azure", "keyVault", "application")
    # reports holds only existing secrets: no vault of its own; payments's is the team's.
    vaults = [owner(run, r) for r in run.of_type("azure-native:keyvault:Vault")]
    assert vaults == ["orders"]
    (made,) = [reveal(r.inputs) for r in run.of_type("azure-native:keyvault:Secret") if owner(run, r) == "payments"]
    assert (made["vaultName"], made["secretName"], made["resourceGroupName"]) == (
        "team-kv",
        f"payments-api-token-{AZURE_STACK}",
        "secrets-rg",
    )
    scopes = sorted(reveal(r.inputs)["scope"] for r in run.of_type("azure-native:authorization:RoleAssignment"))
    vault_id = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/secrets-rg/providers/Microsoft.KeyVault/vaults"
    # An application reads its own vault through an access policy, and the team's vaults
    # through a role on each secret.
    assert scopes == sorted(
        [
            f"{vault_id}/reports-kv/secrets/signing-key",
            f"{vault_id}/team-kv/secrets/payments-db",
            f"{vault_id}/team-kv/secrets/payments-api-token-{AZURE_STACK}",
        ]
    )
    outputs = run.exports["workloads"].value
    assert outputs["reports"]["keyVaultName"] == "reports-kv"
    assert outputs["payments"]["keyVaultSecretNames"] == ["payments-db", f"payments-api-token-{AZURE_STACK}"]


def test_secrets_manager_reads_the_region_the_existing_secrets_are_in(oidc_issuer: OidcIssuer):
    other = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:team/signing-key-Zy98Xw"
    listed = [{"name": "reports", "secrets": [{"name": "signing-key", "existing": other}]}]
    run = run_combination("aws", "secretsManager", "irsa", set_={W: json.dumps(listed)}, remove=(f"{P}:secretName",))
    spc = reveal(run.one(SPC).inputs)["spec"]["parameters"]
    assert spc["region"] == "eu-west-1"
    assert [o["objectName"] for o in yaml.safe_load(spc["objects"])] == [other]
    (policy,) = run.of_type("aws:iam/policy:Policy")
    assert json.loads(reveal(policy.inputs)["policy"])["Statement"][0]["Resource"] == [other]


def _problems(store: str, entries: list[dict[str, Any]], world: World | None = None, **set_: str) -> list[str]:
    cloud, identity = next((c, i) for c, s, i in COMBINATIONS if s == store)
    listed = [{"name": "payments", "secrets": entries}]
    stack = stack_for(cloud)
    config = {W: json.dumps(listed), f"{P}:store": store, f"{P}:identity": identity, **set_}
    if store == "vault" and cloud != "kubernetes":
        config[f"{P}:vaultDevMode"] = "true"
    return config_problems(stack, set_=config, remove=(f"{P}:secretName",), world=world)


@pytest.mark.parametrize(
    "store, reference",
    [
        ("secretsManager", f"{ARN}:team/payments-db"),
        ("secretsManager", "team/payments-db"),
        ("keyVault", "https://team-kv.vault.azure.net/secrets/payments-db/0a1b2c3d4e5f"),
        ("keyVault", "team-kv/payments-db"),
        ("secretManager", "projects/team-project-01/secrets/payments-db/versions/3"),
        ("vault", "secret/team/payments/db"),
        ("vault", "secret/data/team/*"),
    ],
)
def test_a_malformed_reference_is_refused_with_the_form_the_store_takes(store: str, reference: str):
    assert _problems(store, [{"name": "db", "existing": reference}], **EXISTING[store]["set"]) == [
        f"{W}[0].secrets[0].existing = {shown(reference)}: expected {registry.STORES[store].existing_secret.form}"
    ]


def test_an_existing_secret_takes_no_value():
    (problem,) = _problems(
        "secretManager", [{"name": "db", "existing": EXISTING["secretManager"]["payments"], "valueFrom": "dbPassword"}]
    )
    assert problem == (
        f"{W}[0].secrets[0].valueFrom = 'dbPassword': a secret with `existing` keeps the value the store holds, "
        "which the program never reads or writes: remove valueFrom, or existing"
    )


def test_secrets_manager_refuses_secrets_in_two_regions_and_existing_ones_with_a_failover_region():
    other = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:team/signing-key-Zy98Xw"
    assert _problems("secretsManager", [{"name": "a", "existing": other}, {"name": "b"}]) == [
        f"{W}[0].secrets: a in eu-west-1, b in eu-central-1: expected every secret of a workload in one region, "
        "as the AWS provider reads one region per SecretProviderClass and refuses an ARN of another; the secrets "
        "the stack makes are in aws:region"
    ]
    problems = _problems(
        "secretsManager",
        [{"name": "a", "existing": EXISTING["secretsManager"]["payments"]}],
        **{f"{P}:failoverRegion": "eu-west-1"},
    )
    assert problems == [
        f"{W}[0].secrets: {P}:failoverRegion replicates the secrets the stack makes, and an existing secret's "
        "replica is not known to it: expected no `existing` secret with failoverRegion"
    ]


def test_key_vault_refuses_what_it_cannot_grant_secret_by_secret():
    rg = {f"{P}:existingKeyVaultResourceGroup": "secrets-rg"}
    team, reports = EXISTING["keyVault"]["payments"], EXISTING["keyVault"]["reports"]
    assert _problems("keyVault", [{"name": "a", "existing": team}]) == [
        f"{P}:existingKeyVaultResourceGroup is not set: expected the resource group of the vaults team-kv, which "
        "the existing secrets are in (`az keyvault show --name <vault> --query resourceGroup`)"
    ]
    assert _problems("keyVault", [{"name": "a", "existing": team}, {"name": "b", "existing": reports}], **rg) == [
        f"{W}[0].secrets: existing secrets in the vaults reports-kv, team-kv: expected every existing secret of a "
        "workload in one vault, as the Azure provider reads one vault per SecretProviderClass (its keyvaultName)"
    ]
    policies = World(key_vaults=[ExistingKeyVault("team-kv", rbac=False)])
    assert _problems("keyVault", [{"name": "a", "existing": team}], policies, **rg) == [
        f"{W}[0].secrets: vault team-kv grants with access policies, each of which reaches every secret in it: "
        "expected a vault with Azure RBAC (`az keyvault update --name team-kv --enable-rbac-authorization true`), "
        "where each secret is granted alone"
    ]
    (missing,) = _problems("keyVault", [{"name": "a", "existing": team}], World(key_vaults=[]), **rg)
    assert missing.startswith(
        f"{W}[0].secrets: no vault team-kv can be read in resource group secrets-rg (Azure said: "
    )
    clash = f"https://team-kv.vault.azure.net/secrets/payments-db-{AZURE_STACK}"
    assert _problems("keyVault", [{"name": "x", "existing": clash}, {"name": "db"}], **rg) == [
        f"{W}[0].secrets: the secrets the stack makes would be named payments-db-{AZURE_STACK} in the vault of the "
        "workload's existing secrets, as existing ones are: expected other names"
    ]


@pytest.mark.parametrize("store", list(EXISTING))
def test_two_workloads_never_read_one_existing_secret(store: str):
    cloud, identity = next((c, i) for c, s, i in COMBINATIONS if s == store)
    ref = EXISTING[store]["payments"]
    listed = [
        {"name": "payments", "secrets": [{"name": "db", "existing": ref}]},
        {"name": "orders", "secrets": [{"name": "copy", "existing": ref}]},
    ]
    config = {W: json.dumps(listed), f"{P}:store": store, f"{P}:identity": identity, **EXISTING[store]["set"]}
    assert config_problems(stack_for(cloud), set_=config, remove=(f"{P}:secretName",)) == [
        f"{W}[1].secrets[0].existing = {shown(ref)}: {W}[0] (payments)'s secret 'db' names it too: expected a "
        "secret that exactly one workload reads, as each is granted to one principal"
    ]


def test_a_vault_path_where_the_stack_keeps_its_own_secrets_is_refused():
    own = "secret/data/secretstore/local-dev-orders/orders/db"
    assert _problems("vault", [{"name": "db", "existing": own}]) == [
        f"{W}[0].secrets[0].existing = {own!r}: expected a path outside secretstore/, where the stack keeps the "
        "secrets it makes, each for one workload"
    ]

"""The configuration Job's script, run twice by a shell against a stand-in `vault` CLI that
keeps state and refuses what Vault refuses (a second `auth enable`): every step may run
again, and the second run leaves what the first did."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from secretstore_csi.model import StoreSecret, WorkloadSpec
from secretstore_csi.vault import configure

# What the stand-in does: `auth enable` fails when the path is in use, as Vault's does;
# `kv put - ` and `policy write - ` keep what they read; every call is logged.
FAKE_VAULT = r"""#!/bin/sh
state="$FAKE_VAULT_STATE"
echo "$*" >> "$state/calls"
case "$1 $2" in
  "status "*) exit 0 ;;
  "auth list")
    if [ -f "$state/auth-kubernetes" ]; then echo '{"kubernetes/": {}, "token/": {}}'; else echo '{"token/": {}}'; fi ;;
  "auth enable")
    if [ -f "$state/auth-kubernetes" ]; then echo "path is already in use at kubernetes/" >&2; exit 2; fi
    touch "$state/auth-kubernetes" ;;
  "kv put")
    python3 -c 'import json, sys; json.load(sys.stdin)' < /dev/stdin > /dev/null || exit 1
    ;;
  "policy write") cat > "$state/policy-$3" ;;
  "write "*) ;;
  *) echo "unexpected: $*" >&2; exit 1 ;;
esac
"""


@pytest.fixture
def vault_cli(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "vault"
    fake.write_text(FAKE_VAULT)
    fake.chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    values = tmp_path / "values"
    values.mkdir()
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_VAULT_STATE": str(state),
        "VALUES_DIR": str(values),
        "VAULT_ADDR": "http://vault.vault.svc:8200",
    }


SECRETS = (
    StoreSecret(name="db", keys=("username", "password"), given={}),
    StoreSecret(name="api-token", keys=(), given={}),
)
# The single workload of a stack without `workloads`, which keeps its names.
WORKLOAD = WorkloadSpec(
    name="secretstore", namespace="payments", service_account="api", secrets=SECRETS, legacy_names=True
)
LISTED = WorkloadSpec(name="billing", namespace="payments", service_account="billing-api", secrets=SECRETS)


def _run(env: dict[str, str], workload: WorkloadSpec = WORKLOAD) -> subprocess.CompletedProcess[str]:
    for secret in workload.secrets:
        entry = configure.entry(secret, "v", {"username": "u", "password": "p"} if secret.keys else {"": "t"})
        (Path(env["VALUES_DIR"]) / configure.values_key(secret)).write_text(entry)
    return subprocess.run(
        ["sh", "-c", configure.script(workload)], env=env, capture_output=True, text=True, check=False
    )


def test_the_script_runs_twice_and_the_second_run_changes_nothing(vault_cli: dict[str, str]):
    state = Path(vault_cli["FAKE_VAULT_STATE"])
    first = _run(vault_cli)
    assert first.returncode == 0, first.stderr
    calls_first = (state / "calls").read_text().splitlines()
    second = _run(vault_cli)
    assert second.returncode == 0, second.stderr
    calls_second = (state / "calls").read_text().splitlines()[len(calls_first) :]
    assert "auth enable kubernetes" in calls_first
    assert "auth enable kubernetes" not in calls_second
    assert [c for c in calls_first if c != "auth enable kubernetes"] == calls_second
    assert (state / "policy-secretstore-payments-api").read_text() == configure.policy(WORKLOAD)
    assert "Vault is configured: 2 secret(s), policy secretstore-payments-api, role payments-api" in second.stdout


def test_the_stand_in_refuses_a_second_auth_enable_as_vault_does(vault_cli: dict[str, str]):
    enable = ["vault", "auth", "enable", "kubernetes"]
    assert subprocess.run(enable, env=vault_cli, capture_output=True, check=False).returncode == 0
    again = subprocess.run(enable, env=vault_cli, capture_output=True, text=True, check=False)
    assert again.returncode == 2 and "already in use" in again.stderr


def test_the_script_writes_each_secret_and_a_role_for_exactly_the_account(vault_cli: dict[str, str]):
    assert _run(vault_cli).returncode == 0
    calls = (Path(vault_cli["FAKE_VAULT_STATE"]) / "calls").read_text().splitlines()
    assert "kv put secret/secretstore/payments/db -" in calls
    assert "kv put secret/secretstore/payments/api-token -" in calls
    assert (
        "write auth/kubernetes/role/payments-api bound_service_account_names=api "
        "bound_service_account_namespaces=payments audience=vault token_policies=secretstore-payments-api "
        "token_ttl=20m"
    ) in calls


def test_a_listed_workload_gets_paths_a_role_and_a_policy_named_after_it(vault_cli: dict[str, str]):
    assert _run(vault_cli, LISTED).returncode == 0
    state = Path(vault_cli["FAKE_VAULT_STATE"])
    calls = (state / "calls").read_text().splitlines()
    assert "kv put secret/secretstore/payments/billing/db -" in calls
    assert (
        "write auth/kubernetes/role/billing bound_service_account_names=billing-api "
        "bound_service_account_namespaces=payments audience=vault token_policies=secretstore-billing token_ttl=20m"
    ) in calls
    assert (state / "policy-secretstore-billing").read_text() == (
        'path "secret/data/secretstore/payments/billing/db" {\n  capabilities = ["read"]\n}\n'
        'path "secret/data/secretstore/payments/billing/api-token" {\n  capabilities = ["read"]\n}\n'
    )


def test_a_second_workloads_job_finds_the_auth_method_enabled(vault_cli: dict[str, str]):
    assert _run(vault_cli, WORKLOAD).returncode == 0
    second = _run(vault_cli, LISTED)
    assert second.returncode == 0, second.stderr
    calls = (Path(vault_cli["FAKE_VAULT_STATE"]) / "calls").read_text().splitlines()
    assert calls.count("auth enable kubernetes") == 1


def test_a_value_the_cli_cannot_read_stops_the_script(vault_cli: dict[str, str]):
    assert _run(vault_cli).returncode == 0
    (Path(vault_cli["VALUES_DIR"]) / "db.json").write_text("not json")
    script = configure.script(WORKLOAD)
    result = subprocess.run(["sh", "-c", script], env=vault_cli, capture_output=True, text=True, check=False)
    assert result.returncode != 0


def test_the_entries_hold_the_whole_value_and_each_key():
    (db, token) = WORKLOAD.secrets
    assert json.loads(
        configure.entry(db, '{"username": "u", "password": "p"}', {"username": "u", "password": "p"})
    ) == {"json": '{"username": "u", "password": "p"}', "username": "u", "password": "p"}
    assert json.loads(configure.entry(token, "t", {"": "t"})) == {"value": "t"}
    assert [configure.field_of(db, file) for file in db.files] == ["json", "username", "password"]
    assert [configure.field_of(token, file) for file in token.files] == ["value"]

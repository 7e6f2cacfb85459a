"""What the configuration Job writes to Vault: paths, the read policy, the role, the script.

Plain text, no SDK: the store and the tests build the same documents. The script holds no
secret; the secret values and the root token reach the Job through a Kubernetes Secret.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping

from secretstore_csi.model import SINGLE_VALUE, StoreSecret, WorkloadSpec

KV_MOUNT = "secret"
"""Dev mode mounts a KV version 2 engine here."""
AUDIENCE = "vault"
"""The token audience the role checks and the SecretProviderClass asks the driver for."""
WHOLE_DOCUMENT = "json"
"""The field of a secret with keys that holds its whole JSON document."""
SINGLE_FIELD = "value"
"""The field of a secret that is a single value."""
TOKEN_KEY = "token"
"""The key of the root token in the Job's Kubernetes Secret."""
VALUES_DIR = "/vault-values"


ROOT = "secretstore"
"""Where in the KV engine the secrets the stack makes go."""


def secret_path(workload: WorkloadSpec, secret: StoreSecret, root: str = ROOT) -> str:
    """The secret's path in the KV engine, under the workload's namespace and name."""
    if workload.legacy_names:
        return f"{root}/{workload.namespace}/{secret.name}"
    return f"{root}/{workload.namespace}/{workload.name}/{secret.name}"


def api_path(workload: WorkloadSpec, secret: StoreSecret, mount: str = KV_MOUNT, root: str = ROOT) -> str:
    """The path the CSI provider and the policy use: KV v2 keeps the data under `data/`. An
    existing secret's is the path `existing` gives."""
    if secret.existing is not None:
        return secret.existing
    return f"{mount}/data/{secret_path(workload, secret, root)}"


def role_name(workload: WorkloadSpec) -> str:
    """The workload's role in Vault's Kubernetes auth."""
    return f"{workload.namespace}-{workload.service_account}" if workload.legacy_names else workload.name


def policy_name(workload: WorkloadSpec) -> str:
    return f"secretstore-{role_name(workload)}"


def field_of(secret: StoreSecret, file: str) -> str | None:
    """The field of the secret's Vault entry that a mounted file holds. None for the whole of
    an existing secret, whose fields the program did not write: the CSI provider then mounts
    Vault's whole response as JSON (vault-csi-provider 1.7.4, internal/provider/provider.go)."""
    if file == secret.name:
        if secret.existing is not None:
            return None
        return WHOLE_DOCUMENT if secret.keys else SINGLE_FIELD
    return file.removeprefix(f"{secret.name}-")


def entry(secret: StoreSecret, value: str, parts: Mapping[str, str]) -> str:
    """The JSON the Job writes for one secret: the whole value, and each key of a document."""
    fields = {WHOLE_DOCUMENT: value, **parts} if secret.keys else {SINGLE_FIELD: parts.get(SINGLE_VALUE, value)}
    return json.dumps(fields, sort_keys=True)


def values_key(secret: StoreSecret) -> str:
    return f"{secret.name}.json"


def policy(workload: WorkloadSpec, mount: str = KV_MOUNT, root: str = ROOT) -> str:
    """Read, and nothing else, on exactly the workload's secrets."""
    return "".join(
        f'path "{api_path(workload, secret, mount, root)}" {{\n  capabilities = ["read"]\n}}\n'
        for secret in workload.secrets
    )


def script(workload: WorkloadSpec) -> str:
    """The Job's shell script: every step may run again and leaves the same state.

    Each workload has a Job, and they may start at once: when two enable the auth method
    together, the second fails, and its Job's next attempt finds the method enabled."""
    q = shlex.quote
    lines = [
        "set -eu",
        f'values="${{VALUES_DIR:-{VALUES_DIR}}}"',
        "tries=0",
        "until vault status >/dev/null 2>&1; do",
        "  tries=$((tries + 1))",
        '  if [ "$tries" -ge 60 ]; then echo "Vault at $VAULT_ADDR did not answer in 2 minutes" >&2; exit 1; fi',
        "  sleep 2",
        "done",
        "vault auth list -format=json | grep -q '\"kubernetes/\"' || vault auth enable kubernetes",
        "vault write auth/kubernetes/config kubernetes_host=https://kubernetes.default.svc:443",
    ]
    for secret in workload.managed_secrets:
        path = f"{KV_MOUNT}/{secret_path(workload, secret)}"
        lines.append(f'vault kv put {q(path)} - < "$values"/{q(values_key(secret))} >/dev/null')
    lines += [
        f"vault policy write {q(policy_name(workload))} - <<'POLICY'",
        policy(workload).rstrip("\n"),
        "POLICY",
        f"vault write auth/kubernetes/role/{q(role_name(workload))}"
        f" bound_service_account_names={q(workload.service_account)}"
        f" bound_service_account_namespaces={q(workload.namespace)}"
        f" audience={AUDIENCE} token_policies={q(policy_name(workload))} token_ttl=20m",
        f'echo "Vault is configured: {len(workload.secrets)} secret(s), policy {policy_name(workload)}, '
        f'role {role_name(workload)}"',
    ]
    return "\n".join(lines) + "\n"

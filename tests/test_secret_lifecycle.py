"""Rotation, sync to a Kubernetes Secret, JSON keys as files, and several secrets.

Each feature is turned on in a stack's config and the real __main__.py is run under mocks;
every Kubernetes object and Helm value it then sends is checked against its authority.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml
from pulumi.runtime import rpc

from secretstore_csi import registry
from secretstore_csi.settings import go_duration_ns
from tests.authorities import release_value_problems, validate_kubernetes_objects
from tests.harness import ProgramRun, config_problems, run_combination, run_program, unsecret

P = "secretstore-csi"
DRIVER = ("kubernetes:helm.sh/v3:Release", "secretstore-driver")
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
COMBINATIONS = registry.combinations()


def _run(stack: str, **kwargs) -> ProgramRun:
    run = run_program(stack, **kwargs)
    assert validate_kubernetes_objects(run) >= 4
    assert all(problems == [] for problems in release_value_problems(run).values())
    return run


def _unsecret(value):
    plain, is_secret = unsecret(value)
    assert is_secret, "not marked secret"
    return plain


def _env(run: ProgramRun, instance: str) -> list[dict]:
    pod = run.one(DEPLOYMENT, f"secretstore-demo-{instance}").inputs["spec"]["template"]["spec"]
    return pod["containers"][0]["env"]


# Secrets stay secret


def test_the_kubeconfig_is_the_only_secret_output(combination_run: ProgramRun):
    run = combination_run
    secret = [name for name, export in run.exports.items() if export.secret]
    if run.exports["cloud"].value == "kubernetes":  # reached through the user's own kubeconfig
        assert secret == [] and "kubeConfig" not in run.exports
    else:
        assert secret == ["kubeConfig"] and run.exports["kubeConfig"].value


def _plain_strings(value) -> list[str]:
    """Every string in a recorded input that is not inside a value marked secret."""
    plain, is_secret = unsecret(value)
    if is_secret:
        return []
    if isinstance(plain, dict):
        return [s for item in plain.values() for s in _plain_strings(item)]
    if isinstance(plain, list):
        return [s for item in plain for s in _plain_strings(item)]
    return [plain] if isinstance(plain, str) else []


def test_no_output_or_plain_input_carries_a_secret_value(combination_run: ProgramRun):
    run = combination_run
    # The generated password, and with Vault its root token.
    generated = [r.outputs["result"] for r in run.of_type("random:index/randomPassword:RandomPassword")]
    assert generated and all(generated)
    for value in generated:
        assert all(value not in json.dumps(export.value) for export in run.exports.values())
        holders = [r for r in run.resources if value in json.dumps(r.inputs, default=str)]
        assert holders, "the store holds it"
        for resource in run.resources:
            assert not [s for s in _plain_strings(resource.inputs) if value in s], resource.name


def test_the_secrecy_check_would_catch_a_value_in_plain_text():
    assert _plain_strings({"a": [{"b": "x-pw-x"}]}) == ["x-pw-x"]
    wrapped = {rpc._special_sig_key: rpc._special_secret_sig, "value": "x-pw-x"}
    assert _plain_strings({"a": [{"b": wrapped}]}) == []


# Rotation


@pytest.mark.parametrize("combination", COMBINATIONS, ids="/".join)
def test_rotation_drives_the_driver_release(combination: tuple[str, str, str]):
    run = run_combination(*combination, set_={f"{P}:rotation": json.dumps({"enabled": True, "pollInterval": "2m"})})
    assert validate_kubernetes_objects(run) >= 4
    values = run.one(*DRIVER).inputs["values"]
    assert values["enableSecretRotation"] is True
    assert values["rotationPollInterval"] == "2m"


def test_rotation_polls_hourly_when_no_interval_is_given():
    run = _run("aws-dev", set_={f"{P}:rotation": json.dumps({"enabled": True})})
    assert run.one(*DRIVER).inputs["values"]["rotationPollInterval"] == "1h"


def test_rotation_is_off_by_default(combination_run: ProgramRun):
    values = combination_run.one(*DRIVER).inputs["values"]
    assert values["enableSecretRotation"] is False
    assert "rotationPollInterval" not in values


@pytest.mark.parametrize(
    "duration, nanoseconds",
    [
        ("120s", 120 * 10**9),
        ("2m", 120 * 10**9),
        ("1h30m", 5400 * 10**9),
        ("1.5h", 5400 * 10**9),
        ("300ms", 300 * 10**6),
        ("90m0s", 5400 * 10**9),
        (".5s", 5 * 10**8),
        ("1µs", 1000),
        # Go's largest duration, time.Duration(math.MaxInt64).String().
        ("2562047h47m16.854775807s", 2**63 - 1),
    ],
)
def test_go_durations_are_read_as_go_reads_them(duration: str, nanoseconds: int):
    assert go_duration_ns(duration) == nanoseconds


@pytest.mark.parametrize(
    "duration", ["", "0", "-1m", "+1m", "2 m", "2min", "1d", "h", "1h-5m", "1.h.5", ".s", "2562047h47m16.854775808s"]
)
def test_malformed_or_overflowing_durations_are_refused(duration: str):
    with pytest.raises(ValueError):
        go_duration_ns(duration)


ROTATION_ACCEPTED = (
    "expected a Go duration such as 2m, 1h or 1h30m, from 1m (more often exhausts the store's read "
    "quota) to 2562047h47m16.854775807s (Go's largest)"
)
ROTATION_OBJECT = "expected {enabled: true or false, pollInterval: a Go duration such as 120s, 2m or 1h}"


@pytest.mark.parametrize(
    "rotation, problem",
    [
        (
            {"enabled": True, "pollInterval": "2 minutes"},
            f"{P}:rotation.pollInterval = '2 minutes': {ROTATION_ACCEPTED}",
        ),
        ({"enabled": True, "pollInterval": "0s"}, f"{P}:rotation.pollInterval = '0s': {ROTATION_ACCEPTED}"),
        ({"enabled": True, "pollInterval": "-5m"}, f"{P}:rotation.pollInterval = '-5m': {ROTATION_ACCEPTED}"),
        ({"enabled": True, "pollInterval": 120}, f"{P}:rotation.pollInterval = 120: {ROTATION_ACCEPTED}"),
        # Below the floor that protects the store's read quota.
        ({"enabled": True, "pollInterval": "59s"}, f"{P}:rotation.pollInterval = '59s': {ROTATION_ACCEPTED}"),
        # One nanosecond beyond what Go's time.Duration holds.
        (
            {"enabled": True, "pollInterval": "2562047h47m16.854775808s"},
            f"{P}:rotation.pollInterval = '2562047h47m16.854775808s': {ROTATION_ACCEPTED}",
        ),
        ({"enabled": "sometimes"}, f"{P}:rotation.enabled = 'sometimes': expected true or false"),
        ({"enabled": "yes"}, f"{P}:rotation.enabled = 'yes': expected true or false"),
        (
            {"enabled": True, "interval": "2m"},
            f"{P}:rotation.interval is not a known field: expected enabled or pollInterval",
        ),
        (True, f"{P}:rotation = 'true': {ROTATION_OBJECT}"),
        (None, f"{P}:rotation = 'null': {ROTATION_OBJECT}"),
    ],
)
def test_bad_rotation_config_is_one_clear_message(rotation, problem: str):
    assert config_problems("aws-dev", set_={f"{P}:rotation": json.dumps(rotation)}) == [problem]


@pytest.mark.parametrize("interval", ["1m", "60s", "2562047h47m16.854775807s"])
def test_rotation_intervals_from_the_floor_to_gos_largest_are_accepted(interval: str):
    run = _run("aws-dev", set_={f"{P}:rotation": json.dumps({"enabled": True, "pollInterval": interval})})
    assert run.one(*DRIVER).inputs["values"]["rotationPollInterval"] == interval


# Sync to a Kubernetes Secret


@pytest.mark.parametrize(
    "stack, files",
    [("aws-dev", ["secret", "secret-username", "secret-password"]), ("azure-dev", ["secret"])],
)
def test_sync_adds_secret_objects_and_env_from_the_synced_secret(stack: str, files: list[str]):
    run = _run(stack, set_={f"{P}:syncSecret": "true"})
    assert run.one(*DRIVER).inputs["values"]["syncSecret"] == {"enabled": True}
    assert run.one(SPC).inputs["spec"]["secretObjects"] == [
        {
            "secretName": "secretstore-synced",
            "type": "Opaque",
            "data": [{"objectName": file, "key": file} for file in files],
        }
    ]
    assert _env(run, "authorized") == [
        {"name": "FILE", "value": "/mnt/secrets-store/secret"},
        *[
            {
                "name": file.upper().replace("-", "_"),
                "valueFrom": {"secretKeyRef": {"name": "secretstore-synced", "key": file}},
            }
            for file in files
        ],
    ]
    # The unauthorized pod must fail on its mount, not on a Secret it may not read.
    assert _env(run, "unauthorized") == [{"name": "FILE", "value": "/mnt/secrets-store/secret"}]
    assert run.exports["syncedSecret"].value == "secretstore-synced"


def test_sync_is_off_by_default(combination_run: ProgramRun):
    run = combination_run
    assert run.one(*DRIVER).inputs["values"]["syncSecret"] == {"enabled": False}
    assert "secretObjects" not in run.one(SPC).inputs["spec"]
    assert [variable["name"] for variable in _env(run, "authorized")] == ["FILE"]
    assert "syncedSecret" not in run.exports


def test_a_bad_sync_value_is_one_clear_message():
    assert config_problems("aws-dev", set_={f"{P}:syncSecret": "yes"}) == [
        f"{P}:syncSecret = 'yes': expected true or false"
    ]


# JSON keys as files (AWS)


def test_json_keys_are_mounted_as_files_on_aws(aws_dev: ProgramRun):
    (entry,) = yaml.safe_load(aws_dev.one(SPC).inputs["spec"]["parameters"]["objects"])
    assert entry["jmesPath"] == [
        {"path": "username", "objectAlias": "secret-username"},
        {"path": "password", "objectAlias": "secret-password"},
    ]


def test_azure_mounts_each_secret_whole(azure_dev: ProgramRun):
    objects = azure_dev.one(SPC).inputs["spec"]["parameters"]["objects"]
    assert [yaml.safe_load(entry) for entry in yaml.safe_load(objects)["array"]] == [
        {"objectName": "secret", "objectType": "secret", "objectAlias": "secret"}
    ]


def test_a_key_that_is_not_a_jmespath_identifier_is_quoted():
    run = _run(
        "aws-dev",
        set_={f"{P}:secrets": json.dumps([{"name": "api", "keys": ["api-key", "client_id"]}])},
    )
    (entry,) = yaml.safe_load(run.one(SPC).inputs["spec"]["parameters"]["objects"])
    assert entry["jmesPath"] == [
        {"path": '"api-key"', "objectAlias": "api-api-key"},
        {"path": "client_id", "objectAlias": "api-client_id"},
    ]


# Several secrets

SEVERAL = [
    {"name": "db", "keys": ["username", "password"], "valueFrom": "dbCredentials"},
    {"name": "api-token"},
]
DB_CREDENTIALS = json.dumps({"username": "app", "password": "from-config-pw"})


@pytest.fixture(scope="module")
def several_on_aws() -> ProgramRun:
    return _run(
        "aws-dev",
        set_={f"{P}:secrets": json.dumps(SEVERAL), f"{P}:syncSecret": "true"},
        secrets={f"{P}:dbCredentials": DB_CREDENTIALS},
    )


@pytest.fixture(scope="module")
def several_on_azure() -> ProgramRun:
    return _run(
        "azure-dev",
        set_={f"{P}:secrets": json.dumps(SEVERAL)},
        secrets={f"{P}:dbCredentials": DB_CREDENTIALS},
    )


def _arns(run: ProgramRun) -> list[str]:
    """The ARNs of the secrets `db` and `api-token`, in the order the config lists them."""
    return [
        run.one("aws:secretsmanager/secret:Secret", f"secretstore-{name}").outputs["arn"]
        for name in ("db", "api-token")
    ]


def test_every_listed_secret_is_created_in_secrets_manager(several_on_aws: ProgramRun):
    secrets = several_on_aws.of_type("aws:secretsmanager/secret:Secret")
    assert sorted(secret.name for secret in secrets) == ["secretstore-api-token", "secretstore-db"]
    versions = {v.name: v.inputs for v in several_on_aws.of_type("aws:secretsmanager/secretVersion:SecretVersion")}
    db = versions["secretstore-db-value"]
    assert json.loads(_unsecret(db["secretString"])) == {"username": "app", "password": "from-config-pw"}
    token = several_on_aws.one("random:index/randomPassword:RandomPassword")
    assert token.name == "secretstore-api-token-value"
    assert _unsecret(versions["secretstore-api-token-value"]["secretString"]) == token.outputs["result"]


def test_the_policy_lists_exactly_the_listed_secrets(several_on_aws: ProgramRun):
    arns = _arns(several_on_aws)
    policy = json.loads(several_on_aws.one("aws:iam/policy:Policy").inputs["policy"])
    (statement,) = policy["Statement"]
    assert statement["Resource"] == arns and len(arns) == 2
    assert "*" not in json.dumps(policy)
    assert several_on_aws.exports["secretArns"].value == dict(zip(["db", "api-token"], arns, strict=True))


def test_each_listed_secret_gets_its_own_object_on_aws(several_on_aws: ProgramRun):
    db, api_token = _arns(several_on_aws)
    objects = yaml.safe_load(several_on_aws.one(SPC).inputs["spec"]["parameters"]["objects"])
    assert objects == [
        {
            "objectName": db,
            "objectType": "secretsmanager",
            "objectAlias": "db",
            "jmesPath": [
                {"path": "username", "objectAlias": "db-username"},
                {"path": "password", "objectAlias": "db-password"},
            ],
        },
        {"objectName": api_token, "objectType": "secretsmanager", "objectAlias": "api-token"},
    ]
    assert _env(several_on_aws, "authorized")[0] == {"name": "FILE", "value": "/mnt/secrets-store/db"}
    synced = several_on_aws.one(SPC).inputs["spec"]["secretObjects"][0]["data"]
    assert [item["key"] for item in synced] == ["db", "db-username", "db-password", "api-token"]
    assert [variable["name"] for variable in _env(several_on_aws, "authorized")] == [
        "FILE",
        "DB",
        "DB_USERNAME",
        "DB_PASSWORD",
        "API_TOKEN",
    ]


def test_every_listed_secret_is_in_the_stack_vault_and_nothing_else(several_on_azure: ProgramRun):
    vault = several_on_azure.one("azure-native:keyvault:Vault")
    secrets = several_on_azure.of_type("azure-native:keyvault:Secret")
    assert sorted(secret.inputs["secretName"] for secret in secrets) == ["api-token", "db"]
    assert {secret.inputs["vaultName"] for secret in secrets} == {vault.outputs["name"]}
    db_secret = several_on_azure.one("azure-native:keyvault:Secret", "secretstore-db")
    db = json.loads(_unsecret(db_secret.inputs["properties"])["value"])
    assert db == {"username": "app", "password": "from-config-pw"}
    # The identity's only grant is `get` on this vault, which holds exactly these secrets.
    (policy,) = vault.inputs["properties"]["accessPolicies"]
    assert policy["permissions"] == {"secrets": ["get"]}
    assert several_on_azure.exports["keyVaultSecretNames"].value == ["db", "api-token"]


def test_each_listed_secret_gets_its_own_object_on_azure(several_on_azure: ProgramRun):
    objects = several_on_azure.one(SPC).inputs["spec"]["parameters"]["objects"]
    assert [yaml.safe_load(entry) for entry in yaml.safe_load(objects)["array"]] == [
        {"objectName": "db", "objectType": "secret", "objectAlias": "db"},
        {"objectName": "api-token", "objectType": "secret", "objectAlias": "api-token"},
    ]


def test_a_single_value_secret_can_come_from_secret_config():
    run = _run(
        "azure-dev",
        set_={f"{P}:secrets": json.dumps([{"name": "api-token", "valueFrom": "apiToken"}])},
        secrets={f"{P}:apiToken": "tok-123"},
    )
    (secret,) = run.of_type("azure-native:keyvault:Secret")
    assert _unsecret(secret.inputs["properties"])["value"] == "tok-123"
    assert run.of_type("random:index/randomPassword:RandomPassword") == []


SECRETS_KEY = f"{P}:secrets"
LIST_RULE = "expected a non-empty list of secrets, each {name, keys, valueFrom, existing}"
KEYS_RULE = (
    "expected a non-empty list of distinct JSON keys, each 1-63 letters, digits, '_' or '-', starting "
    "with a letter or '_'; leave keys out for a secret that is one value"
)
BAD_LISTS = [
    ([], [f"{SECRETS_KEY} = '[]': {LIST_RULE}"]),
    (None, [f"{SECRETS_KEY} = 'null': {LIST_RULE}"]),
    ({"name": "db"}, [f"""{SECRETS_KEY} = '{{"name": "db"}}': {LIST_RULE}"""]),
    (["db"], [f"{SECRETS_KEY}[0] = 'db': expected {{name, keys, valueFrom, existing}}"]),
    ([{"name": "DB"}], [f"{SECRETS_KEY}[0].name = 'DB': expected a DNS-1123 label"]),
    ([{"keys": ["a"]}], [f"{SECRETS_KEY}[0].name is not set: expected a DNS-1123 label"]),
    ([{"name": "db", "keys": ["user name"]}], [f"{SECRETS_KEY}[0].keys = ['user name']: {KEYS_RULE}"]),
    ([{"name": "db", "keys": ["a", "a"]}], [f"{SECRETS_KEY}[0].keys = ['a', 'a']: {KEYS_RULE}"]),
    ([{"name": "db", "keys": []}], [f"{SECRETS_KEY}[0].keys = []: {KEYS_RULE}"]),
    ([{"name": "db", "keys": None}], [f"{SECRETS_KEY}[0].keys = None: {KEYS_RULE}"]),
    (
        [{"name": "db", "value": "x"}],
        [f"{SECRETS_KEY}[0].value is not a known field: expected name, keys, valueFrom or existing"],
    ),
    (
        [{"name": "db"}, {"name": "db"}],
        [
            f"{SECRETS_KEY}[1].name = 'db': expected a name whose files (db) and their environment variables no other secret uses; db clashes with {SECRETS_KEY}[0] (db)"
        ],
    ),
    (
        [{"name": "db", "keys": ["password"]}, {"name": "db-password"}],
        [
            f"{SECRETS_KEY}[1].name = 'db-password': expected a name whose files (db-password) and their environment variables no other secret uses; db-password clashes with {SECRETS_KEY}[0] (db)"
        ],
    ),
    (
        # Both generate a value named secretstore-x-value-value: two resources with one URN,
        # though their files (x-value-value and x-value) differ.
        [{"name": "x", "keys": ["value-value"]}, {"name": "x-value"}],
        [
            f"{SECRETS_KEY}[1].name = 'x-value': expected a name and keys whose Pulumi resource names no other secret uses; secretstore-x-value-value is also {SECRETS_KEY}[0] (x)'s"
        ],
    ),
    (
        [{"name": "db", "valueFrom": "dbCredentials"}],
        [
            f"{SECRETS_KEY}[0].valueFrom = 'dbCredentials': {P}:dbCredentials is not set; set it with `pulumi config set --secret {P}:dbCredentials <value>`"
        ],
    ),
    (
        [{"name": "db", "valueFrom": "cloud"}],
        [
            f"{SECRETS_KEY}[0].valueFrom = 'cloud': expected the name of a key of this project set with `pulumi config set --secret`, not one of the project's own settings"
        ],
    ),
]


@pytest.mark.parametrize("listed, problems", BAD_LISTS, ids=[str(i) for i in range(len(BAD_LISTS))])
def test_a_bad_secrets_list_is_one_clear_message_per_problem(listed, problems: list[str]):
    found = config_problems("aws-dev", set_={SECRETS_KEY: json.dumps(listed)})
    assert len(found) == len(problems), found
    for problem, expected in zip(found, problems, strict=True):
        assert problem.startswith(expected), problem


# With sync on, each mounted file is also an environment variable of the authorized pod.
BAD_WITH_SYNC = [
    (
        [{"name": "db", "keys": ["api_key"]}, {"name": "db-api", "keys": ["key"]}],
        f"{SECRETS_KEY}[1].name = 'db-api': expected a name whose files (db-api, db-api-key) and their environment variables no other secret uses; DB_API_KEY clashes with {SECRETS_KEY}[0] (db)",
    ),
    (
        [{"name": "db", "keys": ["Password", "password"]}],
        f"{SECRETS_KEY}[0].name = 'db': expected keys whose environment variables differ in more than case and '-' or '_'; two of them would be DB_PASSWORD (syncSecret is on)",
    ),
    (
        [{"name": "testing"}],
        f"{SECRETS_KEY}[0].name = 'testing': expected a name whose environment variables do not start with TEST: the demo server prints every such variable to its log, and TESTING would carry the secret there (syncSecret is on)",
    ),
    (
        [{"name": "port"}],
        f"{SECRETS_KEY}[0].name = 'port': expected a name whose environment variables are not FILE or PORT, which hello-server reads itself; PORT would carry the secret there (syncSecret is on)",
    ),
    (
        [{"name": "file"}],
        f"{SECRETS_KEY}[0].name = 'file': expected a name whose environment variables are not FILE or PORT, which hello-server reads itself; FILE would carry the secret there (syncSecret is on)",
    ),
    (
        [{"name": "1db"}],
        f"{SECRETS_KEY}[0].name = '1db': expected a name whose environment variables start with a letter or '_', as the API server requires; 1DB would not (syncSecret is on)",
    ),
]


@pytest.mark.parametrize("listed, problem", BAD_WITH_SYNC, ids=[str(i) for i in range(len(BAD_WITH_SYNC))])
def test_names_whose_variables_collide_or_misbehave_are_refused_when_synced(listed, problem: str):
    changes = {SECRETS_KEY: json.dumps(listed)}
    assert config_problems("aws-dev", set_={**changes, f"{P}:syncSecret": "true"}) == [problem]
    # Without sync there are no variables, so nothing collides.
    run_program("aws-dev", set_=changes)


def test_every_variable_the_program_sets_is_one_the_api_server_accepts():
    listed = [{"name": "db", "keys": ["user-name", "pass_word", "_x"]}, {"name": "api-token"}]
    run = _run("aws-dev", set_={SECRETS_KEY: json.dumps(listed), f"{P}:syncSecret": "true"})
    names = [variable["name"] for variable in _env(run, "authorized")]
    # IsEnvVarName, as Kubernetes 1.30 validates it (k8s.io/apimachinery validation.go).
    assert all(re.fullmatch(r"[-._a-zA-Z][-._a-zA-Z0-9]*", name) for name in names), names
    assert len(set(names)) == len(names)
    assert names == ["FILE", "DB", "DB_USER_NAME", "DB_PASS_WORD", "DB__X", "API_TOKEN"]


def test_a_value_source_in_plain_text_is_refused_without_echoing_it():
    found = config_problems(
        "aws-dev",
        set_={SECRETS_KEY: json.dumps([{"name": "api", "valueFrom": "apiToken"}]), f"{P}:apiToken": "plain-tok"},
    )
    assert found == [
        f"{P}:apiToken is stored in plain text in the stack file: remove it and run "
        f"`pulumi config set --secret {P}:apiToken <value>`, or leave it unset to generate one"
    ]


def test_a_value_source_without_the_listed_keys_is_refused_without_echoing_it():
    found = config_problems(
        "azure-dev",
        set_={
            SECRETS_KEY: json.dumps([{"name": "db", "keys": ["username", "password"], "valueFrom": "dbCredentials"}])
        },
        secrets={f"{P}:dbCredentials": json.dumps({"username": "app", "pasword": "typo-s3cret"})},
    )
    assert found == [
        f"{P}:dbCredentials: expected a JSON object with exactly the keys username, password, each a "
        "string, as secrets[].keys lists them (the value is not shown)"
    ]


def test_the_demo_secret_keys_cannot_be_mixed_with_a_list():
    found = config_problems(
        "aws-dev",
        set_={SECRETS_KEY: json.dumps([{"name": "db"}]), f"{P}:secretUsername": "app"},
    )
    assert found == [
        f"{P}:secretUsername configures the default demo secret, which {SECRETS_KEY} replaces: "
        "remove it, and give a listed secret its value with valueFrom"
    ]


def test_a_stray_key_is_still_refused_when_value_sources_are_allowed():
    found = config_problems(
        "aws-dev",
        set_={SECRETS_KEY: json.dumps([{"name": "db", "valueFrom": "dbToken"}])},
        secrets={f"{P}:dbToken": "t", f"{P}:unusedToken": "u"},
    )
    assert len(found) == 1 and found[0].startswith(f"{P}:unusedToken is not a known key")

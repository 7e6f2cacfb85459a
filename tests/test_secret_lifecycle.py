"""Rotation, sync to a Kubernetes Secret, JSON keys as files, and several secrets.

Each feature is turned on in a stack's config and the real __main__.py is run under mocks;
every Kubernetes object and Helm value it then sends is checked against its authority.
"""

from __future__ import annotations

import json

import pytest
import yaml

from infra.config import _go_duration
from tests.authorities import release_value_problems, validate_kubernetes_objects
from tests.harness import ProgramRun, config_problems, run_program, unsecret

P = "secretstore-csi"
DRIVER = ("kubernetes:helm.sh/v3:Release", "secretstore-demo-driver")
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STACKS = ["aws-dev", "azure-dev"]


def _run(stack: str, **kwargs) -> ProgramRun:
    run = run_program(stack, **kwargs)
    assert validate_kubernetes_objects(run) >= 4
    assert release_value_problems(run) == {"secretstore-demo-driver": [], "secretstore-demo-provider": []}
    return run


def _unsecret(value):
    plain, is_secret = unsecret(value)
    assert is_secret, "not marked secret"
    return plain


def _env(run: ProgramRun, instance: str) -> list[dict]:
    pod = run.one(DEPLOYMENT, f"secretstore-demo-{instance}").inputs["spec"]["template"]["spec"]
    return pod["containers"][0]["env"]


# Secrets stay secret

STORE_VALUE = {"aws-dev": "aws:secretsmanager/secretVersion:SecretVersion", "azure-dev": "azure-native:keyvault:Secret"}


@pytest.mark.parametrize("stack", STACKS)
def test_the_kubeconfig_is_the_only_secret_output(stack: str, request: pytest.FixtureRequest):
    run = request.getfixturevalue(stack.replace("-", "_"))
    assert run.exports["kubeConfig"].secret and run.exports["kubeConfig"].value
    assert [name for name, export in run.exports.items() if export.secret] == ["kubeConfig"]


@pytest.mark.parametrize("stack", STACKS)
def test_no_output_or_plain_input_carries_a_secret_value(stack: str, request: pytest.FixtureRequest):
    run = request.getfixturevalue(stack.replace("-", "_"))
    password = run.one("random:index/randomPassword:RandomPassword").outputs["result"]
    assert password
    assert all(password not in json.dumps(export.value) for export in run.exports.values())
    for resource in run.resources:
        if resource.type != STORE_VALUE[stack]:
            assert password not in json.dumps(resource.inputs, default=str), resource.name
    (store,) = run.of_type(STORE_VALUE[stack])
    assert password in json.dumps(store.inputs)  # it is there, marked secret


# Rotation


@pytest.mark.parametrize("stack", STACKS)
def test_rotation_drives_the_driver_release(stack: str):
    run = _run(stack, set_={f"{P}:rotation": json.dumps({"enabled": True, "pollInterval": "2m"})})
    values = run.one(*DRIVER).inputs["values"]
    assert values["enableSecretRotation"] is True
    assert values["rotationPollInterval"] == "2m"


def test_rotation_polls_hourly_when_no_interval_is_given():
    run = _run("aws-dev", set_={f"{P}:rotation": json.dumps({"enabled": True})})
    assert run.one(*DRIVER).inputs["values"]["rotationPollInterval"] == "1h"


@pytest.mark.parametrize("stack", STACKS)
def test_rotation_is_off_by_default(stack: str, request: pytest.FixtureRequest):
    run = request.getfixturevalue(stack.replace("-", "_"))
    values = run.one(*DRIVER).inputs["values"]
    assert values["enableSecretRotation"] is False
    assert "rotationPollInterval" not in values


@pytest.mark.parametrize("duration", ["120s", "2m", "1h", "1h30m", "1.5h", "300ms", "90m0s"])
def test_go_durations_are_accepted(duration: str):
    assert _go_duration(duration) == duration


@pytest.mark.parametrize("duration", ["", "0", "0s", "-1m", "+1m", "2 m", "2min", "1d", "h", "1h-5m", "1.h.5"])
def test_malformed_or_non_positive_durations_are_refused(duration: str):
    with pytest.raises(ValueError):
        _go_duration(duration)


ROTATION_ACCEPTED = "expected a positive Go duration such as 120s, 2m, 1h or 1h30m"


@pytest.mark.parametrize(
    "rotation, problem",
    [
        ({"enabled": True, "pollInterval": "2 minutes"}, f"{P}:rotation.pollInterval = '2 minutes': {ROTATION_ACCEPTED}"),
        ({"enabled": True, "pollInterval": "0s"}, f"{P}:rotation.pollInterval = '0s': {ROTATION_ACCEPTED}"),
        ({"enabled": True, "pollInterval": "-5m"}, f"{P}:rotation.pollInterval = '-5m': {ROTATION_ACCEPTED}"),
        ({"enabled": True, "pollInterval": 120}, f"{P}:rotation.pollInterval = 120: {ROTATION_ACCEPTED}"),
        ({"enabled": "sometimes"}, f"{P}:rotation.enabled = 'sometimes': expected true or false"),
        (
            {"enabled": True, "interval": "2m"},
            f"{P}:rotation.interval is not a known field: expected {{enabled: true or false, "
            "pollInterval: a Go duration such as 120s, 2m or 1h}",
        ),
        (
            True,
            f"{P}:rotation = True: expected {{enabled: true or false, pollInterval: a Go duration "
            "such as 120s, 2m or 1h}",
        ),
    ],
)
def test_bad_rotation_config_is_one_clear_message(rotation, problem: str):
    assert config_problems("aws-dev", set_={f"{P}:rotation": json.dumps(rotation)}) == [problem]


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


@pytest.mark.parametrize("stack", STACKS)
def test_sync_is_off_by_default(stack: str, request: pytest.FixtureRequest):
    run = request.getfixturevalue(stack.replace("-", "_"))
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
    return [run.one("aws:secretsmanager/secret:Secret", f"secretstore-{name}").outputs["arn"] for name in ("db", "api-token")]


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
    assert several_on_aws.exports["secretArns"].value == dict(zip(["db", "api-token"], arns))


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
        "FILE", "DB", "DB_USERNAME", "DB_PASSWORD", "API_TOKEN",
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
    assert policy["permissions"] == {"secrets": ["get"], "keys": ["get"], "certificates": ["get"]}
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
LIST_RULE = "expected a non-empty list of secrets, each {name, keys, valueFrom}"
BAD_LISTS = [
    ([], [f"{SECRETS_KEY} = []: {LIST_RULE}"]),
    ({"name": "db"}, [f"{SECRETS_KEY} = {{'name': 'db'}}: {LIST_RULE}"]),
    ([{"name": "DB"}], [f"{SECRETS_KEY}[0].name = 'DB': expected a DNS-1123 label"]),
    ([{"keys": ["a"]}], [f"{SECRETS_KEY}[0].name = None: expected a DNS-1123 label"]),
    ([{"name": "db", "keys": ["user name"]}], [f"{SECRETS_KEY}[0].keys = ['user name']: expected a list of distinct JSON keys"]),
    ([{"name": "db", "keys": ["a", "a"]}], [f"{SECRETS_KEY}[0].keys = ['a', 'a']: expected a list of distinct JSON keys"]),
    ([{"name": "db", "value": "x"}], [f"{SECRETS_KEY}[0].value is not a known field: expected name, keys or valueFrom"]),
    (
        [{"name": "db"}, {"name": "db"}],
        [f"{SECRETS_KEY}[1].name = 'db': expected a name whose files (db) and their environment variables no other secret uses; db clashes with {SECRETS_KEY}[0] (db)"],
    ),
    (
        [{"name": "db", "keys": ["password"]}, {"name": "db-password"}],
        [f"{SECRETS_KEY}[1].name = 'db-password': expected a name whose files (db-password) and their environment variables no other secret uses; db-password clashes with {SECRETS_KEY}[0] (db)"],
    ),
    (
        [{"name": "db", "keys": ["api_key"]}, {"name": "db-api", "keys": ["key"]}],
        [f"{SECRETS_KEY}[1].name = 'db-api': expected a name whose files (db-api, db-api-key) and their environment variables no other secret uses; db-api-key clashes with {SECRETS_KEY}[0] (db)"],
    ),
    (
        [{"name": "testing"}],
        [f"{SECRETS_KEY}[0].name = 'testing': expected a name whose environment variables do not start with TEST: the demo server prints every such variable to its log, and TESTING would carry the secret there when syncSecret is on"],
    ),
    (
        [{"name": "db", "valueFrom": "dbCredentials"}],
        [f"{SECRETS_KEY}[0].valueFrom = 'dbCredentials': {P}:dbCredentials is not set; set it with `pulumi config set --secret {P}:dbCredentials <value>`"],
    ),
    (
        [{"name": "db", "valueFrom": "cloud"}],
        [f"{SECRETS_KEY}[0].valueFrom = 'cloud': expected the name of a key of this project, such as dbCredentials, set with `pulumi config set --secret`, and not one of the project's own settings"],
    ),
]


@pytest.mark.parametrize("listed, problems", BAD_LISTS, ids=[str(i) for i in range(len(BAD_LISTS))])
def test_a_bad_secrets_list_is_one_clear_message_per_problem(listed, problems: list[str]):
    found = config_problems("aws-dev", set_={SECRETS_KEY: json.dumps(listed)})
    assert len(found) == len(problems)
    for problem, expected in zip(found, problems):
        assert problem.startswith(expected), problem


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
        set_={SECRETS_KEY: json.dumps([{"name": "db", "keys": ["username", "password"], "valueFrom": "dbCredentials"}])},
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

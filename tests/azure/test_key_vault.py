"""Key Vault: a vault of the stack's own, its secrets, and `get` for exactly one principal."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.harness import TENANT, ProgramRun, config_problems, run_program, unsecret

P = "secretstore-csi"
VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"
APPLICATION = "azuread:index/application:Application"
SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
# What Key Vault accepts as a name.
KEY_VAULT_NAME = re.compile(r"^(?=.{3,24}$)[A-Za-z](?:-?[A-Za-z0-9])+$")


def test_the_only_access_policy_lets_the_service_principal_get_and_nothing_else(azure_dev: ProgramRun):
    properties = azure_dev.one(VAULT).inputs["properties"]
    assert properties["accessPolicies"] == [
        {
            "tenantId": TENANT,
            "objectId": azure_dev.one(SERVICE_PRINCIPAL).outputs["objectId"],
            "permissions": {"secrets": ["get"]},
        }
    ]
    assert properties["enableRbacAuthorization"] is False


def test_the_vault_is_standard_in_the_signed_in_tenant_with_the_dev_retention(azure_dev: ProgramRun):
    properties = azure_dev.one(VAULT).inputs["properties"]
    assert properties["tenantId"] == TENANT
    assert properties["sku"] == {"family": "A", "name": "standard"}
    assert properties["enableSoftDelete"] is True
    assert properties["softDeleteRetentionInDays"] == 7
    # Key Vault refuses `false`; without purge protection the property is left out.
    assert "enablePurgeProtection" not in properties


def test_purge_protection_and_retention_follow_config():
    run = run_program(
        "azure-dev",
        set_={f"{P}:keyVaultPurgeProtection": "true", f"{P}:keyVaultSoftDeleteRetentionDays": "90"},
    )
    properties = run.one(VAULT).inputs["properties"]
    assert properties["enablePurgeProtection"] is True
    assert properties["softDeleteRetentionInDays"] == 90


def test_a_generated_vault_name_is_unique_and_fits_key_vault_rules(azure_dev: ProgramRun):
    suffix = azure_dev.one("random:index/randomString:RandomString")
    assert suffix.inputs == {"length": 8, "upper": False, "special": False}
    name = azure_dev.one(VAULT).inputs["vaultName"]
    assert name == "secretstore-" + suffix.outputs["result"]
    assert len(name) <= 24 and KEY_VAULT_NAME.fullmatch(name)


@pytest.mark.parametrize(
    "workload, prefix",
    [
        ("secretstore", "secretstore-"),
        ("payments", "payments-"),
        # A DNS label may start with a digit, run hyphens together, and be 63 long.
        ("9lives", "kv-9lives-"),
        ("a--b---c", "a-b-c-"),
        ("x" * 63, "x" * 15 + "-"),
        ("abcdefghijklmn--opq", "abcdefghijklmn-"),
    ],
)
def test_every_workload_name_makes_a_vault_name_key_vault_takes(workload: str, prefix: str):
    from secretstore_csi.azure import key_vault

    assert key_vault.vault_name_prefix(workload) == prefix
    for suffix in ("z" * key_vault.VAULT_SUFFIX_LENGTH, "0" * key_vault.VAULT_SUFFIX_LENGTH):
        name = prefix + suffix
        assert len(name) <= 24 and KEY_VAULT_NAME.fullmatch(name), name


def test_a_vault_name_from_config_is_used_as_is():
    run = run_program("azure-dev", set_={f"{P}:keyVaultName": "team-payments-kv"})
    assert run.one(VAULT).inputs["vaultName"] == "team-payments-kv"
    assert run.of_type("random:index/randomString:RandomString") == []
    assert run.exports["keyVaultName"].value == "team-payments-kv"


def test_the_secret_is_named_secret_and_its_value_stays_secret(azure_dev: ProgramRun):
    secret = azure_dev.one(SECRET).inputs
    assert secret["secretName"] == "secret"
    assert secret["vaultName"] == azure_dev.one(VAULT).outputs["name"]
    properties, is_secret = unsecret(secret["properties"])
    assert is_secret
    value = properties["value"]
    password = azure_dev.one("random:index/randomPassword:RandomPassword").outputs["result"]
    assert json.loads(value) == {"username": "demo", "password": password}


def test_a_password_from_secret_config_is_stored_in_the_vault():
    run = run_program("azure-dev", secrets={f"{P}:secretPassword": "from-config-s3cr3t"})
    properties, is_secret = unsecret(run.one(SECRET).inputs["properties"])
    assert is_secret and json.loads(properties["value"])["password"] == "from-config-s3cr3t"


def test_the_secret_provider_class_names_the_vault_tenant_and_client(azure_dev: ProgramRun):
    spec = azure_dev.one(SPC).inputs["spec"]
    assert spec["provider"] == "azure"
    parameters = dict(spec["parameters"])
    objects = parameters.pop("objects")
    assert parameters == {
        "usePodIdentity": "false",
        "clientID": azure_dev.one(APPLICATION).outputs["clientId"],
        "keyvaultName": azure_dev.one(VAULT).outputs["name"],
        "tenantID": TENANT,
    }
    assert objects.startswith("array:\n  - |\n")
    entries = yaml.safe_load(objects)["array"]
    assert [yaml.safe_load(entry) for entry in entries] == [
        {"objectName": "secret", "objectType": "secret", "objectAlias": "secret"}
    ]


def test_the_driver_requests_the_azure_token_audience(azure_dev: ProgramRun):
    driver = azure_dev.one("kubernetes:helm.sh/v3:Release", "secretstore-driver").inputs
    assert driver["values"]["tokenRequests"] == [{"audience": "api://AzureADTokenExchange"}]
    provider = azure_dev.one("kubernetes:helm.sh/v3:Release", "secretstore-provider").inputs
    assert (provider["chart"], provider["version"]) == ("csi-secrets-store-provider-azure", "1.8.2")
    assert (
        provider["repositoryOpts"]["repo"] == "https://azure.github.io/secrets-store-csi-driver-provider-azure/charts"
    )


VAULT_RULE = (
    "expected a Key Vault name: 3-24 letters, digits and hyphens, starting with a letter, "
    "ending with a letter or digit, with no consecutive hyphens"
)
BAD_VALUES = [
    (f"{P}:keyVaultName", "kv", VAULT_RULE),
    (f"{P}:keyVaultName", "a" * 25, VAULT_RULE),
    (f"{P}:keyVaultName", "1vault", VAULT_RULE),
    (f"{P}:keyVaultName", "my--vault", VAULT_RULE),
    (f"{P}:keyVaultName", "vault-", VAULT_RULE),
    (f"{P}:keyVaultName", "my_vault", VAULT_RULE),
    (f"{P}:keyVaultSoftDeleteRetentionDays", "6", "expected a whole number of days from 7 to 90"),
    (f"{P}:keyVaultSoftDeleteRetentionDays", "91", "expected a whole number of days from 7 to 90"),
    (f"{P}:keyVaultPurgeProtection", "yes", "expected true or false"),
]


@pytest.mark.parametrize("key, value, accepted", BAD_VALUES, ids=[f"{k}={v[:12]}" for k, v, _ in BAD_VALUES])
def test_a_bad_key_vault_value_is_one_clear_message(key: str, value: str, accepted: str):
    assert config_problems("azure-dev", set_={key: value}) == [f"{key} = {value!r}: {accepted}"]

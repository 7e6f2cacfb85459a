"""The Azure stack, as `pulumi up -s azure-dev` would build it: AKS, Key Vault and workload identity."""

from __future__ import annotations

import base64
import json
import re

import pytest
import yaml

from infra.config import ConfigError
from tests.harness import (
    AKS_ISSUER,
    AKS_KUBECONFIG,
    TENANT,
    ProgramRun,
    attempt_program,
    config_problems,
    run_program,
    unsecret,
)

P = "secretstore-csi"
CLUSTER = "azure-native:containerservice:ManagedCluster"
VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"
APPLICATION = "azuread:index/application:Application"
SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"
FEDERATED_CREDENTIAL = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
# What Key Vault accepts as a name.
KEY_VAULT_NAME = re.compile(r"^(?=.{3,24}$)[A-Za-z](?:-?[A-Za-z0-9])+$")


def test_the_cluster_has_an_oidc_issuer_workload_identity_and_calico(azure_dev: ProgramRun):
    cluster = azure_dev.one(CLUSTER).inputs
    assert cluster["resourceGroupName"] == azure_dev.one("azure-native:resources:ResourceGroup").outputs["name"]
    assert cluster["oidcIssuerProfile"] == {"enabled": True}
    assert cluster["securityProfile"] == {"workloadIdentity": {"enabled": True}}
    assert cluster["identity"] == {"type": "SystemAssigned"}
    network = cluster["networkProfile"]
    assert (network["networkPlugin"], network["networkPolicy"]) == ("azure", "calico")
    assert "networkPluginMode" not in network  # Azure CNI on the node subnet, as in the article
    assert cluster["kubernetesVersion"] == "1.35"
    assert cluster["dnsPrefix"] == "secretstore-azure-dev"


def test_the_node_pool_is_sized_from_config(azure_dev: ProgramRun):
    (pool,) = azure_dev.one(CLUSTER).inputs["agentPoolProfiles"]
    assert pool == {
        "name": "system",
        "mode": "System",
        "type": "VirtualMachineScaleSets",
        "osType": "Linux",
        "vmSize": "Standard_D2s_v5",
        "count": 2,
        "enableAutoScaling": True,
        "minCount": 1,
        "maxCount": 3,
    }
    # The autoscaler changes the count; `pulumi up` must not set it back.
    assert azure_dev.one(CLUSTER).ignore_changes == ["agentPoolProfiles[0].count"]


def test_the_kubeconfig_is_the_decoded_user_credential_and_secret(azure_dev: ProgramRun):
    kubeconfig = azure_dev.exports["kubeConfig"]
    assert kubeconfig.secret
    assert kubeconfig.value == AKS_KUBECONFIG
    provider = azure_dev.one("pulumi:providers:kubernetes")
    assert unsecret(provider.inputs["kubeconfig"]) == (AKS_KUBECONFIG, True)


def test_the_federated_credential_trusts_exactly_the_test_service_account(azure_dev: ProgramRun):
    credential = azure_dev.one(FEDERATED_CREDENTIAL).inputs
    application = azure_dev.one(APPLICATION)
    assert credential["issuer"] == AKS_ISSUER  # verbatim: matching is exact, slash included
    assert credential["subject"] == "system:serviceaccount:default:test"
    assert credential["audiences"] == ["api://AzureADTokenExchange"]
    assert credential["applicationId"] == application.id
    assert application.id.startswith("/applications/")


def test_the_service_principal_belongs_to_the_application(azure_dev: ProgramRun):
    assert azure_dev.one(SERVICE_PRINCIPAL).inputs["clientId"] == azure_dev.one(APPLICATION).outputs["clientId"]


def test_the_only_access_policy_lets_the_service_principal_get_and_nothing_else(azure_dev: ProgramRun):
    properties = azure_dev.one(VAULT).inputs["properties"]
    assert properties["accessPolicies"] == [
        {
            "tenantId": TENANT,
            "objectId": azure_dev.one(SERVICE_PRINCIPAL).outputs["objectId"],
            "permissions": {"secrets": ["get"], "keys": ["get"], "certificates": ["get"]},
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


def test_the_longest_generated_vault_name_still_fits():
    from infra import azure

    longest = azure.VAULT_NAME_PREFIX + "z" * azure.VAULT_SUFFIX_LENGTH
    assert len(longest) <= 24 and KEY_VAULT_NAME.fullmatch(longest)


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


def test_the_service_account_needs_no_annotation(azure_dev: ProgramRun):
    account = azure_dev.one("kubernetes:core/v1:ServiceAccount").inputs["metadata"]
    assert account["name"] == "test" and "annotations" not in account


def test_the_driver_requests_the_azure_token_audience(azure_dev: ProgramRun):
    driver = azure_dev.one("kubernetes:helm.sh/v3:Release", "secretstore-demo-driver").inputs
    assert driver["values"]["tokenRequests"] == [{"audience": "api://AzureADTokenExchange"}]
    provider = azure_dev.one("kubernetes:helm.sh/v3:Release", "secretstore-demo-provider").inputs
    assert (provider["chart"], provider["version"]) == ("csi-secrets-store-provider-azure", "1.8.2")
    assert provider["repositoryOpts"]["repo"] == "https://azure.github.io/secrets-store-csi-driver-provider-azure/charts"


def test_the_authorized_pod_waits_for_the_federated_credential_and_the_secret(azure_dev: ProgramRun):
    authorized = azure_dev.one("kubernetes:apps/v1:Deployment", "secretstore-demo-authorized")
    for type_ in (FEDERATED_CREDENTIAL, VAULT, SECRET):
        assert azure_dev.depends_on(authorized, azure_dev.one(type_)), type_


def test_the_stack_exports_what_the_readme_checks_need(azure_dev: ProgramRun):
    exports = {name: export.value for name, export in azure_dev.exports.items()}
    assert exports["cloud"] == "azure"
    assert exports["location"] == "westeurope"
    assert exports["resourceGroupName"] == azure_dev.one("azure-native:resources:ResourceGroup").outputs["name"]
    assert exports["clusterName"] == azure_dev.one(CLUSTER).outputs["name"]
    assert exports["keyVaultName"] == azure_dev.one(VAULT).outputs["name"]
    assert exports["keyVaultSecretName"] == "secret"
    assert exports["clientId"] == azure_dev.one(APPLICATION).outputs["clientId"]
    assert exports["tenantId"] == TENANT
    assert exports["oidcIssuerUrl"] == AKS_ISSUER
    assert exports["secretProviderClass"] == "azure-secret-provider"
    assert (exports["authorizedDeployment"], exports["unauthorizedDeployment"]) == (
        "hello-server-authorized",
        "hello-server-unauthorized",
    )


def test_the_azure_kubeconfig_is_base64_decoded():
    from infra.azure import decode_kubeconfig

    class Credentials:
        kubeconfigs = [type("Credential", (), {"value": base64.b64encode(b"kind: Config\n").decode()})]

    assert decode_kubeconfig(Credentials) == "kind: Config\n"


def _problems(**changes) -> list[str]:
    return config_problems("azure-dev", **changes)


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
    (f"{P}:nodeVmSize", "D2s_v5", "expected an Azure VM size such as Standard_D2s_v5"),
    ("azure-native:location", "west europe!", "expected an Azure region such as westeurope"),
]


@pytest.mark.parametrize("key, value, accepted", BAD_VALUES, ids=[f"{k}={v[:12]}" for k, v, _ in BAD_VALUES])
def test_a_bad_azure_value_is_one_clear_message(key: str, value: str, accepted: str):
    assert _problems(set_={key: value}) == [f"{key} = {value!r}: {accepted}" + (
        "; set it with `pulumi config set azure-native:location <region>`" if key == "azure-native:location" else ""
    )]


def test_a_missing_location_says_how_to_set_it():
    assert _problems(remove=("azure-native:location",)) == [
        "azure-native:location is not set: expected an Azure region such as westeurope; "
        "set it with `pulumi config set azure-native:location <region>`"
    ]


def test_an_aws_key_on_the_azure_stack_is_refused():
    assert _problems(set_={f"{P}:secretRecoveryWindowInDays": "0"}) == [
        f"{P}:secretRecoveryWindowInDays applies only when {P}:cloud is aws, but this stack's cloud is azure"
    ]


def test_an_azure_key_on_the_aws_stack_is_refused():
    run = attempt_program("aws-dev", set_={f"{P}:keyVaultName": "my-vault"})
    assert isinstance(run.error, ConfigError)
    assert run.error.problems == [
        f"{P}:keyVaultName applies only when {P}:cloud is azure, but this stack's cloud is aws"
    ]

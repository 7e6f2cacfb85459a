"""A user-assigned managed identity: a federated credential for exactly one service account,
a vault in RBAC mode, and Key Vault Secrets User on each secret, not on the vault."""

from __future__ import annotations

import json

import pytest

from tests.harness import AKS_ISSUER, SUBSCRIPTION, ProgramRun, run_program

P = "secretstore-csi"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
MANAGED = {f"{P}:identity": "managedIdentity"}
# Key Vault Secrets User, as the Azure built-in roles list it: "Read secret contents".
SECRETS_USER = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"


@pytest.fixture(scope="module")
def managed() -> ProgramRun:
    return run_program("azure-dev", set_=MANAGED)


@pytest.fixture(scope="module")
def managed_with_secrets() -> ProgramRun:
    listed = [{"name": "db", "keys": ["username", "password"]}, {"name": "api-token"}]
    return run_program("azure-dev", set_={**MANAGED, f"{P}:secrets": json.dumps(listed)})


def test_the_identity_lives_in_the_clusters_resource_group(managed: ProgramRun):
    identity = managed.one(IDENTITY)
    assert identity.inputs == {"resourceGroupName": managed.one("azure-native:resources:ResourceGroup").outputs["name"]}


def test_the_federated_credential_trusts_exactly_the_test_service_account(managed: ProgramRun):
    credential = managed.one(CREDENTIAL).inputs
    assert credential["issuer"] == AKS_ISSUER  # verbatim: matching is exact, slash included
    assert credential["subject"] == "system:serviceaccount:secretstore-azure-dev:test"
    assert credential["audiences"] == ["api://AzureADTokenExchange"]
    assert credential["resourceName"] == managed.one(IDENTITY).outputs["name"]
    assert credential["federatedIdentityCredentialResourceName"] == "kubernetes-secretstore-azure-dev-test"


def test_the_vault_is_in_rbac_mode_with_no_access_policies(managed: ProgramRun):
    properties = managed.one(VAULT).inputs["properties"]
    assert properties["enableRbacAuthorization"] is True
    assert properties["accessPolicies"] == []


def test_each_secret_and_nothing_else_is_granted_to_the_identity(managed_with_secrets: ProgramRun):
    run = managed_with_secrets
    principal = run.one(IDENTITY).outputs["principalId"]
    secrets = {secret.id for secret in run.of_type(SECRET)}
    assignments = run.of_type(ASSIGNMENT)
    assert len(secrets) == 2
    assert sorted(a.inputs["scope"] for a in assignments) == sorted(secrets)
    for assignment in assignments:
        assert assignment.inputs == {
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "roleDefinitionId": SECRETS_USER,
            "scope": assignment.inputs["scope"],
        }
        # A secret's scope, never the vault's: "/secrets/<name>" ends it.
        assert "/providers/Microsoft.KeyVault/vaults/" in assignment.inputs["scope"]
        assert assignment.inputs["scope"].rsplit("/", 2)[-2] == "secrets"


def test_the_class_and_the_service_account_name_the_identitys_client_id(managed: ProgramRun):
    client_id = managed.one(IDENTITY).outputs["clientId"]
    parameters = managed.one(SPC).inputs["spec"]["parameters"]
    assert parameters["clientID"] == client_id
    assert parameters["usePodIdentity"] == "false"
    account = managed.one("kubernetes:core/v1:ServiceAccount").inputs["metadata"]
    assert account["annotations"] == {"azure.workload.identity/client-id": client_id}
    assert managed.exports["clientId"].value == client_id


def test_there_is_no_entra_application_or_service_principal(managed: ProgramRun):
    assert [r for r in managed.resources if r.type.startswith("azuread:")] == []


def test_the_authorized_pod_waits_for_the_credential_and_every_role_assignment(managed_with_secrets: ProgramRun):
    run = managed_with_secrets
    authorized = run.one("kubernetes:apps/v1:Deployment", "secretstore-demo-authorized")
    for dependency in [run.one(CREDENTIAL), *run.of_type(ASSIGNMENT)]:
        assert run.depends_on(authorized, dependency), dependency.name


def test_the_application_mode_has_no_role_assignments(azure_dev: ProgramRun):
    assert azure_dev.of_type(ASSIGNMENT) == []
    assert azure_dev.one(VAULT).inputs["properties"]["enableRbacAuthorization"] is False

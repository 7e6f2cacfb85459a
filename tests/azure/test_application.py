"""The Entra application: a federated credential trusts exactly one service account."""

from __future__ import annotations

import re

from tests.harness import AKS_ISSUER, ProgramRun, run_program

P = "secretstore-csi"

FEDERATED_CREDENTIAL = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
APPLICATION = "azuread:index/application:Application"
SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"
VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"


def test_the_federated_credential_trusts_exactly_the_test_service_account(azure_dev: ProgramRun):
    credential = azure_dev.one(FEDERATED_CREDENTIAL).inputs
    application = azure_dev.one(APPLICATION)
    assert credential["issuer"] == AKS_ISSUER  # verbatim: matching is exact, slash included
    assert credential["subject"] == "system:serviceaccount:secretstore-azure-dev:test"
    assert credential["audiences"] == ["api://AzureADTokenExchange"]
    assert credential["applicationId"] == application.id
    assert application.id.startswith("/applications/")


def test_the_service_principal_belongs_to_the_application(azure_dev: ProgramRun):
    assert azure_dev.one(SERVICE_PRINCIPAL).inputs["clientId"] == azure_dev.one(APPLICATION).outputs["clientId"]


def test_the_service_account_needs_no_annotation(azure_dev: ProgramRun):
    account = azure_dev.one("kubernetes:core/v1:ServiceAccount").inputs["metadata"]
    assert account["name"] == "test" and "annotations" not in account


def test_the_authorized_pod_waits_for_the_federated_credential_and_the_secret(azure_dev: ProgramRun):
    authorized = azure_dev.one("kubernetes:apps/v1:Deployment", "secretstore-demo-authorized")
    for type_ in (FEDERATED_CREDENTIAL, VAULT, SECRET):
        assert azure_dev.depends_on(authorized, azure_dev.one(type_)), type_


# Entra: a federated credential's name is 3-120 characters, letters, digits, '-' and '_',
# starting with a letter or digit, and unique within its application.
CREDENTIAL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{2,119}")


def test_the_credential_name_names_the_service_account(azure_dev: ProgramRun):
    assert azure_dev.one(FEDERATED_CREDENTIAL).inputs["displayName"] == "kubernetes-secretstore-azure-dev-test"


def test_a_credential_name_too_long_for_entra_is_cut_and_stays_unique():
    namespace, account = "n" * 63, "a" * 62
    run = run_program("azure-dev", set_={f"{P}:namespace": namespace, f"{P}:serviceAccount": account + "1"})
    name = run.one(FEDERATED_CREDENTIAL).inputs["displayName"]
    assert CREDENTIAL_NAME.fullmatch(name) and len(name) <= 120, name
    other = run_program("azure-dev", set_={f"{P}:namespace": namespace, f"{P}:serviceAccount": account + "2"})
    assert other.one(FEDERATED_CREDENTIAL).inputs["displayName"] != name
    assert run.one(FEDERATED_CREDENTIAL).inputs["subject"] == f"system:serviceaccount:{namespace}:{account}1"

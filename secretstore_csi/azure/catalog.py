"""Azure's catalog entries: an AKS cluster, Key Vault, an Entra application and a managed identity."""

from __future__ import annotations

from typing import TYPE_CHECKING

from secretstore_csi import charts
from secretstore_csi.catalog import (
    ClusterSource,
    ExistingSecretForm,
    IdentityMode,
    ManagedAddOn,
    SecretStore,
    settings_model,
)

if TYPE_CHECKING:
    from secretstore_csi.azure.cluster import Aks
    from secretstore_csi.azure.key_vault import VaultReader
    from secretstore_csi.seam import ClusterBuilder, IdentityInstaller, StoreInstaller

SETTINGS = "secretstore_csi.azure.settings"
# Newer Entra responses say AADSTS700213 for the same missing federated credential.
NO_FEDERATED_CREDENTIAL = ("AADSTS70021", "AADSTS700213")


def _aks() -> ClusterBuilder[Aks]:
    from secretstore_csi.azure.cluster import build

    return build


def _key_vault() -> StoreInstaller[Aks, VaultReader]:
    from secretstore_csi.azure.key_vault import KeyVault

    return KeyVault


def _application() -> IdentityInstaller[Aks, VaultReader]:
    from secretstore_csi.azure.application import EntraApplications

    return EntraApplications


def _identity_binding() -> IdentityInstaller[Aks, VaultReader]:
    from secretstore_csi.azure.identity_binding import IdentityBindings

    return IdentityBindings


def _managed_identity() -> IdentityInstaller[Aks, VaultReader]:
    from secretstore_csi.azure.managed_identity import ManagedIdentities

    return ManagedIdentities


AKS: ClusterSource[Aks] = ClusterSource(
    name="azure",
    title="an AKS cluster with an OIDC issuer",
    settings=settings_model(SETTINGS, "AzureClusterSettings"),
    default_store="keyVault",
    build=_aks,
)

KEY_VAULT: SecretStore[Aks, VaultReader] = SecretStore(
    name="keyVault",
    title="Azure Key Vault",
    settings=settings_model(SETTINGS, "KeyVaultSettings"),
    provider="azure",
    chart=charts.AZURE_PROVIDER,
    token_audiences=("api://AzureADTokenExchange",),
    # "a maximum size of 25k bytes each" (About Azure Key Vault secrets).
    max_secret_bytes=25_000,
    clusters=("azure",),
    default_identity="application",
    install=_key_vault,
    # A vault name is 3-24 letters, digits and hyphens, starting with a letter, ending with a
    # letter or digit, no two hyphens in a row; a secret name 1-127 letters, digits and hyphens
    # (Key Vault, "Object identifiers").
    existing_secret=ExistingSecretForm(
        pattern=r"https://(?=[A-Za-z0-9-]{3,24}\.)[A-Za-z](?:-?[A-Za-z0-9])+\.vault\.azure\.net/secrets/[0-9A-Za-z-]{1,127}",
        form="the secret's URL without a version, https://<vault>.vault.azure.net/secrets/<name> "
        "(`az keyvault secret show --vault-name <vault> --name <name> --query id`, its last part left out)",
    ),
    # The add-on's driver requests the workload identity token the provider exchanges (AKS
    # docs, csi-secrets-store-identity-access.md). Whether it requests identity binding's
    # api://AKSIdentityBinding is not documented.
    add_on=ManagedAddOn(
        title="the AKS add-on azure-keyvault-secrets-provider", identities=("application", "managedIdentity")
    ),
)

APPLICATION: IdentityMode[Aks, VaultReader] = IdentityMode(
    name="application",
    title="an Entra application with a federated credential",
    settings=settings_model(SETTINGS, "ApplicationSettings"),
    store=KEY_VAULT,
    clusters=("azure",),
    denials=NO_FEDERATED_CREDENTIAL,
    install=_application,
)

MANAGED_IDENTITY: IdentityMode[Aks, VaultReader] = IdentityMode(
    name="managedIdentity",
    title="a user-assigned managed identity with a federated credential",
    settings=settings_model(SETTINGS, "ManagedIdentitySettings"),
    store=KEY_VAULT,
    clusters=("azure",),
    # "No matching federated identity record found" for the default service account.
    denials=NO_FEDERATED_CREDENTIAL,
    install=_managed_identity,
)

IDENTITY_BINDING: IdentityMode[Aks, VaultReader] = IdentityMode(
    name="identityBinding",
    title="a managed identity bound to the cluster, used by one service account (identity binding)",
    settings=settings_model(SETTINGS, "IdentityBindingSettings"),
    store=KEY_VAULT,
    clusters=("azure",),
    # The proxy refuses a service account RBAC does not let use the identity; the provider's
    # azidentity ClientAssertionCredential reports it as "ClientAssertionCredential
    # authentication failed." with the proxy's response (azidentity errors.go,
    # AuthenticationFailedError.Error; client_assertion_credential.go, credNameAssertion).
    denials=("ClientAssertionCredential authentication failed",),
    install=_identity_binding,
    # The token the provider hands the AKS token proxy (provider 1.8, pkg/auth/auth.go,
    # IdentityBindingTokenAudience).
    token_audiences=("api://AKSIdentityBinding",),
)

CLUSTERS = (AKS,)
STORES = (KEY_VAULT,)
IDENTITIES = (APPLICATION, MANAGED_IDENTITY, IDENTITY_BINDING)

"""The config keys of the Azure cluster source, the Key Vault store and the Entra application
identity. Importing this module needs no SDK."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from secretstore_csi.settings import (
    Accepted,
    Boolean,
    ManagedClusterSettings,
    SettingsModel,
    matching,
    node_count,
    whole_number,
)

# AKS: at most 1,000 nodes in a node pool.
AksNodeCount = Annotated[int, node_count(1000, "AKS allows at most 1000 nodes in a node pool")]


class AzureClusterSettings(ManagedClusterSettings):
    location: Annotated[
        str,
        Accepted(
            matching(r"[A-Za-z][A-Za-z0-9 ]*[A-Za-z0-9]"),
            "expected an Azure region such as westeurope; set it with "
            "`pulumi config set azure-native:location <region>`",
        ),
    ] = Field(alias="azure-native:location")
    node_vm_size: Annotated[
        str, Accepted(matching(r"(Standard|Basic)_[A-Za-z0-9_]+"), "expected an Azure VM size such as Standard_D2s_v5")
    ] = "Standard_D2s_v5"
    node_desired_count: AksNodeCount = 2
    node_min_count: AksNodeCount = 1
    node_max_count: AksNodeCount = 3


# 3-24 letters, digits and hyphens, starting with a letter, ending with a letter or digit,
# without consecutive hyphens.
KEY_VAULT_NAME = r"(?=.{3,24}$)[A-Za-z](?:-?[A-Za-z0-9])+"


def _vault_name(value: Any) -> str:
    return matching(KEY_VAULT_NAME)(value)


class KeyVaultSettings(SettingsModel):
    key_vault_name: Annotated[
        str | None,
        Accepted(
            _vault_name,
            "expected a Key Vault name: 3-24 letters, digits and hyphens, starting with a letter, "
            "ending with a letter or digit, with no consecutive hyphens",
        ),
    ] = None
    """None: a unique name is generated."""
    key_vault_soft_delete_retention_days: Annotated[
        int, Accepted(whole_number(7, 90), "expected a whole number of days from 7 to 90")
    ] = 90
    key_vault_purge_protection: Boolean = False


class ApplicationSettings(SettingsModel):
    """The Entra application has no settings: its one federated credential trusts exactly the
    workload's service account."""


class ManagedIdentitySettings(SettingsModel):
    """The managed identity has no settings: its one federated credential trusts exactly the
    workload's service account, and Key Vault grants it each secret."""

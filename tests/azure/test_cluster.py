"""The AKS cluster of `azure-dev`: an OIDC issuer, Azure CNI with Calico, the node pool."""

from __future__ import annotations

import base64

import pytest

from tests.harness import AKS_ISSUER, AKS_KUBECONFIG, TENANT, ProgramRun, config_problems, run_program, unsecret

P = "secretstore-csi"
CLUSTER = "azure-native:containerservice:ManagedCluster"
VAULT = "azure-native:keyvault:Vault"
APPLICATION = "azuread:index/application:Application"


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
    from secretstore_csi.azure.cluster import decode_kubeconfig

    class Credentials:
        kubeconfigs = [type("Credential", (), {"value": base64.b64encode(b"kind: Config\n").decode()})]

    assert decode_kubeconfig(Credentials) == "kind: Config\n"


VM_SIZE = (
    "expected an Azure VM size as Azure names them, such as Standard_D2s_v5 or Standard_E4as_v6 (`az vm list-sizes`)"
)
LOCATION = (
    "expected a public Azure region, such as westeurope (`az account list-locations`); set it with "
    "`pulumi config set azure-native:location <region>`"
)
BAD_VALUES = [
    (f"{P}:nodeVmSize", "D2s_v5", VM_SIZE),
    # The naming grammar: a family of capitals, a vCPU count, feature letters, a version.
    (f"{P}:nodeVmSize", "Standard_Nonexistent_v99", VM_SIZE),
    ("azure-native:location", "west europe!", LOCATION),
    ("azure-native:location", "mars", LOCATION),
    (
        f"{P}:nodeMaxCount",
        "1001",
        "expected a whole number from 1 to 1000 (AKS allows at most 1000 nodes in a node pool)",
    ),
]


@pytest.mark.parametrize("key, value, accepted", BAD_VALUES, ids=[f"{k}={v[:12]}" for k, v, _ in BAD_VALUES])
def test_a_bad_aks_value_is_one_clear_message(key: str, value: str, accepted: str):
    assert config_problems("azure-dev", set_={key: value}) == [f"{key} = {value!r}: {accepted}"]


def test_the_largest_node_pool_aks_allows_is_accepted():
    run = run_program("azure-dev", set_={f"{P}:nodeMaxCount": "1000"})
    (pool,) = run.one(CLUSTER).inputs["agentPoolProfiles"]
    assert pool["maxCount"] == 1000


def test_a_missing_location_says_how_to_set_it():
    assert config_problems("azure-dev", remove=("azure-native:location",)) == [
        f"azure-native:location is not set: {LOCATION}"
    ]


@pytest.mark.parametrize(
    "size",
    [
        "Standard_D2s_v5",
        "Standard_D2pls_v6",
        "Standard_NC4as_T4_v3",
        "Standard_M8-2ms_v2",
        "Standard_ND96isr_H100_v5",
        "Standard_B2ats_v2",
        "Standard_DS2_v2",
        "Standard_HC44-16rs",
        "Standard_A2_v2",
        "Basic_A1",
    ],
)
def test_vm_sizes_as_azure_names_them_are_accepted(size: str):
    from secretstore_csi.azure.names import vm_size

    assert vm_size(size) == size


@pytest.mark.parametrize("location", ["westeurope", "West Europe", "swedencentral", "indiasouthcentral"])
def test_regions_by_name_or_display_name_are_accepted(location: str):
    run = run_program("azure-dev", set_={"azure-native:location": location})
    assert run.exports["location"].value == location

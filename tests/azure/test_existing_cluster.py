"""An existing AKS cluster: read with containerservice.get_managed_cluster, never created, no
resource group made; each workload's vault and identity go in the cluster's group and trust
its issuer; a cluster without an OIDC issuer or workload identity is refused up front."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.harness import (
    EXISTING_AKS,
    EXISTING_AKS_ISSUER,
    EXISTING_RESOURCE_GROUP,
    ExistingAks,
    ProgramRun,
    World,
    config_problems,
    reveal,
    run_combination,
)
from tests.isolation import isolation_problems
from tests.policy_pack import analyze

P = "secretstore-csi"
EXISTING = {f"{P}:existingCluster": EXISTING_AKS, f"{P}:existingClusterResourceGroup": EXISTING_RESOURCE_GROUP}
WORKLOADS = json.dumps(
    [
        {"name": "payments", "secrets": [{"name": "db", "keys": ["username", "password"]}], "demo": True},
        {"name": "reports", "secrets": [{"name": "signing-key"}]},
    ]
)
IDENTITIES = ["application", "managedIdentity"]


@pytest.fixture(scope="module", params=IDENTITIES)
def existing(request: pytest.FixtureRequest) -> ProgramRun:
    return run_combination("azure", "keyVault", request.param, set_={**EXISTING, f"{P}:workloads": WORKLOADS})


def test_nothing_the_cluster_has_is_created_and_isolation_holds(existing: ProgramRun):
    created = {r.type for r in existing.resources}
    assert not created & {"azure-native:containerservice:ManagedCluster", "azure-native:resources:ResourceGroup"}
    assert not any(t.startswith("azure-native:network:") for t in created)
    (cluster,) = existing.of_type("secretstore-csi:azure:ExistingAksCluster")
    assert existing.exports["clusterName"].value == EXISTING_AKS
    assert existing.exports["resourceGroupName"].value == EXISTING_RESOURCE_GROUP
    assert isolation_problems(existing) == []
    assert analyze(existing.resources) == []
    assert [token for token, _ in existing.calls].count("azure-native:containerservice:getManagedCluster") == 1


def test_vaults_and_identities_go_in_the_clusters_resource_group_and_trust_its_issuer(existing: ProgramRun):
    in_group = [
        r
        for r in existing.resources
        if r.type in ("azure-native:keyvault:Vault", "azure-native:managedidentity:UserAssignedIdentity")
    ]
    assert in_group and {reveal(r.inputs)["resourceGroupName"] for r in in_group} == {EXISTING_RESOURCE_GROUP}
    credentials = [
        reveal(r.inputs)
        for r in existing.resources
        if r.type
        in (
            "azure-native:managedidentity:FederatedIdentityCredential",
            "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential",
        )
    ]
    assert len(credentials) == 2 and {c["issuer"] for c in credentials} == {EXISTING_AKS_ISSUER}


def test_the_kubeconfig_logs_in_with_the_azure_cli_token_through_kubelogin(existing: ProgramRun):
    assert existing.exports["kubeConfig"].secret
    document = yaml.safe_load(existing.exports["kubeConfig"].value)
    (user,) = document["users"]
    assert user["user"]["exec"]["command"] == "kubelogin"
    # kubelogin convert-kubeconfig -l azurecli: the server id stays, the device-code login goes.
    assert user["user"]["exec"]["args"] == [
        "get-token",
        "--server-id",
        "6dae42f8-4368-4678-94ff-3960e28e3630",
        "--login",
        "azurecli",
    ]
    (credentials,) = [
        args
        for token, args in existing.calls
        if token == "azure-native:containerservice:listManagedClusterUserCredentials"
    ]
    assert credentials == {"resourceGroupName": EXISTING_RESOURCE_GROUP, "resourceName": EXISTING_AKS, "format": "exec"}


def _problems(world: World | None = None, identity: str = "application", **set_: str) -> list[str]:
    return config_problems("azure-dev", set_={**EXISTING, f"{P}:identity": identity, **set_}, world=world)


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize(
    "cluster, missing, flags",
    [
        (ExistingAks(oidc_issuer=False), "OIDC issuer", "--enable-oidc-issuer"),
        (ExistingAks(workload_identity=False), "workload identity", "--enable-workload-identity"),
        (
            ExistingAks(oidc_issuer=False, workload_identity=False),
            "OIDC issuer and no workload identity",
            "--enable-oidc-issuer --enable-workload-identity",
        ),
    ],
)
def test_a_cluster_that_cannot_federate_is_refused(identity: str, cluster: ExistingAks, missing: str, flags: str):
    assert _problems(World(aks=[cluster]), identity) == [
        f"{P}:identity = {identity!r}: cluster {EXISTING_AKS} has no {missing}, which federating its service "
        f"accounts with Entra needs; turn {'them' if ' and ' in missing else 'it'} on (`az aks update "
        f"--resource-group {EXISTING_RESOURCE_GROUP} --name {EXISTING_AKS} {flags}`)"
    ]


def test_a_cluster_with_the_key_vault_add_on_is_refused_as_its_driver_would_collide():
    assert _problems(World(aks=[ExistingAks(driver_add_on=True)])) == [
        f"{P}:existingCluster = '{EXISTING_AKS}': the cluster runs the AKS add-on azure-keyvault-secrets-provider, "
        f"whose Secrets Store CSI Driver the stack's Helm release would collide with: set {P}:install to addon, "
        "which uses it, or turn it off (`az aks disable-addons --addons azure-keyvault-secrets-provider "
        f"--resource-group {EXISTING_RESOURCE_GROUP} --name {EXISTING_AKS}`)"
    ]


def test_credentials_the_caller_may_not_list_are_refused_up_front():
    (problem,) = _problems(World(aks=[ExistingAks(user_credentials=False)]))
    assert problem.startswith(
        f"{P}:existingCluster = '{EXISTING_AKS}': the cluster's user credentials cannot be listed (Azure said: "
        'Status=403 Code="AuthorizationFailed"'
    )
    assert problem.endswith(
        "expected the role Azure Kubernetes Service Cluster User Role on the cluster, which "
        "`az aks get-credentials` needs too"
    )


def test_a_cluster_without_network_policy_is_warned_about(caplog: pytest.LogCaptureFixture):
    run = run_combination(
        "azure", "keyVault", "application", set_=EXISTING, world=World(aks=[ExistingAks(network_policy=None)])
    )
    assert run.error is None
    assert any(f"Cluster {EXISTING_AKS} enforces no NetworkPolicy" in m for m in caplog.messages)


def test_a_cluster_that_is_not_there_is_refused_with_what_azure_said():
    (problem,) = _problems(**{f"{P}:existingCluster": "elsewhere"})
    assert problem.startswith(
        f"{P}:existingCluster = 'elsewhere': no AKS cluster of that name can be read in resource group "
        f'{EXISTING_RESOURCE_GROUP} (Azure said: Status=404 Code="ResourceNotFound"'
    )


def test_the_resource_group_comes_with_the_cluster_and_creation_keys_do_not():
    assert config_problems("azure-dev", set_={f"{P}:existingCluster": EXISTING_AKS}) == [
        f"{P}:existingClusterResourceGroup is not set: expected the resource group of {P}:existingCluster = "
        f"'{EXISTING_AKS}' (`az aks list --query \"[].{{name:name, resourceGroup:resourceGroup}}\"`)"
    ]
    assert config_problems("azure-dev", set_={f"{P}:existingClusterResourceGroup": EXISTING_RESOURCE_GROUP}) == [
        f"{P}:existingClusterResourceGroup names the resource group of an existing cluster, and "
        f"{P}:existingCluster is not set: set it, or remove existingClusterResourceGroup"
    ]
    assert _problems(**{f"{P}:nodeVmSize": "Standard_D4s_v5"}) == [
        f"{P}:nodeVmSize: applies only to a cluster the stack creates, and {P}:existingCluster = "
        f"'{EXISTING_AKS}' names one that exists: remove it"
    ]
    assert _problems(**{f"{P}:existingCluster": "aks.prod"}) == [
        f"{P}:existingCluster = 'aks.prod': expected the name of an AKS cluster: 1-63 letters, digits, '_' or '-', "
        "starting and ending with a letter or digit (`az aks list`)"
    ]

"""`install: addon`: the clouds' managed add-ons instead of the Helm releases. No release is
left, the SecretProviderClass and the pods name the add-on's provider and driver, the grants
are exactly those of the Helm path, the AKS add-on's own identity is granted nothing, and
what an add-on cannot serve is refused before any resource."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from secretstore_csi import registry
from tests.authorities import validate_kubernetes_objects
from tests.harness import (
    AKS_ADD_ON_IDENTITY,
    EXISTING_AKS,
    EXISTING_EKS,
    EXISTING_GKE,
    EXISTING_RESOURCE_GROUP,
    ExistingAks,
    ExistingEks,
    ExistingGke,
    OidcIssuer,
    ProgramRun,
    World,
    config_problems,
    reveal,
    run_combination,
)
from tests.isolation import SPC, isolation_problems
from tests.policy_pack import analyze
from tests.test_isolation import WORKLOADS

P = "secretstore-csi"
ADD_ON = {f"{P}:install": "addon"}
SERVED = [c for c in registry.combinations() if (s := registry.STORES[c[1]].add_on) and c[2] in s.identities]
# The add-on's SecretProviderClass provider and CSI driver, by store.
EXPECTED = {
    "secretsManager": ("aws", "secrets-store.csi.k8s.io"),
    "keyVault": ("azure", "secrets-store.csi.k8s.io"),
    "secretManager": ("gke", "secrets-store-gke.csi.k8s.io"),
}
# What grants a principal read on a secret, by cloud: their inputs must not change with the install.
GRANTS = {
    "aws": (
        "aws:iam/policy:Policy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/role:Role",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
    ),
    "azure": (
        "azure-native:authorization:RoleAssignment",
        "azure-native:keyvault:Vault",
        "azure-native:managedidentity:FederatedIdentityCredential",
        "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential",
    ),
    "gcp": ("gcp:secretmanager/secretIamMember:SecretIamMember",),
}


def _run(combination: tuple[str, str, str], **set_: str) -> ProgramRun:
    return run_combination(*combination, set_={f"{P}:workloads": json.dumps(WORKLOADS), **set_})


@pytest.fixture(scope="module", params=SERVED, ids=["/".join(c) for c in SERVED])
def pair(request: pytest.FixtureRequest, oidc_issuer: OidcIssuer) -> tuple[ProgramRun, ProgramRun]:
    """The combination with the add-on, and with Helm."""
    return _run(request.param, **ADD_ON), _run(request.param)


def test_every_cloud_store_has_an_add_on_and_vault_none():
    assert {s.name for s in registry.STORES.values() if s.add_on} == set(EXPECTED)
    assert registry.STORES["vault"].add_on is None


def test_no_helm_release_or_provider_of_the_programs_is_left(pair: tuple[ProgramRun, ProgramRun]):
    add_on, helm = pair
    assert add_on.of_type("kubernetes:helm.sh/v3:Release") == []
    assert helm.of_type("kubernetes:helm.sh/v3:Release"), "the Helm path has them"
    assert [o for o in add_on.kubernetes_objects() if o["kind"] == "DaemonSet"] == []


def test_the_secret_provider_classes_and_pods_name_the_add_ons_provider_and_driver(pair):
    add_on, _ = pair
    provider, driver = EXPECTED[add_on.exports["store"].value]
    specs = [reveal(r.inputs)["spec"] for r in add_on.of_type(SPC)]
    assert len(specs) == 3 and {spec["provider"] for spec in specs} == {provider}
    pods = [o["spec"]["template"]["spec"] for o in add_on.kubernetes_objects() if o["kind"] == "Deployment"]
    assert len(pods) == 4
    assert {v["csi"]["driver"] for pod in pods for v in pod["volumes"]} == {driver}


def test_the_grants_are_exactly_those_of_the_helm_path(pair):
    add_on, helm = pair

    def grants(run: ProgramRun) -> list[tuple[str, str, str]]:
        types = GRANTS[run.exports["cloud"].value]
        return sorted(
            (r.type, r.name, json.dumps(reveal(r.inputs), sort_keys=True)) for r in run.resources if r.type in types
        )

    assert grants(add_on) and grants(add_on) == grants(helm)
    assert isolation_problems(add_on) == []


def test_every_object_is_valid_and_the_policy_pack_finds_nothing(pair):
    add_on, _ = pair
    assert validate_kubernetes_objects(add_on) >= 10
    assert analyze(add_on.resources) == []


def test_the_eks_add_on_is_pinned_and_carries_rotation_sync_and_the_audiences(oidc_issuer: OidcIssuer):
    rotation = {f"{P}:rotation": json.dumps({"enabled": True, "pollInterval": "2m"}), f"{P}:syncSecret": "true"}
    run = _run(("aws", "secretsManager", "podIdentity"), **ADD_ON, **rotation)
    (add_on,) = [
        r
        for r in run.of_type("aws:eks/addon:Addon")
        if r.inputs["addonName"] == "aws-secrets-store-csi-driver-provider"
    ]
    inputs = reveal(add_on.inputs)
    assert (inputs["addonVersion"], inputs["resolveConflictsOnCreate"]) == ("v3.1.1-eksbuild.1", "NONE")
    assert json.loads(inputs["configurationValues"]) == {
        "secrets-store-csi-driver": {
            "enableSecretRotation": True,
            "rotationPollInterval": "2m",
            "syncSecret": {"enabled": True},
            "tokenRequests": [{"audience": "sts.amazonaws.com"}, {"audience": "pods.eks.amazonaws.com"}],
        }
    }
    for spc in run.of_type(SPC):
        assert run.depends_on(spc, add_on)


def test_the_aks_add_on_is_turned_on_in_the_cluster_and_its_identity_granted_nothing():
    rotation = {f"{P}:rotation": json.dumps({"enabled": True, "pollInterval": "5m"})}
    run = _run(("azure", "keyVault", "managedIdentity"), **ADD_ON, **rotation)
    cluster = reveal(run.one("azure-native:containerservice:ManagedCluster").inputs)
    assert cluster["addonProfiles"] == {
        "azureKeyvaultSecretsProvider": {
            "enabled": True,
            "config": {"enableSecretRotation": "true", "rotationPollInterval": "5m"},
        }
    }
    add_on_identity = AKS_ADD_ON_IDENTITY["objectId"]
    principals = {reveal(r.inputs)["principalId"] for r in run.of_type("azure-native:authorization:RoleAssignment")}
    policies = {
        p["objectId"]
        for v in run.of_type("azure-native:keyvault:Vault")
        for p in reveal(v.inputs)["properties"].get("accessPolicies") or []
    }
    assert principals and add_on_identity not in principals | policies
    # The check would see it: the add-on's identity is what the mocks report.
    outputs = run.one("azure-native:containerservice:ManagedCluster").outputs
    assert outputs["addonProfiles"]["azureKeyvaultSecretsProvider"]["identity"]["objectId"] == add_on_identity


def test_the_gke_add_on_rotates_at_the_stacks_interval_and_mounts_each_secret_whole():
    rotation = {f"{P}:rotation": json.dumps({"enabled": True, "pollInterval": "1h30m"})}
    run = _run(("gcp", "secretManager", "workloadIdentity"), **ADD_ON, **rotation)
    assert reveal(run.one("gcp:container/cluster:Cluster").inputs)["secretManagerConfig"] == {
        "enabled": True,
        "rotationConfig": {"enabled": True, "rotationInterval": "5400s"},
    }
    for spc in run.of_type(SPC):
        entries = yaml.safe_load(reveal(spc.inputs)["spec"]["parameters"]["secrets"])
        assert entries and all(set(entry) == {"resourceName", "path"} for entry in entries)


def _problems(combination: tuple[str, str, str], world: World | None = None, **set_: Any) -> list[str]:
    from tests.harness import foreign_keys, stack_for

    cloud, store, identity = combination
    config = {f"{P}:store": store, f"{P}:identity": identity, **set_}
    if store == "vault" and cloud != "kubernetes":
        config[f"{P}:vaultDevMode"] = "true"
    return config_problems(stack_for(cloud), set_=config, remove=tuple(foreign_keys(*combination)), world=world)


@pytest.mark.parametrize(
    "combination, expected",
    [
        (
            ("kubernetes", "vault", "kubernetesAuth"),
            f"{P}:install = 'addon': a cluster of your own, such as kind, has no managed add-on: expected helm",
        ),
        (
            ("aws", "vault", "kubernetesAuth"),
            f"{P}:install = 'addon': HashiCorp Vault has no managed add-on: expected helm",
        ),
        (
            ("azure", "keyVault", "identityBinding"),
            f"{P}:install = 'addon': the AKS add-on azure-keyvault-secrets-provider serves the identity modes "
            "application, managedIdentity, not identityBinding: expected helm, or one of those",
        ),
    ],
)
def test_what_an_add_on_cannot_serve_is_refused(combination: tuple[str, str, str], expected: str):
    assert _problems(combination, **ADD_ON) == [expected]


def test_the_eks_add_on_is_refused_on_a_kubernetes_version_it_is_not_offered_for():
    assert _problems(("aws", "secretsManager", "irsa"), **ADD_ON, **{f"{P}:kubernetesVersion": "1.34"}) == [
        f"{P}:install = 'addon': the pinned add-on aws-secrets-store-csi-driver-provider v3.1.1-eksbuild.1 is offered "
        "for Kubernetes 1.35 and 1.36, and the cluster runs 1.34: expected helm, or a cluster on one of those "
        "(`aws eks describe-addon-versions --addon-name aws-secrets-store-csi-driver-provider --kubernetes-version "
        "1.34`)"
    ]


def test_gke_sync_with_the_add_on_is_refused_with_the_reason():
    (problem,) = _problems(("gcp", "secretManager", "workloadIdentity"), **ADD_ON, **{f"{P}:syncSecret": "true"})
    assert problem.startswith(
        f"{P}:syncSecret = true with {P}:install = 'addon': GKE's Secret Manager add-on does "
        "not sync mounted secrets to Kubernetes Secrets"
    )


def test_install_takes_helm_or_addon():
    assert _problems(("aws", "secretsManager", "irsa"), **{f"{P}:install": "operator"}) == [
        f"{P}:install = 'operator': expected helm (the driver and the store's provider as pinned Helm charts) or "
        "addon (the cloud's managed add-on: EKS, AKS or GKE)"
    ]


# Existing clusters: the add-on that is there is used, never made twice or collided with

EKS = {f"{P}:existingCluster": EXISTING_EKS, f"{P}:createOidcProvider": "false"}


def test_an_existing_eks_clusters_add_on_is_used_as_it_is(oidc_issuer: OidcIssuer, caplog: pytest.LogCaptureFixture):
    world = World(eks=[ExistingEks(secrets_store_add_on=True)])
    run = run_combination("aws", "secretsManager", "irsa", set_={**EKS, **ADD_ON}, world=world)
    assert run.of_type("aws:eks/addon:Addon") == []
    assert any("has the EKS add-on aws-secrets-store-csi-driver-provider already" in m for m in caplog.messages)
    # Without one, the stack adds it, tagged as its own.
    added = run_combination("aws", "secretsManager", "irsa", set_={**EKS, **ADD_ON})
    (add_on,) = added.of_type("aws:eks/addon:Addon")
    assert add_on.inputs["tags"] == {"secretstore-csi/stack": "organization/secretstore-csi/aws-dev"}


def test_helm_next_to_an_existing_eks_clusters_add_on_is_refused():
    world = World(eks=[ExistingEks(secrets_store_add_on=True)])
    assert _problems(("aws", "secretsManager", "irsa"), world, **EKS) == [
        f"{P}:install = 'helm': cluster {EXISTING_EKS} runs the EKS add-on aws-secrets-store-csi-driver-provider, "
        "whose Secrets Store CSI Driver the stack's Helm release would collide with on the CSIDriver object: set "
        "install to addon, which uses it"
    ]


def test_an_existing_aks_or_gke_cluster_must_run_its_add_on_already():
    aks = {f"{P}:existingCluster": EXISTING_AKS, f"{P}:existingClusterResourceGroup": EXISTING_RESOURCE_GROUP}
    (problem,) = _problems(("azure", "keyVault", "application"), **aks, **ADD_ON)
    assert problem.startswith(f"{P}:install = 'addon': cluster {EXISTING_AKS} does not run the AKS add-on")
    run = run_combination(
        "azure", "keyVault", "application", set_={**aks, **ADD_ON}, world=World(aks=[ExistingAks(driver_add_on=True)])
    )
    assert run.of_type("kubernetes:helm.sh/v3:Release") == []

    gke = {f"{P}:existingCluster": EXISTING_GKE}
    remove = (f"{P}:deletionProtection",)
    problems = config_problems("gcp-dev", set_={**gke, **ADD_ON}, remove=remove)
    assert problems == [
        f"{P}:install = 'addon': cluster {EXISTING_GKE} does not run GKE's Secret Manager add-on, and the stack "
        f"changes no cluster it does not own: turn it on (`gcloud container clusters update {EXISTING_GKE} "
        "--location us-central1-a --enable-secret-manager`), or use helm"
    ]
    # Autopilot runs GKE's add-on, though not the open-source driver.
    autopilot = World(gke=[ExistingGke(autopilot=True, secret_manager_add_on=True)])
    run = run_combination(
        "gcp", "secretManager", "workloadIdentity", set_={**gke, **ADD_ON}, remove=remove, world=autopilot
    )
    assert run.of_type("kubernetes:helm.sh/v3:Release") == []


def test_helm_next_to_an_eks_add_on_is_refused_whatever_the_store():
    world = World(eks=[ExistingEks(secrets_store_add_on=True)])
    vault = {f"{P}:existingCluster": EXISTING_EKS}
    assert _problems(("aws", "vault", "kubernetesAuth"), world, **vault) == [
        f"{P}:install = 'helm': cluster {EXISTING_EKS} runs the EKS add-on aws-secrets-store-csi-driver-provider, "
        "whose Secrets Store CSI Driver the stack's Helm release would collide with on the CSIDriver object: remove "
        "the add-on, or use another cluster"
    ]
    ours = World(eks=[ExistingEks(secrets_store_add_on=True, tags=OURS)])
    (problem,) = _problems(("aws", "secretsManager", "irsa"), ours, **EKS)
    assert problem.endswith(
        "the stack added it with install addon: switching takes two steps, removing the add-on first (docs/add-ons.md)"
    )


def test_a_foreign_eks_add_on_is_used_on_any_version_but_must_do_what_the_stack_asks(oidc_issuer: OidcIssuer):
    old = World(eks=[ExistingEks(secrets_store_add_on=True)])
    from tests import harness

    version = harness.EXISTING_EKS_VERSION
    try:
        harness.EXISTING_EKS_VERSION = "1.33"
        run = run_combination("aws", "secretsManager", "irsa", set_={**EKS, **ADD_ON}, world=old)
        assert run.of_type("aws:eks/addon:Addon") == []
        # The stack would make the pinned build, which is not offered for 1.33.
        (problem,) = _problems(("aws", "secretsManager", "irsa"), World(eks=[ExistingEks()]), **EKS, **ADD_ON)
        assert "is offered for Kubernetes 1.35 and 1.36, and the cluster runs 1.33" in problem
    finally:
        harness.EXISTING_EKS_VERSION = version
    sync = {f"{P}:syncSecret": "true", f"{P}:rotation": json.dumps({"enabled": True, "pollInterval": "2m"})}
    assert _problems(("aws", "secretsManager", "irsa"), old, **EKS, **ADD_ON, **sync) == [
        f"{P}:install = 'addon': cluster {EXISTING_EKS} runs the EKS add-on aws-secrets-store-csi-driver-provider, "
        "which the stack uses as it is, and it has syncSecret and rotation off: turn them on in the add-on's "
        "configuration (`aws eks update-addon --configuration-values`), or off in the stack"
    ]
    configured = json.dumps(
        {"secrets-store-csi-driver": {"syncSecret": {"enabled": True}, "enableSecretRotation": True}}
    )
    world = World(eks=[ExistingEks(secrets_store_add_on=True, add_on_configuration=configured)])
    assert run_combination("aws", "secretsManager", "irsa", set_={**EKS, **ADD_ON, **sync}, world=world).error is None


OURS = {"secretstore-csi/stack": "organization/secretstore-csi/aws-dev"}

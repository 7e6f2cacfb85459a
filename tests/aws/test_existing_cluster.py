"""An existing EKS cluster: read with aws.eks.get_cluster, never created; IRSA with the stack's
own OIDC provider or the one IAM has, Pod Identity with the cluster's agent or one the stack
adds; and each cluster that cannot do the chosen mode refused before any resource."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.harness import (
    ACCOUNT,
    EXISTING_EKS,
    EXISTING_EKS_ENDPOINT,
    EXISTING_EKS_VERSION,
    ExistingEks,
    OidcIssuer,
    ProgramRun,
    World,
    config_problems,
    reveal,
    run_program,
)
from tests.isolation import isolation_problems
from tests.policy_pack import analyze

P = "secretstore-csi"
EXISTING = {f"{P}:existingCluster": EXISTING_EKS}
CLUSTER_ARN = f"arn:aws:eks:eu-central-1:{ACCOUNT}:cluster/{EXISTING_EKS}"
# What a cluster the stack creates has, and an existing one must not get.
CREATED_ONLY_TYPES = {
    "eks:index:Cluster",
    "aws:eks/cluster:Cluster",
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:autoscaling/group:Group",
    "aws:eks/nodeGroup:NodeGroup",
}
WORKLOADS = json.dumps(
    [
        {"name": "payments", "secrets": [{"name": "db", "keys": ["username", "password"]}], "demo": True},
        {"name": "reports", "secrets": [{"name": "signing-key"}]},
    ]
)


def _existing(identity: str, world: World | None = None, **set_: str) -> ProgramRun:
    return run_program(
        "aws-dev",
        set_={**EXISTING, f"{P}:identity": identity, f"{P}:workloads": WORKLOADS, **set_},
        world=world,
    )


# What this stack's earlier run tagged the provider or the agent it added with.
OURS = {"secretstore-csi/stack": "organization/secretstore-csi/aws-dev"}


@pytest.fixture(scope="module")
def irsa(oidc_issuer: OidcIssuer) -> ProgramRun:
    """IAM has no provider for the cluster's issuer yet: the stack creates it."""
    return _existing("irsa", World(eks=[ExistingEks(oidc_provider=False)]))


@pytest.fixture(scope="module")
def irsa_found_provider(oidc_issuer: OidcIssuer) -> ProgramRun:
    return _existing("irsa", **{f"{P}:createOidcProvider": "false"})


@pytest.fixture(scope="module")
def pod_identity(oidc_issuer: OidcIssuer) -> ProgramRun:
    return _existing("podIdentity")


def _created_only(run: ProgramRun) -> list[str]:
    return [r.type for r in run.resources if r.type in CREATED_ONLY_TYPES or r.type.startswith("aws:ec2/")]


@pytest.mark.parametrize("fixture", ["irsa", "irsa_found_provider", "pod_identity"])
def test_nothing_the_cluster_has_is_created_and_isolation_holds(fixture: str, request: pytest.FixtureRequest):
    run: ProgramRun = request.getfixturevalue(fixture)
    assert _created_only(run) == []
    (cluster,) = run.of_type("secretstore-csi:aws:ExistingEksCluster")
    assert cluster.name == "secretstore"
    assert run.exports["clusterName"].value == EXISTING_EKS
    assert isolation_problems(run) == []
    assert analyze(run.resources) == []
    lookups = [token for token, _ in run.calls]
    assert lookups.count("aws:eks/getCluster:getCluster") == 1, "read once, when the config is checked"


def test_the_kubeconfig_logs_in_as_the_user_with_aws_eks_get_token(irsa: ProgramRun):
    assert irsa.exports["kubeConfig"].secret
    document = yaml.safe_load(irsa.exports["kubeConfig"].value)
    assert document["clusters"] == [
        {
            "name": CLUSTER_ARN,
            "cluster": {
                "server": EXISTING_EKS_ENDPOINT,
                "certificate-authority-data": document["clusters"][0]["cluster"]["certificate-authority-data"],
            },
        }
    ]
    assert document["users"] == [
        {
            "name": CLUSTER_ARN,
            "user": {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                    "command": "aws",
                    "args": [
                        "--region",
                        "eu-central-1",
                        "eks",
                        "get-token",
                        "--cluster-name",
                        EXISTING_EKS,
                        "--output",
                        "json",
                    ],
                }
            },
        }
    ]
    (provider,) = irsa.of_type("pulumi:providers:kubernetes")
    assert reveal(provider.inputs["kubeconfig"]) == irsa.exports["kubeConfig"].value


def test_irsa_creates_the_oidc_provider_for_the_clusters_issuer(irsa: ProgramRun, oidc_issuer: OidcIssuer):
    (provider,) = irsa.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == oidc_issuer.url
    assert provider.inputs["tags"] == OURS
    issuer = oidc_issuer.url.removeprefix("https://")
    for role in irsa.of_type("aws:iam/role:Role"):
        condition = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
        assert set(condition) == {f"{issuer}:sub", f"{issuer}:aud"}


def test_irsa_trusts_the_oidc_provider_iam_has_when_told_not_to_create_one(
    irsa_found_provider: ProgramRun, oidc_issuer: OidcIssuer
):
    run = irsa_found_provider
    assert run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    issuer = oidc_issuer.url.removeprefix("https://")
    provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}"
    assert ("aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider", {"url": oidc_issuer.url}) in run.calls
    assert run.exports["oidcProviderArn"].value == provider_arn
    role = next(r for r in run.of_type("aws:iam/role:Role") if r.name == "payments-secret-reader")
    assert json.loads(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:sub": "system:serviceaccount:aws-dev-payments:payments",
                        f"{issuer}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


def test_pod_identity_uses_the_clusters_agent_and_its_arn(pod_identity: ProgramRun):
    assert pod_identity.of_type("aws:eks/addon:Addon") == []
    for association in pod_identity.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation"):
        assert association.inputs["clusterName"] == EXISTING_EKS
    role = next(r for r in pod_identity.of_type("aws:iam/role:Role") if r.name == "reports-secret-reader")
    condition = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert condition["aws:RequestTag/eks-cluster-arn"] == CLUSTER_ARN
    assert condition["aws:SourceAccount"] == ACCOUNT


def test_a_provider_iam_has_is_refused_unless_it_is_the_stacks_own(oidc_issuer: OidcIssuer):
    (problem,) = _problems()
    assert problem.startswith(
        f"{P}:createOidcProvider is true, and IAM has an OIDC provider for the issuer of "
        f"cluster {EXISTING_EKS} already (arn:aws:iam::{ACCOUNT}:oidc-provider/"
    )
    assert problem.endswith(f"trust it with `pulumi config set {P}:createOidcProvider false`")
    # The next run of the stack that made it finds its own, and keeps it.
    run = _existing("irsa", World(eks=[ExistingEks(tags=OURS)]))
    assert len(run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")) == 1


def test_pod_identity_adds_the_agent_when_allowed(oidc_issuer: OidcIssuer):
    world = World(eks=[ExistingEks(pod_identity_agent=False)])
    run = _existing("podIdentity", world, **{f"{P}:installPodIdentityAgent": "true"})
    (addon,) = run.of_type("aws:eks/addon:Addon")
    assert addon.inputs["clusterName"] == EXISTING_EKS
    assert addon.inputs["tags"] == OURS
    # Its next run finds the agent it added, and keeps it.
    again = _existing("podIdentity", World(eks=[ExistingEks(tags=OURS)]), **{f"{P}:installPodIdentityAgent": "true"})
    assert len(again.of_type("aws:eks/addon:Addon")) == 1
    assert config_problems(
        "aws-dev", set_={**EXISTING, f"{P}:identity": "podIdentity", f"{P}:installPodIdentityAgent": "true"}
    ) == [
        f"{P}:installPodIdentityAgent is true, and cluster {EXISTING_EKS} has the eks-pod-identity-agent add-on "
        "already, which the stack would then delete on `pulumi destroy`: remove installPodIdentityAgent"
    ]
    (version,) = [args for token, args in run.calls if token == "aws:eks/getAddonVersion:getAddonVersion"]
    assert version["kubernetesVersion"] == EXISTING_EKS_VERSION
    # The demo's authorized pod mounts only once the agent can answer it.
    deployment = run.one("kubernetes:apps/v1:Deployment", "payments-demo-authorized")
    assert run.depends_on_transitively(deployment, addon)


def _problems(world: World | None = None, **set_: str) -> list[str]:
    return config_problems("aws-dev", set_={**EXISTING, **set_}, world=world)


def test_a_cluster_that_is_not_there_is_refused_with_what_aws_said():
    assert _problems(**{f"{P}:existingCluster": "nowhere"}) == [
        f"{P}:existingCluster = 'nowhere': no EKS cluster of that name can be read in eu-central-1 (AWS said: "
        "reading EKS Cluster (nowhere): couldn't find resource); expected the name of a cluster there "
        "(`aws eks list-clusters --region eu-central-1`)"
    ]


def test_a_cluster_without_the_pod_identity_agent_is_refused_unless_the_stack_may_add_it():
    (problem,) = _problems(World(eks=[ExistingEks(pod_identity_agent=False)]), **{f"{P}:identity": "podIdentity"})
    assert problem.startswith(
        f"{P}:identity = 'podIdentity': cluster {EXISTING_EKS} has no eks-pod-identity-agent "
        f"add-on (AWS said: reading EKS Add-On ({EXISTING_EKS}:eks-pod-identity-agent)"
    )
    assert problem.endswith(f"or let the stack add it with `pulumi config set {P}:installPodIdentityAgent true`")


def test_an_oidc_provider_iam_does_not_have_is_refused():
    (problem,) = _problems(World(eks=[ExistingEks(oidc_provider=False)]), **{f"{P}:createOidcProvider": "false"})
    assert problem.startswith(
        f"{P}:createOidcProvider = false: IAM has no OIDC provider for the issuer of cluster "
        f"{EXISTING_EKS}, https://127.0.0.1:"
    )
    assert "`eksctl utils associate-iam-oidc-provider" in problem


@pytest.mark.parametrize(
    "set_, expected",
    [
        (
            {f"{P}:existingCluster": "-platform"},
            f"{P}:existingCluster = '-platform': expected the name of an EKS "
            "cluster in aws:region: 1-100 letters, digits, '-' or '_', starting with a letter or digit "
            "(`aws eks list-clusters`)",
        ),
        (
            {f"{P}:nodeMinCount": "2", f"{P}:nodeInstanceType": "t3.large"},
            f"{P}:nodeInstanceType, {P}:nodeMinCount: "
            f"apply only to a cluster the stack creates, and {P}:existingCluster = '{EXISTING_EKS}' names one that "
            "exists: remove them",
        ),
    ],
)
def test_keys_that_cannot_name_or_fit_an_existing_cluster_are_refused(set_: dict[str, str], expected: str):
    assert _problems(**set_) == [expected]


def test_keys_that_need_an_existing_cluster_are_refused_without_one():
    problems = config_problems("aws-dev", set_={f"{P}:createOidcProvider": "false"}) + config_problems(
        "aws-dev", set_={f"{P}:identity": "podIdentity", f"{P}:installPodIdentityAgent": "true"}
    )
    assert problems == [
        f"{P}:createOidcProvider = false looks up the IAM OIDC provider of an existing cluster, and "
        f"{P}:existingCluster is not set: the stack's own cluster needs the provider it creates; remove "
        "createOidcProvider",
        f"{P}:installPodIdentityAgent applies to an existing cluster, and {P}:existingCluster is not set: the "
        "stack's own cluster always gets the agent; remove installPodIdentityAgent",
    ]

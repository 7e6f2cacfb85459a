"""EKS Pod Identity: the agent add-on, a role only Pod Identity may assume for the trusted
service account, and one association; no OIDC provider and no annotation."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import parliament
import pytest
import yaml

from secretstore_csi.aws.thumbprint import ThumbprintError, issuer_ca_thumbprint
from tests import harness
from tests.harness import ACCOUNT, POD_IDENTITY_AGENT_VERSION, ProgramRun, run_program

P = "secretstore-csi"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ADDON = "aws:eks/addon:Addon"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
POD_IDENTITY = {f"{P}:identity": "podIdentity"}


@pytest.fixture(scope="module")
def pod_identity() -> ProgramRun:
    return run_program("aws-dev", set_=POD_IDENTITY)


def _cluster_arn(run: ProgramRun) -> str:
    """The ARN EKS gives the cluster (as the mocks answer for it)."""
    return f"arn:aws:eks:eu-central-1:{ACCOUNT}:cluster/{run.exports['clusterName'].value}"


def test_the_role_trusts_only_pod_identity_for_exactly_the_test_service_account(pod_identity: ProgramRun):
    (role,) = pod_identity.of_type(ROLE)
    assert json.loads(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {
                        # The cluster's account: no other account's Pod Identity acts for it.
                        "aws:SourceAccount": ACCOUNT,
                        "aws:RequestTag/eks-cluster-arn": _cluster_arn(pod_identity),
                        "aws:RequestTag/kubernetes-namespace": "secretstore-aws-dev",
                        "aws:RequestTag/kubernetes-service-account": "test",
                    }
                },
            }
        ],
    }
    assert "*" not in role.inputs["assumeRolePolicy"]


def test_one_association_binds_the_test_service_account_to_that_role(pod_identity: ProgramRun):
    (association,) = pod_identity.of_type(ASSOCIATION)
    (role,) = pod_identity.of_type(ROLE)
    cluster_name = pod_identity.exports["clusterName"].value
    assert association.inputs == {
        "clusterName": cluster_name,
        "namespace": "secretstore-aws-dev",
        "serviceAccount": "test",
        "roleArn": role.outputs["arn"],
    }
    assert pod_identity.exports["podIdentityAssociationArn"].value == association.outputs["associationArn"]


def test_the_agent_add_on_is_the_version_eks_offers_for_the_clusters_kubernetes(pod_identity: ProgramRun):
    (addon,) = pod_identity.of_type(ADDON)
    assert addon.inputs == {
        "clusterName": pod_identity.exports["clusterName"].value,
        "addonName": "eks-pod-identity-agent",
        "addonVersion": POD_IDENTITY_AGENT_VERSION,
    }
    lookups = [args for token, args in pod_identity.calls if token == "aws:eks/getAddonVersion:getAddonVersion"]
    assert lookups == [{"addonName": "eks-pod-identity-agent", "kubernetesVersion": "1.35", "mostRecent": True}]


def test_the_role_reads_exactly_the_stack_secret_with_the_same_policy_as_irsa(pod_identity: ProgramRun, aws_dev):
    (policy,) = pod_identity.of_type(POLICY)
    assert policy.inputs == aws_dev.one(POLICY).inputs
    assert parliament.analyze_policy_string(policy.inputs["policy"]).findings == []
    (attachment,) = pod_identity.of_type(ATTACHMENT)
    assert attachment.inputs["role"] == pod_identity.one(ROLE).outputs["name"]


def test_the_class_asks_pod_identity_and_the_service_account_has_no_annotation(pod_identity: ProgramRun):
    parameters = pod_identity.one(SPC).inputs["spec"]["parameters"]
    assert parameters["usePodIdentity"] == "true"
    assert parameters["region"] == "eu-central-1"
    assert len(yaml.safe_load(parameters["objects"])) == 1
    account = pod_identity.one("kubernetes:core/v1:ServiceAccount").inputs["metadata"]
    assert account["name"] == "test" and "annotations" not in account


def test_the_authorized_pod_waits_for_the_agent_the_association_and_the_policy(pod_identity: ProgramRun):
    authorized = pod_identity.one(DEPLOYMENT, "secretstore-demo-authorized")
    for dependency in (pod_identity.one(ADDON), pod_identity.one(ASSOCIATION), pod_identity.one(ATTACHMENT)):
        assert pod_identity.depends_on(authorized, dependency), dependency.type


@pytest.fixture
def counting_issuer(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """A listener on 127.0.0.1 that counts connections, reported as the cluster's issuer."""
    accepted: list[int] = []
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            accepted.append(1)
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    monkeypatch.setattr(harness, "ISSUER_URL", f"https://127.0.0.1:{server.getsockname()[1]}/id/COUNTED")
    yield accepted
    stop.set()
    thread.join()
    server.close()


def test_no_oidc_provider_and_no_handshake_with_the_issuer(counting_issuer: list[int]):
    run = run_program("aws-dev", set_=POD_IDENTITY)
    assert run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    assert counting_issuer == []
    # The listener does count the handshake IRSA's thumbprint makes.
    with pytest.raises(ThumbprintError):
        issuer_ca_thumbprint(harness.ISSUER_URL, attempts=1, timeout=2)
    assert counting_issuer == [1]


def test_switching_from_irsa_keeps_the_cluster_the_secrets_and_the_releases(pod_identity: ProgramRun, aws_dev):
    kept = [
        "eks:index:Cluster",
        "aws:secretsmanager/secret:Secret",
        "aws:secretsmanager/secretVersion:SecretVersion",
        POLICY,
        "kubernetes:helm.sh/v3:Release",
        DEPLOYMENT,
        "pulumi:providers:kubernetes",
    ]
    for type_ in kept:
        before = {r.urn: r.inputs for r in aws_dev.of_type(type_)}
        after = {r.urn: r.inputs for r in pod_identity.of_type(type_)}
        assert before == after, type_
    # What changes is the identity: IRSA's provider and role go and Pod Identity's parts come
    # (other URNs); the attachment stays, but names the new role (its autonamed name, which
    # the mocks make alike), so it is replaced.
    assert pod_identity.one(ATTACHMENT).urn == aws_dev.one(ATTACHMENT).urn
    assert pod_identity.one(ROLE).urn != aws_dev.one(ROLE).urn
    assert pod_identity.depends_on(pod_identity.one(ATTACHMENT), pod_identity.one(ROLE))

"""The AWS stack, as `pulumi up -s aws-dev` would build it: EKS, Secrets Manager and IRSA."""

from __future__ import annotations

import json

import yaml

from tests.conftest import OidcIssuer
from tests.harness import ACCOUNT, ProgramRun, run_program, unsecret

SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"


def test_the_cluster_is_eks_with_api_authentication_and_the_configured_nodes(aws_dev: ProgramRun):
    cluster = aws_dev.one("eks:index:Cluster")
    assert cluster.inputs["version"] == "1.35"
    assert cluster.inputs["authenticationMode"] == "API"
    assert cluster.inputs["instanceType"] == "t3.medium"
    assert (cluster.inputs["minSize"], cluster.inputs["desiredCapacity"], cluster.inputs["maxSize"]) == (1, 2, 3)
    # The OIDC provider is the program's own, below; pulumi-eks must not make a second one.
    assert cluster.inputs["createOidcProvider"] is False


def test_the_oidc_provider_trusts_the_issuer_with_the_thumbprint_of_its_intermediate_ca(
    aws_dev: ProgramRun, oidc_issuer: OidcIssuer
):
    provider = aws_dev.one(OIDC_PROVIDER)
    assert provider.inputs["url"] == oidc_issuer.url
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert provider.inputs["thumbprintLists"] == [oidc_issuer.chain.intermediate.sha1]


def test_the_role_trusts_exactly_the_test_service_account_through_the_oidc_provider(
    aws_dev: ProgramRun, oidc_issuer: OidcIssuer
):
    role = aws_dev.one(ROLE)
    provider = aws_dev.one(OIDC_PROVIDER)
    issuer = oidc_issuer.url.removeprefix("https://")
    assert json.loads(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider.outputs["arn"]},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:sub": "system:serviceaccount:default:test",
                        f"{issuer}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }
    # The trust policy references the provider resource, so Pulumi creates the provider first.
    assert aws_dev.depends_on(role, provider)


def test_the_policy_allows_reading_only_the_stack_secret(aws_dev: ProgramRun):
    secret = aws_dev.one(SECRET)
    policy = aws_dev.one(POLICY)
    assert json.loads(policy.inputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": [secret.outputs["arn"]],
            }
        ],
    }
    attachment = aws_dev.one(ATTACHMENT)
    assert attachment.inputs["policyArn"] == policy.outputs["arn"]
    assert attachment.inputs["role"] == aws_dev.one(ROLE).outputs["name"]


def test_no_iam_document_has_a_wildcard(aws_dev: ProgramRun):
    documents = [aws_dev.one(ROLE).inputs["assumeRolePolicy"], aws_dev.one(POLICY).inputs["policy"]]
    assert all(document and "*" not in document for document in documents)


def test_the_secret_holds_username_and_a_generated_password_and_stays_secret(aws_dev: ProgramRun):
    secret = aws_dev.one(SECRET)
    assert secret.inputs["recoveryWindowInDays"] == 0
    assert "name" not in secret.inputs  # autonamed, so each stack gets its own
    version = aws_dev.one(SECRET_VERSION)
    assert version.inputs["secretId"] == secret.id
    document, is_secret = unsecret(version.inputs["secretString"])
    assert is_secret
    password = aws_dev.one("random:index/randomPassword:RandomPassword")
    assert password.inputs["length"] == 32
    assert json.loads(document) == {"username": "demo", "password": password.outputs["result"]}


def test_a_password_from_secret_config_is_used_instead_of_a_generated_one():
    run = run_program(
        "aws-dev",
        secrets={"secretstore-csi:secretPassword": "from-config-s3cr3t"},
        set_={"secretstore-csi:secretUsername": "app", "secretstore-csi:secretName": "team/app-db"},
    )
    document, is_secret = unsecret(run.one(SECRET_VERSION).inputs["secretString"])
    assert is_secret
    assert json.loads(document) == {"username": "app", "password": "from-config-s3cr3t"}
    assert run.of_type("random:index/randomPassword:RandomPassword") == []
    assert run.one(SECRET).inputs["name"] == "team/app-db"


def test_the_secret_provider_class_names_the_secret_by_arn_in_the_cluster_region(aws_dev: ProgramRun):
    spc = aws_dev.one(SPC)
    secret = aws_dev.one(SECRET)
    parameters = spc.inputs["spec"]["parameters"]
    assert spc.inputs["spec"]["provider"] == "aws"
    assert parameters["region"] == "eu-central-1"
    assert parameters["usePodIdentity"] == "false"
    assert yaml.safe_load(parameters["objects"]) == [
        {
            "objectName": secret.outputs["arn"],
            "objectType": "secretsmanager",
            "objectAlias": "secret",
            # Each key of the JSON document is a file of its own as well.
            "jmesPath": [
                {"path": "username", "objectAlias": "secret-username"},
                {"path": "password", "objectAlias": "secret-password"},
            ],
        }
    ]
    assert secret.outputs["arn"].startswith(f"arn:aws:secretsmanager:eu-central-1:{ACCOUNT}:secret:")


def test_the_test_service_account_carries_the_role_arn(aws_dev: ProgramRun):
    account = aws_dev.one("kubernetes:core/v1:ServiceAccount")
    assert account.inputs["metadata"]["name"] == "test"
    assert account.inputs["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": aws_dev.one(ROLE).outputs["arn"]
    }


def test_the_authorized_pod_waits_for_the_policy_to_be_attached(aws_dev: ProgramRun):
    authorized = aws_dev.one("kubernetes:apps/v1:Deployment", "secretstore-demo-authorized")
    assert aws_dev.depends_on(authorized, aws_dev.one(ATTACHMENT))


def test_the_provider_chart_is_told_the_region(aws_dev: ProgramRun):
    release = aws_dev.one("kubernetes:helm.sh/v3:Release", "secretstore-demo-provider")
    assert release.inputs["chart"] == "secrets-store-csi-driver-provider-aws"
    assert release.inputs["values"]["awsRegion"] == "eu-central-1"


def test_the_driver_requests_the_tokens_the_aws_provider_exchanges(aws_dev: ProgramRun):
    release = aws_dev.one("kubernetes:helm.sh/v3:Release", "secretstore-demo-driver")
    assert release.inputs["values"]["tokenRequests"] == [
        {"audience": "sts.amazonaws.com"},
        {"audience": "pods.eks.amazonaws.com"},
    ]


def test_the_stack_exports_what_the_readme_checks_need(aws_dev: ProgramRun):
    exports = {name: export.value for name, export in aws_dev.exports.items()}
    assert exports["cloud"] == "aws"
    assert exports["region"] == "eu-central-1"
    assert exports["clusterName"] == "secretstore-cluster-eksCluster-5e6f7a8"
    assert exports["secretArn"] == aws_dev.one(SECRET).outputs["arn"]
    assert exports["secretReaderRoleArn"] == aws_dev.one(ROLE).outputs["arn"]
    assert exports["oidcProviderArn"] == aws_dev.one(OIDC_PROVIDER).outputs["arn"]
    assert exports["namespace"] == "default"
    assert exports["serviceAccount"] == "test"
    assert exports["secretProviderClass"] == "aws-secret-provider"
    assert exports["authorizedDeployment"] == "hello-server-authorized"
    assert exports["unauthorizedDeployment"] == "hello-server-unauthorized"


def test_the_kubeconfig_output_is_the_clusters_and_secret(aws_dev: ProgramRun):
    kubeconfig = aws_dev.exports["kubeConfig"]
    assert kubeconfig.secret
    assert kubeconfig.value == aws_dev.one("eks:index:Cluster").outputs["kubeconfigJson"]
    assert json.loads(kubeconfig.value)["users"][0]["user"]["exec"]["args"][:2] == ["eks", "get-token"]

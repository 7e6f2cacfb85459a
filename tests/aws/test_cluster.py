"""The EKS cluster of `aws-dev`: API authentication, the configured nodes, its kubeconfig."""

from __future__ import annotations

import json

from tests.harness import ProgramRun

SECRET = "aws:secretsmanager/secret:Secret"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ROLE = "aws:iam/role:Role"


def test_the_cluster_is_eks_with_api_authentication_and_the_configured_nodes(aws_dev: ProgramRun):
    cluster = aws_dev.one("eks:index:Cluster")
    assert cluster.inputs["version"] == "1.35"
    assert cluster.inputs["authenticationMode"] == "API"
    assert cluster.inputs["instanceType"] == "t3.medium"
    assert (cluster.inputs["minSize"], cluster.inputs["desiredCapacity"], cluster.inputs["maxSize"]) == (1, 2, 3)
    # The OIDC provider is the program's own, below; pulumi-eks must not make a second one.
    assert cluster.inputs["createOidcProvider"] is False


def test_the_kubeconfig_output_is_the_clusters_and_secret(aws_dev: ProgramRun):
    kubeconfig = aws_dev.exports["kubeConfig"]
    assert kubeconfig.secret
    assert kubeconfig.value == aws_dev.one("eks:index:Cluster").outputs["kubeconfigJson"]
    assert json.loads(kubeconfig.value)["users"][0]["user"]["exec"]["args"][:2] == ["eks", "get-token"]


def test_the_stack_exports_what_the_readme_checks_need(aws_dev: ProgramRun):
    exports = {name: export.value for name, export in aws_dev.exports.items()}
    assert exports["cloud"] == "aws"
    assert exports["region"] == "eu-central-1"
    assert exports["clusterName"] == "secretstore-cluster-eksCluster-5e6f7a8"
    assert exports["secretArn"] == aws_dev.one(SECRET).outputs["arn"]
    assert exports["secretReaderRoleArn"] == aws_dev.one(ROLE).outputs["arn"]
    assert exports["oidcProviderArn"] == aws_dev.one(OIDC_PROVIDER).outputs["arn"]
    assert exports["namespace"] == "secretstore-aws-dev"
    assert exports["serviceAccount"] == "test"
    assert exports["secretProviderClass"] == "aws-secret-provider"
    assert exports["authorizedDeployment"] == "hello-server-authorized"
    assert exports["unauthorizedDeployment"] == "hello-server-unauthorized"

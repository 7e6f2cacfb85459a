"""IRSA: an IAM OIDC provider for the cluster's issuer, and a role only the trusted service
account can assume."""

from __future__ import annotations

import json

from tests.harness import OidcIssuer, ProgramRun

OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"


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
                        f"{issuer}:sub": "system:serviceaccount:secretstore-aws-dev:test",
                        f"{issuer}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }
    # The trust policy references the provider resource, so Pulumi creates the provider first.
    assert aws_dev.depends_on(role, provider)


def test_no_iam_document_has_a_wildcard(aws_dev: ProgramRun):
    documents = [aws_dev.one(ROLE).inputs["assumeRolePolicy"], aws_dev.one(POLICY).inputs["policy"]]
    assert all(document and "*" not in document for document in documents)


def test_the_test_service_account_carries_the_role_arn(aws_dev: ProgramRun):
    account = aws_dev.one("kubernetes:core/v1:ServiceAccount")
    assert account.inputs["metadata"]["name"] == "test"
    assert account.inputs["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": aws_dev.one(ROLE).outputs["arn"]}

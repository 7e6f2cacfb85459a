"""Secrets Manager: the stack's secrets, read access to exactly them, and the provider that
mounts them."""

from __future__ import annotations

import json

import parliament
import yaml

from tests.harness import ACCOUNT, ProgramRun, config_problems, run_program, unsecret

SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"


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


def test_the_authorized_pod_waits_for_the_policy_to_be_attached(aws_dev: ProgramRun):
    authorized = aws_dev.one("kubernetes:apps/v1:Deployment", "secretstore-demo-authorized")
    assert aws_dev.depends_on(authorized, aws_dev.one(ATTACHMENT))


def test_the_provider_chart_is_told_the_region(aws_dev: ProgramRun):
    release = aws_dev.one("kubernetes:helm.sh/v3:Release", "secretstore-provider")
    assert release.inputs["chart"] == "secrets-store-csi-driver-provider-aws"
    assert release.inputs["values"]["awsRegion"] == "eu-central-1"


def test_the_driver_requests_the_tokens_the_aws_provider_exchanges(aws_dev: ProgramRun):
    release = aws_dev.one("kubernetes:helm.sh/v3:Release", "secretstore-driver")
    assert release.inputs["values"]["tokenRequests"] == [
        {"audience": "sts.amazonaws.com"},
        {"audience": "pods.eks.amazonaws.com"},
    ]


# IAM's limits: a managed policy holds 6,144 characters, a role 10 managed policies.

P = "secretstore-csi"


def _long_names(count: int) -> str:
    return json.dumps([{"name": f"s{i:03d}-" + "x" * 58} for i in range(count)])


def test_the_read_policy_passes_parliament(aws_dev: ProgramRun):
    document = aws_dev.one(POLICY).inputs["policy"]
    assert parliament.analyze_policy_string(document).findings == []


def test_parliament_would_catch_a_misspelled_action_and_a_wildcard():
    broken = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValu"], "Resource": "*"}],
        }
    )
    issues = {finding.issue for finding in parliament.analyze_policy_string(broken).findings}
    assert "UNKNOWN_ACTION" in issues


def test_secrets_that_do_not_fit_one_policy_are_split_across_several_that_each_fit():
    run = run_program("aws-dev", set_={f"{P}:secrets": _long_names(120)})
    arns = sorted(secret.outputs["arn"] for secret in run.of_type(SECRET))
    policies = run.of_type(POLICY)
    # The first keeps the name a single policy has always had.
    assert len(policies) > 1
    assert {p.name for p in policies} == {"secretstore-read-secret"} | {
        f"secretstore-read-secret-{n}" for n in range(2, len(policies) + 1)
    }
    listed = []
    for policy in policies:
        document = policy.inputs["policy"]
        # IAM counts the characters of the document without its white space.
        assert len(json.dumps(json.loads(document), separators=(",", ":"))) <= 6144
        assert parliament.analyze_policy_string(document).findings == []
        (statement,) = json.loads(document)["Statement"]
        listed += statement["Resource"]
    assert sorted(listed) == arns and len(arns) == 120
    role = run.one(ROLE).outputs["name"]
    attachments = {a.name: a.inputs for a in run.of_type(ATTACHMENT)}
    assert attachments == {p.name: {"role": role, "policyArn": p.outputs["arn"]} for p in policies}
    authorized = run.one("kubernetes:apps/v1:Deployment", "secretstore-demo-authorized")
    assert all(run.depends_on(authorized, a) for a in run.of_type(ATTACHMENT))


def test_more_secrets_than_ten_policies_can_hold_are_refused_naming_the_limit():
    (problem,) = config_problems("aws-dev", set_={f"{P}:secrets": _long_names(600)})
    assert problem.startswith(
        f"{P}:secrets: expected secrets whose ARNs fit in 10 IAM policies of 6144 characters each "
        "(IAM's limits for one role); these need 1"
    ), problem


def test_a_secret_name_for_the_default_secret_is_its_name_in_the_store():
    run = run_program("aws-dev", set_={f"{P}:secretName": "team/app-db"})
    assert run.one(SECRET).inputs["name"] == "team/app-db"
    (problem,) = config_problems(
        "aws-dev", set_={f"{P}:secretName": "team/app-db", f"{P}:secrets": json.dumps([{"name": "db"}])}
    )
    assert problem.startswith(f"{P}:secretName configures the default demo secret, which {P}:secrets replaces")

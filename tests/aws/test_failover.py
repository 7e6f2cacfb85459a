"""A failover region: every secret replicated there, the role allowed to read both copies,
and the SecretProviderClass told where the replicas are."""

from __future__ import annotations

import json

import parliament
import pytest
import yaml

from secretstore_csi import registry
from tests.authorities import validate_kubernetes_objects
from tests.harness import ACCOUNT, ProgramRun, config_problems, run_program

P = "secretstore-csi"
SECRET = "aws:secretsmanager/secret:Secret"
POLICY = "aws:iam/policy:Policy"
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
FAILOVER = {f"{P}:failoverRegion": "eu-west-1"}
SEVERAL = json.dumps([{"name": "db", "keys": ["username", "password"]}, {"name": "api-token"}])
AWS_IDENTITIES = [name for name, mode in registry.IDENTITIES.items() if mode.store.name == "secretsManager"]
assert AWS_IDENTITIES, "the failover tests run for every identity mode of Secrets Manager"


@pytest.fixture(scope="module", params=AWS_IDENTITIES)
def failover(request: pytest.FixtureRequest) -> ProgramRun:
    run = run_program("aws-dev", set_={**FAILOVER, f"{P}:identity": request.param, f"{P}:secrets": SEVERAL})
    assert validate_kubernetes_objects(run) >= 4  # the SecretProviderClass against its CRD too
    return run


def _replica(arn: str) -> str:
    # A replica keeps the primary's name and suffix, in its own region.
    assert arn.startswith(f"arn:aws:secretsmanager:eu-central-1:{ACCOUNT}:secret:")
    return arn.replace(":eu-central-1:", ":eu-west-1:")


def test_every_secret_is_replicated_to_the_failover_region(failover: ProgramRun):
    secrets = failover.of_type(SECRET)
    assert len(secrets) == 2
    for secret in secrets:
        assert secret.inputs["replicas"] == [{"region": "eu-west-1"}]


def test_the_read_policy_lists_both_copies_of_every_secret_and_nothing_else(failover: ProgramRun):
    arns = [secret.outputs["arn"] for secret in failover.of_type(SECRET)]
    (policy,) = failover.of_type(POLICY)
    document = json.loads(policy.inputs["policy"])
    (statement,) = document["Statement"]
    assert sorted(statement["Resource"]) == sorted([*arns, *map(_replica, arns)])
    assert statement["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    assert "*" not in policy.inputs["policy"]
    assert parliament.analyze_policy_string(policy.inputs["policy"]).findings == []


def test_the_class_names_the_failover_region_and_each_replica(failover: ProgramRun):
    parameters = failover.one(SPC).inputs["spec"]["parameters"]
    assert parameters["failoverRegion"] == "eu-west-1"
    assert parameters["region"] == "eu-central-1"
    objects = yaml.safe_load(parameters["objects"])
    by_alias = {entry["objectAlias"]: entry for entry in objects}
    assert set(by_alias) == {"db", "api-token"}
    for entry in objects:
        # failoverObject needs an objectAlias, and an ARN in the failover region.
        assert entry["failoverObject"] == {"objectName": _replica(entry["objectName"])}
    assert by_alias["db"]["jmesPath"][0] == {"path": "username", "objectAlias": "db-username"}


def test_the_stack_exports_the_replicas(failover: ProgramRun):
    exports = {name: export.value for name, export in failover.exports.items()}
    assert exports["failoverRegion"] == "eu-west-1"
    assert exports["secretReplicaArns"] == {name: _replica(arn) for name, arn in exports["secretArns"].items()}


def test_without_a_failover_region_nothing_of_it_is_sent(aws_dev: ProgramRun):
    assert "replicas" not in aws_dev.one(SECRET).inputs
    parameters = aws_dev.one(SPC).inputs["spec"]["parameters"]
    assert "failoverRegion" not in parameters
    assert "failoverObject" not in parameters["objects"]
    assert "failoverRegion" not in aws_dev.exports


REGION_RULE = "expected an AWS region code that pulumi-aws 7.51.1 knows, such as eu-west-1, other than aws:region"


def test_the_primary_region_is_refused_as_failover():
    assert config_problems("aws-dev", set_={f"{P}:failoverRegion": "eu-central-1"}) == [
        f"{P}:failoverRegion = 'eu-central-1': expected an AWS region code that pulumi-aws 7.51.1 knows other "
        "than aws:region (eu-central-1); the provider refuses a failover region that is the primary one"
    ]


@pytest.mark.parametrize("region", ["eu-west-9", "Ireland", ""])
def test_a_region_that_does_not_exist_is_refused(region: str):
    assert config_problems("aws-dev", set_={f"{P}:failoverRegion": region}) == [
        f"{P}:failoverRegion = {region!r}: {REGION_RULE}"
    ]


def test_a_failover_region_on_another_store_is_refused():
    assert config_problems("azure-dev", set_=FAILOVER) == [
        f"{P}:failoverRegion applies only when {P}:store is secretsManager, but this stack has cloud azure, "
        "store keyVault and identity application"
    ]


def test_both_copies_count_towards_the_policy_size():
    listed = json.dumps([{"name": f"s{i:03d}-" + "x" * 58} for i in range(60)])
    run = run_program("aws-dev", set_={**FAILOVER, f"{P}:secrets": listed})
    policies = run.of_type(POLICY)
    assert len(policies) > 1
    listed_arns = []
    for policy in policies:
        document = policy.inputs["policy"]
        assert len(json.dumps(json.loads(document), separators=(",", ":"))) <= 6144
        listed_arns += json.loads(document)["Statement"][0]["Resource"]
    arns = [secret.outputs["arn"] for secret in run.of_type(SECRET)]
    assert sorted(listed_arns) == sorted([*arns, *map(_replica, arns)])

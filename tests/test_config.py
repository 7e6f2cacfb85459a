"""Stack configuration: every bad value stops the program before any resource exists.

Each case runs the real __main__.py with a stack file changed by a value or two, and expects
exactly one message per problem, naming the key, the value (shortened, or hidden when it is
secret) and what is accepted.
"""

from __future__ import annotations

import json

import kubernetes_validate
import pytest

from secretstore_csi import settings
from tests.harness import config_problems, run_program, stack_config

P = "secretstore-csi"
EKS_COUNT = "expected a whole number from 1 to 2147483647 (EC2 Auto Scaling takes a 32-bit count)"
VERSION_RULE = (
    "expected a Kubernetes minor version such as 1.35 (major.minor, no patch), from 1.30 (the "
    "secrets-store-csi-driver chart 1.6.0 requires it) to 1.37 (the newest the pinned tools know)"
)
IMAGE_RULE = (
    "expected a container image reference such as registry/path:tag or registry/path@sha256:<digest>: "
    "a lower-case path, a registry port up to 65535, at most 255 characters before the tag"
)
REGION_RULE = (
    "expected an AWS region code that pulumi-aws 7.51.1 knows, such as eu-central-1; set it with "
    "`pulumi config set aws:region <region>`"
)


def _problems(**changes) -> list[str]:
    return config_problems("aws-dev", **changes)


BAD_VALUES = [
    ("aws:region", "Frankfurt", REGION_RULE),
    # The right shape, but no such region.
    ("aws:region", "eu-central-9", REGION_RULE),
    (f"{P}:kubernetesVersion", "1.35.2", VERSION_RULE),
    (f"{P}:kubernetesVersion", "v1.35", VERSION_RULE),
    (f"{P}:kubernetesVersion", "1.29", VERSION_RULE),
    (f"{P}:kubernetesVersion", "1.38", VERSION_RULE),
    (f"{P}:nodeDesiredCount", "0", EKS_COUNT),
    (f"{P}:nodeMinCount", "-1", EKS_COUNT),
    (f"{P}:nodeMaxCount", "two", EKS_COUNT),
    (f"{P}:nodeDesiredCount", "2.5", EKS_COUNT),
    (f"{P}:nodeMaxCount", "2147483648", EKS_COUNT),
    (f"{P}:nodeMaxCount", "99999999999999999999999", EKS_COUNT),
    (f"{P}:namespace", "Payments", "expected a DNS-1123 label"),
    (f"{P}:namespace", "team_a", "expected a DNS-1123 label"),
    (
        f"{P}:namespace",
        "kube-system",
        "expected a DNS-1123 label: 1-63 lower-case letters, digits or '-', starting and ending with a "
        "letter or digit, not starting with 'kube-'",
    ),
    (f"{P}:serviceAccount", "-test", "expected a DNS-1123 label"),
    (
        f"{P}:serviceAccount",
        "default",
        "expected a DNS-1123 label: 1-63 lower-case letters, digits or '-', starting and ending with a "
        "letter or digit, other than 'default' (the unauthorized demo runs as 'default' and must not be trusted)",
    ),
    (
        f"{P}:secretName",
        "my secret!",
        "expected a Secrets Manager name: 1-512 characters from letters, digits and /_+=.@-",
    ),
    (
        f"{P}:secretRecoveryWindowInDays",
        "3",
        "expected 0 (delete at once, so the name is free again after `pulumi destroy`) or a whole number of days from 7 to 30",
    ),
    (f"{P}:secretRecoveryWindowInDays", "31", "expected 0 (delete at once"),
    (f"{P}:nodeInstanceType", "large", "expected an EC2 instance type that pulumi-aws 7.51.1 knows, such as t3.medium"),
    (f"{P}:nodeInstanceType", "t3.medum", "expected an EC2 instance type that pulumi-aws 7.51.1 knows"),
    (f"{P}:secretUsername", "two words", "expected 1-128 characters without whitespace"),
    (f"{P}:syncSecret", "yes", "expected true or false"),
    # The image reference grammar: lower-case paths, a registry that starts with a letter or
    # digit, a port that exists.
    (f"{P}:demoImage", "Hello Server", IMAGE_RULE),
    (f"{P}:demoImage", "ghcr.io/Dirien/hello-server:latest", IMAGE_RULE),
    (f"{P}:demoImage", "-registry.example/hello:1", IMAGE_RULE),
    (f"{P}:demoImage", "registry.example:65536/hello:1", IMAGE_RULE),
    (f"{P}:demoImage", "hello:tag:again", IMAGE_RULE),
    # Without a '.' or a port, the first part is the path's, not a registry's: lower-case too.
    (f"{P}:demoImage", "Dirien/hello-server:latest", IMAGE_RULE),
    (f"{P}:demoImage", "LOCALHOST/hello-server:latest", IMAGE_RULE),
]


@pytest.mark.parametrize("key, value, message", BAD_VALUES, ids=[f"{key}={value[:20]}" for key, value, _ in BAD_VALUES])
def test_a_bad_value_is_one_clear_message(key: str, value: str, message: str):
    (problem,) = _problems(set_={key: value})
    assert problem.startswith(f"{key} = {value!r}: {message}"), problem


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/dirien/hello-server/hello-server:latest",
        "localhost:5000/hello-server:v1.2.3",
        "registry.example:65535/team/app@sha256:" + "a" * 64,
        "[::1]:5000/hello",
        "hello-server",
        "docker.io/library/busybox:1.37.0",
    ],
)
def test_image_references_of_the_grammar_are_accepted(image: str):
    run = run_program("aws-dev", set_={f"{P}:demoImage": image})
    deployment = run.one("kubernetes:apps/v1:Deployment", "secretstore-demo-authorized")
    assert deployment.inputs["spec"]["template"]["spec"]["containers"][0]["image"] == image


def test_the_newest_kubernetes_version_is_the_newest_the_schema_validator_knows():
    # kubernetes-validate is the tool the tests check every object with.
    newest = tuple(int(part) for part in kubernetes_validate.latest_version().split(".")[:2])
    assert newest == settings.NEWEST_KUBERNETES_VERSION
    run = run_program("aws-dev", set_={f"{P}:kubernetesVersion": "1.37"})
    assert run.one("eks:index:Cluster").inputs["version"] == "1.37"


def test_the_largest_node_count_ec2_auto_scaling_takes_is_accepted():
    run = run_program("aws-dev", set_={f"{P}:nodeMaxCount": str(2**31 - 1)})
    assert run.one("eks:index:Cluster").inputs["maxSize"] == 2**31 - 1


def test_an_aws_region_outside_the_commercial_partition_is_accepted():
    run = run_program("aws-dev", set_={"aws:region": "us-gov-west-1"})
    assert run.exports["region"].value == "us-gov-west-1"


def test_a_missing_cloud_names_the_clouds_there_are():
    assert _problems(remove=(f"{P}:cloud",)) == [f"{P}:cloud is not set: expected one of: aws, azure, gcp, kubernetes"]


def test_an_unknown_cloud_names_the_clouds_there_are():
    assert _problems(set_={f"{P}:cloud": "oracle"}) == [
        f"{P}:cloud = 'oracle': expected one of: aws, azure, gcp, kubernetes"
    ]


def test_a_missing_aws_region_says_how_to_set_it():
    assert _problems(remove=("aws:region",)) == [f"aws:region is not set: {REGION_RULE}"]


@pytest.mark.parametrize("minimum, desired, maximum", [("3", "2", "4"), ("1", "5", "4"), ("3", "2", "1")])
def test_node_counts_out_of_order_are_one_message(minimum: str, desired: str, maximum: str):
    problems = _problems(
        set_={f"{P}:nodeMinCount": minimum, f"{P}:nodeDesiredCount": desired, f"{P}:nodeMaxCount": maximum}
    )
    assert problems == [
        f"{P}:nodeMinCount = {minimum}, {P}:nodeDesiredCount = {desired}, {P}:nodeMaxCount = {maximum}: "
        "expected nodeMinCount <= nodeDesiredCount <= nodeMaxCount"
    ]


def test_a_password_in_plain_text_is_refused_without_echoing_it():
    assert _problems(secrets={f"{P}:secretPassword": ""}) == [
        f"{P}:secretPassword: expected a non-empty value set with `pulumi config set --secret` (the value is not shown)"
    ]
    (problem,) = _problems(set_={f"{P}:secretPassword": "hunter2-in-the-clear"})
    assert "hunter2" not in problem
    assert problem == (
        f"{P}:secretPassword is stored in plain text in the stack file: remove it and run "
        f"`pulumi config set --secret {P}:secretPassword <value>`, or leave it unset to generate one"
    )


def test_a_misspelled_key_is_refused():
    (problem,) = _problems(set_={f"{P}:nodeCout": "3"})
    assert problem.startswith(f"{P}:nodeCout is not a known key: expected one of ")
    assert "nodeDesiredCount" in problem


def test_a_key_of_another_store_is_refused_with_the_store_it_belongs_to():
    assert _problems(set_={f"{P}:keyVaultName": "my-vault"}) == [
        f"{P}:keyVaultName applies only when {P}:store is keyVault, but this stack has cloud aws, "
        "store secretsManager and identity irsa"
    ]
    assert config_problems("azure-dev", set_={f"{P}:secretRecoveryWindowInDays": "0"}) == [
        f"{P}:secretRecoveryWindowInDays applies only when {P}:store is secretsManager, but this stack "
        "has cloud azure, store keyVault and identity application"
    ]
    assert config_problems("azure-dev", set_={f"{P}:nodeInstanceType": "t3.large"}) == [
        f"{P}:nodeInstanceType applies only when {P}:cloud is aws, but this stack has cloud azure, "
        "store keyVault and identity application"
    ]


def test_every_bad_value_is_reported_at_once():
    problems = _problems(
        set_={f"{P}:namespace": "Bad_NS", f"{P}:nodeDesiredCount": "zero", f"{P}:kubernetesVersion": "1.2"},
        remove=("aws:region",),
    )
    assert [p.split(" ")[0] for p in problems] == [
        f"{P}:namespace",
        f"{P}:kubernetesVersion",
        f"{P}:nodeDesiredCount",
        "aws:region",
    ]


@pytest.mark.parametrize("value", ["yes", "on", "1", "True", "TRUE", "no", "0", ""])
def test_booleans_are_true_or_false_and_nothing_else(value: str):
    assert _problems(set_={f"{P}:syncSecret": value}) == [f"{P}:syncSecret = {value!r}: expected true or false"]
    (problem,) = config_problems("azure-dev", set_={f"{P}:keyVaultPurgeProtection": value})
    assert problem == f"{P}:keyVaultPurgeProtection = {value!r}: expected true or false"


def test_a_huge_value_is_shown_shortened():
    huge = "x" * 100_000
    (problem,) = _problems(set_={f"{P}:namespace": huge})
    assert problem.startswith(f"{P}:namespace = 'xxxxxxxxxx")
    assert "(100000 characters in all)" in problem
    assert len(problem) < 400


def test_a_secret_value_is_never_shown_even_when_refused():
    huge = "s3cr3t-" * 20_000  # 140,000 bytes: more than Secrets Manager takes
    (problem,) = _problems(secrets={f"{P}:secretPassword": huge})
    assert "s3cr3t" not in problem
    assert problem == (
        f"{P}:secretPassword: its value can be {len(huge) + 36} bytes, more than the 65536 that AWS "
        "Secrets Manager accepts for one secret (the value is not shown)"
    )
    (problem,) = _problems(set_={f"{P}:secretPassword": huge})
    assert "s3cr3t" not in problem


# Secret values larger than the store accepts: given and generated alike


def _json_size(document: dict) -> int:
    return len(json.dumps(document).encode())


def test_a_value_exactly_at_the_limit_fits_and_one_byte_more_does_not():
    # The demo secret's document: {"username": "demo", "password": "<password>"}.
    overhead = _json_size({"username": "demo", "password": ""})
    fits = "p" * (65_536 - overhead)
    run = run_program("aws-dev", secrets={f"{P}:secretPassword": fits})
    (version,) = run.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert len(version.inputs["secretString"]["value"].encode()) == 65_536
    (problem,) = _problems(secrets={f"{P}:secretPassword": fits + "p"})
    assert "65537 bytes, more than the 65536" in problem


def test_generated_values_count_towards_the_key_vault_limit():
    # 200 generated values of 32 characters under 60-character keys: about 19 KB fits the
    # 25,000 bytes Key Vault takes; 300 of them (28 KB) would not.
    def listed(count: int) -> str:
        keys = [f"k{i:03d}" + "x" * 56 for i in range(count)]
        return json.dumps([{"name": "many", "keys": keys}])

    run = run_program("azure-dev", set_={f"{P}:secrets": listed(200)})
    (secret,) = run.of_type("azure-native:keyvault:Secret")
    assert len(secret.inputs["properties"]["value"]["value"].encode()) <= 25_000
    (problem,) = config_problems("azure-dev", set_={f"{P}:secrets": listed(300)})
    assert problem.startswith(f"{P}:secrets[0]: its value can be ")
    assert problem.endswith("more than the 25000 that Azure Key Vault accepts for one secret (the value is not shown)")


def test_the_dev_stack_needs_only_a_few_keys(aws_dev):
    assert set(stack_config("aws-dev")) == {
        f"{P}:cloud",
        "aws:region",
        f"{P}:secretRecoveryWindowInDays",
    }
    assert aws_dev.exports["cloud"].value == "aws"


def test_a_key_set_with_secret_is_never_shown_whatever_it_configures():
    (problem,) = _problems(secrets={f"{P}:namespace": "Top-Secret-Namespace"})
    assert "Top-Secret" not in problem
    assert problem.startswith(f"{P}:namespace: expected a DNS-1123 label")
    assert problem.endswith("(the value is not shown)")


@pytest.mark.parametrize("instance_type", ["t3.medium", "m8g.large", "c7i.2xlarge", "t4g.small"])
def test_ec2_instance_types_pulumi_aws_knows_are_accepted(instance_type: str):
    run = run_program("aws-dev", set_={f"{P}:nodeInstanceType": instance_type})
    assert run.one("eks:index:Cluster").inputs["instanceType"] == instance_type

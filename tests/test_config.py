"""Stack configuration: every bad value stops the program before any resource exists.

Each case runs the real __main__.py with Pulumi.aws-dev.yaml changed by one value, and
expects exactly one message that names the key, the value and what is accepted.
"""

from __future__ import annotations

import pytest

from tests.harness import config_problems, stack_config

P = "secretstore-csi"


def _problems(**changes) -> list[str]:
    return config_problems("aws-dev", **changes)


BAD_VALUES = [
    (f"{P}:cloud", "gcp", f"{P}:cloud = 'gcp': expected one of: aws, azure"),
    ("aws:region", "Frankfurt", "aws:region = 'Frankfurt': expected an AWS region code such as eu-central-1"),
    (f"{P}:kubernetesVersion", "1.35.2", f"{P}:kubernetesVersion = '1.35.2': expected a Kubernetes minor version"),
    (f"{P}:kubernetesVersion", "v1.35", f"{P}:kubernetesVersion = 'v1.35': expected a Kubernetes minor version"),
    (f"{P}:kubernetesVersion", "1.29", f"{P}:kubernetesVersion = '1.29': expected a Kubernetes minor version such as 1.35 (major.minor, no patch), at least 1.30 as the secrets-store-csi-driver chart 1.6.0 requires"),
    (f"{P}:nodeDesiredCount", "0", f"{P}:nodeDesiredCount = '0': expected a positive whole number"),
    (f"{P}:nodeMinCount", "-1", f"{P}:nodeMinCount = '-1': expected a positive whole number"),
    (f"{P}:nodeMaxCount", "two", f"{P}:nodeMaxCount = 'two': expected a positive whole number"),
    (f"{P}:nodeDesiredCount", "2.5", f"{P}:nodeDesiredCount = '2.5': expected a positive whole number"),
    (f"{P}:namespace", "Payments", f"{P}:namespace = 'Payments': expected a DNS-1123 label"),
    (f"{P}:namespace", "team_a", f"{P}:namespace = 'team_a': expected a DNS-1123 label"),
    (f"{P}:namespace", "a" * 64, f"{P}:namespace = '{'a' * 64}': expected a DNS-1123 label"),
    (f"{P}:namespace", "kube-system", f"{P}:namespace = 'kube-system': expected a DNS-1123 label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit, not starting with 'kube-'"),
    (f"{P}:serviceAccount", "-test", f"{P}:serviceAccount = '-test': expected a DNS-1123 label"),
    (f"{P}:serviceAccount", "default", f"{P}:serviceAccount = 'default': expected a DNS-1123 label: 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit, other than 'default' (the unauthorized demo runs as 'default' and must not be trusted)"),
    (f"{P}:secretName", "my secret!", f"{P}:secretName = 'my secret!': expected a Secrets Manager name: 1-512 characters from letters, digits and /_+=.@-"),
    (f"{P}:secretName", "x" * 513, f"{P}:secretName = '{'x' * 513}': expected a Secrets Manager name"),
    (f"{P}:secretRecoveryWindowInDays", "3", f"{P}:secretRecoveryWindowInDays = '3': expected 0 (delete at once, so the name is free again after `pulumi destroy`) or a whole number of days from 7 to 30"),
    (f"{P}:secretRecoveryWindowInDays", "31", f"{P}:secretRecoveryWindowInDays = '31': expected 0"),
    (f"{P}:nodeInstanceType", "large", f"{P}:nodeInstanceType = 'large': expected an EC2 instance type such as t3.medium"),
    (f"{P}:demoImage", "Hello Server", f"{P}:demoImage = 'Hello Server': expected a container image reference"),
    (f"{P}:secretUsername", "two words", f"{P}:secretUsername = 'two words': expected 1-128 characters without whitespace"),
]


@pytest.mark.parametrize(
    "key, value, message", BAD_VALUES, ids=[f"{key}={value[:20]}" for key, value, _ in BAD_VALUES]
)
def test_a_bad_value_is_one_clear_message(key: str, value: str, message: str):
    (problem,) = _problems(set_={key: value})
    assert problem.startswith(message), problem


def test_a_missing_cloud_names_the_clouds_there_are():
    assert _problems(remove=(f"{P}:cloud",)) == [f"{P}:cloud is not set: expected one of: aws, azure"]


def test_a_missing_aws_region_says_how_to_set_it():
    assert _problems(remove=("aws:region",)) == [
        "aws:region is not set: expected an AWS region code such as eu-central-1; "
        "set it with `pulumi config set aws:region <region>`"
    ]


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
    (problem,) = _problems(set_={f"{P}:secretPassword": "hunter2-in-the-clear"})
    assert "hunter2-in-the-clear" not in problem
    assert problem == (
        f"{P}:secretPassword is stored in plain text in the stack file: remove it and run "
        f"`pulumi config set --secret {P}:secretPassword <value>`, or leave it unset to generate one"
    )


def test_a_misspelled_key_is_refused():
    (problem,) = _problems(set_={f"{P}:nodeCout": "3"})
    assert problem.startswith(f"{P}:nodeCout is not a known key: expected one of ")
    assert "nodeDesiredCount" in problem


def test_every_bad_value_is_reported_at_once():
    problems = _problems(
        set_={f"{P}:namespace": "Bad_NS", f"{P}:nodeDesiredCount": "zero", f"{P}:kubernetesVersion": "1.2"},
        remove=("aws:region",),
    )
    assert [p.split(" ")[0] for p in problems] == [
        f"{P}:kubernetesVersion",
        f"{P}:nodeDesiredCount",
        f"{P}:namespace",
        "aws:region",
    ]


def test_the_dev_stack_needs_only_a_few_keys(aws_dev):
    assert set(stack_config("aws-dev")) == {
        f"{P}:cloud",
        "aws:region",
        f"{P}:secretRecoveryWindowInDays",
    }
    assert aws_dev.exports["cloud"].value == "aws"

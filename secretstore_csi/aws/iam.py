"""The IAM documents that give one service account read access to the stack's secrets.

Plain JSON, no SDK, so that the config check and the program use the same sizes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

STS_AUDIENCE = "sts.amazonaws.com"
SECRET_READ_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")

# IAM quotas (docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): a managed
# policy holds at most 6,144 characters, white space not counted, and a role has at most 10
# managed policies attached unless the account raised that quota.
POLICY_MAX_CHARACTERS = 6144
ATTACHED_POLICIES_MAX = 10
# "Role names: 64 characters" (the same IAM quotas page, IAM name and ID quotas).
ROLE_NAME_MAX = 64

# The longest partition (aws-us-gov), a 12-digit account, Pulumi's autoname suffix ("-" and
# 7 characters) and the suffix Secrets Manager adds to every ARN ("-" and 6 characters).
_LONGEST_PARTITION = "aws-us-gov"
_ACCOUNT = "123456789012"
_AUTONAME_SUFFIX = "-abcdefg"
_ARN_SUFFIX = "-AbCdEf"


def irsa_trust_policy(provider_arn: str, issuer: str, subject: str) -> str:
    """Only tokens for `subject`, minted for STS by the cluster's issuer, may assume the role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{issuer}:sub": subject,
                            f"{issuer}:aud": STS_AUDIENCE,
                        }
                    },
                }
            ],
        }
    )


POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"


def pod_identity_trust_policy(cluster_arn: str, namespace: str, service_account: str) -> str:
    """Only EKS Pod Identity may assume the role, only for this account, and only with the
    session tags it sets for `service_account` in `namespace` of this cluster: an association
    made for any other service account is refused too.

    `aws:SourceAccount` guards against the confused deputy, as AWS's own Pod Identity sample
    trust policy does (aws-samples/sample-eks-nitro-sandbox, pod-identity-trust.json), with
    the cluster's account. `aws:SourceArn` is left out: AWS documents no value for it with
    pods.eks.amazonaws.com, published examples disagree (the cluster's ARN, an association's),
    and a wrong one refuses every pod."""
    account = cluster_arn.split(":")[4]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": POD_IDENTITY_SERVICE},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                    "Condition": {
                        "StringEquals": {
                            "aws:SourceAccount": account,
                            "aws:RequestTag/eks-cluster-arn": cluster_arn,
                            "aws:RequestTag/kubernetes-namespace": namespace,
                            "aws:RequestTag/kubernetes-service-account": service_account,
                        }
                    },
                }
            ],
        }
    )


def read_secrets_policy(secret_arns: Sequence[str]) -> str:
    """Read access to exactly these secrets, and nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(SECRET_READ_ACTIONS), "Resource": list(secret_arns)}],
        }
    )


def role_name(owner: str) -> str:
    """The Pulumi name of a workload's reader role; IAM's name is it and Pulumi's suffix."""
    return f"{owner}-secret-reader"


def policy_name(owner: str, number: int) -> str:
    """The Pulumi name of a workload's read policy `number` (from 1)."""
    return f"{owner}-read-secret" + (f"-{number}" if number > 1 else "")


def role_name_problem(owner: str) -> str | None:
    """Why the role's name would be longer than IAM allows, or None."""
    length = len(role_name(owner)) + len(_AUTONAME_SUFFIX)
    if length <= ROLE_NAME_MAX:
        return None
    return (
        f"expected at most {ROLE_NAME_MAX - len(role_name('')) - len(_AUTONAME_SUFFIX)} characters: its IAM role "
        f"would be named {role_name(owner)} and Pulumi's 8-character suffix, {length} characters, more than "
        f"the {ROLE_NAME_MAX} IAM allows"
    )


def policy_characters(document: str) -> int:
    """The size IAM counts: the document without white space outside its strings."""
    return len(json.dumps(json.loads(document), separators=(",", ":")))


def longest_secret_arn(region: str, resource_name: str, store_name: str | None) -> str:
    """An ARN as long as the one Secrets Manager can give this secret, or longer."""
    name = store_name if store_name is not None else resource_name + _AUTONAME_SUFFIX
    return f"arn:{_LONGEST_PARTITION}:secretsmanager:{region}:{_ACCOUNT}:secret:{name}{_ARN_SUFFIX}"


def read_policy_groups(longest_arns: Sequence[Sequence[str]]) -> list[list[int]]:
    """The secrets (by index, in order) that each read policy lists, so that every policy fits
    POLICY_MAX_CHARACTERS however long the real ARNs turn out; one group while they fit.
    `longest_arns` holds each secret's ARNs (with a replica, two), which stay together."""
    groups: list[list[int]] = []
    for index, arns in enumerate(longest_arns):
        listed = [arn for i in groups[-1] for arn in longest_arns[i]] if groups else []
        if groups and policy_characters(read_secrets_policy([*listed, *arns])) <= POLICY_MAX_CHARACTERS:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def read_policies_problem(longest_arns: Sequence[Sequence[str]]) -> str | None:
    """Why the secrets cannot be granted in policies a role can hold, or None."""
    for arns in longest_arns:
        if policy_characters(read_secrets_policy(arns)) > POLICY_MAX_CHARACTERS:
            return f"a secret name too long for an IAM policy of {POLICY_MAX_CHARACTERS} characters"
    groups = read_policy_groups(longest_arns)
    if len(groups) > ATTACHED_POLICIES_MAX:
        return (
            f"expected secrets whose ARNs fit in {ATTACHED_POLICIES_MAX} IAM policies of "
            f"{POLICY_MAX_CHARACTERS} characters each (IAM's limits for one role); these need "
            f"{len(groups)}: use fewer secrets or shorter names"
        )
    return None

"""The demo secret's value, the same on every cloud: a JSON document with a login.

The password comes from `pulumi config set --secret`, or is generated once and kept in the
stack's state. The document is a secret Output from the start.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_random as random

from infra import PREFIX
from infra.config import DemoSecret

GENERATED_PASSWORD_LENGTH = 32


def secret_document(secret: DemoSecret) -> pulumi.Output[str]:
    """`{"username": ..., "password": ...}` as a secret string."""
    password = secret.password
    if password is None:
        password = random.RandomPassword(
            f"{PREFIX}-password", length=GENERATED_PASSWORD_LENGTH, special=False
        ).result
    return pulumi.Output.secret(
        pulumi.Output.all(secret.username, password).apply(
            lambda parts: json.dumps({"username": parts[0], "password": parts[1]})
        )
    )

"""The values that go into the cloud's secret store, the same on every cloud.

A secret is a JSON document of its keys, or a single value. Each value comes from secret
config, or is generated once (a RandomPassword kept in the stack's state). Every value is a
secret Output from the start.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_random as random

from infra import PREFIX
from infra.config import SINGLE_VALUE, StoreSecret

GENERATED_LENGTH = 32


def secret_value(secret: StoreSecret) -> pulumi.Output[str]:
    """The secret's value: its JSON document, or its single value."""
    parts: dict[str, pulumi.Input[str]] = {}
    for key in secret.keys or (SINGLE_VALUE,):
        given = secret.given.get(key)
        parts[key] = given if given is not None else random.RandomPassword(
            f"{PREFIX}-{secret.name}-{key or 'value'}", length=GENERATED_LENGTH, special=False
        ).result
    if not secret.keys:
        return pulumi.Output.secret(parts[SINGLE_VALUE])
    return pulumi.Output.secret(pulumi.Output.all(**parts).apply(json.dumps))

"""The values that go into a store, the same for every store.

A secret is a JSON document of its keys, or a single value. Each value comes from secret
config, or is generated once (a RandomPassword kept in the stack's state). Every value is a
secret Output from the start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_random as random

from secretstore_csi.model import GENERATED_LENGTH, SINGLE_VALUE, StoreSecret, WorkloadSpec, secret_document
from secretstore_csi.seam import top_aliases


@dataclass(frozen=True)
class SecretValues:
    value: pulumi.Output[str]
    """What the store holds: the JSON document, or the single value."""
    parts: Mapping[str, pulumi.Output[str]]
    """Each key's value (SINGLE_VALUE for a single value), for stores that keep them apart."""


def secret_values(workload: WorkloadSpec, secret: StoreSecret, parent: pulumi.Resource) -> SecretValues:
    """The secret's value and its parts; generated parts are children of `parent`, the store
    that holds them."""
    parts: dict[str, pulumi.Output[str]] = {}
    for key in secret.keys or (SINGLE_VALUE,):
        given = (secret.given or {}).get(key)
        parts[key] = pulumi.Output.secret(
            given
            if given is not None
            else random.RandomPassword(
                workload.generated_value_name(secret, key),
                length=GENERATED_LENGTH,
                special=False,
                opts=pulumi.ResourceOptions(parent=parent, aliases=top_aliases(workload)),
            ).result
        )
    if not secret.keys:
        return SecretValues(value=parts[SINGLE_VALUE], parts=parts)
    document = pulumi.Output.all(**parts).apply(secret_document)
    return SecretValues(value=pulumi.Output.secret(document), parts=parts)


def secret_value(workload: WorkloadSpec, secret: StoreSecret, parent: pulumi.Resource) -> pulumi.Output[str]:
    """The secret's value: its JSON document, or its single value."""
    return secret_values(workload, secret, parent).value

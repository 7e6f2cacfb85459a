"""Which stack made a cloud resource that a data source finds: a tag it carries.

When a stack adds something to a cluster it does not own (an IAM OIDC provider, an add-on),
the next run's lookup finds it again. The tag tells the stack's own from one that was there
before, which the stack must not create a second of, or take over and later delete.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

OWNER_TAG = "secretstore-csi/stack"


def owner() -> str:
    """This stack, as the tag names it: organization/project/stack."""
    return f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"


def owner_tags() -> dict[str, str]:
    return {OWNER_TAG: owner()}


def ours(tags: Mapping[str, str] | None) -> bool:
    """Whether a resource with these tags is this stack's."""
    return (tags or {}).get(OWNER_TAG) == owner()

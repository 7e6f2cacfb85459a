"""Reading what exists in a cloud before anything is created: a data source's answer, or why
there is none, in one line.

A stack that names an existing cluster, OIDC provider or add-on reads it when its config is
checked, so that a missing or unfit one is refused before the first resource.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

SHOWN = 240
"""Characters of a cloud's error shown in a message."""


@dataclass(frozen=True)
class Missing:
    """A data source found nothing, or could not be read: `reason` says what the cloud said."""

    reason: str


def one_line(text: str, limit: int = SHOWN) -> str:
    """`text` on a single line, its lines joined with ' / ', cut at `limit` characters."""
    joined = " / ".join(line.strip() for line in text.splitlines() if line.strip())
    return joined if len(joined) <= limit else joined[: limit - 3] + "..."


# How a failed invoke reaches the program: the SDK's "invoke of <token> failed: " (pulumi
# runtime/invoke.py) around the engine's "invocation of <token> returned an error: "
# (pkg/resource/deploy/source_eval.go) around the provider's own message.
_WRAPPERS = re.compile(r"^(?:invoke of \S+ failed: )?(?:invocation of \S+ returned an error: )?")


def read(source: Callable[[], T]) -> T | Missing:
    """`source()`, or what went wrong reading it, in the provider's words."""
    try:
        return source()
    except Exception as error:  # every failed invoke is a Missing
        return Missing(one_line(_WRAPPERS.sub("", str(error)) or type(error).__name__))

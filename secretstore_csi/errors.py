"""The one error bad settings raise, before any resource is registered."""

from __future__ import annotations

import pulumi


class ConfigError(pulumi.RunError):
    """Bad stack configuration or library arguments. Pulumi prints a RunError's message without
    a traceback."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"The stack configuration has {len(problems)} problem(s); nothing was deployed:\n{lines}")

"""Upgrading replaces nothing: a stack deployed by an earlier version plans no replacement,
no deletion and no new resource (other than components) when today's program runs on it.

The baseline is `tests/fixtures/upgrade/`, recorded before the program was reshaped; see
`tests/upgrade.py`.
"""

from __future__ import annotations

import copy
import json

import pytest

from tests.harness import OidcIssuer
from tests.upgrade import FIXTURES, SCENARIOS, scenario_run, upgrade_problems


def _recorded(scenario: str) -> list[dict]:
    return json.loads((FIXTURES / f"{scenario}.json").read_text())


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_recorded_resource_keeps_its_urn_or_an_alias_and_its_inputs(
    scenario: str, oidc_issuer: OidcIssuer
):
    recorded = _recorded(scenario)
    assert len(recorded) >= 16
    run = scenario_run(scenario)
    assert upgrade_problems(recorded, run, oidc_issuer.url, oidc_issuer.chain.intermediate.sha1) == []


def test_the_check_would_catch_a_renamed_resource_and_a_changed_input(oidc_issuer: OidcIssuer):
    recorded = _recorded("aws-dev")
    run = scenario_run("aws-dev")
    renamed = copy.deepcopy(recorded)
    next(r for r in renamed if r["type"] == "aws:iam/role:Role")["urn"] += "-old"
    changed = copy.deepcopy(recorded)
    secret = next(r for r in changed if r["type"] == "aws:secretsmanager/secret:Secret")
    secret["inputs"]["recoveryWindowInDays"] = 30
    args = (run, oidc_issuer.url, oidc_issuer.chain.intermediate.sha1)
    assert len(upgrade_problems(renamed, *args)) == 2  # one missing, one new
    (problem,) = upgrade_problems(changed, *args)
    assert "inputs differ" in problem

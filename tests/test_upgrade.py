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
from tests.upgrade import FIXTURES, SCENARIOS, inherited_child_alias, scenario_run, upgrade_problems


def _recorded(scenario: str) -> list[dict]:
    return json.loads((FIXTURES / f"{scenario}.json").read_text())


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_recorded_resource_keeps_its_urn_or_an_alias_and_its_inputs(scenario: str, oidc_issuer: OidcIssuer):
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


def test_a_child_inherits_its_parents_alias_as_the_engine_derives_it():
    # The example in the comment of inheritedChildAlias (pulumi/pulumi step_generator.go), with
    # the parent's old type in front of the child's, as its code does.
    assert (
        inherited_child_alias(
            "aws:s3/bucket:Bucket", "newapp-function", "newapp", "urn:pulumi:stackname::projectname::awsx:ec2:Vpc::app"
        )
        == "urn:pulumi:stackname::projectname::awsx:ec2:Vpc$aws:s3/bucket:Bucket::app-function"
    )
    # A child not named after its parent keeps its name.
    assert (
        inherited_child_alias(
            "aws:s3/bucket:Bucket", "logs", "newapp", "urn:pulumi:stackname::projectname::awsx:ec2:Vpc::app"
        )
        == "urn:pulumi:stackname::projectname::awsx:ec2:Vpc$aws:s3/bucket:Bucket::logs"
    )


def test_the_check_would_catch_a_component_that_moved_without_its_alias(
    oidc_issuer: OidcIssuer, monkeypatch: pytest.MonkeyPatch
):
    from secretstore_csi.aws import secrets_manager

    monkeypatch.setattr(secrets_manager, "was_at_top", lambda opts, workload=None: opts)
    recorded = _recorded("aws-secretsManager-irsa")
    run = scenario_run("aws-secretsManager-irsa")
    problems = upgrade_problems(recorded, run, oidc_issuer.url, oidc_issuer.chain.intermediate.sha1)
    # The store and its secret, value, generated password, policy and attachment are not
    # found, and all but the store (a component) are new.
    assert len(problems) == 6 + 5, problems


def test_a_change_on_purpose_hides_nothing_else(oidc_issuer: OidcIssuer):
    # Only Pod Identity's trust may change: an IRSA role's trust that differs is still found.
    recorded = _recorded("aws-secretsManager-irsa")
    run = scenario_run("aws-secretsManager-irsa")
    changed = copy.deepcopy(recorded)
    role = next(r for r in changed if r["type"] == "aws:iam/role:Role")
    role["inputs"]["assumeRolePolicy"] = role["inputs"]["assumeRolePolicy"].replace(":test", ":other")
    (problem,) = upgrade_problems(changed, run, oidc_issuer.url, oidc_issuer.chain.intermediate.sha1)
    assert "inputs differ" in problem and "secret-reader" in problem
    # A vault's other properties are still compared.
    recorded = _recorded("azure-keyVault-application")
    run = scenario_run("azure-keyVault-application")
    changed = copy.deepcopy(recorded)
    vault = next(r for r in changed if r["type"] == "azure-native:keyvault:Vault")
    vault["inputs"]["properties"]["enableRbacAuthorization"] = True
    (problem,) = upgrade_problems(changed, run, oidc_issuer.url, oidc_issuer.chain.intermediate.sha1)
    assert "inputs differ" in problem

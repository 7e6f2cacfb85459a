"""Shared fixtures: a loopback OIDC issuer with a real TLS chain."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from secretstore_csi import registry
from tests.harness import OidcIssuer, ProgramRun, loopback_issuer, run_combination, run_program


@pytest.fixture(scope="session", autouse=True)
def oidc_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcIssuer]:
    """An EKS-like issuer on 127.0.0.1 that every program run of the session reports."""
    with loopback_issuer(tmp_path_factory.mktemp("oidc-issuer")) as issuer:
        yield issuer


@pytest.fixture(scope="session")
def aws_dev(oidc_issuer: OidcIssuer) -> ProgramRun:
    """__main__.py run once with Pulumi.aws-dev.yaml, as `pulumi up -s aws-dev` would run it."""
    return run_program("aws-dev")


@pytest.fixture(scope="session")
def azure_dev() -> ProgramRun:
    """__main__.py run once with Pulumi.azure-dev.yaml, as `pulumi up -s azure-dev` would run it."""
    return run_program("azure-dev")


COMBINATIONS = registry.combinations()


@pytest.fixture(scope="session", params=COMBINATIONS, ids=["/".join(c) for c in COMBINATIONS])
def combination_run(request: pytest.FixtureRequest, oidc_issuer: OidcIssuer) -> ProgramRun:
    """__main__.py run once for every registered cluster source x store x identity mode."""
    return run_combination(*request.param)

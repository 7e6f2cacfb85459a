"""Shared fixtures: a loopback OIDC issuer with a real TLS chain."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator

import pytest

from tests import harness
from tests.harness import ProgramRun, run_program
from tests.tls_server import Chain, issuer, make_chain


@dataclass(frozen=True)
class OidcIssuer:
    url: str
    chain: Chain


@pytest.fixture(scope="session", autouse=True)
def oidc_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcIssuer]:
    """An EKS-like issuer on 127.0.0.1, trusted through SSL_CERT_FILE as the system bundle.

    Every program run of the session reports it as the cluster's issuer.
    """
    directory = tmp_path_factory.mktemp("oidc-issuer")
    chain = make_chain(directory)
    previous = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = str(chain.root_bundle)
    try:
        with issuer(directory, chain) as url:
            harness.ISSUER_URL = url
            yield OidcIssuer(url=url, chain=chain)
    finally:
        if previous is None:
            os.environ.pop("SSL_CERT_FILE", None)
        else:
            os.environ["SSL_CERT_FILE"] = previous


@pytest.fixture(scope="session")
def aws_dev(oidc_issuer: OidcIssuer) -> ProgramRun:
    """__main__.py run once with Pulumi.aws-dev.yaml, as `pulumi up -s aws-dev` would run it."""
    return run_program("aws-dev")


@pytest.fixture(scope="session")
def azure_dev() -> ProgramRun:
    """__main__.py run once with Pulumi.azure-dev.yaml, as `pulumi up -s azure-dev` would run it."""
    return run_program("azure-dev")

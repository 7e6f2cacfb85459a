"""The library used directly: the example program under examples/python, one platform and two
workloads made in code, and the checks a program gets when it passes bad arguments."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from secretstore_csi.errors import ConfigError
from tests.authorities import validate_kubernetes_objects
from tests.harness import ROOT, ProgramRun, reveal, run_under_mocks
from tests.isolation import isolation_problems, owner
from tests.policy_pack import analyze

EXAMPLE = ROOT / "examples" / "python" / "__main__.py"
PLATFORM = "secretstore-csi:index:Platform"
WORKLOAD = "secretstore-csi:index:Workload"


@pytest.fixture(scope="module")
def example() -> ProgramRun:
    run = run_under_mocks(EXAMPLE, "secretstore-csi-example", "dev", {})
    if run.error is not None:
        raise run.error
    return run


def test_the_example_makes_one_platform_and_two_workloads(example: ProgramRun):
    assert [r.name for r in example.of_type(PLATFORM)] == ["apps"]
    assert sorted(r.name for r in example.of_type(WORKLOAD)) == ["payments", "reports"]
    namespaces = [reveal(r.inputs)["metadata"]["name"] for r in example.of_type("kubernetes:core/v1:Namespace")]
    assert sorted(namespaces) == ["shop", "vault"]


def test_the_example_workloads_are_isolated(example: ProgramRun):
    outputs = {name: example.exports[name].value for name in ("payments", "reports")}
    assert isolation_problems(example, ("vault", "kubernetesAuth"), outputs) == []
    assert outputs["payments"]["authorizedDeployment"] == "payments-authorized"
    assert "authorizedDeployment" not in outputs["reports"]


def test_the_example_is_valid_and_the_policy_pack_finds_nothing(example: ProgramRun):
    assert validate_kubernetes_objects(example) >= 8
    # Vault in dev mode, on kind, on purpose.
    assert analyze(example.resources, {"no-vault-dev-mode": {"allowDevMode": True}}) == []


def test_every_name_of_the_example_comes_from_its_components(example: ProgramRun):
    for resource in example.resources:
        if resource.type in (PLATFORM, WORKLOAD):
            continue
        component = owner(example, resource) or "apps"
        assert resource.name == component or resource.name.startswith(f"{component}-"), resource.name


_IMPORTED_SDKS = """
import json, sys
from tests.harness import ROOT, run_under_mocks
assert run_under_mocks(ROOT / "examples" / "python" / "__main__.py", "example", "dev", {}).error is None
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules if m.startswith("pulumi_")})))
"""


def test_the_example_loads_no_cloud_sdk():
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTED_SDKS], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["pulumi_kubernetes", "pulumi_random"]


# Bad arguments raise one ConfigError, before the component registers anything.

_PROGRAM = """
import pulumi
from secretstore_csi import Platform, PlatformArgs, StoreSecret, WorkloadArgs
from secretstore_csi.existing.settings import ExistingClusterSettings

platform = Platform("apps", PlatformArgs(cloud="kubernetes", cluster=ExistingClusterSettings()))
{workloads}
"""


def _attempt(tmp_path, workloads: str) -> ProgramRun:
    main = tmp_path / "__main__.py"
    main.write_text(_PROGRAM.format(workloads=workloads))
    return run_under_mocks(main, "library", "dev", {})


def test_a_workload_that_trusts_default_is_refused_before_it_registers(tmp_path):
    run = _attempt(
        tmp_path, 'platform.workload("web", WorkloadArgs(service_account="default", secrets=[StoreSecret("db")]))'
    )
    assert isinstance(run.error, ConfigError)
    assert run.error.problems == [
        "web: serviceAccount = 'default': a DNS-1123 label: 1-63 lower-case letters, digits or '-', starting and "
        "ending with a letter or digit, other than 'default' (the unauthorized demo runs as 'default' and must not "
        "be trusted)"
    ]
    assert run.of_type(WORKLOAD) == []


def test_a_second_workload_for_the_same_account_is_refused(tmp_path):
    run = _attempt(
        tmp_path,
        'platform.workload("a", WorkloadArgs(namespace="shop", service_account="api", secrets=[StoreSecret("db")]))\n'
        'platform.workload("b", WorkloadArgs(namespace="shop", service_account="api", secrets=[StoreSecret("db")]))',
    )
    assert isinstance(run.error, ConfigError)
    assert run.error.problems == [
        "b: namespace 'shop' and serviceAccount 'api' are also a's: expected a service account that no other "
        "workload's principal trusts"
    ]
    assert [r.name for r in run.of_type(WORKLOAD)] == ["a"]


def test_settings_of_another_entry_are_refused(tmp_path):
    main = tmp_path / "__main__.py"
    main.write_text(
        "from secretstore_csi import Platform, PlatformArgs\n"
        "from secretstore_csi.vault.settings import VaultSettings\n"
        'Platform("apps", PlatformArgs(cloud="kubernetes", cluster=VaultSettings()))\n'
    )
    run = run_under_mocks(main, "library", "dev", {})
    assert isinstance(run.error, ConfigError)
    assert run.error.problems == ["cluster = VaultSettings(...): expected ExistingClusterSettings for kubernetes"]
    assert run.resources == []


def test_a_created_cluster_without_its_location_is_refused(tmp_path):
    main = tmp_path / "__main__.py"
    main.write_text('from secretstore_csi import Platform, PlatformArgs\nPlatform("apps", PlatformArgs(cloud="aws"))\n')
    run = run_under_mocks(main, "library", "dev", {})
    assert isinstance(run.error, ConfigError) and run.resources == []
    (problem,) = run.error.problems
    assert problem.startswith("cluster: AwsClusterSettings has no default:")


def test_the_outputs_name_the_workloads_objects(example: ProgramRun):
    payments = example.exports["payments"].value
    assert payments["namespace"] == "shop" and payments["serviceAccount"] == "payments-api"
    spc = next(
        r
        for r in example.of_type("kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass")
        if owner(example, r) == "payments"
    )
    assert reveal(spc.inputs)["metadata"]["name"] == payments["secretProviderClass"] == "payments"

"""The registry: every cluster source x store x identity mode it lists runs, today's stack
files keep their meaning, and nothing outside it and the cloud packages knows the list."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from secretstore_csi import registry
from tests.harness import ROOT, ProgramRun, config_problems, run_program

P = "secretstore-csi"


def test_every_registered_combination_runs_and_says_what_it_is(combination_run: ProgramRun):
    exports = {name: export.value for name, export in combination_run.exports.items()}
    assert (exports["cloud"], exports["store"], exports["identity"]) in registry.combinations()
    assert exports["authorizedDeployment"] == "hello-server-authorized"
    spc = combination_run.one("kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass")
    assert spc.inputs["spec"]["provider"] == registry.STORES[exports["store"]].provider


@pytest.mark.parametrize(
    "stack, combination",
    [("aws-dev", ("aws", "secretsManager", "irsa")), ("azure-dev", ("azure", "keyVault", "application"))],
)
def test_todays_stack_files_keep_their_meaning(stack: str, combination: tuple[str, str, str]):
    exports = run_program(stack).exports
    assert (exports["cloud"].value, exports["store"].value, exports["identity"].value) == combination


def test_every_builder_and_settings_model_can_be_imported():
    from secretstore_csi.settings import SettingsModel

    loaders = [
        *((entry, entry.build) for entry in registry.CLUSTERS.values()),
        *((entry, entry.install) for entry in registry.STORES.values()),
        *((entry, entry.install) for entry in registry.IDENTITIES.values()),
    ]
    assert len(loaders) >= 10
    for entry, load in loaders:
        assert callable(load()), entry.name
        assert issubclass(entry.settings(), SettingsModel), entry.name


def test_a_combination_that_is_not_registered_lists_the_ones_that_are():
    (problem,) = config_problems("aws-dev", set_={f"{P}:store": "keyVault"})
    assert problem == (
        f"{P}:cloud = 'aws', {P}:store = 'keyVault', {P}:identity = 'application': not a registered "
        "combination; expected one of: cloud aws, store secretsManager, identity irsa; cloud aws, store "
        "secretsManager, identity podIdentity; cloud azure, store keyVault, identity application; cloud azure, "
        "store keyVault, identity managedIdentity; cloud azure, store keyVault, identity identityBinding; "
        "cloud gcp, store secretManager, identity workloadIdentity; "
        "cloud aws, store vault, identity kubernetesAuth; cloud azure, store vault, identity kubernetesAuth; "
        "cloud gcp, store vault, identity kubernetesAuth; cloud kubernetes, store vault, identity kubernetesAuth"
    )


def test_an_unknown_store_or_identity_names_the_ones_there_are():
    assert config_problems("aws-dev", set_={f"{P}:store": "safe", f"{P}:identity": "magic"}) == [
        f"{P}:store = 'safe': expected one of: secretsManager, keyVault, secretManager, vault",
        f"{P}:identity = 'magic': expected one of: irsa, podIdentity, application, managedIdentity, "
        "identityBinding, workloadIdentity, kubernetesAuth",
    ]


_IMPORTED_SDKS = """
import json, sys
from tests.harness import attempt_program, loopback_issuer
with loopback_issuer():
    assert attempt_program(sys.argv[1]).error is None
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules if m.startswith("pulumi_")})))
"""


@pytest.mark.parametrize(
    "stack, absent",
    [
        ("aws-dev", {"pulumi_azure_native", "pulumi_azuread", "pulumi_gcp"}),
        ("azure-dev", {"pulumi_aws", "pulumi_eks", "pulumi_gcp"}),
        ("gcp-dev", {"pulumi_aws", "pulumi_eks", "pulumi_azure_native", "pulumi_azuread"}),
        ("local-dev", {"pulumi_aws", "pulumi_eks", "pulumi_azure_native", "pulumi_azuread", "pulumi_gcp"}),
    ],
)
def test_a_stack_imports_only_its_own_clouds_sdk(stack: str, absent: set[str]):
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTED_SDKS, stack], cwd=ROOT, capture_output=True, text=True, check=True
    )
    imported = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert "pulumi_kubernetes" in imported
    assert not imported & absent, imported


# Which modules may import what. The SDK-free modules are the catalog, the settings and the
# domain types; the shared Kubernetes layer adds pulumi and pulumi_kubernetes, nothing else.
PACKAGES = ["aws", "azure", "gcp", "existing", "vault"]
SDK_FREE = [
    "secretstore_csi/__init__.py",
    "secretstore_csi/model.py",
    "secretstore_csi/demo_app.py",
    "secretstore_csi/charts.py",
    "secretstore_csi/settings.py",
    "secretstore_csi/catalog.py",
    "secretstore_csi/registry.py",
    "secretstore_csi/checks.py",
    *(
        f"secretstore_csi/{package}/{module}.py"
        for package in PACKAGES
        for module in ("__init__", "settings", "catalog")
    ),
    "secretstore_csi/aws/iam.py",
    "secretstore_csi/vault/configure.py",
    "secretstore_csi/azure/names.py",
    "secretstore_csi/gcp/names.py",
    "secretstore_csi/lookup.py",
]
SHARED_LAYER = [
    "secretstore_csi/seam.py",
    "secretstore_csi/errors.py",
    "secretstore_csi/platform.py",
    "secretstore_csi/program.py",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "secretstore_csi/kubernetes").glob("*.py")),
]
CONFIG = ["secretstore_csi/config.py"]


def _module_name(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _import_nodes(tree: ast.Module, on_import_only: bool) -> list[ast.AST]:
    """Every import of `tree`; with `on_import_only`, those that importing the module runs:
    at module level and outside `if TYPE_CHECKING:`, not inside functions."""
    if not on_import_only:
        return list(ast.walk(tree))
    nodes: list[ast.AST] = []
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            continue
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            nodes.extend(ast.walk(node))
    return nodes


def imports_outside(
    source: str, allowed_packages: set[str], allowed_modules: set[str], on_import_only: bool = False
) -> list[str]:
    """What `source` imports beyond the standard library, `allowed_packages` (third party)
    and `allowed_modules` (the project's own)."""
    found = []
    for node in _import_nodes(ast.parse(source), on_import_only):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top == "__future__" or top in allowed_packages:
                continue
            if top == "secretstore_csi":
                parent = name.rsplit(".", 1)[0]
                if name in allowed_modules or (name not in PROJECT_MODULES and parent in allowed_modules):
                    continue  # an allowed module, or a name imported from one
            found.append(name)
    return found


PROJECT_MODULES = {_module_name(str(p.relative_to(ROOT))) for p in (ROOT / "secretstore_csi").rglob("*.py")}
# (modules, third-party packages they may import, project modules they may import, whether
# only what importing them runs counts). Checking aws:region reads pulumi-aws's list of
# regions, but only on an AWS stack, when it is checked: importing the settings does not.
RULES = [
    (SDK_FREE, {"pydantic", "pydantic_core", "yaml"}, {_module_name(m) for m in SDK_FREE}, True),
    (SHARED_LAYER, {"pulumi", "pulumi_kubernetes"}, {_module_name(m) for m in SDK_FREE + SHARED_LAYER}, False),
    (
        CONFIG,
        {"pulumi", "pydantic", "pydantic_core"},
        {_module_name(m) for m in SDK_FREE + ["secretstore_csi/errors.py"]},
        False,
    ),
]


@pytest.mark.parametrize("module, packages, modules, on_import", [(m, *rule) for files, *rule in RULES for m in files])
def test_a_shared_module_imports_only_what_it_may(module: str, packages: set[str], modules: set[str], on_import: bool):
    source = (ROOT / module).read_text()
    assert imports_outside(source, packages, modules, on_import) == []


def test_the_import_check_would_catch_a_cloud_sdk_in_the_shared_layer():
    source = (ROOT / "secretstore_csi/kubernetes/demo.py").read_text()
    shared = {_module_name(m) for m in SDK_FREE + SHARED_LAYER}
    assert imports_outside("import pulumi_gcp\n" + source, {"pulumi", "pulumi_kubernetes"}, shared) == ["pulumi_gcp"]
    assert imports_outside(
        "from secretstore_csi.aws.cluster import EksCluster\n" + source, {"pulumi", "pulumi_kubernetes"}, shared
    ) == ["secretstore_csi.aws.cluster", "secretstore_csi.aws.cluster.EksCluster"]


def _string_constants(path: Path) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def _imports_the_registry(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(a.name == "secretstore_csi.registry" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (
            node.module == "secretstore_csi.registry"
            or (node.module == "secretstore_csi" and any(a.name == "registry" for a in node.names))
        ):
            return True
    return False


def test_no_cluster_store_or_identity_module_imports_the_registry():
    modules = [path for package in PACKAGES for path in (ROOT / "secretstore_csi" / package).glob("*.py")]
    assert len(modules) >= 20
    for path in modules:
        assert not _imports_the_registry(path.read_text()), path


def test_the_registry_check_would_catch_an_arrow_back_up():
    assert _imports_the_registry("from secretstore_csi import PROJECT, registry\n")
    assert _imports_the_registry("import secretstore_csi.registry\n")
    assert not _imports_the_registry("from secretstore_csi.aws.catalog import SECRETS_MANAGER\n")


_LOADED = """
import json, sys
import {module}
from secretstore_csi import registry
assert all(registry.IDENTITIES[name].denials for name in registry.IDENTITIES)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "pulumi")
                        or m.endswith(".settings") or m.startswith("pulumi_"))))
"""


def _loaded(module: str) -> list[str]:
    script = _LOADED.format(module=module)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_denials_are_read_without_pydantic_pulumi_or_the_settings():
    assert _loaded("secretstore_csi.registry") == []


def test_verify_loads_no_pulumi_and_no_settings():
    # The official Kubernetes client itself uses pydantic; nothing else verify loads does.
    assert [m for m in _loaded("secretstore_csi.verify") if not m.startswith("pydantic")] == []


# An identity mode whose principal its store cannot grant: Workload Identity's principal is
# an IAM member, and Secrets Manager grants an IAM role.
_MISMATCHED = """
from secretstore_csi.aws.catalog import SECRETS_MANAGER
from secretstore_csi.catalog import IdentityMode
from secretstore_csi.gcp.catalog import _workload_identity

WRONG = IdentityMode(
    name="wrong", title="", settings=SECRETS_MANAGER.settings, store=SECRETS_MANAGER, clusters=None, denials=(),
    install=_workload_identity,
)
"""


def _mypy(tmp_path: Path, source: str) -> tuple[str, int]:
    from mypy import api

    path = tmp_path / "pairing.py"
    path.write_text(source)
    stdout, _, status = api.run([str(path), "--config-file", str(ROOT / "pyproject.toml")])
    return stdout, status


def test_mypy_refuses_an_identity_mode_whose_principal_its_store_cannot_grant(tmp_path: Path):
    stdout, status = _mypy(tmp_path, _MISMATCHED)
    assert status == 1
    assert 'Argument "install" to "IdentityMode" has incompatible type' in stdout
    assert "IdentityInstaller[Gke, WorkloadPrincipal]" in stdout
    assert "IdentityInstaller[Gke, SecretReaderRole]" in stdout
    # The same entry with the store's own identity mode passes.
    stdout, status = _mypy(
        tmp_path,
        _MISMATCHED.replace("gcp.catalog import _workload_identity", "aws.catalog import _irsa as _workload_identity"),
    )
    assert status == 0, stdout


def test_only_the_registry_and_the_cloud_packages_name_clouds_stores_and_identities():
    names = {*registry.CLUSTERS, *registry.STORES, *registry.IDENTITIES}
    outside = [
        ROOT / "__main__.py",
        *(ROOT / "secretstore_csi").glob("*.py"),
        *(ROOT / "secretstore_csi/kubernetes").glob("*.py"),
    ]
    # charts.py names charts, and the Vault store's chart is called `vault` too.
    outside = [path for path in outside if path.name not in ("charts.py",)]
    assert len(outside) >= 8
    for path in outside:
        assert not _string_constants(path) & names, path


def test_a_run_exports_only_its_own_outputs():
    assert "region" in run_program("aws-dev").exports
    exports = run_program("azure-dev").exports
    assert "location" in exports and "region" not in exports

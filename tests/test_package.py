"""The component package: its plugin started as the Pulumi CLI starts it serves a schema that
Pulumi's package metaschema accepts; the YAML example uses only what the schema has; and the
components, called as the host calls them, make what the library makes.

The metaschema is pulumi/pulumi's `pkg/codegen/schema/pulumi.json` at v3.259.0 (commit
0ac56e876614aedf12771d73ef7e80959b8a6fd4), the newest tag the stored copy of pulumi/pulumi
holds; the pinned SDK is 3.272.0.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import jsonschema
import pulumi
import pytest
import yaml
from pulumi.provider.server import ProviderServicer
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tests.harness import ROOT, run_under_mocks, unsecret

METASCHEMA = ROOT / "tests" / "schema" / "pulumi-package-metaschema.json"
YAML_EXAMPLE = ROOT / "examples" / "yaml" / "Pulumi.yaml"


@pytest.fixture(scope="module")
def schema() -> Iterator[dict[str, Any]]:
    """The schema the plugin serves, asked for over gRPC as the CLI asks."""
    plugin = subprocess.Popen(
        [sys.executable, str(ROOT / "component" / "__main__.py"), "127.0.0.1:1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT / "component",
    )
    try:
        assert plugin.stdout is not None
        port = plugin.stdout.readline().strip()
        assert port.isdigit(), (port, plugin.stderr.read() if plugin.stderr else "")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            response = provider_pb2_grpc.ResourceProviderStub(channel).GetSchema(
                provider_pb2.GetSchemaRequest(version=0), timeout=60
            )
        yield json.loads(response.schema)
    finally:
        plugin.kill()
        plugin.wait()


def _metaschema() -> dict[str, Any]:
    # ECMA's named groups, as Python's re spells them.
    return json.loads(METASCHEMA.read_text().replace("(?<", "(?P<"))


def metaschema_problems(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(_metaschema(), format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_the_metaschema_is_pulumis_own():
    document = json.loads(METASCHEMA.read_text())
    assert document["title"] == "Pulumi Package Metaschema"
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_served_schema_passes_pulumis_package_metaschema(schema: dict[str, Any]):
    assert schema["name"] == "secretstore-csi"
    assert set(schema["resources"]) == {"secretstore-csi:index:Platform", "secretstore-csi:index:Workload"}
    assert metaschema_problems(schema) == []


def test_a_broken_schema_fails_the_metaschema(schema: dict[str, Any]):
    broken = json.loads(json.dumps(schema))
    broken["resources"]["secretstore-csi:index:Workload"]["inputProperties"]["platform"]["type"] = "text"
    broken["resources"]["not a token"] = {}
    problems = metaschema_problems(broken)
    assert problems and any("not a token" in p for p in problems)


def test_the_workload_names_its_platform_by_an_output_the_platform_has(schema: dict[str, Any]):
    platform = schema["resources"]["secretstore-csi:index:Platform"]
    workload = schema["resources"]["secretstore-csi:index:Workload"]
    assert "platformName" in platform["required"]
    assert workload["inputProperties"]["platform"]["type"] == "string"
    assert set(workload["requiredInputs"]) == {"platform", "secrets"}


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield from re.findall(r"\$\{([^}]+)\}", value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def yaml_problems(program: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Every token, property and output the program uses that the schema does not have."""
    problems = []
    types = {name: resource for name, resource in program["resources"].items()}
    for name, resource in types.items():
        definition = schema["resources"].get(resource["type"])
        if definition is None:
            problems.append(f"{name}: no resource {resource['type']}")
            continue
        for key, value in resource.get("properties", {}).items():
            prop = definition["inputProperties"].get(key)
            if prop is None:
                problems.append(f"{name}.{key}: not an input of {resource['type']}")
            elif prop.get("type") == "array" and "$ref" in prop.get("items", {}):
                item_type = schema["types"][prop["items"]["$ref"].removeprefix("#/types/")]
                for index, item in enumerate(value):
                    problems += [
                        f"{name}.{key}[{index}].{field}: not a field of {prop['items']['$ref']}"
                        for field in item
                        if field not in item_type["properties"]
                    ]
        missing = set(definition.get("requiredInputs", [])) - set(resource.get("properties", {}))
        problems += [f"{name}: required input {key} is missing" for key in sorted(missing)]
    for reference in _references({"resources": program["resources"], "outputs": program.get("outputs", {})}):
        target, _, output = reference.partition(".")
        resource = types.get(target)
        if resource is None or output not in schema["resources"][resource["type"]]["properties"]:
            problems.append(f"${{{reference}}}: no such output")
    return problems


def test_the_yaml_example_uses_only_what_the_schema_has(schema: dict[str, Any]):
    program = yaml.safe_load(YAML_EXAMPLE.read_text())
    assert program["runtime"] == "yaml" and program["packages"] == {"secretstore-csi": "../../component"}
    assert yaml_problems(program, schema) == []
    broken = json.loads(json.dumps(program))
    broken["resources"]["payments"]["properties"]["serviceAcount"] = "x"
    broken["resources"]["orders"]["properties"]["secrets"][0]["vaule"] = "x"
    broken["outputs"]["x"] = "${apps.kubeConfig}"
    assert yaml_problems(broken, schema) == [
        "payments.serviceAcount: not an input of secretstore-csi:index:Workload",
        "orders.secrets[0].vaule: not a field of #/types/secretstore-csi:index:SecretArgs",
        "${apps.kubeConfig}: no such output",
    ]


# The components as the host calls them, under the mocks

PROGRAM = '''
import asyncio
import pulumi
from pulumi.output import _OutputData
from pulumi.resource import DependencyResource
from secretstore_csi.package import Platform, Workload

def construct_input(value, deps):
    """An input with dependencies as the provider server hands it to a component: an Output
    whose data is resolved already (ProviderServicer._select_value)."""
    data = asyncio.get_event_loop().create_future()
    data.set_result(_OutputData(resources={DependencyResource(u) for u in deps}, value=value, is_known=True,
                                is_secret=False))
    return pulumi.Output._from_data(data)

apps = Platform("apps", {"cloud": "kubernetes", "store": "vault", "settings": {"vaultDevMode": "true"}})
payments = Workload("payments", {
    "platform": construct_input("apps", {"urn:pulumi:dev::p::secretstore-csi:index:Platform::apps"}),
    "namespace": "shop", "service_account": "payments-api", "demo": True,
    "secrets": [{"name": "db", "keys": ["username", "password"], "values": {"username": "app"}}],
})
orders = Workload("orders", {"platform": "apps", "namespace": "shop", "service_account": "orders-api",
                             "secrets": [{"name": "db", "value": pulumi.Output.secret("s3cret")}]})
pulumi.export("payments", payments.secret_provider_class)
'''


def _run(tmp_path: Path, program: str):
    main = tmp_path / "__main__.py"
    main.write_text(program)
    return run_under_mocks(main, "secretstore-csi-package", "dev", {})


def test_the_components_make_what_the_library_makes(tmp_path: Path):
    run = _run(tmp_path, PROGRAM)
    assert run.error is None, run.error
    types = {r.type for r in run.resources}
    assert {"secretstore-csi:index:Platform", "secretstore-csi:index:Workload"} <= types
    workloads = sorted(r.name for r in run.of_type("secretstore-csi:index:Workload"))
    assert workloads == ["orders", "payments"]
    assert run.exports["payments"].value == "payments"
    from tests.isolation import isolation_problems

    outputs = {
        "payments": {"vaultRole": "payments", "namespace": "shop", "serviceAccount": "payments-api"},
        "orders": {"vaultRole": "orders", "namespace": "shop", "serviceAccount": "orders-api"},
    }
    assert isolation_problems(run, ("vault", "kubernetesAuth"), outputs) == []


@pytest.mark.parametrize(
    "change, expected, problem",
    [
        (
            '"settings": {"vaultDevMode": "true"}',
            '"settings": {"vaultDevMod": "true"}',
            "settings.vaultDevMod: not a setting of cloud kubernetes",
        ),
        (
            '"platform": "apps", "namespace": "shop", "service_account": "orders-api"',
            '"platform": "other", "namespace": "shop", "service_account": "orders-api"',
            "platform = 'other': expected",
        ),
        ('"store": "vault",', '"store": "vault", "install": "Addon",', "install = 'Addon': expected helm or addon"),
        (
            '"store": "vault",',
            '"store": "vault", "rotation_poll_interval": "1s",',
            "rotationPollInterval = '1s': expected a Go duration such as 2m, 1h or 1h30m, at least 1m",
        ),
    ],
)
def test_a_bad_argument_is_one_config_error(tmp_path: Path, change: str, expected: str, problem: str):
    assert change in PROGRAM
    run = _run(tmp_path, PROGRAM.replace(change, expected))
    from secretstore_csi.errors import ConfigError

    assert isinstance(run.error, ConfigError), run.error
    (found,) = run.error.problems
    assert found.startswith(problem)


def test_values_given_as_an_output_keep_their_keys_and_stay_secret(tmp_path: Path):
    given = '"values": {"username": "app"}'
    assert given in PROGRAM
    deps = "{'urn:pulumi:dev::p::random:index/randomPassword:RandomPassword::u'}"
    run = _run(tmp_path, PROGRAM.replace(given, f'"values": construct_input({{"username": "app"}}, {deps})'))
    assert run.error is None, run.error
    # username is given, password generated.
    generated = [r.name for r in run.of_type("random:index/randomPassword:RandomPassword") if "payments" in r.name]
    assert generated == ["payments-db-password"]
    value = next(r for r in run.of_type("kubernetes:core/v1:Secret") if r.name == "payments-db-vault-value")
    assert unsecret(value.inputs["stringData"])[1] or all(unsecret(v)[1] for v in value.inputs["stringData"].values())


def test_an_input_as_the_provider_server_makes_it_is_read_and_an_unknown_one_refused():
    from pulumi.output import _OutputData

    from secretstore_csi.errors import ConfigError
    from secretstore_csi.package import known

    loop = asyncio.new_event_loop()
    value = loop.run_until_complete(ProviderServicer._select_value("apps", deps={"urn:pulumi:dev::p::t::a"}))
    assert isinstance(value, pulumi.Output) and known(value, "platform") == "apps"

    async def unknown() -> pulumi.Output[str]:
        data = asyncio.get_running_loop().create_future()
        data.set_result(_OutputData(resources=set(), value=None, is_known=False, is_secret=False))
        return pulumi.Output._from_data(data)

    with pytest.raises(ConfigError, match="platform: expected a value known when the component is made"):
        known(loop.run_until_complete(unknown()), "platform")

"""Secret Manager with Workload Identity Federation for GKE: a secret and a version per
configured secret, the accessor role on each secret for exactly one principal, the provider's
`secrets` parameter, the token audience, and the config Google would refuse."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from secretstore_csi.gcp.secret_manager import provider_secrets
from secretstore_csi.model import StoreSecret
from tests.authorities import validate_kubernetes_objects
from tests.harness import GCP_PROJECT, GCP_PROJECT_NUMBER, ProgramRun, config_problems, reveal, run_program, unsecret

P = "secretstore-csi"
SECRET = "gcp:secretmanager/secret:Secret"
VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
MEMBER = "gcp:secretmanager/secretIamMember:SecretIamMember"
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
RELEASE = "kubernetes:helm.sh/v3:Release"
POOL = f"{GCP_PROJECT}.svc.id.goog"
PRINCIPAL = (
    f"principal://iam.googleapis.com/projects/{GCP_PROJECT_NUMBER}/locations/global/workloadIdentityPools/"
    f"{POOL}/subject/ns/secretstore-gcp-dev/sa/test"
)
LISTED = [{"name": "db", "keys": ["username", "password"], "valueFrom": "dbCredentials"}, {"name": "api-token"}]
DB = json.dumps({"username": "app", "password": "hunter2-but-longer"})
# The fields of an entry of `secrets` (config.go, Secret, at v1.15.0), and the resource names
# the provider takes as Secret Manager versions (util/constants.go globalSecretRegex).
ENTRY_FIELDS = {"resourceName", "fileName", "path", "extractJSONKey", "extractYAMLKey", "mode"}
GLOBAL_SECRET = re.compile(r"projects/([^/]+)/secrets/([^/]+)/versions/([^/]+)")
# Every type a gcp stack may create: no project-level IAM, no Google service account.
GCP_TYPES = {
    "gcp:projects/service:Service",
    "gcp:container/cluster:Cluster",
    "gcp:container/nodePool:NodePool",
    SECRET,
    VERSION,
    MEMBER,
}


@pytest.fixture(scope="module")
def gcp_dev() -> ProgramRun:
    return run_program("gcp-dev")


@pytest.fixture(scope="module")
def several() -> ProgramRun:
    return run_program(
        "gcp-dev",
        set_={
            f"{P}:secrets": json.dumps(LISTED),
            f"{P}:syncSecret": "true",
            f"{P}:rotation": json.dumps({"enabled": True, "pollInterval": "2m"}),
        },
        secrets={f"{P}:dbCredentials": DB},
    )


def secrets_problems(parameter: str) -> list[str]:
    """What the provider's config parser or its resource check would refuse in `secrets`."""
    entries = yaml.safe_load(parameter)
    if not isinstance(entries, list) or not entries:
        return ["not a non-empty list"]
    problems = []
    for index, entry in enumerate(entries):
        unknown = set(entry) - ENTRY_FIELDS
        if unknown:
            problems.append(f"[{index}] has unknown fields {sorted(unknown)}")
        if not GLOBAL_SECRET.fullmatch(str(entry.get("resourceName"))):
            problems.append(f"[{index}].resourceName is not a secret version")
        if not (entry.get("path") or entry.get("fileName")):
            problems.append(f"[{index}] names no file")
    paths = [entry.get("path") or entry.get("fileName") for entry in entries]
    if len(set(paths)) != len(paths):
        problems.append("two entries write the same file")
    return problems


def _ids(run: ProgramRun) -> list[str]:
    return [s.inputs["secretId"] for s in run.of_type(SECRET)]


def test_one_secret_with_automatic_replication_and_a_generated_id(gcp_dev: ProgramRun):
    secret = gcp_dev.one(SECRET).inputs
    assert secret == {
        "project": GCP_PROJECT,
        "secretId": "secretstore-k3x9q2mz-secret",
        "replication": {"auto": {}},
    }
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,255}", secret["secretId"])


def test_the_version_holds_the_value_as_a_secret_from_the_first_line(several: ProgramRun):
    versions = {v.name: v for v in several.of_type(VERSION)}
    db = versions["secretstore-db-version"]
    assert unsecret(db.inputs["secretData"]) == (DB, True)
    assert db.inputs["secret"] == several.one(SECRET, "secretstore-db").id
    token, is_secret = unsecret(versions["secretstore-api-token-version"].inputs["secretData"])
    assert is_secret and len(token) == 32


def test_each_secret_grants_its_accessor_role_to_exactly_one_principal(several: ProgramRun):
    members = several.of_type(MEMBER)
    secrets = several.of_type(SECRET)
    assert len(members) == len(secrets) == 2
    assert sorted(m.inputs["secretId"] for m in members) == sorted(_ids(several))
    for member in members:
        assert member.inputs == {
            "project": GCP_PROJECT,
            "secretId": member.inputs["secretId"],
            "role": "roles/secretmanager.secretAccessor",
            "member": PRINCIPAL,
        }
    # The project's number came from the provider, asked with the configured project.
    assert ("gcp:organizations/getProject:getProject", {"projectId": GCP_PROJECT}) in several.calls


def test_the_grants_wait_for_the_cluster_that_creates_the_workload_pool(several: ProgramRun):
    # IAM refuses a principal of a pool that does not exist yet; GKE makes the pool with the
    # project's first Workload Identity cluster.
    cluster = several.one("gcp:container/cluster:Cluster")
    for member in several.of_type(MEMBER):
        assert several.depends_on(member, cluster), member.name


def test_no_grant_is_project_wide_and_no_google_service_account_exists(several: ProgramRun):
    created = {r.type for r in several.resources if r.type.startswith("gcp:")}
    assert created <= GCP_TYPES, created - GCP_TYPES
    assert MEMBER in created


def test_the_principal_is_the_workloads_service_account_in_its_namespace():
    run = run_program("gcp-dev", set_={f"{P}:namespace": "payments", f"{P}:serviceAccount": "billing"})
    (member,) = run.of_type(MEMBER)
    assert member.inputs["member"].endswith(f"/workloadIdentityPools/{POOL}/subject/ns/payments/sa/billing")
    assert run.exports["workloadIdentityPrincipal"].value == member.inputs["member"]


def test_the_class_names_each_file_from_the_latest_version(several: ProgramRun):
    spc = reveal(several.one(SPC).inputs)
    assert spc["spec"]["provider"] == "gcp"
    assert set(spc["spec"]["parameters"]) == {"secrets"}
    db_id = several.one(SECRET, "secretstore-db").inputs["secretId"]
    token_id = several.one(SECRET, "secretstore-api-token").inputs["secretId"]
    latest = f"projects/{GCP_PROJECT}/secrets/{{}}/versions/latest"
    assert yaml.safe_load(spc["spec"]["parameters"]["secrets"]) == [
        {"resourceName": latest.format(db_id), "path": "db"},
        {"resourceName": latest.format(db_id), "path": "db-username", "extractJSONKey": "username"},
        {"resourceName": latest.format(db_id), "path": "db-password", "extractJSONKey": "password"},
        {"resourceName": latest.format(token_id), "path": "api-token"},
    ]
    assert secrets_problems(spc["spec"]["parameters"]["secrets"]) == []
    synced = spc["spec"]["secretObjects"][0]["data"]
    assert [d["objectName"] for d in synced] == ["db", "db-username", "db-password", "api-token"]


@pytest.mark.parametrize(
    "entries, problem",
    [
        ([{"resourceName": "projects/p/secrets/s/versions/latest", "path": "a", "extractJsonKey": "k"}], "unknown"),
        ([{"resourceName": "projects/p/secrets/s", "path": "a"}], "not a secret version"),
        (
            [{"resourceName": "//secretmanager.googleapis.com/projects/p/secrets/s/versions/1", "path": "a"}],
            "not a secret version",
        ),
        (
            [
                {"resourceName": "projects/p/secrets/s/versions/1", "path": "a"},
                {"resourceName": "projects/p/secrets/t/versions/1", "path": "a"},
            ],
            "same file",
        ),
    ],
)
def test_the_parameter_check_fails_for_what_the_provider_refuses(entries: list[dict[str, Any]], problem: str):
    (found,) = secrets_problems(yaml.safe_dump(entries))
    assert problem in found


def test_the_parameter_writer_passes_the_check_for_every_shape():
    secrets = (StoreSecret("a", (), {}), StoreSecret("b", ("x", "y_1", "Z-2"), {}))
    assert (
        secrets_problems(
            provider_secrets(["projects/my-project-1/secrets/p-a", "projects/my-project-1/secrets/p-b"], secrets)
        )
        == []
    )


def test_every_object_passes_the_strict_schema_and_the_crd(several: ProgramRun):
    assert validate_kubernetes_objects(several) >= 8


def test_the_driver_requests_exactly_the_workload_pool(gcp_dev: ProgramRun):
    driver = gcp_dev.one(RELEASE, "secretstore-driver").inputs
    assert driver["values"]["tokenRequests"] == [{"audience": POOL}]
    assert tuple(gcp_dev.program["platform"].store.install.token_audiences) == (POOL,)
    assert gcp_dev.one("gcp:container/cluster:Cluster").inputs["workloadIdentityConfig"]["workloadPool"] == POOL


def test_a_configured_prefix_names_the_secrets():
    run = run_program("gcp-dev", set_={f"{P}:secretIdPrefix": "team_a-"})
    assert _ids(run) == ["team_a-secret"]
    assert not run.of_type("random:index/randomString:RandomString")


def test_the_stack_exports_the_secrets_and_the_principal(gcp_dev: ProgramRun):
    exports = {name: export.value for name, export in gcp_dev.exports.items()}
    assert exports["secretManagerSecretIds"] == ["secretstore-k3x9q2mz-secret"]
    assert exports["secretManagerSecretNames"] == [f"projects/{GCP_PROJECT_NUMBER}/secrets/secretstore-k3x9q2mz-secret"]
    assert exports["workloadIdentityPrincipal"] == PRINCIPAL
    assert (exports["project"], exports["location"], exports["workloadPool"]) == (GCP_PROJECT, "us-central1-a", POOL)


# What Google would refuse stops the program before any resource


@pytest.mark.parametrize(
    "key, value, accepted",
    [
        ("gcp:project", "My_Project", "expected a Google Cloud project ID"),
        ("gcp:project", "short", "expected a Google Cloud project ID"),
        ("gcp:project", "ends-with-hyphen-", "expected a Google Cloud project ID"),
        ("gcp:zone", "us-central1", "expected a Google Cloud zone"),
        ("gcp:zone", "mars-central1-a", "expected a Google Cloud zone"),
        ("gcp:zone", "us-centrall1-a", "expected a Google Cloud zone"),
        (f"{P}:secretIdPrefix", "team.a/", "expected 1-254 letters, digits, '-' or '_'"),
        (f"{P}:nodeMaxCount", "1001", "expected a whole number from 1 to 1000"),
        (f"{P}:deletionProtection", "yes", "expected true or false"),
    ],
)
def test_a_value_google_would_refuse_is_one_problem_naming_the_key(key: str, value: str, accepted: str):
    (problem,) = config_problems("gcp-dev", set_={key: value})
    assert problem.startswith(f"{key} = {value!r}: {accepted}"), problem


@pytest.mark.parametrize("region", ["europe-west", "us-central9", "mars-north1"])
def test_a_region_that_is_not_one_is_refused(region: str):
    (problem,) = config_problems("gcp-dev", set_={"gcp:region": region}, remove=("gcp:zone",))
    assert problem == (
        f"gcp:region = {region!r}: expected a Google Cloud region, such as us-central1 or europe-west1 "
        "(`gcloud compute regions list`)"
    )


@pytest.mark.parametrize("zone", ["us-central9-z", "us-east1-a", "europe-west1-a", "us-central1"])
def test_a_zone_that_is_not_one_is_refused(zone: str):
    (problem,) = config_problems("gcp-dev", set_={"gcp:zone": zone})
    assert problem == (
        f"gcp:zone = {zone!r}: expected a Google Cloud zone, a region and a letter it has, such as us-central1-a "
        "(`gcloud compute zones list`)"
    )


@pytest.mark.parametrize("machine_type", ["e2-standard-3", "n2-standard-6", "e2-standard", "large", "E2-standard-2"])
def test_a_machine_type_google_does_not_make_is_refused(machine_type: str):
    (problem,) = config_problems("gcp-dev", set_={f"{P}:nodeMachineType": machine_type})
    assert problem.startswith(f"{P}:nodeMachineType = {machine_type!r}: expected a Compute Engine machine type")


@pytest.mark.parametrize(
    "machine_type",
    ["e2-standard-2", "e2-medium", "n2-highmem-128", "c3-standard-4-lssd", "e2-custom-4-8192", "a3-highgpu-8g"],
)
def test_machine_types_google_makes_are_accepted(machine_type: str):
    run = run_program("gcp-dev", set_={f"{P}:nodeMachineType": machine_type})
    assert run.one("gcp:container/nodePool:NodePool").inputs["nodeConfig"]["machineType"] == machine_type


def test_a_zone_outside_the_region_is_refused():
    (problem,) = config_problems("gcp-dev", set_={"gcp:region": "europe-west1"})
    assert problem.startswith("gcp:zone = 'us-central1-a', gcp:region = 'europe-west1': expected a zone of gcp:region")


def test_neither_zone_nor_region_says_how_to_set_one():
    (problem,) = config_problems("gcp-dev", remove=("gcp:zone",))
    assert problem.startswith("gcp:zone and gcp:region are not set: set `pulumi config set gcp:zone <zone>`")


def test_a_missing_project_says_how_to_set_it():
    (problem,) = config_problems("gcp-dev", remove=("gcp:project",))
    assert problem.startswith("gcp:project is not set: expected a Google Cloud project ID")
    assert "pulumi config set gcp:project <id>" in problem


def test_a_secret_id_over_255_characters_is_refused():
    listed = [{"name": "a" * 63}]
    (problem,) = config_problems("gcp-dev", set_={f"{P}:secretIdPrefix": "p" * 200, f"{P}:secrets": json.dumps(listed)})
    assert problem == (
        f"{P}:secretIdPrefix = {'p' * 200!r}: the ID of secret {'a' * 63!r} would be 263 characters, more than "
        "the 255 Secret Manager takes; expected a shorter prefix"
    )


def test_a_secret_value_over_64_kib_is_refused_without_showing_it():
    big = "v" * 65_537
    (problem,) = config_problems("gcp-dev", secrets={f"{P}:secretPassword": big})
    assert "65536 that Google Cloud Secret Manager accepts" in problem
    assert big not in problem and "vvvv" not in problem


def test_a_secret_value_of_exactly_64_kib_is_accepted():
    run = run_program(
        "gcp-dev", secrets={f"{P}:secretPassword": "v" * (65_536 - len('{"username": "demo", "password": ""}'))}
    )
    assert run.of_type(VERSION)

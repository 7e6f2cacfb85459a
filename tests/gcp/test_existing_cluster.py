"""An existing GKE cluster: read with gcp.container.get_cluster, never created; its workload pool
names every principal and is the audience of the driver's tokens; a cluster without one is
refused up front, and pools off the GKE metadata server are warned about."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.harness import (
    EXISTING_GKE,
    GCP_PROJECT,
    GKE_ENDPOINT,
    ExistingGke,
    ProgramRun,
    World,
    config_problems,
    reveal,
    run_program,
)
from tests.isolation import isolation_problems
from tests.policy_pack import analyze

P = "secretstore-csi"
EXISTING = {f"{P}:existingCluster": EXISTING_GKE}
# The stack file's key for a cluster it creates, which an existing one has no use for.
CREATED_ONLY = (f"{P}:deletionProtection",)
WORKLOADS = json.dumps(
    [
        {"name": "payments", "secrets": [{"name": "db", "keys": ["username", "password"]}], "demo": True},
        {"name": "reports", "secrets": [{"name": "signing-key"}]},
    ]
)
POOL = f"{GCP_PROJECT}.svc.id.goog"


def _existing(world: World | None = None) -> ProgramRun:
    return run_program("gcp-dev", set_={**EXISTING, f"{P}:workloads": WORKLOADS}, remove=CREATED_ONLY, world=world)


@pytest.fixture(scope="module")
def existing() -> ProgramRun:
    return _existing()


def test_nothing_the_cluster_has_is_created_and_isolation_holds(existing: ProgramRun):
    types = {r.type for r in existing.resources}
    assert not types & {"gcp:container/cluster:Cluster", "gcp:container/nodePool:NodePool"}
    assert not any(t.startswith("gcp:compute/") for t in types)
    # The container API is on in a project that has a cluster; the stack turns on only
    # Secret Manager's.
    services = [reveal(r.inputs)["service"] for r in existing.of_type("gcp:projects/service:Service")]
    assert services == ["secretmanager.googleapis.com"]
    assert existing.of_type("secretstore-csi:gcp:ExistingGkeCluster")
    assert isolation_problems(existing) == []
    assert analyze(existing.resources) == []


def test_the_pool_names_each_principal_and_is_the_audience_the_driver_requests(existing: ProgramRun):
    for grant in existing.of_type("gcp:secretmanager/secretIamMember:SecretIamMember"):
        assert f"/workloadIdentityPools/{POOL}/subject/" in reveal(grant.inputs)["member"]
    driver = next(
        r for r in existing.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "secrets-store-csi-driver"
    )
    assert {"audience": POOL} in reveal(driver.inputs)["values"]["tokenRequests"]


def test_the_kubeconfig_logs_in_with_the_gke_auth_plugin(existing: ProgramRun):
    assert existing.exports["kubeConfig"].secret
    document = yaml.safe_load(existing.exports["kubeConfig"].value)
    (cluster,) = document["clusters"]
    assert cluster["name"] == f"gke_{GCP_PROJECT}_us-central1-a_{EXISTING_GKE}"
    assert cluster["cluster"]["server"] == f"https://{GKE_ENDPOINT}"
    assert document["users"][0]["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"


def test_a_cluster_without_a_workload_pool_is_refused():
    assert config_problems(
        "gcp-dev", set_=EXISTING, remove=CREATED_ONLY, world=World(gke=[ExistingGke(workload_pool=False)])
    ) == [
        f"{P}:identity = 'workloadIdentity': cluster {EXISTING_GKE} has no workload pool, so its service accounts "
        "have no federated identity; turn Workload Identity Federation on (`gcloud container clusters update "
        f"{EXISTING_GKE} --location us-central1-a --workload-pool {POOL}`) and run its node pools on the GKE "
        "metadata server"
    ]


def test_an_autopilot_cluster_is_refused():
    assert config_problems(
        "gcp-dev", set_=EXISTING, remove=CREATED_ONLY, world=World(gke=[ExistingGke(autopilot=True)])
    ) == [
        f"{P}:existingCluster = '{EXISTING_GKE}': the cluster is Autopilot, which refuses the privileged DaemonSets "
        f"of the Secrets Store CSI Driver and its provider: expected a Standard cluster, or {P}:install addon "
        "(GKE's Secret Manager add-on)"
    ]


def test_pools_off_the_metadata_server_are_named_in_a_warning(caplog: pytest.LogCaptureFixture):
    run = _existing(World(gke=[ExistingGke(metadata_modes=("GKE_METADATA", "GCE_METADATA"))]))
    assert run.error is None
    assert any(
        "Node pools pool-1 of cluster platform-gke do not run on the GKE metadata server" in m for m in caplog.messages
    )


def test_a_cluster_that_is_not_there_and_creation_keys_are_refused():
    (problem,) = config_problems("gcp-dev", set_={f"{P}:existingCluster": "elsewhere"}, remove=CREATED_ONLY)
    assert problem.startswith(
        f"{P}:existingCluster = 'elsewhere': no GKE cluster of that name can be read in project {GCP_PROJECT} at "
        f"us-central1-a (Google said: projects/{GCP_PROJECT}/locations/us-central1-a/clusters/elsewhere not found)"
    )
    assert config_problems("gcp-dev", set_=EXISTING) == [
        f"{P}:deletionProtection: applies only to a cluster the stack creates, and {P}:existingCluster = "
        f"'{EXISTING_GKE}' names one that exists: remove it"
    ]

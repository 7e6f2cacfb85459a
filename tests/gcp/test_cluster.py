"""The GKE cluster: Standard with Workload Identity, a node pool on the GKE metadata server,
the APIs it needs, and a kubeconfig that logs in with gke-gcloud-auth-plugin."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path

import pytest
import yaml

from secretstore_csi import verify
from secretstore_csi.gcp.cluster import kubeconfig
from tests.fake_kube_api import GCP_DENIAL, TOKEN, Cluster, serve
from tests.harness import GCP_PROJECT, GKE_CA, GKE_ENDPOINT, ProgramRun, run_program, unsecret
from tests.tls_server import make_chain

P = "secretstore-csi"
CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
SERVICE = "gcp:projects/service:Service"
POOL = f"{GCP_PROJECT}.svc.id.goog"


@pytest.fixture(scope="module")
def gcp_dev() -> ProgramRun:
    return run_program("gcp-dev")


def test_a_zonal_standard_cluster_with_the_projects_workload_pool(gcp_dev: ProgramRun):
    cluster = gcp_dev.one(CLUSTER).inputs
    assert cluster == {
        "project": GCP_PROJECT,
        "location": "us-central1-a",
        "minMasterVersion": "1.35",
        "releaseChannel": {"channel": "REGULAR"},
        "workloadIdentityConfig": {"workloadPool": POOL},
        "removeDefaultNodePool": True,
        "initialNodeCount": 1,
        # Off in gcp-dev, so that `pulumi destroy` can delete it.
        "deletionProtection": False,
    }
    assert "enableAutopilot" not in cluster


def test_the_node_pool_uses_the_gke_metadata_server(gcp_dev: ProgramRun):
    cluster = gcp_dev.one(CLUSTER)
    pool = gcp_dev.one(NODE_POOL).inputs
    assert pool == {
        "project": GCP_PROJECT,
        "cluster": cluster.outputs["name"],
        "location": "us-central1-a",
        "initialNodeCount": 2,
        "autoscaling": {"minNodeCount": 1, "maxNodeCount": 3},
        "nodeConfig": {"machineType": "e2-standard-2", "workloadMetadataConfig": {"mode": "GKE_METADATA"}},
    }
    # No Google service account of the stack's own: the nodes keep the project's default.
    assert not gcp_dev.of_type("gcp:serviceaccount/account:Account")
    # Changing it would replace the pool; after creation the autoscaler owns the count.
    assert gcp_dev.one(NODE_POOL).ignore_changes == ["initialNodeCount"]


def test_the_apis_are_enabled_by_the_stack_and_left_on_at_destroy(gcp_dev: ProgramRun):
    services = {s.inputs["service"]: s for s in gcp_dev.of_type(SERVICE)}
    assert set(services) == {"container.googleapis.com", "secretmanager.googleapis.com"}
    for service in services.values():
        assert service.inputs == {
            "project": GCP_PROJECT,
            "service": service.inputs["service"],
            "disableOnDestroy": False,
        }
    assert gcp_dev.depends_on(gcp_dev.one(CLUSTER), services["container.googleapis.com"])
    for secret in gcp_dev.of_type("gcp:secretmanager/secret:Secret"):
        assert gcp_dev.depends_on(secret, services["secretmanager.googleapis.com"])


def test_a_region_makes_a_regional_cluster():
    run = run_program("gcp-dev", set_={"gcp:region": "europe-west1"}, remove=("gcp:zone",))
    assert run.one(CLUSTER).inputs["location"] == "europe-west1"
    assert run.one(NODE_POOL).inputs["location"] == "europe-west1"
    assert run.exports["location"].value == "europe-west1"


def test_deletion_protection_is_on_unless_the_stack_turns_it_off():
    run = run_program("gcp-dev", remove=(f"{P}:deletionProtection",))
    assert run.one(CLUSTER).inputs["deletionProtection"] is True


def test_the_node_pool_and_version_follow_the_config():
    run = run_program(
        "gcp-dev",
        set_={
            f"{P}:nodeMachineType": "n2d-standard-4",
            f"{P}:nodeMinCount": "2",
            f"{P}:nodeDesiredCount": "3",
            f"{P}:nodeMaxCount": "5",
            f"{P}:kubernetesVersion": "1.34",
        },
    )
    pool = run.one(NODE_POOL).inputs
    assert pool["nodeConfig"]["machineType"] == "n2d-standard-4"
    assert (pool["initialNodeCount"], pool["autoscaling"]) == (3, {"minNodeCount": 2, "maxNodeCount": 5})
    assert run.one(CLUSTER).inputs["minMasterVersion"] == "1.34"


def test_the_kubernetes_provider_waits_for_the_node_pool(gcp_dev: ProgramRun):
    (provider,) = gcp_dev.of_type("pulumi:providers:kubernetes")
    assert gcp_dev.depends_on(provider, gcp_dev.one(NODE_POOL))


def test_the_kubeconfig_logs_in_with_the_gke_auth_plugin_and_is_secret(gcp_dev: ProgramRun):
    export = gcp_dev.exports["kubeConfig"]
    assert export.secret
    document = yaml.safe_load(export.value)
    (cluster,) = document["clusters"]
    assert cluster["cluster"] == {"server": f"https://{GKE_ENDPOINT}", "certificate-authority-data": GKE_CA}
    (user,) = document["users"]
    assert user["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert user["user"]["exec"]["provideClusterInfo"] is True
    assert "token" not in user["user"]
    (provider,) = gcp_dev.of_type("pulumi:providers:kubernetes")
    assert unsecret(provider.inputs["kubeconfig"]) == (export.value, True)


def _stand_in_plugin(directory: Path) -> Path:
    """A gke-gcloud-auth-plugin that answers like the real one and records what it was given."""
    script = directory / "gke-gcloud-auth-plugin"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, pathlib\n"
        f"pathlib.Path({str(directory / 'exec-info.json')!r}).write_text(os.environ['KUBERNETES_EXEC_INFO'])\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1', 'kind': 'ExecCredential',\n"
        f"                  'status': {{'token': {TOKEN!r}}}}}))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return directory


def _verify_through_gke_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, timeout: str, trusted_root: bytes | None = None
) -> tuple[int, str]:
    """verify against a TLS API server on 127.0.0.1, through the kubeconfig the cluster
    writes (its CA: the server's root unless `trusted_root` says otherwise) and the stand-in
    plugin; returns verify's exit code and the server's URL."""
    chain = make_chain(tmp_path)
    (tmp_path / "chain.pem").write_bytes(chain.leaf.pem + chain.intermediate.pem)
    (tmp_path / "key.pem").write_bytes(chain.leaf.key_pem)
    monkeypatch.setenv("PATH", f"{_stand_in_plugin(tmp_path)}{os.pathsep}{os.environ['PATH']}")
    with serve(Cluster.healthy(denial=GCP_DENIAL), tls=(tmp_path / "chain.pem", tmp_path / "key.pem")) as url:
        ca = base64.b64encode(trusted_root or chain.root.pem).decode()
        path = tmp_path / "kubeconfig.yaml"
        path.write_text(kubeconfig("gke_test", url.removeprefix("https://"), ca))
        code = verify.main(
            [
                "--kubeconfig",
                str(path),
                "--namespace",
                "default",
                "--authorized",
                "hello-server-authorized",
                "--unauthorized",
                "hello-server-unauthorized",
                "--identity",
                "workloadIdentity",
                "--timeout",
                timeout,
                "--interval",
                "0.05",
            ]
        )
    return code, url


def test_verify_reaches_a_gke_api_server_over_tls_through_the_plugin(tmp_path, capsys, monkeypatch):
    code, url = _verify_through_gke_kubeconfig(tmp_path, monkeypatch, timeout="5")
    assert code == 0, capsys.readouterr().out
    assert "was denied (workloadIdentity)" in capsys.readouterr().out
    info = json.loads((tmp_path / "exec-info.json").read_text())
    assert info["spec"]["cluster"]["server"] == url


def test_a_kubeconfig_with_another_ca_is_refused(tmp_path, capsys, monkeypatch):
    (tmp_path / "other").mkdir()
    other = make_chain(tmp_path / "other")
    code, _ = _verify_through_gke_kubeconfig(tmp_path, monkeypatch, timeout="1", trusted_root=other.root.pem)
    assert code != 0
    assert capsys.readouterr().err == (
        "error: reading deployment hello-server-authorized failed: the TLS handshake with the API server failed\n"
    )

"""Vault in the cluster: the pinned chart in dev mode, the program's own CSI provider, a
configuration Job per workload that Pulumi awaits, from inputs that do not outlive it, and
the SecretProviderClass that reads what the Job wrote."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from secretstore_csi import charts
from tests.authorities import CHARTS, render, validate_kubernetes_objects
from tests.harness import ProgramRun, config_problems, reveal, run_program, unsecret
from tests.policy_pack import pod_security

P = "secretstore-csi"
RELEASE = "kubernetes:helm.sh/v3:Release"
JOB = "kubernetes:batch/v1:Job"
CONFIGURE = "secretstore-vault-configure"
KEEPER = "secretstore-vault-inputs"
SECRET = "kubernetes:core/v1:Secret"
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
ROOT_TOKEN = "secretstore-vault-root-token"


@pytest.fixture(scope="module")
def local() -> ProgramRun:
    run = run_program("local-dev")
    assert validate_kubernetes_objects(run) >= 8
    return run


@pytest.fixture(scope="module")
def several() -> ProgramRun:
    listed = [{"name": "db", "keys": ["username", "password"]}, {"name": "api-token"}]
    run = run_program("local-dev", set_={f"{P}:secrets": json.dumps(listed), f"{P}:syncSecret": "true"})
    assert validate_kubernetes_objects(run) >= 9
    return run


def _root_token(run: ProgramRun) -> str:
    return run.one("random:index/randomPassword:RandomPassword", ROOT_TOKEN).outputs["result"]


def test_vault_is_the_pinned_chart_in_dev_mode_in_its_own_namespace(local: ProgramRun):
    release = local.one(RELEASE, "secretstore-vault").inputs
    assert (release["chart"], release["version"], release["repositoryOpts"]["repo"]) == (
        "vault",
        "0.34.1",
        "https://helm.releases.hashicorp.com",
    )
    assert (release["name"], release["namespace"]) == ("vault", "vault")
    # The values hold the root token, so Pulumi keeps them secret.
    values, values_secret = unsecret(release["values"])
    token, token_secret = unsecret(values["server"]["dev"]["devRootToken"])
    assert (values_secret or token_secret) and token == _root_token(local)
    assert values["server"]["dev"]["enabled"] is True
    # No injector to rewrite other pods; the CSI provider is the program's (test_csi_provider.py).
    assert values["injector"] == {"enabled": False} and values["csi"] == {"enabled": False}
    namespace = local.one("kubernetes:core/v1:Namespace", "secretstore-vault-namespace").inputs["metadata"]
    assert namespace == {"name": "vault", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}


def test_the_root_token_is_generated_once_and_long(local: ProgramRun):
    password = local.one("random:index/randomPassword:RandomPassword", ROOT_TOKEN)
    assert password.inputs == {"length": 32, "special": False}


def test_the_rendered_server_passes_the_restricted_profile_and_only_the_provider_needs_host_paths(local: ProgramRun):
    objects = render(local.one(RELEASE, "secretstore-vault").inputs, "1.35")
    (server,) = [o for o in objects if o["kind"] == "StatefulSet"]
    assert pod_security.violations(server["spec"]["template"]["spec"]) == []
    # The chart renders no provider and no webhook that would rewrite other pods.
    assert not [o for o in objects if o["kind"] in ("DaemonSet", "MutatingWebhookConfiguration", "ClusterRole")]
    (provider,) = [o for o in local.kubernetes_objects() if o["kind"] == "DaemonSet"]
    assert any("hostPath" in volume for volume in provider["spec"]["template"]["spec"]["volumes"])
    assert pod_security.violations(provider["spec"]["template"]["spec"]) != []
    # Why Vault's namespace is `privileged`: everything else in it passes `restricted`.
    for job in local.of_type(JOB):
        assert pod_security.violations(reveal(job.inputs)["spec"]["template"]["spec"]) == [], job.name


def test_the_job_runs_the_vault_the_chart_runs(local: ProgramRun):
    values = yaml.safe_load((CHARTS / f"vault-{charts.VAULT.version}" / "values.yaml").read_text())
    image = values["server"]["image"]
    (container,) = local.one(JOB, CONFIGURE).inputs["spec"]["template"]["spec"]["containers"]
    # By the digest public pins of 2.0.4 agree on (kroxylicious/kroxylicious b4bccddf).
    assert container["image"] == (
        f"{image['repository']}:{image['tag']}@sha256:5be49781ecf78bfe775c5309c6a4d9f4e9e040b6c885c99eb2b12fb69855e1a2"
    )


def test_the_job_gets_the_token_and_values_from_kubernetes_secrets_only(several: ProgramRun):
    job = reveal(several.one(JOB, CONFIGURE).inputs)
    digest = job["metadata"]["name"].removeprefix("vault-configure-")
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {variable["name"]: variable for variable in container["env"]}
    assert env["VAULT_TOKEN"] == {
        "name": "VAULT_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": f"vault-token-{digest}", "key": "token"}},
    }
    assert env["VAULT_ADDR"]["value"] == "http://vault.vault.svc:8200"
    (projected,) = [v for v in pod["volumes"] if v["name"] == "values"]
    assert [s["secret"]["name"] for s in projected["projected"]["sources"]] == [
        f"vault-value-{digest}-0",
        f"vault-value-{digest}-1",
    ]
    generated = [r.outputs["result"] for r in several.of_type("random:index/randomPassword:RandomPassword")]
    text = json.dumps(job)
    assert len(generated) == 4 and not [value for value in generated if value in text]
    secrets = {s.inputs["metadata"]["name"]: s.inputs for s in several.of_type(SECRET)}
    assert set(secrets) == {f"vault-token-{digest}", f"vault-value-{digest}-0", f"vault-value-{digest}-1"}
    for secret in secrets.values():
        data, all_secret = unsecret(secret["stringData"])
        assert all_secret or all(unsecret(value)[1] for value in data.values()), "marked secret"
    db = json.loads(reveal(secrets[f"vault-value-{digest}-0"]["stringData"])["db.json"])
    assert set(db) == {"json", "username", "password"} and json.loads(db["json"]) == {
        "username": db["username"],
        "password": db["password"],
    }
    token = json.loads(reveal(secrets[f"vault-value-{digest}-1"]["stringData"])["api-token.json"])
    assert set(token) == {"value"}


def test_no_token_or_value_outlives_the_job(several: ProgramRun):
    keeper = reveal(several.one(JOB, KEEPER).inputs)
    # Kubernetes deletes the inputs with the keeper, which sleeps a quarter of an hour and
    # then goes at once; the configuration Job goes five minutes after it finishes.
    assert keeper["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}
    assert keeper["spec"]["ttlSecondsAfterFinished"] == 0 and keeper["spec"]["backoffLimit"] == 0
    (sleeper,) = keeper["spec"]["template"]["spec"]["containers"]
    assert sleeper["command"] == ["sleep", "900"]
    assert pod_security.violations(keeper["spec"]["template"]["spec"]) == []
    uid = several.one(JOB, KEEPER).outputs["metadata"]["uid"]
    secrets = several.of_type(SECRET)
    assert len(secrets) == 3
    for secret in secrets:
        assert reveal(secret.inputs)["metadata"]["ownerReferences"] == [
            {"apiVersion": "batch/v1", "kind": "Job", "name": keeper["metadata"]["name"], "uid": uid}
        ], secret.name
    job = reveal(several.one(JOB, CONFIGURE).inputs)
    assert job["spec"]["ttlSecondsAfterFinished"] == 300
    # Nothing else the program makes on the cluster holds the root token: only that Secret, and
    # the release's values, which Helm keeps in a Secret of its own and Pulumi as a secret.
    token = _root_token(several)
    holders = [
        r.name
        for r in several.resources
        if r.type.startswith("kubernetes:") and r.type != SECRET and token in json.dumps(reveal(r.inputs))
    ]
    assert holders == ["secretstore-vault"]
    assert [r.name for r in several.of_type(SECRET) if "token" in reveal(r.inputs)["stringData"]] == [
        "secretstore-vault-configure-token"
    ]


def test_the_job_and_its_pod_pass_the_strict_schema_and_the_restricted_profile(local: ProgramRun):
    job = reveal(local.one(JOB, CONFIGURE).inputs)
    assert pod_security.violations(job["spec"]["template"]["spec"]) == []
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def _job_name(run: ProgramRun) -> str:
    name, is_secret = unsecret(run.one(JOB, CONFIGURE).inputs["metadata"]["name"])
    assert not is_secret
    return name


def test_the_jobs_name_changes_when_a_secret_changes_and_only_then(local: ProgramRun):
    name = _job_name(local)
    assert re.fullmatch(r"vault-configure-[0-9a-f]{12}", name)
    digest = name.removeprefix("vault-configure-")
    assert unsecret(local.one(JOB, KEEPER).inputs["metadata"]["name"])[0] == f"vault-inputs-{digest}"
    assert _job_name(run_program("local-dev")) == name
    first = run_program("local-dev", secrets={f"{P}:secretPassword": "first-password"})
    second = run_program("local-dev", secrets={f"{P}:secretPassword": "second-password"})
    assert len({name, _job_name(first), _job_name(second)}) == 3
    renamed = run_program("local-dev", set_={f"{P}:serviceAccount": "reader"})
    assert _job_name(renamed) != name


def test_the_job_writes_a_policy_for_exactly_the_secrets_and_a_role_for_exactly_the_account(several: ProgramRun):
    script = several.one(JOB, CONFIGURE).inputs["spec"]["template"]["spec"]["containers"][0]["command"][2]
    policy = script.split("<<'POLICY'\n", 1)[1].split("\nPOLICY\n", 1)[0]
    assert policy == (
        'path "secret/data/secretstore/secretstore-local-dev/db" {\n  capabilities = ["read"]\n}\n'
        'path "secret/data/secretstore/secretstore-local-dev/api-token" {\n  capabilities = ["read"]\n}'
    )
    assert (
        "vault write auth/kubernetes/role/secretstore-local-dev-test bound_service_account_names=test "
        "bound_service_account_namespaces=secretstore-local-dev audience=vault "
        "token_policies=secretstore-secretstore-local-dev-test token_ttl=20m"
    ) in script
    assert "*" not in policy


def test_the_class_reads_each_mounted_file_from_its_field(several: ProgramRun):
    spec = several.one(SPC).inputs["spec"]
    assert spec["provider"] == "vault"
    parameters = dict(spec["parameters"])
    assert (parameters.pop("roleName"), parameters.pop("audience")) == ("secretstore-local-dev-test", "vault")
    assert yaml.safe_load(parameters.pop("objects")) == [
        {"objectName": "db", "secretPath": "secret/data/secretstore/secretstore-local-dev/db", "secretKey": "json"},
        {
            "objectName": "db-username",
            "secretPath": "secret/data/secretstore/secretstore-local-dev/db",
            "secretKey": "username",
        },
        {
            "objectName": "db-password",
            "secretPath": "secret/data/secretstore/secretstore-local-dev/db",
            "secretKey": "password",
        },
        {
            "objectName": "api-token",
            "secretPath": "secret/data/secretstore/secretstore-local-dev/api-token",
            "secretKey": "value",
        },
    ]
    assert parameters == {}
    assert [item["key"] for item in spec["secretObjects"][0]["data"]] == [
        "db",
        "db-username",
        "db-password",
        "api-token",
    ]


def test_the_driver_requests_the_audience_the_role_checks(local: ProgramRun):
    driver = local.one(RELEASE, "secretstore-driver").inputs
    assert driver["values"]["tokenRequests"] == [{"audience": "vault"}]


def test_the_releases_install_side_by_side_and_the_pods_wait_for_the_job(local: ProgramRun):
    driver, vault = local.one(RELEASE, "secretstore-driver"), local.one(RELEASE, "secretstore-vault")
    job = local.one(JOB, CONFIGURE)
    assert not local.depends_on(vault, driver) and not local.depends_on(driver, vault)
    assert local.depends_on(job, vault)
    keeper = local.one(JOB, KEEPER)
    for secret in local.of_type(SECRET):
        assert local.depends_on(job, secret) and local.depends_on(secret, keeper)
    for name in ("secretstore-demo-authorized", "secretstore-demo-unauthorized"):
        deployment = local.one(DEPLOYMENT, name)
        assert local.depends_on(deployment, job) and local.depends_on(deployment, local.one(SPC)), name


def test_vault_may_not_share_the_workloads_namespace():
    assert config_problems("local-dev", set_={f"{P}:namespace": "vault"}) == [
        f"{P}:vaultNamespace = 'vault': expected a namespace other than the workload's ({P}:namespace): Vault's "
        "CSI provider mounts host paths, so its namespace cannot enforce the restricted profile that the "
        "workload's does"
    ]


def test_a_secret_too_large_for_the_jobs_kubernetes_secret_is_refused():
    (problem,) = config_problems("local-dev", secrets={f"{P}:secretPassword": "x" * 300_000})
    assert problem.endswith("more than the 262144 that HashiCorp Vault accepts for one secret (the value is not shown)")


def test_the_stack_exports_what_verify_and_the_readme_use(local: ProgramRun):
    exports = {name: export.value for name, export in local.exports.items()}
    assert exports["vaultAddress"] == "http://vault.vault.svc:8200"
    assert exports["vaultRole"] == "secretstore-local-dev-test"
    assert exports["vaultSecretPaths"] == {"secret": "secret/data/secretstore/secretstore-local-dev/secret"}
    assert (exports["cloud"], exports["store"], exports["identity"]) == ("kubernetes", "vault", "kubernetesAuth")


DEV_MODE_REFUSED = (
    f"{P}:vaultDevMode is not true: store vault runs Vault in the cluster in dev mode (in memory, over HTTP, with "
    "a root token that never expires){where}. To try it anyway, set {P}:vaultDevMode to true; to keep secrets, "
    f"use a Vault of your own outside the cluster, with {P}:vaultAddress"
)


@pytest.mark.parametrize("stack", ["aws-dev", "azure-dev", "gcp-dev"])
def test_dev_mode_on_a_clouds_cluster_is_refused_unless_asked_for(stack: str):
    base = {f"{P}:store": "vault", f"{P}:identity": "kubernetesAuth"}
    drop = (f"{P}:secretRecoveryWindowInDays", f"{P}:keyVaultSoftDeleteRetentionDays", f"{P}:keyVaultPurgeProtection")
    assert config_problems(stack, set_=base, remove=drop) == [
        DEV_MODE_REFUSED.format(where=", which this program runs only on a cluster of your own", P=P)
    ]
    asked = run_program(stack, set_={**base, f"{P}:vaultDevMode": "true"}, remove=drop)
    assert reveal(asked.one(RELEASE, "secretstore-vault").inputs)["values"]["server"]["dev"]["enabled"] is True


def test_dev_mode_is_the_default_on_a_cluster_of_your_own_and_can_be_refused_there_too():
    assert reveal(run_program("local-dev").one(RELEASE, "secretstore-vault").inputs)["values"]["server"]["dev"][
        "enabled"
    ]
    assert config_problems("local-dev", set_={f"{P}:vaultDevMode": "false"}) == [DEV_MODE_REFUSED.format(where="", P=P)]

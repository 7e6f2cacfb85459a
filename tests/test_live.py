"""End to end against a real cluster: `pulumi up`, the verify command, `pulumi destroy`.

Opt-in. It runs only when SECRETSTORE_LIVE_STACK names a stack (aws-dev, azure-dev, gcp-dev
or local-dev), the Pulumi CLI is on PATH and the cloud's credentials, or for local-dev the kind
cluster's context, are there; otherwise it is skipped and says why. On a cloud it creates and
deletes a whole cluster: expect 30-40 minutes and a bill. On local-dev it takes minutes and
leaves the kind cluster as it found it.

    SECRETSTORE_LIVE_STACK=local-dev ./tests/run.sh -m live
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from secretstore_csi import kubeconfig, verify
from tests.harness import ROOT, stack_files

STACK = os.environ.get("SECRETSTORE_LIVE_STACK", "")


def _aws_credentials() -> bool:
    if os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE"):
        return True
    home = Path.home() / ".aws"
    return (home / "credentials").is_file() or (home / "config").is_file()


def _azure_credentials() -> bool:
    if os.environ.get("ARM_CLIENT_ID"):
        return True
    az = shutil.which("az")
    return bool(az) and subprocess.run([az, "account", "show"], capture_output=True, check=False).returncode == 0


def _gcp_credentials() -> bool:
    if os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        return True
    config = Path(os.environ.get("CLOUDSDK_CONFIG", Path.home() / ".config" / "gcloud"))
    return (config / "application_default_credentials.json").is_file()


def skip_reason(stack: str = STACK) -> str | None:
    """Why the live test cannot run here, or None when it can."""
    if not stack:
        return "live test: set SECRETSTORE_LIVE_STACK=local-dev, aws-dev, azure-dev or gcp-dev to deploy a real stack"
    stacks = stack_files()
    if stack not in stacks:
        return f"live test: SECRETSTORE_LIVE_STACK={stack!r} is none of {', '.join(stacks)}"
    cloud = stacks[stack].get("secretstore-csi:cloud")
    if shutil.which("pulumi") is None:
        return "live test: the Pulumi CLI is not on PATH"
    if cloud == "aws" and not _aws_credentials():
        return "live test: no AWS credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE or ~/.aws)"
    if cloud == "azure" and not _azure_credentials():
        return "live test: no Azure credentials (`az login`, or ARM_CLIENT_ID)"
    if cloud == "gcp":
        if "gcp:project" not in stacks[stack]:
            return f"live test: gcp:project is not set: run `pulumi config set gcp:project <id> -s {stack}`"
        if shutil.which("gke-gcloud-auth-plugin") is None:
            return (
                "live test: gke-gcloud-auth-plugin is not on PATH: `gcloud components install gke-gcloud-auth-plugin`"
            )
        if not _gcp_credentials():
            return "live test: no Google credentials (`gcloud auth application-default login`, or GOOGLE_APPLICATION_CREDENTIALS)"
    if cloud == "kubernetes":
        context = stacks[stack].get("secretstore-csi:kubeContext")
        try:
            contexts = [c["name"] for c in kubeconfig.read(None, None)["contexts"]]
        except kubeconfig.KubeconfigError as error:
            return f"live test: {error}"
        if context and context not in contexts:
            return f"live test: no context {context} in your kubeconfig: run `kind create cluster --name secretstore`"
    return None


@pytest.mark.live
@pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")
def test_up_then_verify_then_destroy():
    from pulumi import automation as auto

    stack = auto.create_or_select_stack(stack_name=STACK, work_dir=str(ROOT))
    try:
        result = stack.up(on_output=print)
        outputs = {name: output.value for name, output in result.outputs.items()}
        workload, chosen = verify.workload_outputs(outputs, None)
        target = verify.Target(
            workload=workload,
            namespace=chosen["namespace"],
            authorized=chosen["authorizedDeployment"],
            unauthorized=chosen["unauthorizedDeployment"],
            identity=outputs["identity"],
        )
        # The kubeconfig holds credentials: hand it over in memory, never as a file. A stack
        # on an existing cluster has none of its own: the user's, with the stack's context.
        with verify.api_client(None, outputs.get("kubeConfig"), outputs.get("kubeContext")) as api:
            checks = verify.verify(api, target, timeout=900, progress=print)
        print(verify.report(target, checks))
        assert all(check.passed for check in checks)
    finally:
        stack.destroy(on_output=print)


def test_the_local_stack_needs_the_kind_clusters_context(tmp_path, monkeypatch):
    pulumi = tmp_path / "pulumi"
    pulumi.write_text("#!/bin/sh\n")
    pulumi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    config = tmp_path / "config"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: other\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:6443'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: other, context: {cluster: c, user: u}}]\n"
    )
    monkeypatch.setenv("KUBECONFIG", str(config))
    assert skip_reason("local-dev") == (
        "live test: no context kind-secretstore in your kubeconfig: run `kind create cluster --name secretstore`"
    )
    config.write_text(
        config.read_text().replace(
            "contexts: [{name: other, context: {cluster: c, user: u}}]",
            "contexts: [{name: other, context: {cluster: c, user: u}}, {name: kind-secretstore, context: {cluster: c}}]",
        )
    )
    assert skip_reason("local-dev") is None


def test_the_gcp_stack_needs_a_project_the_auth_plugin_and_credentials(tmp_path, monkeypatch):
    for name in ("pulumi", "gke-gcloud-auth-plugin"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    assert skip_reason("gcp-dev") == (
        "live test: gcp:project is not set: run `pulumi config set gcp:project <id> -s gcp-dev`"
    )
    files = {"gcp-dev": {"secretstore-csi:cloud": "gcp", "gcp:project": "my-project-42"}}
    monkeypatch.setattr("tests.test_live.stack_files", lambda: files)
    assert skip_reason("gcp-dev") == (
        "live test: no Google credentials (`gcloud auth application-default login`, or GOOGLE_APPLICATION_CREDENTIALS)"
    )
    (tmp_path / "gcloud").mkdir()
    (tmp_path / "gcloud" / "application_default_credentials.json").write_text("{}")
    assert skip_reason("gcp-dev") is None
    (tmp_path / "gke-gcloud-auth-plugin").unlink()
    assert skip_reason("gcp-dev").startswith("live test: gke-gcloud-auth-plugin is not on PATH")

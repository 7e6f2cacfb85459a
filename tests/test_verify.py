"""The verify command, against a Kubernetes API server on 127.0.0.1 that the tests run.

The real kubernetes client talks HTTP to tests/fake_kube_api.py; nothing is mocked inside
the client.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from secretstore_csi import verify
from tests.fake_kube_api import (
    AWS_DENIAL,
    AZURE_DENIAL,
    GCP_DENIAL,
    POD_IDENTITY_DENIAL,
    VAULT_DENIAL,
    Cluster,
    event,
    kubeconfig,
    pod,
    serve,
    write_kubeconfig,
)
from tests.harness import ROOT

NAMES = [
    "--namespace",
    "default",
    "--authorized",
    "hello-server-authorized",
    "--unauthorized",
    "hello-server-unauthorized",
]
FAST = ["--interval", "0.05"]
SECRET = b'{"username": "demo", "password": "s3cr3t"}'
# A mount that fails for a reason other than the store's refusal: the provider is not there.
MISSING_PROVIDER = (
    'MountVolume.SetUp failed for volume "secrets-store-inline" : rpc error: code = Unknown desc = '
    'failed to mount secrets store objects for pod default/x, err: error connecting to provider "aws": '
    'provider not found: provider "aws"'
)


def _verify(cluster: Cluster, tmp_path: Path, *extra: str, identity: str = "irsa", timeout: str = "5") -> int:
    with serve(cluster) as url:
        path = write_kubeconfig(tmp_path, url)
        return verify.main(
            ["--kubeconfig", str(path), *NAMES, "--identity", identity, "--timeout", timeout, *FAST, *extra]
        )


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("PASS", "FAIL"))]


def test_a_healthy_aws_stack_passes_every_check(tmp_path, capsys):
    cluster = Cluster.healthy()
    assert _verify(cluster, tmp_path) == 0
    out = capsys.readouterr().out
    assert _lines(out) == [
        "PASS  authorized deployment hello-server-authorized is available",
        "PASS  /read on pod hello-server-authorized-6d5c8f7b9d-x2kqp returns the secret",
        "PASS  unauthorized pod hello-server-unauthorized-7f4b9c6d8-m9w4t is not running",
        "PASS  unauthorized pod hello-server-unauthorized-7f4b9c6d8-m9w4t was denied (irsa)",
    ]
    assert "An IAM role must be associated with service account default" in out
    assert "42 bytes, JSON with keys username, password" in out
    assert out.rstrip().endswith("4 of 4 checks passed")
    # /read went through the API server's pod proxy: no port-forward.
    assert (
        "/api/v1/namespaces/default/pods/hello-server-authorized-6d5c8f7b9d-x2kqp%3A8080/proxy/read" in cluster.requests
    )


def test_the_secret_value_is_not_printed_unless_asked(tmp_path, capsys):
    assert _verify(Cluster.healthy(), tmp_path) == 0
    assert "s3cr3t" not in capsys.readouterr().out
    assert _verify(Cluster.healthy(), tmp_path, "--show-secret") == 0
    assert f"42 bytes: {SECRET.decode()}" in capsys.readouterr().out


def test_a_healthy_azure_stack_passes_with_the_newer_aadsts_code(tmp_path, capsys):
    assert _verify(Cluster.healthy(denial=AZURE_DENIAL), tmp_path, identity="application") == 0
    out = capsys.readouterr().out
    assert "PASS  unauthorized pod hello-server-unauthorized-7f4b9c6d8-m9w4t was denied (application)" in out
    assert "AADSTS700213" in out


def test_the_aws_denial_does_not_pass_for_azure(tmp_path, capsys):
    assert _verify(Cluster.healthy(), tmp_path, "--timeout", "0.3", identity="application") == 1
    out = capsys.readouterr().out
    assert "FAIL  unauthorized pod hello-server-unauthorized-7f4b9c6d8-m9w4t was denied (application)" in out
    assert "FailedMount for another reason: " in out and "An IAM role must be associated" in out


def test_an_empty_body_on_read_is_a_failure(tmp_path, capsys):
    cluster = Cluster.healthy()
    cluster.read_body = b""
    assert _verify(cluster, tmp_path) == 1
    out = capsys.readouterr().out
    assert "FAIL  /read on pod hello-server-authorized-6d5c8f7b9d-x2kqp returns the secret" in out
    assert "200 with an empty body: hello-server could not read the mounted file ($FILE)" in out
    assert out.rstrip().endswith("3 of 4 checks passed")


def test_the_expected_value_is_compared(tmp_path, capsys):
    expected = tmp_path / "expected"
    expected.write_bytes(SECRET + b"\n")  # as `aws ... --output text` writes it
    assert _verify(Cluster.healthy(), tmp_path, "--expected-file", str(expected)) == 0
    assert "equal to the expected value" in capsys.readouterr().out
    expected.write_bytes(b'{"username": "demo", "password": "other"}')
    assert _verify(Cluster.healthy(), tmp_path, "--expected-file", str(expected)) == 1
    out = capsys.readouterr().out
    assert "the body differs from the expected value" in out and "s3cr3t" not in out


def test_the_expected_value_can_come_from_standard_input(tmp_path, capsys, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SECRET)))
    assert _verify(Cluster.healthy(), tmp_path, "--expected-file", "-") == 0


def test_a_running_unauthorized_pod_means_the_denial_is_broken(tmp_path, capsys):
    cluster = Cluster.healthy()
    cluster.pods[1] = pod("hello-server-unauthorized", "7f4b9c6d8-m9w4t", running=True)
    cluster.events = []
    assert _verify(cluster, tmp_path) == 1
    out = capsys.readouterr().out
    assert "FAIL  unauthorized pod hello-server-unauthorized-7f4b9c6d8-m9w4t is not running" in out
    assert "the pod is running, so its mount was not refused" in out


def test_an_unauthorized_pod_failing_for_another_reason_is_named(tmp_path, capsys):
    cluster = Cluster.healthy()
    cluster.pods[1] = pod("hello-server-unauthorized", "7f4b9c6d8-m9w4t", running=False, waiting="ImagePullBackOff")
    cluster.events = [event("hello-server-unauthorized-7f4b9c6d8-m9w4t", "Failed", "Back-off pulling image")]
    assert _verify(cluster, tmp_path) == 1
    out = capsys.readouterr().out
    assert "PASS  unauthorized pod hello-server-unauthorized-7f4b9c6d8-m9w4t is not running" in out
    assert "FAIL  unauthorized pod hello-server-unauthorized-7f4b9c6d8-m9w4t was denied (irsa)" in out
    assert "the pod got past its mount and failed for another reason: ImagePullBackOff" in out


def test_a_mount_failing_for_another_reason_is_named_after_the_wait(tmp_path, capsys):
    cluster = Cluster.healthy()
    cluster.events = [event("hello-server-unauthorized-7f4b9c6d8-m9w4t", "FailedMount", MISSING_PROVIDER)]
    assert _verify(cluster, tmp_path, timeout="0.4") == 1
    captured = capsys.readouterr()
    assert "FAIL  unauthorized pod hello-server-unauthorized-7f4b9c6d8-m9w4t was denied (irsa)" in captured.out
    assert "timed out after" in captured.out
    assert "FailedMount for another reason: " in captured.out and 'provider not found: provider "aws"' in captured.out
    assert "waiting for the unauthorized pod's FailedMount" in captured.err


def test_the_wait_shows_progress_until_the_deployment_is_available(tmp_path, capsys):
    cluster = Cluster.healthy()
    cluster.available_after = 3  # the first read only checks that the deployment exists
    assert _verify(cluster, tmp_path) == 0
    captured = capsys.readouterr()
    progress = [line for line in captured.err.splitlines() if line.startswith("waiting for deployment")]
    assert len(progress) == 2
    assert "0/1 replicas available" in progress[0] and "s left)" in progress[0]


def test_the_wait_is_bounded_and_says_it_timed_out(tmp_path, capsys):
    cluster = Cluster.healthy()
    cluster.available_after = 10**6
    assert _verify(cluster, tmp_path, timeout="0.5") == 1
    out = capsys.readouterr().out
    assert "FAIL  authorized deployment hello-server-authorized is available" in out
    assert "timed out after" in out and "0/1 replicas available" in out
    assert "FAIL  /read returns the secret" in out


def test_an_unreachable_api_server_is_a_clear_error(tmp_path, capsys):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    path = write_kubeconfig(tmp_path, f"http://127.0.0.1:{port}")
    code = verify.main(["--kubeconfig", str(path), *NAMES, "--identity", "irsa", "--timeout", "2"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith(f"error: cannot reach the Kubernetes API server at http://127.0.0.1:{port}")
    assert "Traceback" not in captured.err and captured.out == ""


def test_a_briefly_unwell_api_server_is_waited_out(tmp_path, capsys):
    cluster = Cluster.healthy()
    cluster.failures["events"] = [503, 429, 200]
    assert _verify(cluster, tmp_path) == 0
    captured = capsys.readouterr()
    assert "listing events failed: the API server answered 503" in captured.err
    assert cluster.failures["events"] == [200]


def test_an_api_server_that_stays_unwell_fails_the_check_with_the_reason(tmp_path, capsys):
    cluster = Cluster.healthy()
    cluster.failures["events"] = [503]
    assert _verify(cluster, tmp_path, timeout="0.4") == 1
    captured = capsys.readouterr()
    assert "FAIL  unauthorized pod hello-server-unauthorized-7f4b9c6d8-m9w4t was denied (irsa)" in captured.out
    assert "timed out after" in captured.out and "the API server answered 503" in captured.out
    assert "Traceback" not in captured.err


def test_an_api_error_that_will_not_pass_is_a_clear_error(tmp_path, capsys):
    cluster = Cluster.healthy()
    cluster.failures["pods"] = [400]
    assert _verify(cluster, tmp_path) == 1
    err = capsys.readouterr().err
    assert err == "error: listing pods failed: the API server answered 400 Bad Request\n"


def test_a_kubeconfig_whose_login_command_is_missing_is_a_clear_error(tmp_path, capsys, monkeypatch):
    import yaml

    document = yaml.safe_load(kubeconfig("https://EXAMPLE.eks.amazonaws.com"))
    document["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", "demo"],
        }
    }
    path = tmp_path / "kubeconfig.yaml"
    path.write_text(yaml.safe_dump(document))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert verify.main(["--kubeconfig", str(path), *NAMES, "--identity", "irsa"]) == 1
    assert capsys.readouterr().err == (f"error: kubeconfig {path} logs in by running `aws`, which is not on PATH\n")


def test_the_client_gives_up_on_a_dead_server_after_one_retry(tmp_path):
    path = write_kubeconfig(tmp_path, "http://127.0.0.1:9")
    api = verify.api_client(str(path), None)
    assert api.rest_client.pool_manager.connection_pool_kw["retries"].total == 1


def test_a_missing_deployment_is_a_clear_error(tmp_path, capsys):
    cluster = Cluster.healthy()
    del cluster.deployments["hello-server-unauthorized"]
    assert _verify(cluster, tmp_path) == 1
    assert capsys.readouterr().err == (
        "error: deployment hello-server-unauthorized not found in namespace default: is the stack "
        "deployed, and are --namespace and the deployment names right?\n"
    )


def test_refused_credentials_are_a_clear_error(tmp_path, capsys):
    with serve(Cluster.healthy()) as url:
        path = write_kubeconfig(tmp_path, url, token="wrong-token")
        code = verify.main(["--kubeconfig", str(path), *NAMES, "--identity", "irsa", "--timeout", "2"])
    assert code == 1
    assert "refused reading deployment hello-server-authorized: 401 Unauthorized" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content, message",
    [(None, "does not exist"), ("clusters: [not, a, kubeconfig", "is not valid"), ("just text", "is not valid")],
)
def test_a_missing_or_invalid_kubeconfig_is_a_clear_error(tmp_path, capsys, content, message):
    path = tmp_path / "kubeconfig.yaml"
    if content is not None:
        path.write_text(content)
    code = verify.main(["--kubeconfig", str(path), *NAMES, "--identity", "irsa"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"error: kubeconfig {path} {message}")
    assert "Traceback" not in err


def _fake_pulumi(directory: Path, outputs: dict, exit_code: int = 0) -> Path:
    """A `pulumi` executable that answers `pulumi stack output --json` like the real CLI."""
    bin_dir = directory / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> "{directory}/pulumi-calls"\n'
        f"cat <<'EOF'\n{json.dumps(outputs)}\nEOF\n"
        f"exit {exit_code}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return bin_dir


@pytest.mark.parametrize(
    "axes",
    [
        {"cloud": "azure", "store": "keyVault", "identity": "application"},
        # A stack deployed before `identity` was an output: its cloud's default identity.
        {"cloud": "azure"},
    ],
)
def test_everything_can_come_from_the_stack_outputs(axes, tmp_path, capsys, monkeypatch):
    with serve(Cluster.healthy(denial=AZURE_DENIAL)) as url:
        outputs = {
            **axes,
            "kubeConfig": kubeconfig(url),
            "namespace": "default",
            "authorizedDeployment": "hello-server-authorized",
            "unauthorizedDeployment": "hello-server-unauthorized",
        }
        monkeypatch.setenv("PATH", f"{_fake_pulumi(tmp_path, outputs)}{os.pathsep}{os.environ['PATH']}")
        assert verify.main(["--stack", "azure-dev", "--timeout", "5", *FAST]) == 0
    assert "identity application, namespace default" in capsys.readouterr().out
    assert (tmp_path / "pulumi-calls").read_text() == "stack output --json --show-secrets --stack azure-dev\n"


def _workloads_stack(url: str) -> dict:
    """A stack with three workloads, two of them with the demo; `payments` runs the pods the
    fake API server knows."""
    demo = {
        "namespace": "default",
        "serviceAccount": "api",
        "secretProviderClass": "x",
        "authorizedDeployment": "hello-server-authorized",
        "unauthorizedDeployment": "hello-server-unauthorized",
    }
    return {
        "cloud": "aws",
        "store": "secretsManager",
        "identity": "irsa",
        "kubeConfig": kubeconfig(url),
        "workloads": {
            "payments": demo,
            "orders": {
                **demo,
                "authorizedDeployment": "orders-authorized",
                "unauthorizedDeployment": "orders-unauthorized",
            },
            "reports": {"namespace": "shop", "serviceAccount": "reports", "secretProviderClass": "reports"},
        },
    }


def test_the_workload_option_picks_the_workload_to_check(tmp_path, capsys, monkeypatch):
    with serve(Cluster.healthy()) as url:
        monkeypatch.setenv("PATH", f"{_fake_pulumi(tmp_path, _workloads_stack(url))}{os.pathsep}{os.environ['PATH']}")
        assert verify.main(["--workload", "payments", "--timeout", "5", *FAST]) == 0
    out = capsys.readouterr().out
    assert out.startswith("secretstore-csi verify: workload payments, identity irsa, namespace default")
    assert out.rstrip().endswith("4 of 4 checks passed")


@pytest.mark.parametrize(
    "argv, error",
    [
        ([], "error: 2 workloads of the stack run the demo (payments, orders): choose one with --workload"),
        (
            ["--workload", "billing"],
            "error: the stack has no workload 'billing'; its workloads are: payments, orders, reports",
        ),
        (
            ["--workload", "reports"],
            "error: workload reports runs no demo, so it has no pods to check; those that do: payments, orders",
        ),
    ],
)
def test_a_workload_that_cannot_be_checked_is_one_clear_line(argv, error, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(
        "PATH", f"{_fake_pulumi(tmp_path, _workloads_stack('https://127.0.0.1:9'))}{os.pathsep}{os.environ['PATH']}"
    )
    assert verify.main([*argv, "--timeout", "1"]) == 1
    assert capsys.readouterr().err.strip() == error


def test_the_only_demo_workload_is_checked_without_the_option(tmp_path, capsys, monkeypatch):
    with serve(Cluster.healthy()) as url:
        outputs = _workloads_stack(url)
        del outputs["workloads"]["orders"]
        monkeypatch.setenv("PATH", f"{_fake_pulumi(tmp_path, outputs)}{os.pathsep}{os.environ['PATH']}")
        assert verify.main(["--timeout", "5", *FAST]) == 0
    assert "workload payments, identity irsa" in capsys.readouterr().out


def test_without_the_pulumi_cli_the_options_are_required(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert verify.main(["--timeout", "1"]) == 1
    assert capsys.readouterr().err.startswith("error: the Pulumi CLI is not on PATH: install it, or pass --kubeconfig")


def test_a_failing_pulumi_cli_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", f"{_fake_pulumi(tmp_path, {}, exit_code=255)}{os.pathsep}{os.environ['PATH']}")
    assert verify.main(["--timeout", "1"]) == 1
    assert capsys.readouterr().err.startswith("error: `pulumi stack output` failed")


def test_the_console_script_is_installed_with_the_package(tmp_path):
    script = Path(sys.prefix) / "bin" / "secretstore-csi-verify"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.startswith("usage: secretstore-csi-verify [-h] [--stack STACK] [--workload WORKLOAD]")


def test_the_module_runs_as_a_command(tmp_path):
    with serve(Cluster.healthy()) as url:
        path = write_kubeconfig(tmp_path, url)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "secretstore_csi.verify",
                "--kubeconfig",
                str(path),
                *NAMES,
                "--identity",
                "irsa",
                "--timeout",
                "5",
                *FAST,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("4 of 4 checks passed")


# Transient trouble anywhere in the run is waited out, within --timeout


def test_throttling_and_server_errors_at_the_first_read_are_waited_out(tmp_path, capsys):
    cluster = Cluster.healthy()
    cluster.failures["hello-server-authorized"] = [503, 429, 200]
    assert _verify(cluster, tmp_path) == 0
    err = capsys.readouterr().err
    assert "waiting for the API server (reading deployment hello-server-authorized): " in err
    assert "the API server answered 503" in err and "the API server answered 429" in err


def test_a_connection_closed_mid_run_is_waited_out_and_named_plainly(tmp_path, capsys):
    cluster = Cluster.healthy()
    # The client retries once by itself; three drops in a row reach verify.
    cluster.drops["events"] = 3
    assert _verify(cluster, tmp_path) == 0
    captured = capsys.readouterr()
    assert "listing events failed: the API server closed the connection" in captured.err
    assert "RemoteDisconnected" not in captured.err + captured.out
    assert cluster.drops["events"] == 0


def test_a_reset_connection_is_waited_out(tmp_path, capsys):
    cluster = Cluster.healthy()
    cluster.resets["pods"] = 3
    assert _verify(cluster, tmp_path) == 0
    err = capsys.readouterr().err
    assert "listing pods failed: the API server closed the connection" in err
    assert "Error" not in err and "Traceback" not in err


def test_a_slow_answer_is_waited_out(tmp_path, capsys):
    cluster = Cluster.healthy()
    cluster.delays["read"] = [1.0, 1.0, 0.0]
    assert _verify(cluster, tmp_path, "--request-timeout", "0.3") == 0
    err = capsys.readouterr().err
    assert "GET /read on pod hello-server-authorized-6d5c8f7b9d-x2kqp" in err
    assert "the API server did not answer within 0.3s" in err


def test_trouble_that_outlasts_the_timeout_ends_in_one_line(tmp_path, capsys):
    cluster = Cluster.healthy()
    cluster.failures["hello-server-authorized"] = [503]
    assert _verify(cluster, tmp_path, timeout="0.3") == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("error: reading deployment hello-server-authorized failed: the API server answered 503")
    assert err[-1].endswith("s") and "gave up after" in err[-1]


def test_a_restarting_api_server_is_waited_out(tmp_path, capsys):
    # Refused after it has answered once: a restart, not a wrong address.
    cluster = Cluster.healthy()
    with serve(cluster) as url:
        path = write_kubeconfig(tmp_path, url)
        api = verify.api_client(str(path), None)
        checker = verify.Cluster(api, "default")
        checker.deployment("hello-server-authorized")
    with pytest.raises(verify.TransientError, match="the API server refused the connection"):
        checker.deployment("hello-server-authorized")


# A misconfiguration fails fast; time counts from the start


def test_a_mount_failing_for_another_reason_fails_after_the_grace_period_not_the_timeout(tmp_path, capsys):
    cluster = Cluster.healthy()
    cluster.events = [event("hello-server-unauthorized-7f4b9c6d8-m9w4t", "FailedMount", MISSING_PROVIDER)]
    started = time.monotonic()
    assert _verify(cluster, tmp_path, "--grace", "0.3", timeout="60") == 1
    assert time.monotonic() - started < 10
    out = capsys.readouterr().out
    assert "FAIL  unauthorized pod hello-server-unauthorized-7f4b9c6d8-m9w4t was denied (irsa)" in out
    assert "FailedMount for another reason, for 0s: " in out and 'provider not found: provider "aws"' in out


def test_waiting_times_count_from_the_start_of_the_run():
    now = [0.0]
    clock = verify.Clock(now=lambda: now[0], sleep=lambda seconds: now.__setitem__(0, now[0] + seconds))
    cluster = Cluster.healthy()
    cluster.available_after = 4
    cluster.events = [event("hello-server-unauthorized-7f4b9c6d8-m9w4t", "Scheduled", "assigned")]
    messages: list[str] = []
    with serve(cluster) as url, verify.api_client(None, kubeconfig(url)) as api:
        target = verify.Target(None, "default", "hello-server-authorized", "hello-server-unauthorized", "irsa")
        verify.verify(api, target, timeout=30, interval=5, progress=messages.append, clock=clock)
    authorized = [m for m in messages if m.startswith("waiting for deployment")]
    denial = [m for m in messages if m.startswith("waiting for the unauthorized pod")]
    assert authorized[0].endswith("(0s, 30s left)")
    # The second wait goes on from where the first left off, in the same 30 seconds.
    assert denial[0].endswith("(15s, 15s left)"), denial[0]
    assert denial[-1].endswith("(25s, 5s left)"), denial[-1]


# The report and the errors stay readable


def test_multi_line_denials_stay_indented_under_their_check(tmp_path, capsys):
    assert _verify(Cluster.healthy(denial=AZURE_DENIAL), tmp_path, identity="application") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("secretstore-csi verify: ") and out[-1] == "4 of 4 checks passed"
    for line in out[1:-1]:
        assert line.startswith(("PASS  ", "FAIL  ", "      ")), line
    assert any(line.startswith('      {"error":"invalid_request","error_description":"AADSTS700213') for line in out)


def _kubeconfig_error(tmp_path: Path, capsys, content: bytes) -> str:
    path = tmp_path / "kubeconfig.yaml"
    path.write_bytes(content)
    assert verify.main(["--kubeconfig", str(path), *NAMES, "--identity", "irsa", "--timeout", "1"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0].removeprefix(f"error: kubeconfig {path} ")


def _document(**changes) -> bytes:
    document = yaml.safe_load(kubeconfig("https://127.0.0.1:6443"))
    document.update(changes)
    return yaml.safe_dump(document).encode()


@pytest.mark.parametrize(
    "content, message",
    [
        ("apiVersion: v1\nkind: Config\n# café\n".encode("latin-1"), "is not valid: it is not UTF-8 text"),
        (b"clusters: [a\n", "is not valid: it is not YAML ("),
        (b"- just\n- a list\n", "is not valid: it is not a YAML or JSON mapping"),
        (_document(contexts=["fake"]), "is not valid: contexts[0] is not a mapping with a name"),
        (_document(contexts={"fake": {"cluster": "fake"}}), "is not valid: contexts is a dict, not a list"),
        (_document(users=[{"name": "fake", "user": "token"}]), "is not valid: users[0] (fake) has no user mapping"),
        (
            _document(**{"current-context": "other"}),
            "is not valid: its current-context 'other' is not among its contexts",
        ),
        (_document(**{"current-context": None}), "is not valid: it names no current-context"),
        (_document(clusters=[]), "is not valid: context 'fake' names cluster 'fake', which it does not have"),
        (_document(users=[]), "is not valid: context 'fake' names user 'fake', which it does not have"),
        (_document(clusters=[{"name": "fake", "cluster": {}}]), "is not valid: cluster 'fake' has no server"),
    ],
    ids=[
        "encoding",
        "yaml",
        "list",
        "context-string",
        "contexts-map",
        "user-string",
        "current-missing",
        "no-current",
        "no-cluster",
        "no-user",
        "no-server",
    ],
)
def test_every_unusable_kubeconfig_is_one_line(tmp_path, capsys, content: bytes, message: str):
    assert _kubeconfig_error(tmp_path, capsys, content).startswith(message)


def test_a_login_command_that_fails_is_one_line_without_library_logging(tmp_path, capsys, monkeypatch):
    login = tmp_path / "bin" / "get-token"
    login.parent.mkdir()
    login.write_text("#!/bin/sh\necho 'token expired:' >&2\necho 'run sso login again' >&2\nexit 1\n")
    login.chmod(0o755)
    monkeypatch.setenv("PATH", f"{login.parent}{os.pathsep}{os.environ['PATH']}")
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "get-token"}}
    message = _kubeconfig_error(tmp_path, capsys, _document(users=[{"name": "fake", "user": user}]))
    assert message == (
        "logs in by running `get-token`, which failed: exec: process returned 1. token expired: / run sso login again"
    )


def test_no_library_logging_reaches_the_user(tmp_path, capsys):
    cluster = Cluster.healthy()
    cluster.drops["pods"] = 4  # urllib3 logs a warning for each retry it makes
    assert _verify(cluster, tmp_path) == 0
    captured = capsys.readouterr()
    for line in (captured.out + captured.err).splitlines():
        assert not line.startswith(("WARNING", "ERROR", "INFO", "DEBUG")), line
        assert "urllib3" not in line and "Retrying" not in line, line


# Each identity mode's own denial, and only its own


@pytest.mark.parametrize(
    "identity, denial",
    [
        ("irsa", AWS_DENIAL),
        ("podIdentity", POD_IDENTITY_DENIAL),
        ("application", AZURE_DENIAL),
        ("managedIdentity", AZURE_DENIAL),
        ("workloadIdentity", GCP_DENIAL),
        ("kubernetesAuth", VAULT_DENIAL),
    ],
)
def test_each_identity_mode_accepts_its_stores_denial(tmp_path, capsys, identity: str, denial: str):
    assert _verify(Cluster.healthy(denial=denial), tmp_path, identity=identity) == 0
    assert (
        f"PASS  unauthorized pod hello-server-unauthorized-7f4b9c6d8-m9w4t was denied ({identity})"
        in capsys.readouterr().out
    )


@pytest.mark.parametrize(
    "identity, denial",
    [
        ("podIdentity", AWS_DENIAL),
        ("irsa", POD_IDENTITY_DENIAL),
        ("managedIdentity", AWS_DENIAL),
        ("kubernetesAuth", AZURE_DENIAL),
        ("irsa", VAULT_DENIAL),
        ("workloadIdentity", AWS_DENIAL),
        ("irsa", GCP_DENIAL),
    ],
)
def test_another_modes_denial_is_not_accepted(tmp_path, capsys, identity: str, denial: str):
    assert _verify(Cluster.healthy(denial=denial), tmp_path, "--grace", "0.2", identity=identity) == 1
    out = capsys.readouterr().out
    assert f"FAIL  unauthorized pod hello-server-unauthorized-7f4b9c6d8-m9w4t was denied ({identity})" in out
    assert "FailedMount for another reason" in out


# A stack on an existing cluster: the kubeconfig kubectl uses, and the stack's context


def _two_context_kubeconfig(tmp_path: Path, url: str) -> Path:
    document = yaml.safe_load(kubeconfig(url))
    document["clusters"].append({"name": "elsewhere", "cluster": {"server": "http://127.0.0.1:9"}})
    document["contexts"].append({"name": "other", "context": {"cluster": "elsewhere", "user": "fake"}})
    document["contexts"][0]["name"] = "kind-secretstore"
    document["current-context"] = "other"
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(document))
    return path


def test_an_existing_clusters_stack_is_checked_through_kubectls_kubeconfig_and_its_context(
    tmp_path, capsys, monkeypatch
):
    outputs = {
        "cloud": "kubernetes",
        "store": "vault",
        "identity": "kubernetesAuth",
        "kubeContext": "kind-secretstore",
        "namespace": "default",
        "authorizedDeployment": "hello-server-authorized",
        "unauthorizedDeployment": "hello-server-unauthorized",
    }
    with serve(Cluster.healthy(denial=VAULT_DENIAL)) as url:
        # The current context points elsewhere; the stack's kubeContext is the one to use.
        monkeypatch.setenv("KUBECONFIG", str(_two_context_kubeconfig(tmp_path, url)))
        monkeypatch.setenv("PATH", f"{_fake_pulumi(tmp_path, outputs)}{os.pathsep}{os.environ['PATH']}")
        assert verify.main(["--stack", "local-dev", "--timeout", "5", *FAST]) == 0
    out = capsys.readouterr().out
    assert "PASS  unauthorized pod hello-server-unauthorized-7f4b9c6d8-m9w4t was denied (kubernetesAuth)" in out
    assert (tmp_path / "pulumi-calls").read_text() == "stack output --json --show-secrets --stack local-dev\n"


def test_a_context_the_kubeconfig_lacks_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(_two_context_kubeconfig(tmp_path, "http://127.0.0.1:9")))
    assert (
        verify.main(
            [*NAMES, "--identity", "kubernetesAuth", "--kubeconfig", os.environ["KUBECONFIG"], "--context", "missing"]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert (
        err
        == f"error: kubeconfig {os.environ['KUBECONFIG']} has no context 'missing': it has kind-secretstore, other\n"
    )


def test_kubectls_kubeconfig_files_are_merged_as_kubectl_merges_them(tmp_path, monkeypatch):
    from secretstore_csi import kubeconfig as kubeconfig_module

    first = tmp_path / "a"
    first.write_text(kubeconfig("http://127.0.0.1:1"))
    second_document = yaml.safe_load(kubeconfig("http://127.0.0.1:2"))
    second_document["contexts"][0]["name"] = "second"
    second_document["current-context"] = "second"
    second = tmp_path / "b"
    second.write_text(yaml.safe_dump(second_document))
    monkeypatch.setenv("KUBECONFIG", f"{first}{os.pathsep}{tmp_path / 'missing'}{os.pathsep}{second}")
    merged = kubeconfig_module.read(None, None)
    assert [c["name"] for c in merged["contexts"]] == ["fake", "second"]
    assert merged["current-context"] == "fake"  # the first file's
    assert [c["cluster"]["server"] for c in merged["clusters"]] == ["http://127.0.0.1:1"]  # first name wins


@pytest.mark.parametrize(
    "argv, errors",
    [
        (["--request-timeout", "0"], ["--request-timeout = '0': expected a finite number of seconds, greater than 0"]),
        (["--interval", "0"], ["--interval = '0': expected a finite number of seconds, greater than 0"]),
        (["--timeout", "-5"], ["--timeout = '-5': expected a finite number of seconds, 0 or more"]),
        (
            ["--timeout", "nan", "--grace", "inf"],
            [
                "--timeout = 'nan': expected a finite number of seconds, 0 or more",
                "--grace = 'inf': expected a finite number of seconds, 0 or more",
            ],
        ),
        (["--interval", "soon"], ["--interval = 'soon': expected a finite number of seconds, greater than 0"]),
    ],
)
def test_a_bad_duration_is_one_line_each_and_nothing_is_asked(argv, errors, tmp_path, capsys, monkeypatch):
    # No pulumi on PATH: a run that got past the options would say so.
    monkeypatch.setenv("PATH", str(tmp_path))
    assert verify.main(argv) == 2
    assert capsys.readouterr().err.splitlines() == [f"error: {error}" for error in errors]


def test_a_zero_timeout_checks_once_without_waiting(tmp_path, capsys):
    cluster = Cluster.healthy()
    assert _verify(cluster, tmp_path, timeout="0") == 0

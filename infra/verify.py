"""Checks a deployed stack the way the article does by hand, and says pass or fail.

    python -m infra.verify [--stack aws-dev] [--kubeconfig kubeconfig.yaml] [--timeout 600]

1. The authorized deployment is available.
2. Its /read endpoint, reached through the API server's pod proxy, returns the secret
   (hello-server answers 200 with an empty body when it cannot read the file, so an empty
   body fails); with --expected-file, the exact value.
3. The unauthorized pod is not running.
4. The unauthorized pod has a FailedMount event with the store's denial, as the registry
   gives it for the stack's identity mode.

The kubeconfig, namespace, deployment names and identity mode default to the stack's
outputs, read with the Pulumi CLI. Exit code 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from infra import demo_app, registry

# Waiting reasons that mean the volume was mounted after all, so the denial is broken.
STARTED_PAST_MOUNT = {"ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError", "CrashLoopBackOff"}
REQUEST_TIMEOUT = 15


class VerifyError(Exception):
    """A problem that stops the checks: printed as one line, no traceback."""


class TransientError(VerifyError):
    """An API error worth retrying while waiting: throttling, or the server briefly unwell."""


@dataclass(frozen=True)
class Target:
    namespace: str
    authorized: str
    unauthorized: str
    identity: str
    """The identity mode, which says what the store's refusal looks like."""
    expected: bytes | None = None


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    evidence: str


Progress = Callable[[str], None]


@dataclass
class Clock:
    """Time, replaceable in tests."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def _wait_for(
    what: str,
    probe: Callable[[], tuple[str, str]],
    deadline: float,
    interval: float,
    progress: Progress,
    clock: Clock,
) -> tuple[bool, str]:
    """Polls `probe` until it says "pass" or "fail", or the deadline passes.

    `probe` returns (state, evidence) with state "pass", "fail" or "wait".
    """
    started = clock.now()
    while True:
        try:
            state, evidence = probe()
        except TransientError as error:
            state, evidence = "wait", str(error)
        if state != "wait":
            return state == "pass", evidence
        now = clock.now()
        if now >= deadline:
            return False, f"timed out after {now - started:.0f}s; last seen: {evidence}"
        progress(f"waiting for {what}: {evidence} ({now - started:.0f}s, {deadline - now:.0f}s left)")
        clock.sleep(max(0.0, min(interval, deadline - now)))


class Cluster:
    """The few reads the checks need, with API errors turned into VerifyError."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.namespace = namespace
        self.server = api.configuration.host

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except ApiException as error:
            if error.status in (401, 403):
                raise VerifyError(
                    f"the API server at {self.server} refused {what}: {error.status} {error.reason}"
                ) from None
            if error.status == 404:
                raise
            failure = TransientError if error.status in (0, 429) or error.status >= 500 else VerifyError
            raise failure(f"{what} failed: the API server answered {error.status} {error.reason}") from None
        except urllib3.exceptions.HTTPError as error:
            reason = getattr(error, "reason", None) or error
            raise VerifyError(f"cannot reach the Kubernetes API server at {self.server}: {reason}") from None

    def deployment(self, name: str) -> Any:
        try:
            return self._call(
                f"reading deployment {name}",
                lambda: self.apps.read_namespaced_deployment(
                    name, self.namespace, _request_timeout=REQUEST_TIMEOUT
                ),
            )
        except ApiException:  # only 404 gets here
            raise VerifyError(
                f"deployment {name} not found in namespace {self.namespace}: is the stack "
                "deployed, and are --namespace and the deployment names right?"
            ) from None

    def pods(self, deployment: Any) -> list[Any]:
        labels = deployment.spec.selector.match_labels or {}
        selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
        return cast(list[Any], self._call(
            "listing pods",
            lambda: self.core.list_namespaced_pod(
                self.namespace, label_selector=selector, _request_timeout=REQUEST_TIMEOUT
            ),
        ).items)

    def failed_mounts(self, pod: str) -> list[str]:
        events = self._call(
            "listing events",
            lambda: self.core.list_namespaced_event(
                self.namespace,
                field_selector=f"involvedObject.name={pod}",
                _request_timeout=REQUEST_TIMEOUT,
            ),
        ).items
        return [event.message or "" for event in events if event.reason == "FailedMount"]

    def read(self, pod: str) -> bytes:
        """GET /read on the pod, through the API server's pod proxy."""
        response = self._call(
            f"proxying to pod {pod}",
            lambda: self.core.connect_get_namespaced_pod_proxy_with_path(
                f"{pod}:{demo_app.PORT}",
                self.namespace,
                "read",
                _preload_content=False,  # the raw bytes, not a decoded string
                _request_timeout=REQUEST_TIMEOUT,
            ),
        )
        return cast(bytes, response.data)


def _pod_state(pod: Any) -> str:
    statuses = pod.status.container_statuses or []
    waiting = [s.state.waiting.reason for s in statuses if s.state and s.state.waiting]
    running = [s.name for s in statuses if s.state and s.state.running]
    parts = [f"phase {pod.status.phase}"]
    if waiting:
        parts.append(f"waiting: {', '.join(r or 'unknown' for r in waiting)}")
    if running:
        parts.append("container running")
    return ", ".join(parts)


def _is_running(pod: Any) -> bool:
    statuses = pod.status.container_statuses or []
    return pod.status.phase == "Running" and any(s.state and s.state.running for s in statuses)


def _is_ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def _describe_body(body: bytes, show: bool) -> str:
    if show:
        return f"{len(body)} bytes: {body.decode(errors='replace')}"
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    shape = f"JSON with keys {', '.join(document)}" if isinstance(document, dict) else "not JSON"
    return f"{len(body)} bytes, {shape} (value hidden; --show-secret prints it)"


def verify(
    api: client.ApiClient,
    target: Target,
    *,
    timeout: float,
    interval: float = 5.0,
    progress: Progress = lambda message: None,
    show_secret: bool = False,
    clock: Clock | None = None,
) -> list[Check]:
    """Runs the four checks within `timeout` seconds in all."""
    clock = clock or Clock()
    deadline = clock.now() + timeout
    cluster = Cluster(api, target.namespace)
    cluster.deployment(target.authorized)  # both must exist before anything is waited for
    unauthorized = cluster.deployment(target.unauthorized)
    checks: list[Check] = []

    ready_pods: list[Any] = []

    def authorized_available() -> tuple[str, str]:
        deployment = cluster.deployment(target.authorized)
        status = deployment.status
        wanted = deployment.spec.replicas or 1
        available = (status.available_replicas or 0) if status else 0
        pods = cluster.pods(deployment)
        ready_pods[:] = [pod for pod in pods if _is_ready(pod)]
        evidence = f"{available}/{wanted} replicas available"
        if pods:
            evidence += f"; pod {pods[0].metadata.name}: {_pod_state(pods[0])}"
        return ("pass" if available >= 1 and ready_pods else "wait"), evidence

    ok, evidence = _wait_for(
        f"deployment {target.authorized} to become available",
        authorized_available, deadline, interval, progress, clock,
    )
    checks.append(Check(f"authorized deployment {target.authorized} is available", ok, evidence))

    if ok:
        pod = ready_pods[0].metadata.name
        try:
            body = cluster.read(pod)
        except (ApiException, TransientError) as error:
            reason = f"{error.status} {error.reason}" if isinstance(error, ApiException) else error
            checks.append(Check(f"/read on pod {pod} returns the secret", False,
                                f"the pod proxy answered {reason}"))
        else:
            if not body:
                passed, evidence = False, (
                    "200 with an empty body: hello-server could not read the mounted file ($FILE)"
                )
            elif target.expected is not None and body.rstrip(b"\r\n") != target.expected.rstrip(b"\r\n"):
                passed, evidence = False, (
                    f"the body differs from the expected value: {_describe_body(body, show_secret)}"
                )
            else:
                match = "equal to the expected value, " if target.expected is not None else ""
                passed, evidence = True, match + _describe_body(body, show_secret)
            checks.append(Check(f"/read on pod {pod} returns the secret", passed, evidence))
    else:
        checks.append(Check("/read returns the secret", False, "skipped: no available pod to ask"))

    markers = registry.IDENTITIES[target.identity].denials
    seen: dict[str, str] = {}

    def unauthorized_denied() -> tuple[str, str]:
        pods = cluster.pods(unauthorized)
        if not pods:
            return "wait", "no pod yet"
        for pod in pods:
            name = pod.metadata.name
            seen["pod"], seen["state"] = name, _pod_state(pod)
            if _is_running(pod):
                seen["denial"] = "the pod is running, so its mount was not refused"
                return "fail", seen["denial"]
            statuses = pod.status.container_statuses or []
            past_mount = [s.state.waiting.reason for s in statuses
                          if s.state and s.state.waiting and s.state.waiting.reason in STARTED_PAST_MOUNT]
            if past_mount:
                seen["denial"] = (f"the pod got past its mount and failed for another reason: "
                                  f"{past_mount[0]}")
                return "fail", seen["denial"]
            messages = cluster.failed_mounts(name)
            denials = [m for m in messages if any(marker in m for marker in markers)]
            if denials:
                seen["denial"] = f"FailedMount: {denials[-1]}"
                return "pass", seen["denial"]
            if messages:
                seen["denial"] = f"FailedMount for another reason: {messages[-1]}"
            else:
                seen["denial"] = f"no FailedMount event yet ({seen['state']})"
        return "wait", seen["denial"]

    ok, evidence = _wait_for(
        f"the unauthorized pod's FailedMount ({' or '.join(markers)})",
        unauthorized_denied, deadline, interval, progress, clock,
    )
    pod = seen.get("pod", target.unauthorized)
    running = "is running" in seen.get("denial", "")
    checks.append(Check(
        f"unauthorized pod {pod} is not running",
        "pod" in seen and not running,
        seen.get("state", "no pod found"),
    ))
    checks.append(Check(f"unauthorized pod {pod} was denied ({target.identity})", ok, evidence))
    return checks


def report(target: Target, checks: list[Check]) -> str:
    lines = [f"secretstore-csi verify: identity {target.identity}, namespace {target.namespace}"]
    for check in checks:
        lines.append(f"{'PASS' if check.passed else 'FAIL'}  {check.name}")
        lines.append(f"      {check.evidence}")
    passed = sum(check.passed for check in checks)
    lines.append(f"{passed} of {len(checks)} checks passed")
    return "\n".join(lines)


def stack_outputs(stack: str | None, show_secrets: bool) -> dict[str, Any]:
    """The stack's outputs, from `pulumi stack output --json`."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise VerifyError(
            "the Pulumi CLI is not on PATH: install it, or pass --kubeconfig, --namespace, "
            "--authorized, --unauthorized and --identity"
        )
    command = [pulumi, "stack", "output", "--json"]
    if show_secrets:
        command.append("--show-secrets")
    if stack:
        command += ["--stack", stack]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise VerifyError(f"`pulumi stack output` failed: {last}")
    try:
        return cast(dict[str, Any], json.loads(result.stdout))
    except ValueError:
        raise VerifyError("`pulumi stack output --json` did not print JSON") from None


def _exec_command(document: dict[str, Any]) -> str | None:
    """The login command an exec-plugin kubeconfig runs for its current context, if any."""
    contexts = {c.get("name"): c.get("context") or {} for c in document.get("contexts") or []}
    user = contexts.get(document.get("current-context"), {}).get("user")
    for entry in document.get("users") or []:
        if entry.get("name") == user:
            return ((entry.get("user") or {}).get("exec") or {}).get("command")
    return None


def api_client(kubeconfig_path: str | None, kubeconfig_text: str | None) -> client.ApiClient:
    where = kubeconfig_path or "the stack output kubeConfig"
    if kubeconfig_path:
        try:
            with open(kubeconfig_path, encoding="utf-8") as file:
                kubeconfig_text = file.read()
        except FileNotFoundError:
            raise VerifyError(f"kubeconfig {where} does not exist") from None
        except OSError as error:
            raise VerifyError(f"kubeconfig {where} cannot be read: {error}") from None
    try:
        document = yaml.safe_load(kubeconfig_text or "")
    except yaml.YAMLError as error:
        raise VerifyError(f"kubeconfig {where} is not valid: {error}") from None
    if not isinstance(document, dict):
        raise VerifyError(f"kubeconfig {where} is not valid: it is not a YAML or JSON document")
    command = _exec_command(document)
    if command and shutil.which(command) is None:
        # The client would only log the failed login and then be refused with a 401.
        raise VerifyError(f"kubeconfig {where} logs in by running `{command}`, which is not on PATH")
    configuration = client.Configuration()
    # Read by the connection pool when the client is made: fail fast on a dead server.
    configuration.retries = 1
    # The client's config loader has no annotations; this is what it returns.
    new_client: Callable[..., client.ApiClient] = config.new_client_from_config_dict
    try:
        return new_client(document, client_configuration=configuration)
    except (ConfigException, TypeError, KeyError, ValueError, AttributeError) as error:
        raise VerifyError(f"kubeconfig {where} is not valid: {error}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infra.verify",
        description="Check a deployed secretstore-csi stack: the article's checks, as one command.",
    )
    parser.add_argument("--stack", help="the Pulumi stack to read outputs from (default: the selected one)")
    parser.add_argument("--kubeconfig", help="a kubeconfig file (default: the stack output kubeConfig)")
    parser.add_argument("--namespace", help="default: the stack output namespace")
    parser.add_argument("--authorized", help="default: the stack output authorizedDeployment")
    parser.add_argument("--unauthorized", help="default: the stack output unauthorizedDeployment")
    parser.add_argument(
        "--identity", choices=sorted(registry.IDENTITIES), help="the identity mode (default: the stack output identity)"
    )
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait in all (default 600)")
    parser.add_argument("--interval", type=float, default=5, help="seconds between polls (default 5)")
    parser.add_argument(
        "--expected-file",
        help="a file holding the value /read must return; - reads it from standard input",
    )
    parser.add_argument("--show-secret", action="store_true", help="print the value /read returned")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        given = {
            "namespace": args.namespace,
            "authorizedDeployment": args.authorized,
            "unauthorizedDeployment": args.unauthorized,
            "identity": args.identity,
        }
        outputs: dict[str, Any] = {}
        if not args.kubeconfig or None in given.values():
            outputs = stack_outputs(args.stack, show_secrets=not args.kubeconfig)
        values = {key: value or outputs.get(key) for key, value in given.items()}
        if not values["identity"] and outputs.get("cloud") in registry.CLUSTERS:
            # Stacks deployed before the identity was an output use their cloud's default.
            values["identity"] = registry.default_combination(outputs["cloud"])[2]
        missing = [key for key, value in values.items() if not value]
        if missing:
            raise VerifyError(f"the stack has no output {', '.join(missing)}, and no option gives it")
        if values["identity"] not in registry.IDENTITIES:
            raise VerifyError(
                f"identity {values['identity']!r} is not one of {', '.join(sorted(registry.IDENTITIES))}"
            )
        expected = None
        if args.expected_file:
            try:
                with (sys.stdin.buffer if args.expected_file == "-" else open(args.expected_file, "rb")) as f:
                    expected = f.read()
            except OSError as error:
                raise VerifyError(f"cannot read --expected-file: {error}") from None
        target = Target(
            namespace=str(values["namespace"]),
            authorized=str(values["authorizedDeployment"]),
            unauthorized=str(values["unauthorizedDeployment"]),
            identity=str(values["identity"]),
            expected=expected,
        )
        kubeconfig_text = outputs.get("kubeConfig") if not args.kubeconfig else None
        if not args.kubeconfig and not kubeconfig_text:
            raise VerifyError("the stack has no output kubeConfig; pass --kubeconfig")
        api = api_client(args.kubeconfig, kubeconfig_text)
        with api:
            checks = verify(
                api,
                target,
                timeout=args.timeout,
                interval=args.interval,
                progress=lambda message: print(message, file=sys.stderr, flush=True),
                show_secret=args.show_secret,
            )
    except VerifyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report(target, checks))
    return 0 if all(check.passed for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())

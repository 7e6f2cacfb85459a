"""Checks a deployed stack the way the article does by hand, and says pass or fail.

    secretstore-csi-verify [--stack aws-dev] [--workload payments] [--kubeconfig kubeconfig.yaml] [--timeout 600]

(or `python -m secretstore_csi.verify`). It checks one workload that runs the demo: the one
`--workload` names, or the stack's only one.

1. The authorized deployment is available.
2. Its /read endpoint, reached through the API server's pod proxy, returns the secret
   (hello-server answers 200 with an empty body when it cannot read the file, so an empty
   body fails); with --expected-file, the exact value.
3. The unauthorized pod is not running.
4. The unauthorized pod has a FailedMount event with the store's denial, as the registry
   gives it for the stack's identity mode.

The kubeconfig, namespace, deployment names and identity mode default to the stack's
outputs, read with the Pulumi CLI: the workload's from `workloads`, or, for a stack deployed
before stacks held several workloads, the outputs at the top. Exit code 0 when every check
passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from secretstore_csi import demo_app, registry
from secretstore_csi.kubeconfig import KubeconfigError, one_line, quiet_libraries
from secretstore_csi.kubeconfig import api_client as _api_client

# Waiting reasons that mean the volume was mounted after all, so the denial is broken.
STARTED_PAST_MOUNT = {"ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError", "CrashLoopBackOff"}
REQUEST_TIMEOUT = 15.0
# How long the unauthorized pod may fail its mount for a reason other than the store's
# denial before verify says so: a provider that is still starting needs a moment, a
# misconfiguration does not go away.
GRACE = 60.0

T = TypeVar("T")


class VerifyError(Exception):
    """A problem that stops the checks: printed as one line, no traceback."""


class TransientError(VerifyError):
    """Trouble worth waiting out: throttling, a server error, a dropped or slow connection."""


@dataclass(frozen=True)
class Target:
    workload: str | None
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


class Run:
    """The whole run's time budget: every message counts from its start."""

    def __init__(self, timeout: float, clock: Clock, interval: float, progress: Progress) -> None:
        self.clock, self.interval, self.progress = clock, interval, progress
        self.started = clock.now()
        self.deadline = self.started + timeout

    @property
    def elapsed(self) -> float:
        return self.clock.now() - self.started

    @property
    def left(self) -> float:
        return max(0.0, self.deadline - self.clock.now())

    def wait(self, what: str, evidence: str) -> None:
        """Says what it waits for, then sleeps one interval (or what is left of the run)."""
        self.progress(f"waiting for {what}: {one_line(evidence)} ({self.elapsed:.0f}s, {self.left:.0f}s left)")
        self.clock.sleep(min(self.interval, self.left))


def _wait_for(what: str, probe: Callable[[], tuple[str, str]], run: Run) -> tuple[bool, str]:
    """Polls `probe` until it says "pass" or "fail", or the run's time is up.

    `probe` returns (state, evidence) with state "pass", "fail" or "wait"; transient API
    trouble counts as "wait".
    """
    while True:
        try:
            state, evidence = probe()
        except TransientError as error:
            state, evidence = "wait", str(error)
        if state != "wait":
            return state == "pass", evidence
        if run.left <= 0:
            return False, f"timed out after {run.elapsed:.0f}s; last seen: {evidence}"
        run.wait(what, evidence)


def _retry(what: str, call: Callable[[], T], run: Run) -> T:
    """`call()`, again while the API server is briefly unwell and the run has time left."""
    while True:
        try:
            return call()
        except TransientError as error:
            if run.left <= 0:
                raise VerifyError(f"{error}; gave up after {run.elapsed:.0f}s") from None
            run.wait(f"the API server ({what})", str(error))


def _connection_trouble(error: Exception, timeout: float) -> tuple[str, bool] | None:
    """What a failed connection was, in the user's terms, and whether it is worth waiting out;
    None for a refused or unresolvable connection, which says the server is not there."""
    reason = getattr(error, "reason", None) if isinstance(error, urllib3.exceptions.MaxRetryError) else error
    if isinstance(reason, urllib3.exceptions.NewConnectionError):  # a ConnectTimeoutError too
        return None
    if isinstance(reason, urllib3.exceptions.ReadTimeoutError):
        return f"the API server did not answer within {timeout:g}s", True
    if isinstance(reason, urllib3.exceptions.ConnectTimeoutError):
        return f"connecting to the API server took longer than {timeout:g}s", True
    if isinstance(reason, urllib3.exceptions.ProtocolError):
        cause = reason.args[1] if len(reason.args) > 1 else None
        if isinstance(cause, ConnectionResetError):
            return "the API server closed the connection (reset)", True
        if isinstance(cause, (http.client.RemoteDisconnected, http.client.IncompleteRead)):
            return "the API server closed the connection before it answered", True
        return "the connection to the API server broke off", True
    if isinstance(reason, urllib3.exceptions.SSLError):
        return "the TLS handshake with the API server failed", False
    return None


class Cluster:
    """The few reads the checks need, with API and connection errors turned into VerifyError
    (to stop) or TransientError (to wait out)."""

    def __init__(self, api: client.ApiClient, namespace: str, request_timeout: float = REQUEST_TIMEOUT) -> None:
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.namespace = namespace
        self.server = api.configuration.host
        self.request_timeout = request_timeout
        self.answered = False
        """Whether the API server has answered once: a refused connection then is a restart."""

    def _call(self, what: str, call: Callable[[], T]) -> T:
        try:
            result = call()
        except ApiException as error:
            self.answered = True
            if error.status in (401, 403):
                raise VerifyError(
                    f"the API server at {self.server} refused {what}: {error.status} {error.reason}"
                ) from None
            if error.status == 404:
                raise
            failure = TransientError if error.status in (0, 429) or error.status >= 500 else VerifyError
            raise failure(f"{what} failed: the API server answered {error.status} {error.reason}") from None
        except urllib3.exceptions.HTTPError as error:
            trouble = _connection_trouble(error, self.request_timeout)
            if trouble is None and self.answered:
                trouble = "the API server refused the connection", True
            if trouble is None:
                reason = getattr(error, "reason", None) or error
                raise VerifyError(
                    f"cannot reach the Kubernetes API server at {self.server}: {_reason(reason)}"
                ) from None
            text, transient = trouble
            raise (TransientError if transient else VerifyError)(f"{what} failed: {text}") from None
        self.answered = True
        return result

    def deployment(self, name: str) -> Any:
        try:
            return self._call(
                f"reading deployment {name}",
                lambda: self.apps.read_namespaced_deployment(
                    name, self.namespace, _request_timeout=self.request_timeout
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
        pods = self._call(
            "listing pods",
            lambda: self.core.list_namespaced_pod(
                self.namespace, label_selector=selector, _request_timeout=self.request_timeout
            ),
        )
        return cast(list[Any], pods.items)

    def failed_mounts(self, pod: str) -> list[str]:
        events = self._call(
            "listing events",
            lambda: self.core.list_namespaced_event(
                self.namespace,
                field_selector=f"involvedObject.name={pod}",
                _request_timeout=self.request_timeout,
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
                _request_timeout=self.request_timeout,
            ),
        )
        return cast(bytes, response.data)


def _reason(reason: Any) -> str:
    """A connection failure's cause without urllib3's object names."""
    text = str(reason)
    if "Connection refused" in text:
        return "connection refused"
    if isinstance(reason, urllib3.exceptions.NameResolutionError) or "Name or service not known" in text:
        return "its host name does not resolve"
    return one_line(text.split(": ", 1)[-1])


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


def _read_check(cluster: Cluster, pod: str, target: Target, run: Run, show_secret: bool) -> Check:
    name = f"/read on pod {pod} returns the secret"
    try:
        body = _retry(f"GET /read on pod {pod}", lambda: cluster.read(pod), run)
    except ApiException as error:
        return Check(name, False, f"the pod proxy answered {error.status} {error.reason}")
    except VerifyError as error:
        return Check(name, False, str(error))
    if not body:
        return Check(name, False, "200 with an empty body: hello-server could not read the mounted file ($FILE)")
    if target.expected is not None and body.rstrip(b"\r\n") != target.expected.rstrip(b"\r\n"):
        return Check(name, False, f"the body differs from the expected value: {_describe_body(body, show_secret)}")
    match = "equal to the expected value, " if target.expected is not None else ""
    return Check(name, True, match + _describe_body(body, show_secret))


def verify(
    api: client.ApiClient,
    target: Target,
    *,
    timeout: float,
    interval: float = 5.0,
    progress: Progress = lambda message: None,
    show_secret: bool = False,
    clock: Clock | None = None,
    grace: float = GRACE,
    request_timeout: float = REQUEST_TIMEOUT,
) -> list[Check]:
    """Runs the four checks within `timeout` seconds in all, waiting out transient trouble."""
    run = Run(timeout, clock or Clock(), interval, progress)
    cluster = Cluster(api, target.namespace, request_timeout)
    # Both must exist before anything is waited for.
    _retry(f"reading deployment {target.authorized}", lambda: cluster.deployment(target.authorized), run)
    unauthorized = _retry(
        f"reading deployment {target.unauthorized}", lambda: cluster.deployment(target.unauthorized), run
    )
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

    ok, evidence = _wait_for(f"deployment {target.authorized} to become available", authorized_available, run)
    checks.append(Check(f"authorized deployment {target.authorized} is available", ok, evidence))
    if ok:
        checks.append(_read_check(cluster, ready_pods[0].metadata.name, target, run, show_secret))
    else:
        checks.append(Check("/read returns the secret", False, "skipped: no available pod to ask"))

    markers = registry.IDENTITIES[target.identity].denials
    seen: dict[str, str] = {}
    other_since: dict[str, float] = {}

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
            past_mount = [
                s.state.waiting.reason
                for s in statuses
                if s.state and s.state.waiting and s.state.waiting.reason in STARTED_PAST_MOUNT
            ]
            if past_mount:
                seen["denial"] = f"the pod got past its mount and failed for another reason: {past_mount[0]}"
                return "fail", seen["denial"]
            messages = cluster.failed_mounts(name)
            denials = [m for m in messages if any(marker in m for marker in markers)]
            if denials:
                seen["denial"] = f"FailedMount: {denials[-1]}"
                return "pass", seen["denial"]
            if messages:
                # A provider that is still starting fails mounts for a moment; a
                # misconfiguration keeps failing them.
                since = other_since.setdefault(name, run.clock.now())
                lasted = run.clock.now() - since
                seen["denial"] = f"FailedMount for another reason: {messages[-1]}"
                if lasted >= grace:
                    seen["denial"] = f"FailedMount for another reason, for {lasted:.0f}s: {messages[-1]}"
                    return "fail", seen["denial"]
            else:
                seen["denial"] = f"no FailedMount event yet ({seen['state']})"
        return "wait", seen["denial"]

    ok, evidence = _wait_for(f"the unauthorized pod's FailedMount ({' or '.join(markers)})", unauthorized_denied, run)
    pod = seen.get("pod", target.unauthorized)
    running = "is running" in seen.get("denial", "")
    checks.append(
        Check(
            f"unauthorized pod {pod} is not running", "pod" in seen and not running, seen.get("state", "no pod found")
        )
    )
    checks.append(Check(f"unauthorized pod {pod} was denied ({target.identity})", ok, evidence))
    return checks


EVIDENCE_INDENT = " " * 6


def report(target: Target, checks: list[Check]) -> str:
    """The PASS/FAIL report; evidence of several lines stays indented under its check."""
    which = f"workload {target.workload}, " if target.workload else ""
    lines = [f"secretstore-csi verify: {which}identity {target.identity}, namespace {target.namespace}"]
    for check in checks:
        lines.append(f"{'PASS' if check.passed else 'FAIL'}  {check.name}")
        lines += [f"{EVIDENCE_INDENT}{line}" for line in check.evidence.splitlines() or [""]]
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


def workload_outputs(outputs: dict[str, Any], name: str | None) -> tuple[str | None, dict[str, Any]]:
    """The name and outputs of the workload to check: `name`, or the only one with the demo.
    A stack deployed before stacks held several workloads has its outputs at the top."""
    listed = outputs.get("workloads")
    if not isinstance(listed, dict):
        if name is not None:
            raise VerifyError(
                "the stack has no output workloads: it was deployed before stacks held several workloads; "
                "run `pulumi up`, or leave out --workload"
            )
        return None, outputs
    demos = [key for key, value in listed.items() if isinstance(value, dict) and "authorizedDeployment" in value]
    if name is None:
        if len(demos) == 1:
            return demos[0], listed[demos[0]]
        if not demos:
            raise VerifyError("no workload of the stack runs the demo: set demo to true on one, and run `pulumi up`")
        raise VerifyError(
            f"{len(demos)} workloads of the stack run the demo ({', '.join(demos)}): choose one with --workload"
        )
    if name not in listed:
        raise VerifyError(f"the stack has no workload {name!r}; its workloads are: {', '.join(listed)}")
    if name not in demos:
        raise VerifyError(
            f"workload {name} runs no demo, so it has no pods to check; those that do: {', '.join(demos) or 'none'}"
        )
    return name, listed[name]


def api_client(
    kubeconfig_path: str | None, kubeconfig_text: str | None, context: str | None = None
) -> client.ApiClient:
    """An API client from the kubeconfig file, or else its text, or else the one kubectl
    would use; VerifyError when unusable."""
    try:
        # One retry in the connection pool: a dead server is known in seconds, and verify
        # itself waits out a briefly unwell one.
        return _api_client(kubeconfig_path, kubeconfig_text, retries=1, context=context)
    except KubeconfigError as error:
        raise VerifyError(str(error)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="secretstore-csi-verify",
        description="Check a deployed secretstore-csi stack: the article's checks, as one command.",
    )
    parser.add_argument("--stack", help="the Pulumi stack to read outputs from (default: the selected one)")
    parser.add_argument(
        "--workload", help="the workload to check, one that runs the demo (default: the only one that does)"
    )
    parser.add_argument(
        "--kubeconfig",
        help="a kubeconfig file (default: the stack output kubeConfig; for a stack on an existing cluster, "
        "the kubeconfig kubectl uses)",
    )
    parser.add_argument(
        "--context", help="the kubeconfig context (default: the stack output kubeContext, or the current one)"
    )
    parser.add_argument("--namespace", help="default: the stack output namespace")
    parser.add_argument("--authorized", help="default: the stack output authorizedDeployment")
    parser.add_argument("--unauthorized", help="default: the stack output unauthorizedDeployment")
    parser.add_argument(
        "--identity", choices=sorted(registry.IDENTITIES), help="the identity mode (default: the stack output identity)"
    )
    # Read as text, then checked together by `durations`: each bad one is one line.
    parser.add_argument("--timeout", default="600", help="seconds to wait in all (default 600)")
    parser.add_argument("--interval", default="5", help="seconds between polls (default 5)")
    parser.add_argument(
        "--grace",
        default=str(GRACE),
        help=f"seconds the unauthorized pod may fail its mount for another reason before that fails "
        f"the check (default {GRACE:g})",
    )
    parser.add_argument(
        "--request-timeout",
        default=str(REQUEST_TIMEOUT),
        help=f"seconds to wait for one answer of the API server (default {REQUEST_TIMEOUT:g})",
    )
    parser.add_argument(
        "--expected-file",
        help="a file holding the value /read must return; - reads it from standard input",
    )
    parser.add_argument("--show-secret", action="store_true", help="print the value /read returned")
    return parser


# Each duration option: whether 0 is allowed. None of them may be negative, NaN or infinite.
DURATIONS = {"timeout": True, "interval": False, "grace": True, "request_timeout": False}


def durations(args: argparse.Namespace) -> tuple[dict[str, float], list[str]]:
    """The duration options as seconds, and one line for each that is not a finite number in
    its range: a zero interval would poll without pause, a zero request timeout fail every call."""
    values: dict[str, float] = {}
    problems = []
    for name, zero_allowed in DURATIONS.items():
        text = getattr(args, name)
        try:
            seconds = float(text)
        except ValueError:
            seconds = math.nan
        if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not zero_allowed):
            bound = "0 or more" if zero_allowed else "greater than 0"
            option = "--" + name.replace("_", "-")
            problems.append(f"{option} = {text!r}: expected a finite number of seconds, {bound}")
        values[name] = seconds
    return values, problems


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    seconds, problems = durations(args)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
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
        workload, chosen = workload_outputs(outputs, args.workload) if outputs else (args.workload, {})
        values = {key: value or chosen.get(key) or outputs.get(key) for key, value in given.items()}
        if not values["identity"] and outputs.get("cloud") in registry.CLUSTERS:
            # Stacks deployed before the identity was an output use their cloud's default.
            values["identity"] = registry.default_combination(outputs["cloud"])[2]
        missing = [key for key, value in values.items() if not value]
        if missing:
            raise VerifyError(f"the stack has no output {', '.join(missing)}, and no option gives it")
        if values["identity"] not in registry.IDENTITIES:
            raise VerifyError(f"identity {values['identity']!r} is not one of {', '.join(sorted(registry.IDENTITIES))}")
        expected = None
        if args.expected_file:
            try:
                with sys.stdin.buffer if args.expected_file == "-" else open(args.expected_file, "rb") as f:
                    expected = f.read()
            except OSError as error:
                raise VerifyError(f"cannot read --expected-file: {error}") from None
        target = Target(
            workload=workload,
            namespace=str(values["namespace"]),
            authorized=str(values["authorizedDeployment"]),
            unauthorized=str(values["unauthorizedDeployment"]),
            identity=str(values["identity"]),
            expected=expected,
        )
        # A stack on an existing cluster exports no kubeconfig: it uses the user's, as kubectl.
        kubeconfig_text = outputs.get("kubeConfig") if not args.kubeconfig else None
        context = args.context or outputs.get("kubeContext")
        with quiet_libraries():
            api = api_client(args.kubeconfig, kubeconfig_text, context)
            with api:
                checks = verify(
                    api,
                    target,
                    timeout=seconds["timeout"],
                    interval=seconds["interval"],
                    progress=lambda message: print(message, file=sys.stderr, flush=True),
                    show_secret=args.show_secret,
                    grace=seconds["grace"],
                    request_timeout=seconds["request_timeout"],
                )
    except VerifyError as error:
        print(f"error: {one_line(str(error), limit=2000)}", file=sys.stderr)
        return 1
    print(report(target, checks))
    return 0 if all(check.passed for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())

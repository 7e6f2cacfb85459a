"""A Kubernetes API server on 127.0.0.1 that knows just enough for the verify command.

It serves deployments, pods and events as JSON, and the pod proxy to hello-server's /read,
from a `Cluster` the test describes. It asks for the bearer token of the kubeconfig it
writes, and records every request path.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

TOKEN = "fake-token"
NAMESPACE = "default"
AWS_DENIAL = (
    'MountVolume.SetUp failed for volume "secrets-store-inline" : rpc error: code = Unknown desc = '
    "failed to mount secrets store objects for pod default/hello-server-unauthorized-7f4b9c6d8-m9w4t, "
    "err: rpc error: code = Unknown desc = eu-central-1: An IAM role must be associated with service "
    "account default (namespace: default)"
)
# As the kubelet reports it: Entra's reply starts on a line of its own.
AZURE_DENIAL = (
    'MountVolume.SetUp failed for volume "secrets-store-inline" : rpc error: code = Unknown desc = '
    "failed to mount objects, error: failed to get keyvault client: failed to acquire token: "
    "FromAssertion(): http call(https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token)(POST) "
    "error: reply status code was 400:\n"
    '{"error":"invalid_request","error_description":"AADSTS700213: No matching federated identity '
    "record found for presented assertion subject 'system:serviceaccount:default:default'.\"}"
)


# The AWS provider with usePodIdentity when the agent finds no association for the pod's
# service account (composed from the provider's and the agent's sources; see docs/stores).
POD_IDENTITY_DENIAL = (
    'MountVolume.SetUp failed for volume "secrets-store-inline" : rpc error: code = Unknown desc = '
    "failed to mount secrets store objects for pod default/hello-server-unauthorized-7f4b9c6d8-m9w4t, "
    "err: rpc error: code = Unknown desc = eu-central-1: Failed fetching secret "
    "arn:aws:secretsmanager:eu-central-1:123456789012:secret:secretstore-secret-1a2b3c4-AbCdEf: "
    "operation error Secrets Manager: GetSecretValue, get identity: get credentials: failed to refresh "
    "cached credentials, (ResourceNotFoundException): No Pod Identity Association found for "
    "service account default in namespace default"
)


# vault-csi-provider when Vault's Kubernetes auth refuses the pod's service account
# (composed from the provider's and the auth plugin's sources; see docs/stores).
VAULT_DENIAL = (
    'MountVolume.SetUp failed for volume "secrets-store-inline" : rpc error: code = Unknown desc = '
    "failed to mount secrets store objects for pod default/hello-server-unauthorized-7f4b9c6d8-m9w4t, "
    'err: rpc error: code = Unknown desc = error making mount request: couldn\'t read secret "secret": '
    "failed to login: Error making API request.\n\nURL: POST http://127.0.0.1/v1/auth/kubernetes/login\n"
    "Code: 403. Errors:\n\n* service account name not authorized"
)


# The GCP provider joins each failed entry's error after its `{resourceName fileName path}`
# (server.go buildErr at v1.15.0); Secret Manager's refusal as public logs show it.
GCP_DENIAL = (
    'MountVolume.SetUp failed for volume "secrets-store-inline" : rpc error: code = Unknown desc = '
    "failed to mount secrets store objects for pod default/hello-server-unauthorized-7f4b9c6d8-m9w4t, "
    "err: rpc error: code = Internal desc = {projects/secretstore-demo-4711/secrets/"
    "secretstore-k3x9q2mz-secret/versions/latest  secret}: rpc error: code = PermissionDenied desc = "
    "Permission 'secretmanager.versions.access' denied for resource "
    "'projects/secretstore-demo-4711/secrets/secretstore-k3x9q2mz-secret/versions/latest' (or it may not exist)."
)


def deployment(name: str, available: int) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": "hello-server", "app.kubernetes.io/instance": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "hello-server", "image": "hello-server"}]},
            },
        },
        "status": {"replicas": 1, "availableReplicas": available} if available else {"replicas": 1},
    }


def pod(deployment_name: str, suffix: str, *, running: bool, waiting: str = "ContainerCreating") -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": "hello-server", "app.kubernetes.io/instance": deployment_name}
    state = {"running": {"startedAt": "2026-11-27T10:00:00Z"}} if running else {"waiting": {"reason": waiting}}
    return {
        "metadata": {"name": f"{deployment_name}-{suffix}", "namespace": NAMESPACE, "labels": labels},
        "spec": {"containers": [{"name": "hello-server", "image": "hello-server"}]},
        "status": {
            "phase": "Running" if running else "Pending",
            "conditions": [{"type": "Ready", "status": "True" if running else "False"}],
            "containerStatuses": [
                {
                    "name": "hello-server",
                    "image": "hello-server",
                    "imageID": "",
                    "ready": running,
                    "restartCount": 0,
                    "state": state,
                }
            ],
        },
    }


def event(pod_name: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "metadata": {"name": f"{pod_name}.1", "namespace": NAMESPACE},
        "involvedObject": {"kind": "Pod", "name": pod_name, "namespace": NAMESPACE},
        "reason": reason,
        "message": message,
        "type": "Warning",
        "count": 9,
    }


@dataclass
class Cluster:
    """What the fake API server reports. Tests change it, even while verify runs."""

    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    pods: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    read_body: bytes = b""
    available_after: int = 0
    """The authorized deployment reports itself available from this many reads on."""

    failures: dict[str, list[int]] = field(default_factory=dict)
    """Statuses to answer instead, by the last part of the path ("events", "pods", ...), in
    turn; the last one stays. 200 answers as usual."""

    drops: dict[str, int] = field(default_factory=dict)
    """How many more requests to close without an answer, by the last part of the path."""

    resets: dict[str, int] = field(default_factory=dict)
    """How many more requests to answer with a TCP reset, by the last part of the path."""

    delays: dict[str, list[float]] = field(default_factory=dict)
    """Seconds to wait before answering, in turn, by the last part of the path."""

    requests: list[str] = field(default_factory=list)
    _deployment_reads: int = 0

    def trouble(self, path: str) -> tuple[str, float]:
        """What to do to this request before answering: "drop", "reset", or wait some seconds."""
        last = unquote(path.rstrip("/").rsplit("/", 1)[-1])
        for kind, pending in (("drop", self.drops), ("reset", self.resets)):
            if pending.get(last, 0) > 0:
                pending[last] -= 1
                return kind, 0.0
        delays = self.delays.get(last)
        return "", delays.pop(0) if delays else 0.0

    @classmethod
    def healthy(cls, denial: str = AWS_DENIAL) -> Cluster:
        unauthorized_pod = pod("hello-server-unauthorized", "7f4b9c6d8-m9w4t", running=False)
        return cls(
            deployments={
                "hello-server-authorized": deployment("hello-server-authorized", available=1),
                "hello-server-unauthorized": deployment("hello-server-unauthorized", available=0),
            },
            pods=[pod("hello-server-authorized", "6d5c8f7b9d-x2kqp", running=True), unauthorized_pod],
            events=[
                event(unauthorized_pod["metadata"]["name"], "Scheduled", "Successfully assigned"),
                event(unauthorized_pod["metadata"]["name"], "FailedMount", denial),
            ],
            read_body=b'{"username": "demo", "password": "s3cr3t"}',
        )

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        pending = self.failures.get(parts[-1])
        if pending:
            code = pending.pop(0) if len(pending) > 1 else pending[0]
            if code != 200:  # 200: answer as usual from here on
                return code, _status(code, "injected failure")
        if parts[:4] == ["apis", "apps", "v1", "namespaces"] and len(parts) == 7 and parts[5] == "deployments":
            found = self.deployments.get(parts[6])
            if found is None:
                return 404, _status(404, f'deployments.apps "{parts[6]}" not found')
            if parts[6] == "hello-server-authorized":
                self._deployment_reads += 1
                if self._deployment_reads <= self.available_after:
                    return 200, {**found, "status": {"replicas": 1}}
            return 200, found
        if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 5 and parts[4] == "pods":
            wanted = dict(item.split("=", 1) for item in query.get("labelSelector", [""])[0].split(",") if item)
            items = [p for p in self.pods if wanted.items() <= p["metadata"]["labels"].items()]
            if self._deployment_reads <= self.available_after:
                items = [p for p in items if "unauthorized" in p["metadata"]["name"]]
            return 200, {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}
        if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 5 and parts[4] == "events":
            selector = query.get("fieldSelector", [""])[0]
            name = selector.removeprefix("involvedObject.name=")
            items = [e for e in self.events if e["involvedObject"]["name"] == name]
            return 200, {"apiVersion": "v1", "kind": "EventList", "metadata": {}, "items": items}
        if parts[:3] == ["api", "v1", "namespaces"] and len(parts) >= 7 and parts[4] == "pods" and parts[6] == "proxy":
            name, _, port = parts[5].partition(":")
            if port != "8080" or parts[7:] != ["read"]:
                return 404, _status(404, "no such proxy path")
            if not any(p["metadata"]["name"] == name for p in self.pods):
                return 404, _status(404, f'pods "{name}" not found')
            return 200, self.read_body
        return 404, _status(404, f"the fake API server does not serve {path}")


def _status(code: int, message: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Status", "status": "Failure", "message": message, "code": code}


@contextmanager
def serve(cluster: Cluster, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Serves `cluster` on 127.0.0.1; yields the server's URL. With `tls` (a PEM chain, leaf
    first, and its key), over HTTPS."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            cluster.requests.append(url.path)
            trouble, delay = cluster.trouble(url.path)
            if trouble == "drop":  # the client sees the connection closed with no answer
                self.close_connection = True
                return
            if trouble == "reset":  # SO_LINGER 0: closing now sends a TCP RST, not a FIN
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
                return
            time.sleep(delay)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, _status(401, "Unauthorized"))
                return
            self._send(*cluster.answer(url.path, parse_qs(url.query)))

        def _send(self, code: int, body: Any) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain" if isinstance(body, bytes) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile=tls[0], keyfile=tls[1])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def kubeconfig(server: str, token: str = TOKEN) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": server}}],
            "users": [{"name": "fake", "user": {"token": token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            "current-context": "fake",
        }
    )


def write_kubeconfig(directory: Path, server: str, token: str = TOKEN) -> Path:
    path = directory / "kubeconfig.yaml"
    path.write_text(kubeconfig(server, token))
    return path

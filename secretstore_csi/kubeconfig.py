"""A kubeconfig for the verify command: read, checked, and turned into an API client.

Whatever is wrong with it (its encoding, its YAML, its shape, a context, cluster or user it
names but lacks, or a login command that fails) is one line in a `KubeconfigError`, never a
traceback: the official client would raise deep inside, or log the failed login and go on
without credentials.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import yaml
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from secretstore_csi import lookup


class KubeconfigError(Exception):
    """The kubeconfig cannot be used; the message says why, in one line."""


def one_line(text: str, limit: int = 300) -> str:
    """`text` on a single line, its lines joined with ' / ', cut at `limit` characters."""
    return lookup.one_line(text, limit)


def _named(document: dict[str, Any], section: str, body: str) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The entries of `clusters`, `contexts` or `users` by name, or what is wrong with them."""
    entries = document.get(section)
    if entries is None:
        return {}, None
    if not isinstance(entries, list):
        return {}, f"{section} is a {type(entries).__name__}, not a list"
    named: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            return {}, f"{section}[{index}] is not a mapping with a name"
        inner = entry.get(body)
        if not isinstance(inner, dict):
            return {}, f"{section}[{index}] ({entry['name']}) has no {body} mapping"
        named[entry["name"]] = inner
    return named, None


def shape_problem(document: Any) -> str | None:
    """What keeps the client from using `document` with its current context, or None."""
    if not isinstance(document, dict):
        return "it is not a YAML or JSON mapping"
    sections = {}
    for section, body in (("clusters", "cluster"), ("contexts", "context"), ("users", "user")):
        named, problem = _named(document, section, body)
        if problem:
            return problem
        sections[section] = named
    current = document.get("current-context")
    if not isinstance(current, str) or not current:
        return "it names no current-context"
    context = sections["contexts"].get(current)
    if context is None:
        return f"its current-context {current!r} is not among its contexts"
    cluster_name, user_name = context.get("cluster"), context.get("user")
    if cluster_name not in sections["clusters"]:
        return f"context {current!r} names cluster {cluster_name!r}, which it does not have"
    if not isinstance(sections["clusters"][cluster_name].get("server"), str):
        return f"cluster {cluster_name!r} has no server"
    if user_name is not None and user_name not in sections["users"]:
        return f"context {current!r} names user {user_name!r}, which it does not have"
    return None


def exec_command(document: dict[str, Any]) -> str | None:
    """The login command the current context's user runs (an exec plugin), if any."""
    context = next(c["context"] for c in document["contexts"] if c["name"] == document["current-context"])
    user: dict[str, Any] = next(
        (u["user"] for u in document.get("users") or [] if u["name"] == context.get("user")), {}
    )
    command = (user.get("exec") or {}).get("command")
    return command if isinstance(command, str) else None


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def quiet_libraries() -> Iterator[list[logging.LogRecord]]:
    """Keeps what the kubernetes client and urllib3 log (failed logins, retries) from the
    user's terminal; the records are handed over instead."""
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)


def default_paths() -> list[str]:
    """Where kubectl looks: the files $KUBECONFIG lists, or ~/.kube/config."""
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return listed or [os.path.join(os.path.expanduser("~"), ".kube", "config")]


def _merged(paths: list[str]) -> dict[str, Any]:
    """The files as kubectl merges them: the first of each name, the first current-context."""
    merged: dict[str, Any] = {"clusters": [], "contexts": [], "users": []}
    for path in paths:
        if len(paths) > 1 and not os.path.exists(path):
            continue
        document = read(path, None, check=False)
        if not isinstance(document, dict):
            raise KubeconfigError(f"kubeconfig {path} is not valid: it is not a YAML or JSON mapping")
        for section in ("clusters", "contexts", "users"):
            known = {entry.get("name") for entry in merged[section]}
            entries = document.get(section) or []
            if not isinstance(entries, list):
                raise KubeconfigError(f"kubeconfig {path} is not valid: {section} is not a list")
            merged[section] += [e for e in entries if not isinstance(e, dict) or e.get("name") not in known]
        merged.setdefault("current-context", document.get("current-context"))
        if not merged["current-context"]:
            merged["current-context"] = document.get("current-context")
    return merged


def read(path: str | None, text: str | None, check: bool = True) -> dict[str, Any]:
    """The checked kubeconfig document, from the file `path`, or else from `text`, or else
    from where kubectl looks."""
    if path is None and text is None:
        paths = default_paths()
        document = _merged(paths)
        problem = shape_problem(document)
        if problem:
            raise KubeconfigError(f"kubeconfig {os.pathsep.join(paths)} is not valid: {one_line(problem)}")
        return document
    where = path or "the stack output kubeConfig"
    if path:
        try:
            with open(path, "rb") as file:
                data = file.read()
        except FileNotFoundError:
            raise KubeconfigError(f"kubeconfig {where} does not exist") from None
        except OSError as error:
            raise KubeconfigError(f"kubeconfig {where} cannot be read: {error.strerror}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise KubeconfigError(f"kubeconfig {where} is not valid: it is not UTF-8 text") from None
    try:
        document = yaml.safe_load(text or "")
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "not YAML"
        raise KubeconfigError(f"kubeconfig {where} is not valid: it is not YAML ({problem}{at})") from None
    if not check:
        return cast(dict[str, Any], document)
    problem = shape_problem(document)
    if problem:
        raise KubeconfigError(f"kubeconfig {where} is not valid: {one_line(problem)}")
    assert isinstance(document, dict)
    return document


def api_client(path: str | None, text: str | None, retries: int = 1, context: str | None = None) -> client.ApiClient:
    """An API client for the kubeconfig's current context (or `context`), logged in. Without
    `path` and `text`, the kubeconfig kubectl would use."""
    where = path or ("the stack output kubeConfig" if text is not None else os.pathsep.join(default_paths()))
    document = read(path, text)
    if context is not None:
        names = [c["name"] for c in document["contexts"]]
        if context not in names:
            raise KubeconfigError(f"kubeconfig {where} has no context {context!r}: it has {', '.join(names)}")
        document = {**document, "current-context": context}
        problem = shape_problem(document)
        if problem:
            raise KubeconfigError(f"kubeconfig {where} is not valid: {one_line(problem)}")
    command = exec_command(document)
    if command and shutil.which(command) is None:
        # The client would only log the failed login and then be refused with a 401.
        raise KubeconfigError(f"kubeconfig {where} logs in by running `{command}`, which is not on PATH")
    configuration = client.Configuration()
    # Read by the connection pool when the client is made.
    configuration.retries = retries
    # The client's config loader has no annotations; this is what it returns.
    new_client: Callable[..., client.ApiClient] = config.new_client_from_config_dict
    with quiet_libraries() as records:
        try:
            api = new_client(document, client_configuration=configuration)
        except (ConfigException, TypeError, KeyError, ValueError, AttributeError) as error:
            raise KubeconfigError(f"kubeconfig {where} is not valid: {one_line(str(error))}") from None
    failed = [r.getMessage() for r in records if r.levelno >= logging.ERROR and r.getMessage().startswith("exec")]
    if failed:
        api.close()
        raise KubeconfigError(
            f"kubeconfig {where} logs in by running `{command}`, which failed: {one_line(failed[-1])}"
        )
    return api

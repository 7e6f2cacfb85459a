"""Kubeconfigs that log in as the user does, through the cloud's own login command: never a
stored token, so the stack output holds no credential of its own."""

from __future__ import annotations

from collections.abc import Sequence

import yaml

EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"


def exec_kubeconfig(
    name: str,
    server: str,
    certificate_authority_data: str,
    command: str,
    args: Sequence[str] = (),
    install_hint: str | None = None,
    provide_cluster_info: bool = False,
) -> str:
    """A kubeconfig with one cluster, context and user named `name`, whose user runs `command`
    for a token, as the cloud's CLI writes it (`aws eks update-kubeconfig`, `gcloud container
    clusters get-credentials`)."""
    login: dict[str, object] = {"apiVersion": EXEC_API_VERSION, "command": command}
    if args:
        login["args"] = list(args)
    if install_hint:
        login["installHint"] = install_hint
    if provide_cluster_info:
        login["provideClusterInfo"] = True
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": name, "cluster": {"server": server, "certificate-authority-data": certificate_authority_data}}
            ],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [{"name": name, "user": {"exec": login}}],
        },
        sort_keys=False,
    )

"""Entra workload identity with an application per workload: a federated credential lets
tokens that the cluster's issuer mints for exactly one service account act as the application."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_azuread as azuread

from secretstore_csi import PROJECT
from secretstore_csi.azure.cluster import Aks
from secretstore_csi.azure.key_vault import VaultReader
from secretstore_csi.model import WorkloadSpec
from secretstore_csi.seam import IdentityBinding, top_aliases, was_at_top
from secretstore_csi.settings import PlatformConfig

TOKEN_AUDIENCE = "api://AzureADTokenExchange"
# Entra: a federated credential's name is at most 120 characters, unique per application.
CREDENTIAL_NAME_MAX = 120


def federated_credential_name(workload: WorkloadSpec) -> str:
    """`kubernetes-<namespace>-<service account>`; when that is too long, cut it and end it
    with a hash of the whole subject, so that it fits and stays unique."""
    name = f"kubernetes-{workload.namespace}-{workload.service_account}"
    if len(name) <= CREDENTIAL_NAME_MAX:
        return name
    digest = hashlib.sha256(workload.subject.encode()).hexdigest()[:12]
    return f"{name[: CREDENTIAL_NAME_MAX - len(digest) - 1].rstrip('-')}-{digest}"


def display_name(stack: str, workload: WorkloadSpec) -> str:
    """The application's name in Entra: the project, the stack and the workload."""
    return f"{PROJECT}-{stack}" if workload.legacy_names else f"{PROJECT}-{stack}-{workload.name}"


class EntraApplications:
    """Nothing per cluster: each workload gets an application that trusts the cluster's issuer."""

    outputs: Mapping[str, pulumi.Input[Any]] = {}

    def __init__(self, name: str, config: PlatformConfig, cluster: Aks, opts: pulumi.ResourceOptions) -> None:
        self.cluster = cluster

    def grant(self, name: str, workload: WorkloadSpec, opts: pulumi.ResourceOptions) -> IdentityBinding[VaultReader]:
        identity = EntraApplication(name, self.cluster, workload, opts)
        return IdentityBinding(
            reader=VaultReader(object_id=identity.service_principal.object_id),
            parameters={"clientID": identity.application.client_id},
            ready=[identity.federated_credential],
            outputs={"clientId": identity.application.client_id},
        )


class EntraApplication(pulumi.ComponentResource):
    """An application, its service principal, and one federated credential for `workload`."""

    def __init__(
        self, name: str, cluster: Aks, workload: WorkloadSpec, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Before a workload held it, it was at the top of the stack.
        super().__init__(
            "secretstore-csi:azure:EntraApplication",
            name,
            None,
            was_at_top(opts, workload),
        )
        child = pulumi.ResourceOptions(parent=self, aliases=top_aliases(workload))
        self.application = azuread.Application(
            f"{name}-app", display_name=display_name(pulumi.get_stack(), workload), opts=child
        )
        self.service_principal = azuread.ServicePrincipal(
            f"{name}-sp", client_id=self.application.client_id, opts=child
        )
        self.federated_credential = azuread.ApplicationFederatedIdentityCredential(
            f"{name}-federated-credential",
            application_id=self.application.id,
            display_name=federated_credential_name(workload),
            description=f"Tokens of {workload.subject} from the AKS cluster's OIDC issuer",
            issuer=cluster.issuer_url,
            subject=workload.subject,
            audiences=[TOKEN_AUDIENCE],
            opts=child,
        )
        self.register_outputs({"client_id": self.application.client_id})

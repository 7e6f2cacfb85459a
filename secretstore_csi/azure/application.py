"""Entra workload identity with an application: a federated credential lets tokens that the
cluster's issuer mints for exactly one service account act as the application."""

from __future__ import annotations

import hashlib

import pulumi
import pulumi_azuread as azuread

from secretstore_csi import PREFIX
from secretstore_csi.azure.cluster import AksCluster
from secretstore_csi.azure.key_vault import VaultReader
from secretstore_csi.model import Workload
from secretstore_csi.seam import MOVED_FROM_STACK, Cluster, IdentityBinding
from secretstore_csi.settings import StackConfig

TOKEN_AUDIENCE = "api://AzureADTokenExchange"
# Entra: a federated credential's name is at most 120 characters, unique per application.
CREDENTIAL_NAME_MAX = 120


def federated_credential_name(workload: Workload) -> str:
    """`kubernetes-<namespace>-<service account>`; when that is too long, cut it and end it
    with a hash of the whole subject, so that it fits and stays unique."""
    name = f"kubernetes-{workload.namespace}-{workload.service_account}"
    if len(name) <= CREDENTIAL_NAME_MAX:
        return name
    digest = hashlib.sha256(workload.subject.encode()).hexdigest()[:12]
    return f"{name[: CREDENTIAL_NAME_MAX - len(digest) - 1].rstrip('-')}-{digest}"


class EntraApplication(pulumi.ComponentResource):
    """An application, its service principal, and one federated credential for `workload`."""

    def __init__(
        self, name: str, cluster: AksCluster, workload: Workload, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("secretstore-csi:azure:EntraApplication", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, aliases=MOVED_FROM_STACK)
        self.application = azuread.Application(
            f"{name}-app", display_name=f"secretstore-csi-{pulumi.get_stack()}", opts=child
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


def build(stack: StackConfig, cluster: Cluster, workload: Workload) -> IdentityBinding:
    if not isinstance(cluster, AksCluster):
        raise TypeError("An Entra application trusts an AKS cluster's issuer")
    identity = EntraApplication(PREFIX, cluster, workload)
    return IdentityBinding(
        reader=VaultReader(object_id=identity.service_principal.object_id),
        parameters={"clientID": identity.application.client_id},
        ready=[identity.federated_credential],
        outputs={"clientId": identity.application.client_id},
    )

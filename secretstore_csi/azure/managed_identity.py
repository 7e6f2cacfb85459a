"""Azure workload identity with a user-assigned managed identity per workload, as the AKS docs
recommend: a federated credential lets tokens that the cluster's issuer mints for exactly one
service account act as the identity, and Key Vault grants it each secret through Azure RBAC."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi_azure_native import managedidentity

from secretstore_csi.azure.application import TOKEN_AUDIENCE, federated_credential_name
from secretstore_csi.azure.cluster import Aks
from secretstore_csi.azure.key_vault import VaultReader
from secretstore_csi.model import WorkloadSpec
from secretstore_csi.seam import IdentityBinding, was_at_top
from secretstore_csi.settings import PlatformConfig


class ManagedIdentities:
    """Nothing per cluster: each workload gets an identity that trusts the cluster's issuer."""

    outputs: Mapping[str, pulumi.Input[Any]] = {}

    def __init__(self, name: str, config: PlatformConfig, cluster: Aks, opts: pulumi.ResourceOptions) -> None:
        self.cluster = cluster

    def grant(self, name: str, workload: WorkloadSpec, opts: pulumi.ResourceOptions) -> IdentityBinding[VaultReader]:
        identity = ManagedIdentity(name, self.cluster, workload, opts)
        client_id = identity.identity.client_id
        return IdentityBinding(
            reader=VaultReader(object_id=identity.identity.principal_id, rbac=True),
            # The provider takes the client id from the SecretProviderClass; the annotation is
            # what the AKS docs and the workload identity webhook read.
            service_account_annotations={"azure.workload.identity/client-id": client_id},
            parameters={"clientID": client_id},
            ready=[identity.federated_credential],
            outputs={"clientId": client_id, "managedIdentityName": identity.identity.name},
        )


class ManagedIdentity(pulumi.ComponentResource):
    """A user-assigned managed identity and one federated credential for `workload`."""

    def __init__(
        self, name: str, cluster: Aks, workload: WorkloadSpec, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Before a workload held it, it was at the top of the stack.
        super().__init__(
            "secretstore-csi:azure:ManagedIdentity",
            name,
            None,
            was_at_top(opts, workload),
        )
        child = pulumi.ResourceOptions(parent=self)
        self.identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity", resource_group_name=cluster.resource_group_name, opts=child
        )
        self.federated_credential = managedidentity.FederatedIdentityCredential(
            f"{name}-identity-federated-credential",
            resource_group_name=cluster.resource_group_name,
            resource_name_=self.identity.name,
            federated_identity_credential_resource_name=federated_credential_name(workload),
            # Matched exactly, trailing slash included.
            issuer=cluster.issuer_url,
            subject=workload.subject,
            audiences=[TOKEN_AUDIENCE],
            opts=child,
        )
        self.register_outputs({"client_id": self.identity.client_id, "principal_id": self.identity.principal_id})

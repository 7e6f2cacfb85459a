"""AKS identity binding: a user-assigned managed identity per workload, bound to the cluster,
and used by exactly the workload's service account.

The identity binding (`containerservice.IdentityBinding`) lets the cluster exchange tokens for
the identity through an AKS-operated proxy, with one federated credential that AKS makes and
shares across all clusters bound to the identity: no credential per service account, and so
no cap of 20 (Azure provider 1.8, identity-binding-mode.md; AKS docs, identity bindings).
Which service account may use the identity is Kubernetes RBAC's to say: a ClusterRole with
the verb `use-managed-identity` on exactly the identity's client id, bound to exactly the
workload's service account (the provider's test/e2e/identity_binding_test.go at v1.8.2).
The driver requests the audience `api://AKSIdentityBinding`, and the SecretProviderClass sets
`useAzureTokenProxy`. Key Vault grants the identity each secret through Azure RBAC.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi_azure_native import containerservice, managedidentity
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs
from pulumi_kubernetes.rbac.v1 import ClusterRole, ClusterRoleBinding, PolicyRuleArgs, RoleRefArgs, SubjectArgs

from secretstore_csi import ownership
from secretstore_csi.azure.cluster import Aks
from secretstore_csi.azure.key_vault import VaultReader
from secretstore_csi.model import LABEL_MAX, WorkloadSpec
from secretstore_csi.seam import IdentityBinding
from secretstore_csi.settings import PlatformConfig

API_GROUP = "cid.wi.aks.azure.com"
USE = "use-managed-identity"


def role_name(client_id: str) -> str:
    """The ClusterRole and its binding, after the identity they let use, as the provider's own
    e2e test names them: unique on the cluster whatever stack or workload made them."""
    return f"use-managed-identity-{client_id}"


def binding_name(workload: WorkloadSpec) -> str:
    """The identity binding's name on the cluster: the workload's name and a digest of
    organization/project/stack, so that two stacks' workloads of one name never meet."""
    digest = hashlib.sha256(ownership.owner().encode()).hexdigest()[:8]
    return f"{workload.name[: LABEL_MAX - len(digest) - 1].rstrip('-')}-{digest}"


class IdentityBindings:
    """Nothing per cluster but the driver's audience (the catalog's `token_audiences`)."""

    outputs: Mapping[str, pulumi.Input[Any]] = {}

    def __init__(self, name: str, config: PlatformConfig, cluster: Aks, opts: pulumi.ResourceOptions) -> None:
        self.cluster = cluster

    def grant(self, name: str, workload: WorkloadSpec, opts: pulumi.ResourceOptions) -> IdentityBinding[VaultReader]:
        bound = BoundIdentity(name, self.cluster, workload, opts)
        client_id = bound.identity.client_id
        return IdentityBinding(
            reader=VaultReader(object_id=bound.identity.principal_id, rbac=True),
            parameters={"clientID": client_id, "useAzureTokenProxy": "true"},
            ready=[bound.binding, bound.role_binding],
            outputs={
                "clientId": client_id,
                "managedIdentityName": bound.identity.name,
                "identityBindingName": bound.binding.name,
            },
        )


class BoundIdentity(pulumi.ComponentResource):
    """A user-assigned managed identity, its binding to the cluster, and the RBAC that lets
    exactly the workload's service account use it."""

    def __init__(
        self, name: str, cluster: Aks, workload: WorkloadSpec, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("secretstore-csi:azure:BoundIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.kubernetes.provider)
        self.identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity", resource_group_name=cluster.resource_group_name, opts=child
        )
        self.binding = containerservice.IdentityBinding(
            f"{name}-identity-binding",
            resource_group_name=cluster.resource_group_name,
            resource_name_=cluster.cluster_name,
            identity_binding_name=binding_name(workload),
            properties=containerservice.IdentityBindingPropertiesArgs(
                managed_identity=containerservice.IdentityBindingManagedIdentityProfileArgs(
                    resource_id=self.identity.id
                )
            ),
            opts=child,
        )
        self.role = ClusterRole(
            f"{name}-use-managed-identity",
            metadata=ObjectMetaArgs(name=self.identity.client_id.apply(role_name)),
            rules=[PolicyRuleArgs(api_groups=[API_GROUP], resources=[self.identity.client_id], verbs=[USE])],
            opts=on_cluster,
        )
        self.role_binding = ClusterRoleBinding(
            f"{name}-use-managed-identity",
            metadata=ObjectMetaArgs(name=self.identity.client_id.apply(role_name)),
            role_ref=RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=self.role.metadata.name
            ),
            subjects=[SubjectArgs(kind="ServiceAccount", name=workload.service_account, namespace=workload.namespace)],
            opts=on_cluster,
        )
        self.register_outputs({"client_id": self.identity.client_id})

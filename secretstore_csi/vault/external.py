"""A Vault of your own, outside the cluster (`vaultAddress`), configured through pulumi-vault.

Nothing of Vault runs in the cluster but its CSI provider, pointed at the external address.
Once per cluster, the stack mounts Vault's Kubernetes auth (`vaultAuthMount`, by default
`secretstore-<stack>`) and tells it how to check this cluster's tokens: the API server's URL
and CA, and the token of a reviewer ServiceAccount that may only create TokenReviews (a
ClusterRole of its own, narrower than `system:auth-delegator`, which also creates
SubjectAccessReviews). The driver's tokens have the audience `vault`, which the API
server does not accept as a login, so they cannot review themselves (Vault docs, Kubernetes
auth, "Use the Vault client's JWT as the reviewer JWT"); the reviewer's token is kept in
the state as a secret.

Each workload gets a policy that reads exactly its paths, a role bound to exactly its service
account, namespace and audience, and its secrets in the KV version 2 engine
`vaultKvMount` under `secretstore/<stack>/`. The token comes from pulumi-vault's own
configuration: `vault:token` (a secret), or VAULT_TOKEN.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_vault as vault
import yaml
from pulumi_kubernetes.core.v1 import ConfigMap, Namespace, Secret, ServiceAccount
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs
from pulumi_kubernetes.rbac.v1 import ClusterRole, ClusterRoleBinding, PolicyRuleArgs, RoleRefArgs, SubjectArgs

from secretstore_csi import ownership
from secretstore_csi.model import StoreSecret, WorkloadSpec
from secretstore_csi.seam import Cluster, IdentityBinding, ProviderInstall, StoreBinding
from secretstore_csi.secret_values import secret_values
from secretstore_csi.settings import PlatformConfig
from secretstore_csi.vault import configure, csi_provider
from secretstore_csi.vault.catalog import VAULT
from secretstore_csi.vault.settings import VaultSettings, stack_id
from secretstore_csi.vault.store import VaultRole, spc_objects

RELEASE = "vault"
REVIEWER = "vault-token-reviewer"
ROLE_TOKEN_TTL = 1200
"""Seconds a login lasts: the provider logs in again for each mount."""
ROOT_CA = "kube-system/kube-root-ca.crt"
"""The ConfigMap every namespace gets with the cluster's CA (Kubernetes, RootCAConfigMap)."""


def kubeconfig_server(kubeconfig: str) -> str:
    """The API server of the kubeconfig's current context."""
    document: dict[str, Any] = yaml.safe_load(kubeconfig)
    context = next(c["context"] for c in document["contexts"] if c["name"] == document["current-context"])
    cluster = next(c["cluster"] for c in document["clusters"] if c["name"] == context["cluster"])
    return str(cluster["server"])


def _reviewer_token(data: Mapping[str, str]) -> str:
    """The token the API server put in the reviewer's Secret (base64, as all Secret data)."""
    return base64.b64decode(data["token"]).decode()


def _entry(secret: StoreSecret) -> Any:
    def entry(pair: list[Any]) -> str:
        return configure.entry(secret, pair[0], pair[1])

    return entry


class ExternalVault(pulumi.ComponentResource):
    """The CSI provider pointed at the Vault, and the Vault's Kubernetes auth for this cluster."""

    def __init__(
        self, name: str, config: PlatformConfig, cluster: Cluster, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("secretstore-csi:vault:ExternalVault", name, None, opts)
        settings = config.of(VaultSettings)
        assert settings.vault_address is not None
        stack = pulumi.get_stack()
        # Every name the stack gives things in the Vault, which other stacks share, has it.
        self.stack_id = stack_id(ownership.owner(), stack)
        self.address = settings.vault_address
        self.auth_mount = settings.auth_mount(self.stack_id)
        self.kv_mount = settings.vault_kv_mount
        self.root = f"{configure.ROOT}/{self.stack_id}"
        self.ca_cert = settings.vault_ca_cert
        namespace = settings.vault_namespace
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.kubernetes.provider)

        self.namespace = Namespace(
            f"{name}-vault-namespace",
            metadata=ObjectMetaArgs(
                name=namespace,
                # The CSI provider's DaemonSet mounts a host directory, which `baseline` and
                # `restricted` refuse.
                labels={"pod-security.kubernetes.io/enforce": "privileged"},
            ),
            opts=on_cluster,
        )
        in_namespace = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[self.namespace]))
        self.csi_provider = csi_provider.VaultCsiProvider(
            f"{name}-vault-csi-provider", namespace, RELEASE, self.address, opts=in_namespace, ca_cert=self.ca_cert
        )

        # The reviewer: may create TokenReviews, nothing else.
        reviewer = ServiceAccount(
            f"{name}-vault-token-reviewer",
            metadata=ObjectMetaArgs(name=REVIEWER, namespace=namespace),
            automount_service_account_token=False,
            opts=in_namespace,
        )
        # What Vault's Kubernetes auth calls, and nothing else.
        review = ClusterRole(
            f"{name}-vault-token-review",
            metadata=ObjectMetaArgs(name=f"{namespace}-{REVIEWER}"),
            rules=[PolicyRuleArgs(api_groups=["authentication.k8s.io"], resources=["tokenreviews"], verbs=["create"])],
            opts=on_cluster,
        )
        binding = ClusterRoleBinding(
            f"{name}-vault-token-reviewer",
            metadata=ObjectMetaArgs(name=f"{namespace}-{REVIEWER}"),
            role_ref=RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=review.metadata.name),
            subjects=[SubjectArgs(kind="ServiceAccount", name=REVIEWER, namespace=namespace)],
            opts=on_cluster,
        )
        # The API server fills in the token; pulumi-kubernetes waits for it.
        token = Secret(
            f"{name}-vault-token-reviewer-token",
            metadata=ObjectMetaArgs(
                name=f"{REVIEWER}-token",
                namespace=namespace,
                annotations={"kubernetes.io/service-account.name": REVIEWER},
            ),
            type="kubernetes.io/service-account-token",
            opts=pulumi.ResourceOptions.merge(in_namespace, pulumi.ResourceOptions(depends_on=[reviewer, binding])),
        )
        reviewer_jwt: pulumi.Output[str] = pulumi.Output.secret(token.data.apply(_reviewer_token))

        if settings.vault_kubernetes_host is not None:
            host: pulumi.Input[str] = settings.vault_kubernetes_host
        else:
            assert cluster.kubernetes.kubeconfig is not None, "refused by the config check"
            host = pulumi.Output.unsecret(cluster.kubernetes.kubeconfig.apply(kubeconfig_server))
        if settings.vault_kubernetes_ca_cert is not None:
            kubernetes_ca: pulumi.Input[str] = settings.vault_kubernetes_ca_cert
        else:
            root_ca = ConfigMap.get(f"{name}-kube-root-ca", ROOT_CA, opts=on_cluster)
            kubernetes_ca = root_ca.data.apply(lambda data: data["ca.crt"])

        self.provider = vault.Provider(
            f"{name}-vault",
            address=self.address,
            # None: the provider reads VAULT_TOKEN.
            token=pulumi.Output.secret(settings.vault_token.value) if settings.vault_token else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        on_vault = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self.auth = vault.AuthBackend(
            f"{name}-vault-kubernetes-auth",
            type="kubernetes",
            path=self.auth_mount,
            description=f"Service accounts of the cluster of secretstore-csi stack {ownership.owner()}",
            opts=on_vault,
        )
        self.auth_config = vault.kubernetes.AuthBackendConfig(
            f"{name}-vault-kubernetes-auth-config",
            backend=self.auth.path,
            kubernetes_host=host,
            kubernetes_ca_cert=kubernetes_ca,
            token_reviewer_jwt=reviewer_jwt,
            # Vault is not in this cluster: never its own pod's token or CA, if it runs in one.
            disable_local_ca_jwt=True,
            opts=on_vault,
        )
        self.install = ProviderInstall(
            provider=VAULT.provider,
            token_audiences=VAULT.token_audiences,
            chart=None,
            ready=[self.csi_provider.daemonset, self.auth_config],
        )
        self.outputs: Mapping[str, pulumi.Input[Any]] = {
            "vaultNamespace": self.namespace.metadata.name,
            "vaultAddress": self.address,
            "vaultAuthMount": self.auth.path,
        }
        self.register_outputs({"address": self.address})

    def grant(
        self, name: str, workload: WorkloadSpec, identity: IdentityBinding[VaultRole], opts: pulumi.ResourceOptions
    ) -> StoreBinding:
        store = ExternalVaultStore(name, self, workload, identity.reader, opts)
        parameters: dict[str, pulumi.Input[str]] = {
            "audience": configure.AUDIENCE,
            "vaultAddress": self.address,
            "vaultAuthMountPath": self.auth_mount,
            "objects": spc_objects(workload, self.kv_mount, self.root),
        }
        if self.ca_cert is not None:
            parameters["vaultCACertPath"] = csi_provider.CA_FILE
        return StoreBinding(
            parameters=parameters,
            mounted_files=[file for secret in workload.secrets for file in secret.files],
            ready=[store.role, *store.secrets],
            outputs={
                "vaultRole": identity.reader.name,
                "vaultPolicy": store.policy.name,
                "vaultSecretPaths": {
                    secret.name: configure.api_path(workload, secret, self.kv_mount, self.root)
                    for secret in workload.secrets
                },
            },
        )


class ExternalVaultStore(pulumi.ComponentResource):
    """A workload's secrets, its read policy and its role, in the Vault."""

    def __init__(
        self,
        name: str,
        server: ExternalVault,
        workload: WorkloadSpec,
        reader: VaultRole,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("secretstore-csi:vault:ExternalVaultStore", name, None, opts)
        # After the mount: when it is taken, nothing else is written.
        on_vault = pulumi.ResourceOptions(parent=self, provider=server.provider, depends_on=[server.auth])
        self.secrets = []
        for secret in workload.managed_secrets:
            values = secret_values(workload, secret, parent=self)
            self.secrets.append(
                vault.kv.SecretV2(
                    f"{workload.resource_name(secret)}-vault-secret",
                    mount=server.kv_mount,
                    name=configure.secret_path(workload, secret, server.root),
                    data_json=pulumi.Output.secret(pulumi.Output.all(values.value, values.parts).apply(_entry(secret))),
                    opts=on_vault,
                )
            )
        self.policy = vault.Policy(
            f"{name}-vault-policy",
            # Policy names are global in the Vault: the stack's id keeps two stacks apart.
            name=f"{configure.ROOT}-{server.stack_id}-{reader.name}",
            policy=configure.policy(workload, server.kv_mount, server.root),
            opts=on_vault,
        )
        self.role = vault.kubernetes.AuthBackendRole(
            f"{name}-vault-role",
            backend=server.auth.path,
            role_name=reader.name,
            bound_service_account_names=[reader.service_account],
            bound_service_account_namespaces=[reader.namespace],
            audience=configure.AUDIENCE,
            token_policies=[self.policy.name],
            token_ttl=ROLE_TOKEN_TTL,
            opts=pulumi.ResourceOptions.merge(on_vault, pulumi.ResourceOptions(depends_on=[server.auth_config])),
        )
        self.register_outputs({"role": self.role.role_name})

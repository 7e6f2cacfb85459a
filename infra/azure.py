"""Azure: an AKS cluster with an OIDC issuer, a Key Vault secret, and Entra workload identity.

An Entra application trusts, through a federated credential, tokens that the cluster's
issuer mints for exactly one service account. The vault's only access policy lets that
application's service principal `get` secrets, keys and certificates, nothing more.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pulumi
import pulumi_azure_native as azure_native
import pulumi_azuread as azuread
import pulumi_random as random
import yaml
from pulumi_azure_native import containerservice, keyvault

from infra import PREFIX, charts
from infra.config import StackConfig
from infra.store_secrets import secret_value
from infra.seam import Cloud, SecretStoreTarget

TOKEN_AUDIENCE = "api://AzureADTokenExchange"
READ_ONLY = ["get"]
# A generated vault name is this prefix and a random suffix: 12 + 8 characters, within the
# 24 that Key Vault allows. Pulumi's own autonaming would append to the whole logical name
# and can overflow it.
VAULT_NAME_PREFIX = "secretstore-"
VAULT_SUFFIX_LENGTH = 8


def key_vault_objects(objects: list[dict[str, str]]) -> str:
    """The SecretProviderClass `objects` parameter in the Azure provider's `array:` format.

    Each entry is itself a YAML document, written as a block string.
    """
    lines = ["array:"]
    for entry in objects:
        lines.append("  - |")
        lines += [f"    {line}" for line in yaml.safe_dump(entry, sort_keys=False).splitlines()]
    return "\n".join(lines) + "\n"


def dns_prefix(stack: str) -> str:
    """A DNS prefix for the cluster's API server: 1-54 letters, digits and hyphens."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", f"{PREFIX}-{stack}".lower()).strip("-")
    return cleaned[:54].rstrip("-")


def decode_kubeconfig(credentials: Any) -> str:
    return base64.b64decode(credentials.kubeconfigs[0].value).decode()


def build(config: StackConfig) -> Cloud:
    settings = config.azure
    assert settings is not None, "config.load() fills azure settings when cloud is azure"
    workload = config.workload
    subject = workload.subject
    client = azure_native.authorization.get_client_config_output()

    resource_group = azure_native.resources.ResourceGroup(f"{PREFIX}-rg")

    nodes = config.nodes
    cluster = containerservice.ManagedCluster(
        f"{PREFIX}-aks",
        resource_group_name=resource_group.name,
        dns_prefix=dns_prefix(pulumi.get_stack()),
        kubernetes_version=config.kubernetes_version,
        identity=containerservice.ManagedClusterIdentityArgs(
            type=containerservice.ResourceIdentityType.SYSTEM_ASSIGNED
        ),
        oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
        security_profile=containerservice.ManagedClusterSecurityProfileArgs(
            workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(
                enabled=True
            )
        ),
        network_profile=containerservice.ContainerServiceNetworkProfileArgs(
            network_plugin=containerservice.NetworkPlugin.AZURE,
            network_policy=containerservice.NetworkPolicy.CALICO,
        ),
        agent_pool_profiles=[
            containerservice.ManagedClusterAgentPoolProfileArgs(
                name="system",
                mode=containerservice.AgentPoolMode.SYSTEM,
                type=containerservice.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
                os_type=containerservice.OSType.LINUX,
                vm_size=nodes.machine_type,
                count=nodes.desired,
                enable_auto_scaling=True,
                min_count=nodes.minimum,
                max_count=nodes.maximum,
            )
        ],
        # The autoscaler owns the node count after creation; do not fight it on `pulumi up`.
        opts=pulumi.ResourceOptions(ignore_changes=["agentPoolProfiles[0].count"]),
    )
    issuer_url = cluster.oidc_issuer_profile.apply(lambda profile: profile.issuer_url)
    credentials = containerservice.list_managed_cluster_user_credentials_output(
        resource_group_name=resource_group.name, resource_name=cluster.name
    )
    kubeconfig = pulumi.Output.secret(credentials.apply(decode_kubeconfig))

    application = azuread.Application(
        f"{PREFIX}-app", display_name=f"secretstore-csi-{pulumi.get_stack()}"
    )
    service_principal = azuread.ServicePrincipal(
        f"{PREFIX}-sp", client_id=application.client_id
    )
    federated_credential = azuread.ApplicationFederatedIdentityCredential(
        f"{PREFIX}-federated-credential",
        application_id=application.id,
        display_name=f"kubernetes-{workload.namespace}-{workload.service_account}",
        description=f"Tokens of {subject} from the AKS cluster's OIDC issuer",
        issuer=issuer_url,
        subject=subject,
        audiences=[TOKEN_AUDIENCE],
    )

    if settings.vault_name:
        vault_name: pulumi.Input[str] = settings.vault_name
    else:
        suffix = random.RandomString(
            f"{PREFIX}-vault-suffix", length=VAULT_SUFFIX_LENGTH, upper=False, special=False
        )
        vault_name = pulumi.Output.concat(VAULT_NAME_PREFIX, suffix.result)
    vault = keyvault.Vault(
        f"{PREFIX}-vault",
        resource_group_name=resource_group.name,
        vault_name=vault_name,
        properties=keyvault.VaultPropertiesArgs(
            tenant_id=client.tenant_id,
            sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
            # Access policies, not Azure RBAC: with RBAC on, they would be ignored.
            enable_rbac_authorization=False,
            access_policies=[
                keyvault.AccessPolicyEntryArgs(
                    tenant_id=client.tenant_id,
                    object_id=service_principal.object_id,
                    permissions=keyvault.PermissionsArgs(
                        secrets=READ_ONLY, keys=READ_ONLY, certificates=READ_ONLY
                    ),
                )
            ],
            enable_soft_delete=True,
            soft_delete_retention_in_days=settings.soft_delete_retention_days,
            # Key Vault refuses `false` here: purge protection can only be left unset or on.
            enable_purge_protection=True if settings.purge_protection else None,
        ),
    )

    # The vault belongs to this stack and holds only these secrets, so the access policy's
    # `get` reaches exactly them.
    secrets = [
        keyvault.Secret(
            f"{PREFIX}-{spec.name}",
            resource_group_name=resource_group.name,
            vault_name=vault.name,
            secret_name=spec.name,
            # secret_value() is a secret Output, so the value is encrypted in the state.
            properties=keyvault.SecretPropertiesArgs(value=secret_value(spec)),
        )
        for spec in config.secrets
    ]

    target = SecretStoreTarget(
        kubeconfig=kubeconfig,
        provider="azure",
        provider_chart=charts.AZURE_PROVIDER,
        provider_chart_values={},
        token_audiences=(TOKEN_AUDIENCE,),
        parameters={
            "usePodIdentity": "false",
            "clientID": application.client_id,
            "keyvaultName": vault.name,
            "tenantID": client.tenant_id,
            # Key Vault has no JSON-key selection: each secret is mounted whole.
            "objects": key_vault_objects(
                [
                    {"objectName": spec.name, "objectType": "secret", "objectAlias": spec.name}
                    for spec in config.secrets
                ]
            ),
        },
        mounted_files=[spec.name for spec in config.secrets],
        identity_ready=[federated_credential, vault, *secrets],
    )
    outputs: dict[str, Any] = {
        "location": settings.location,
        "resourceGroupName": resource_group.name,
        "clusterName": cluster.name,
        "oidcIssuerUrl": issuer_url,
        "keyVaultName": vault.name,
        "keyVaultSecretName": secrets[0].name,
        "keyVaultSecretNames": [secret.name for secret in secrets],
        "clientId": application.client_id,
        "tenantId": client.tenant_id,
    }
    return Cloud(target=target, outputs=outputs)

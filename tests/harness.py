"""Runs the real __main__.py under Pulumi mocks and records what it would send.

The mocks answer like the clouds would (ARNs, names, an EKS issuer URL), record every
resource's inputs, parent and dependencies, and let the tests read the stack outputs once
every registration has finished.
"""

from __future__ import annotations

import base64
import json
import os
import runpy
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.proto import resource_pb2

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "secretstore-csi"
ACCOUNT = "123456789012"
POD_IDENTITY_AGENT_VERSION = "v1.3.10-eksbuild.1"
# The EKS issuer the mocks report. tests/conftest.py points it at a TLS server on 127.0.0.1
# for the whole session, so every run computes a real thumbprint.
ISSUER_URL = "https://127.0.0.1:9/unset"
TENANT = "3bb336c2-6605-4144-aa4b-b04b79bef215"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
AKS_ISSUER = f"https://westeurope.oic.prod-aks.azure.com/{TENANT}/9a11d52e-7fd4-4548-bf71-d57a648f06ab/"
# What a user of a gcp stack sets first (`pulumi config set gcp:project <id>`), and the number
# Google gives that project.
GCP_PROJECT = "secretstore-demo-4711"
GCP_PROJECT_NUMBER = "428190753511"
GKE_ENDPOINT = "34.118.81.12"
GKE_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode()
AKS_KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: secretstore-aks
  cluster:
    server: https://secretstore-azure-dev-abcd1234.hcp.westeurope.azmk8s.io:443
contexts:
- name: secretstore-aks
  context: {cluster: secretstore-aks, user: clusterUser}
current-context: secretstore-aks
users:
- name: clusterUser
  user: {token: mock-token}
"""


# What exists in the clouds before the program runs, as their data sources report it.

EXISTING_EKS = "platform-eks"
EXISTING_EKS_VERSION = "1.35"
EXISTING_EKS_ENDPOINT = "https://B2C5E1D0A6F3C9E8D7B4A1F2E3D4C5B6.gr7.eu-central-1.eks.amazonaws.com"
EXISTING_RESOURCE_GROUP = "platform-rg"
EXISTING_AKS = "platform-aks"
EXISTING_AKS_ISSUER = f"https://westeurope.oic.prod-aks.azure.com/{TENANT}/0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5/"
EXISTING_GKE = "platform-gke"

# The node-wide identity the AKS Key Vault add-on makes (azurekeyvaultsecretsprovider-<cluster>).
AKS_ADD_ON_IDENTITY = {
    "clientId": "ad0de7c1-0000-4000-8000-00000000a0a0",
    "objectId": "ad0de7c1-0000-4000-8000-0000000000b0",
    "resourceId": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/MC_rg/providers/Microsoft.ManagedIdentity/"
    "userAssignedIdentities/azurekeyvaultsecretsprovider-aks",
}

# What AKS returns for the users of a cluster with Entra ID integration, in the exec format
# (Azure/kubelogin docs/book/src/concepts/exec-plugin.md; the AKS server and client ids of
# concepts/aks.md).
AKS_EXEC_KUBECONFIG = f"""apiVersion: v1
kind: Config
clusters:
- name: {EXISTING_AKS}
  cluster:
    certificate-authority-data: {base64.b64encode(b"-----BEGIN CERTIFICATE-----").decode()}
    server: https://platform-aks-dns-0a1b2c3d.hcp.westeurope.azmk8s.io:443
contexts:
- name: {EXISTING_AKS}
  context: {{cluster: {EXISTING_AKS}, user: clusterUser_{EXISTING_RESOURCE_GROUP}_{EXISTING_AKS}}}
current-context: {EXISTING_AKS}
users:
- name: clusterUser_{EXISTING_RESOURCE_GROUP}_{EXISTING_AKS}
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubelogin
      args: [get-token, --environment, AzurePublicCloud, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630,
             --client-id, 80faf920-1908-4b52-b5ef-a8e7bedfc67a, --tenant-id, {TENANT}, --login, devicecode]
      installHint: kubelogin is not installed, see https://aka.ms/aks/kubelogin
"""


@dataclass
class ExistingEks:
    name: str = EXISTING_EKS
    region: str = "eu-central-1"
    pod_identity_agent: bool = True
    oidc_provider: bool = True
    """Whether IAM has an OIDC provider for its issuer."""
    tags: dict[str, str] = field(default_factory=dict)
    """The tags of the provider and the agent: an earlier run's of this stack, or none."""
    secrets_store_add_on: bool = False
    add_on_configuration: str = ""
    """The add-on's configuration values, JSON, as its owner set them."""


@dataclass
class ExistingAks:
    resource_group: str = EXISTING_RESOURCE_GROUP
    name: str = EXISTING_AKS
    oidc_issuer: bool = True
    workload_identity: bool = True
    driver_add_on: bool = False
    user_credentials: bool = True
    """Whether the caller may list the cluster's user credentials."""
    network_policy: str | None = "calico"


@dataclass
class ExistingGke:
    name: str = EXISTING_GKE
    location: str = "us-central1-a"
    workload_pool: bool = True
    autopilot: bool = False
    secret_manager_add_on: bool = False
    metadata_modes: tuple[str, ...] = ("GKE_METADATA",)
    """The workload metadata mode of each node pool."""


@dataclass
class ExistingKeyVault:
    name: str
    resource_group: str = "secrets-rg"
    rbac: bool = True


@dataclass
class World:
    """What the data sources find: an EKS, an AKS and a GKE cluster ready for every identity
    mode, and two vaults with Azure RBAC, unless a test takes something away."""

    eks: list[ExistingEks] = field(default_factory=lambda: [ExistingEks()])
    aks: list[ExistingAks] = field(default_factory=lambda: [ExistingAks()])
    gke: list[ExistingGke] = field(default_factory=lambda: [ExistingGke()])
    key_vaults: list[ExistingKeyVault] = field(
        default_factory=lambda: [ExistingKeyVault("team-kv"), ExistingKeyVault("reports-kv")]
    )


class ProviderError(Exception):
    """An error a provider returns for an invoke, such as a data source that finds nothing."""


def not_found(what: str) -> ProviderError:
    """The error a Terraform-based provider's data source gives for what is not there."""
    return ProviderError(f"reading {what}: couldn't find resource")


class InvokeFailed(grpc.RpcError):
    """What the engine answers an invoke its provider failed: a gRPC error whose details say
    `invocation of <token> returned an error: ...` (pkg/resource/deploy/source_eval.go)."""

    def __init__(self, token: str, error: ProviderError) -> None:
        super().__init__()
        self._details = f"invocation of {token} returned an error: {error}"

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNKNOWN

    def details(self) -> str:
        return self._details


@dataclass(frozen=True)
class OidcIssuer:
    url: str
    chain: Any
    """The tests.tls_server.Chain its server presents."""


@contextmanager
def loopback_issuer(directory: Path | None = None) -> Iterator[OidcIssuer]:
    """An EKS-like OIDC issuer on 127.0.0.1 with a real TLS chain, trusted through
    SSL_CERT_FILE as the system bundle, and reported by the mocks as every cluster's issuer."""
    global ISSUER_URL
    from tests.tls_server import issuer, make_chain

    with tempfile.TemporaryDirectory() as scratch:
        directory = directory or Path(scratch)
        chain = make_chain(directory)
        previous = os.environ.get("SSL_CERT_FILE")
        os.environ["SSL_CERT_FILE"] = str(chain.root_bundle)
        try:
            with issuer(directory, chain) as url:
                ISSUER_URL = url
                yield OidcIssuer(url=url, chain=chain)
        finally:
            if previous is None:
                os.environ.pop("SSL_CERT_FILE", None)
            else:
                os.environ["SSL_CERT_FILE"] = previous


@dataclass
class Registered:
    type: str
    name: str
    urn: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parent: str = ""
    provider: str = ""
    dependencies: list[str] = field(default_factory=list)
    ignore_changes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    """The URNs this resource may have had before, as the SDK resolves its aliases."""
    custom: bool = True
    """False for a component resource, which holds nothing in a cloud."""


@dataclass
class Export:
    value: Any
    secret: bool


@dataclass
class ProgramRun:
    resources: list[Registered]
    exports: dict[str, Export]
    error: BaseException | None = None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Every invoke the program made: its token and arguments."""
    program: dict[str, Any] = field(default_factory=dict)
    """The globals __main__.py left: the typed config (`stack`) and the bindings (`store`,
    `identity`) the Kubernetes layer was handed."""

    @property
    def stack(self) -> str:
        """The stack the program ran as, from its URNs."""
        return self.resources[0].urn.split("::")[0].removeprefix("urn:pulumi:")

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registered:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Registered:
        return next(r for r in self.resources if r.urn == urn)

    def depends_on(self, dependent: Registered, dependency: Registered) -> bool:
        return dependency.urn in dependent.dependencies

    def longest_chain(self, resources: list[Registered]) -> int:
        """How many of `resources` the longest chain of dependencies among them holds: what
        `pulumi up` must create one after the other."""
        urns = {r.urn: r for r in resources}
        lengths: dict[str, int] = {}

        def length(resource: Registered) -> int:
            if resource.urn not in lengths:
                before = [urns[u] for u in resource.dependencies if u in urns]
                lengths[resource.urn] = 1 + max((length(r) for r in before), default=0)
            return lengths[resource.urn]

        return max((length(r) for r in resources), default=0)

    def kubernetes_objects(self) -> list[dict[str, Any]]:
        """The manifests of every Kubernetes object the program registers (not Helm releases),
        as the API server gets them: values marked secret in place."""
        return [
            reveal(r.inputs)
            for r in self.resources
            if r.type.startswith("kubernetes:") and not r.type.startswith("kubernetes:helm.sh")
        ]

    def next_to_driver(self) -> list[dict[str, Any]]:
        """The Kubernetes objects the program itself makes next to the driver: in kube-system,
        and cluster roles (a store's provider that is not a chart)."""
        return [
            o
            for o in self.kubernetes_objects()
            if o["metadata"].get("namespace") == "kube-system" or o["kind"] in ("ClusterRole", "ClusterRoleBinding")
        ]

    def depends_on_transitively(self, dependent: Registered, dependency: Registered) -> bool:
        """Whether `dependent` is created after `dependency`, directly or through others."""
        seen, todo = set(), list(dependent.dependencies)
        while todo:
            urn = todo.pop()
            if urn == dependency.urn:
                return True
            if urn not in seen:
                seen.add(urn)
                todo += next((r.dependencies for r in self.resources if r.urn == urn), [])
        return False


RELEASE = "kubernetes:helm.sh/v3:Release"


def provider_install(run: ProgramRun) -> Registered:
    """What installs the store's CSI provider: the release of its chart, or, for a store
    whose provider is not a chart, the provider's DaemonSet that the store makes."""
    from secretstore_csi import registry

    chart = registry.STORES[run.exports["store"].value].chart
    if chart is not None:
        (release,) = [r for r in run.of_type(RELEASE) if r.inputs["chart"] == chart.name]
        return release
    (daemonset,) = [
        r for r in run.of_type("kubernetes:apps/v1:DaemonSet") if r.inputs["metadata"].get("namespace") == "kube-system"
    ]
    return daemonset


def reveal(value: Any) -> Any:
    """A recorded input with every value marked secret replaced by the value itself."""
    value, _ = unsecret(value)
    if isinstance(value, dict):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal(item) for item in value]
    return value


def unsecret(value: Any) -> tuple[Any, bool]:
    """A recorded input's plain value, and whether the program marked it secret."""
    if isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
        return value["value"], True
    return value, False


def _resource_reference(urn: str, id_: str) -> dict[str, Any]:
    return {rpc._special_sig_key: rpc._special_resource_sig, "urn": urn, "id": id_}


class CloudMocks(pulumi.runtime.Mocks):
    """Answers like the clouds would, from the inputs the program sent."""

    def __init__(self, region: str, issuer_url: str, world: World | None = None) -> None:
        self.region = region
        self.issuer_url = issuer_url
        self.world = world or World()
        self.monitor: RecordingMonitor | None = None
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        name = args.inputs.get("name") or f"{args.name}-1a2b3c4"
        handler = _OUTPUTS.get(args.typ)
        if handler:
            outputs.update(handler(self, args, name))
        if args.typ.startswith("kubernetes:") and isinstance(outputs.get("metadata"), dict):
            # The API server gives every object a uid, which ownerReferences name.
            outputs["metadata"] = {**outputs["metadata"], "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, args.name))}
        return outputs.pop("__id__", f"{args.name}-id"), outputs

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list]:
        self.calls.append((args.token, dict(args.args)))
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "tenantId": TENANT,
                "subscriptionId": SUBSCRIPTION,
                "clientId": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
                "objectId": "aaaaaaaa-0000-0000-0000-000000000001",
            }, []
        if args.token == "aws:eks/getAddonVersion:getAddonVersion":
            assert args.args["addonName"] == "eks-pod-identity-agent" and args.args["mostRecent"] is True
            return {**args.args, "id": args.args["addonName"], "version": POD_IDENTITY_AGENT_VERSION}, []
        if args.token == "azure-native:containerservice:listManagedClusterUserCredentials":
            assert args.args["resourceName"] and args.args["resourceGroupName"]
            if any(c.name == args.args["resourceName"] and not c.user_credentials for c in self.world.aks):
                raise ProviderError(
                    'Status=403 Code="AuthorizationFailed" Message="The client does not have authorization to '
                    "perform action 'Microsoft.ContainerService/managedClusters/listClusterUserCredential/action'\""
                )
            kubeconfig = AKS_EXEC_KUBECONFIG if args.args.get("format") == "exec" else AKS_KUBECONFIG
            return {
                "kubeconfigs": [{"name": "clusterUser", "value": base64.b64encode(kubeconfig.encode()).decode()}]
            }, []
        if args.token == "gcp:organizations/getProject:getProject":
            assert args.args["projectId"], "the project comes from config, not the provider's default"
            return {
                "projectId": args.args["projectId"],
                "number": GCP_PROJECT_NUMBER,
                "name": args.args["projectId"],
                "id": f"projects/{args.args['projectId']}",
            }, []
        existing = _EXISTING.get(args.token)
        if existing is not None:
            return existing(self, args.args), []
        raise NotImplementedError(f"the program invoked {args.token}, which the mocks do not answer")


def _existing_eks(mocks: CloudMocks, name: str, region: str) -> ExistingEks:
    found = [c for c in mocks.world.eks if c.name == name and c.region == region]
    if not found:
        raise not_found(f"EKS Cluster ({name})")
    return found[0]


def _get_eks_cluster(mocks: CloudMocks, args: dict[str, Any]) -> dict[str, Any]:
    cluster = _existing_eks(mocks, args["name"], args["region"])
    return {
        "id": cluster.name,
        "name": cluster.name,
        "arn": f"arn:aws:eks:{cluster.region}:{ACCOUNT}:cluster/{cluster.name}",
        "endpoint": EXISTING_EKS_ENDPOINT,
        "version": EXISTING_EKS_VERSION,
        "certificateAuthorities": [{"data": GKE_CA}],
        # The loopback issuer, so that a provider the stack creates gets a real thumbprint.
        "identities": [{"oidcs": [{"issuer": mocks.issuer_url}]}],
        "accessConfigs": [
            {"authenticationMode": "API_AND_CONFIG_MAP", "bootstrapClusterCreatorAdminPermissions": True}
        ],
        "status": "ACTIVE",
    }


def _get_eks_addon(mocks: CloudMocks, args: dict[str, Any]) -> dict[str, Any]:
    cluster = _existing_eks(mocks, args["clusterName"], args["region"])
    present = {
        "eks-pod-identity-agent": cluster.pod_identity_agent,
        "aws-secrets-store-csi-driver-provider": cluster.secrets_store_add_on,
    }
    if not present.get(args["addonName"]):
        raise not_found(f"EKS Add-On ({args['clusterName']}:{args['addonName']})")
    return {
        **args,
        "id": f"{cluster.name}:{args['addonName']}",
        "addonVersion": POD_IDENTITY_AGENT_VERSION,
        "arn": _arn("eks", f"addon/{cluster.name}/{args['addonName']}/1a2b", cluster.region),
        "tags": cluster.tags,
        "configurationValues": cluster.add_on_configuration,
    }


def _get_oidc_provider(mocks: CloudMocks, args: dict[str, Any]) -> dict[str, Any]:
    url = args["url"].removeprefix("https://")
    having = [c for c in mocks.world.eks if c.oidc_provider]
    if not having or url != mocks.issuer_url.removeprefix("https://"):
        raise not_found(f"IAM OIDC Provider ({args['url']})")
    arn = _arn("iam", f"oidc-provider/{url}")
    return {
        "id": arn,
        "arn": arn,
        "url": url,
        "clientIdLists": ["sts.amazonaws.com"],
        "thumbprintLists": [],
        "tags": having[0].tags,
    }


def _get_aks_cluster(mocks: CloudMocks, args: dict[str, Any]) -> dict[str, Any]:
    found = [
        c for c in mocks.world.aks if (c.resource_group, c.name) == (args["resourceGroupName"], args["resourceName"])
    ]
    if not found:
        raise ProviderError(
            f'Status=404 Code="ResourceNotFound" Message="The Resource \'Microsoft.ContainerService/managedClusters/'
            f"{args['resourceName']}' under resource group '{args['resourceGroupName']}' was not found.\""
        )
    cluster = found[0]
    return {
        "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{cluster.resource_group}/providers/"
        f"Microsoft.ContainerService/managedClusters/{cluster.name}",
        "name": cluster.name,
        "location": "westeurope",
        "kubernetesVersion": "1.33",
        "fqdn": "platform-aks-dns-0a1b2c3d.hcp.westeurope.azmk8s.io",
        "oidcIssuerProfile": {
            "enabled": cluster.oidc_issuer,
            "issuerURL": EXISTING_AKS_ISSUER if cluster.oidc_issuer else "",
        },
        "securityProfile": {"workloadIdentity": {"enabled": cluster.workload_identity}},
        "networkProfile": {
            "networkPlugin": "azure",
            **({"networkPolicy": cluster.network_policy} if cluster.network_policy else {}),
        },
        "aadProfile": {"managed": True, "enableAzureRBAC": True, "tenantID": TENANT},
        "addonProfiles": {"azureKeyvaultSecretsProvider": {"enabled": cluster.driver_add_on, "config": {}}},
    }


def _get_gke_cluster(mocks: CloudMocks, args: dict[str, Any]) -> dict[str, Any]:
    found = [c for c in mocks.world.gke if (c.name, c.location) == (args["name"], args["location"])]
    if not found or args["project"] != GCP_PROJECT:
        raise ProviderError(
            f"projects/{args['project']}/locations/{args['location']}/clusters/{args['name']} not found"
        )
    cluster = found[0]
    return {
        "id": f"projects/{GCP_PROJECT}/locations/{cluster.location}/clusters/{cluster.name}",
        "name": cluster.name,
        "location": cluster.location,
        "project": GCP_PROJECT,
        "endpoint": GKE_ENDPOINT,
        "masterAuths": [{"clusterCaCertificate": GKE_CA, "clientCertificate": "", "clientKey": ""}],
        "workloadIdentityConfigs": [{"workloadPool": f"{GCP_PROJECT}.svc.id.goog"}] if cluster.workload_pool else [],
        "enableAutopilot": cluster.autopilot,
        "secretManagerConfigs": [{"enabled": cluster.secret_manager_add_on, "rotationConfigs": []}],
        "nodePools": [
            {"name": f"pool-{index}", "nodeConfigs": [{"workloadMetadataConfigs": [{"mode": mode}]}]}
            for index, mode in enumerate(cluster.metadata_modes)
        ],
    }


def _get_key_vault(mocks: CloudMocks, args: dict[str, Any]) -> dict[str, Any]:
    found = [
        v
        for v in mocks.world.key_vaults
        if (v.resource_group, v.name) == (args["resourceGroupName"], args["vaultName"])
    ]
    if not found:
        raise ProviderError(
            f'Status=404 Code="ResourceNotFound" Message="The Resource \'Microsoft.KeyVault/vaults/'
            f"{args['vaultName']}' under resource group '{args['resourceGroupName']}' was not found.\""
        )
    vault = found[0]
    return {
        "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{vault.resource_group}/providers/Microsoft.KeyVault/"
        f"vaults/{vault.name}",
        "name": vault.name,
        "location": "westeurope",
        "properties": {
            "tenantId": TENANT,
            "sku": {"family": "A", "name": "standard"},
            "enableRbacAuthorization": vault.rbac,
            "vaultUri": f"https://{vault.name}.vault.azure.net/",
        },
    }


_EXISTING: dict[str, Callable[[CloudMocks, dict[str, Any]], dict[str, Any]]] = {
    "azure-native:keyvault:getVault": _get_key_vault,
    "azure-native:containerservice:getManagedCluster": _get_aks_cluster,
    "gcp:container/getCluster:getCluster": _get_gke_cluster,
    "aws:eks/getCluster:getCluster": _get_eks_cluster,
    "aws:eks/getAddon:getAddon": _get_eks_addon,
    "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider": _get_oidc_provider,
}


def _eks_cluster(mocks: CloudMocks, args: pulumi_mocks.MockResourceArgs, name: str) -> dict[str, Any]:
    assert mocks.monitor is not None
    cluster_name = f"{args.name}-eksCluster-5e6f7a8"
    urn = f"urn:pulumi:stack::{PROJECT}::eks:index:Cluster$aws:eks/cluster:Cluster::{args.name}-eksCluster"
    mocks.monitor.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(
        urn, cluster_name, {"name": cluster_name, "arn": f"arn:aws:eks:{mocks.region}:{ACCOUNT}:cluster/{cluster_name}"}
    )
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "kubernetes", "cluster": {"server": "https://EXAMPLE.gr7.eu-central-1.eks.amazonaws.com"}}
        ],
        "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
        "current-context": "aws",
        "users": [
            {
                "name": "aws",
                "user": {"exec": {"command": "aws", "args": ["eks", "get-token", "--cluster-name", cluster_name]}},
            }
        ],
    }
    return {
        "kubeconfig": kubeconfig,
        "kubeconfigJson": json.dumps(kubeconfig),
        "oidcProviderUrl": mocks.issuer_url,
        "oidcIssuer": mocks.issuer_url.removeprefix("https://"),
        "oidcProviderArn": "",
        "eksCluster": _resource_reference(urn, cluster_name),
    }


def _entra_id(name: str, recorded: str, kind: str) -> str:
    """An Entra id of its own for each application or identity. The stack's single workload's
    (named `secretstore-...`) keep the ids tests/fixtures/upgrade/ was recorded with."""
    if name.startswith("secretstore-"):
        return recorded
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}/{name}"))


def _arn(service: str, resource: str, region: str = "") -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


# The cluster's CA as the ConfigMap kube-root-ca.crt holds it, and a reviewer token as the
# API server puts it in a service-account-token Secret.
KUBE_ROOT_CA = f"-----BEGIN CERTIFICATE-----\n{base64.b64encode(b'kube-root-ca').decode()}\n-----END CERTIFICATE-----\n"
REVIEWER_JWT = (
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6dmF1bHQ6dmF1bHQtdG9rZW4tcmV2aWV3ZXIifQ.c2ln"
)


def _config_map(mocks: CloudMocks, args: pulumi_mocks.MockResourceArgs, name: str) -> dict[str, Any]:
    if args.resource_id == "kube-system/kube-root-ca.crt":
        return {"data": {"ca.crt": KUBE_ROOT_CA}}
    return {}


def _kubernetes_secret(mocks: CloudMocks, args: pulumi_mocks.MockResourceArgs, name: str) -> dict[str, Any]:
    if args.inputs.get("type") != "kubernetes.io/service-account-token":
        return {}
    return {
        "data": {
            "token": base64.b64encode(REVIEWER_JWT.encode()).decode(),
            "ca.crt": base64.b64encode(KUBE_ROOT_CA.encode()).decode(),
            "namespace": base64.b64encode(args.inputs["metadata"]["namespace"].encode()).decode(),
        }
    }


_OUTPUTS: dict[str, Callable[[CloudMocks, pulumi_mocks.MockResourceArgs, str], dict[str, Any]]] = {
    "eks:index:Cluster": _eks_cluster,
    "kubernetes:core/v1:ConfigMap": _config_map,
    "kubernetes:core/v1:Secret": _kubernetes_secret,
    "vault:index/authBackend:AuthBackend": lambda m, a, name: {"accessor": "auth_kubernetes_0a1b2c3d"},
    "vault:kv/secretV2:SecretV2": lambda m, a, name: {"path": f"{a.inputs['mount']}/data/{a.inputs['name']}"},
    "aws:secretsmanager/secret:Secret": lambda m, a, name: {
        "name": name,
        "arn": _arn("secretsmanager", f"secret:{name}-AbCdEf", m.region),
    },
    "aws:secretsmanager/secretVersion:SecretVersion": lambda m, a, name: {
        "secretArn": a.inputs["secretId"],
        "versionId": "11111111-2222-3333-4444-555555555555",
    },
    "aws:iam/role:Role": lambda m, a, name: {"name": name, "arn": _arn("iam", f"role/{name}")},
    "aws:iam/policy:Policy": lambda m, a, name: {"name": name, "arn": _arn("iam", f"policy/{name}")},
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda m, a, name: {
        "arn": _arn("iam", f"oidc-provider/{a.inputs['url'].removeprefix('https://')}"),
    },
    "random:index/randomPassword:RandomPassword": lambda m, a, name: {
        "result": "generated-" + "x" * (int(a.inputs["length"]) - 10),
    },
    "random:index/randomString:RandomString": lambda m, a, name: {
        "result": "k3x9q2mz"[: int(a.inputs["length"])].ljust(int(a.inputs["length"]), "7"),
    },
    "azure-native:resources:ResourceGroup": lambda m, a, name: {
        "name": f"{a.name}8c5bf9d2",
        "__id__": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{a.name}8c5bf9d2",
    },
    "azure-native:containerservice:ManagedCluster": lambda m, a, name: {
        "name": f"{a.name}1f2e3d4c",
        "oidcIssuerProfile": {"enabled": True, "issuerURL": AKS_ISSUER},
        **(
            {
                "addonProfiles": {
                    key: {**profile, "identity": AKS_ADD_ON_IDENTITY}
                    for key, profile in a.inputs["addonProfiles"].items()
                }
            }
            if a.inputs.get("addonProfiles")
            else {}
        ),
    },
    "azure-native:keyvault:Vault": lambda m, a, name: {
        "name": a.inputs["vaultName"],
        "properties": {**a.inputs["properties"], "vaultUri": f"https://{a.inputs['vaultName']}.vault.azure.net/"},
    },
    "azure-native:keyvault:Secret": lambda m, a, name: {
        "name": a.inputs["secretName"],
        "__id__": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{a.inputs['resourceGroupName']}/providers/"
        f"Microsoft.KeyVault/vaults/{a.inputs['vaultName']}/secrets/{a.inputs['secretName']}",
    },
    "azure-native:managedidentity:UserAssignedIdentity": lambda m, a, name: {
        "name": f"{a.name}4d5e6f7a",
        "clientId": _entra_id(a.name, "7e57c11e-0000-4000-8000-00000000c11d", "client"),
        "principalId": _entra_id(a.name, "7e57c11e-0000-4000-8000-0000000001d1", "principal"),
        "tenantId": TENANT,
    },
    "azure-native:managedidentity:FederatedIdentityCredential": lambda m, a, name: {
        "name": a.inputs["federatedIdentityCredentialResourceName"],
    },
    "azure-native:authorization:RoleAssignment": lambda m, a, name: {
        "name": "1f0e2d3c-4b5a-4697-8887-a6b5c4d3e2f1",
        "__id__": f"{a.inputs['scope']}/providers/Microsoft.Authorization/roleAssignments/{a.name}",
    },
    "gcp:projects/service:Service": lambda m, a, name: {"__id__": f"{a.inputs['project']}/{a.inputs['service']}"},
    "gcp:container/cluster:Cluster": lambda m, a, name: {
        "name": name,
        "endpoint": GKE_ENDPOINT,
        "masterAuth": {"clusterCaCertificate": GKE_CA, "clientCertificateConfig": {"issueClientCertificate": False}},
        "masterVersion": f"{a.inputs['minMasterVersion']}.4-gke.1200000",
        "__id__": f"projects/{a.inputs['project']}/locations/{a.inputs['location']}/clusters/{name}",
    },
    "gcp:container/nodePool:NodePool": lambda m, a, name: {"name": name},
    "gcp:secretmanager/secret:Secret": lambda m, a, name: {
        "name": f"projects/{GCP_PROJECT_NUMBER}/secrets/{a.inputs['secretId']}",
        "__id__": f"projects/{a.inputs['project']}/secrets/{a.inputs['secretId']}",
    },
    "gcp:secretmanager/secretVersion:SecretVersion": lambda m, a, name: {
        "name": f"{a.inputs['secret']}/versions/1",
        "version": "1",
        "__id__": f"{a.inputs['secret']}/versions/1",
    },
    "gcp:secretmanager/secretIamMember:SecretIamMember": lambda m, a, name: {
        "etag": "BwYx8Kq0Xk0=",
        "__id__": f"projects/{a.inputs['project']}/secrets/{a.inputs['secretId']}/{a.inputs['role']}/{a.inputs['member']}",
    },
    "aws:eks/addon:Addon": lambda m, a, name: {"arn": _arn("eks", f"addon/{a.inputs['addonName']}", m.region)},
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": lambda m, a, name: {
        "associationArn": _arn("eks", "podidentityassociation/a-1b2c3d4e5f6a7b8c9", m.region),
        "associationId": "a-1b2c3d4e5f6a7b8c9",
    },
    "azuread:index/application:Application": lambda m, a, name: {
        "clientId": _entra_id(a.name, "5f1c2a3b-1111-4222-8333-944455556666", "client"),
        "objectId": _entra_id(a.name, "0a1b2c3d-aaaa-4bbb-8ccc-ddddeeeeffff", "object"),
        "__id__": f"/applications/{_entra_id(a.name, '0a1b2c3d-aaaa-4bbb-8ccc-ddddeeeeffff', 'object')}",
    },
    "azuread:index/servicePrincipal:ServicePrincipal": lambda m, a, name: {
        "objectId": _entra_id(a.name, "9e8d7c6b-5555-4666-8777-988899990000", "object"),
    },
    "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential": lambda m, a, name: {
        "credentialId": "c0ffee00-1234-4567-89ab-cdef01234567",
    },
}


ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Also records each registration's parent, provider, dependencies and aliases.

    URNs are made as the engine makes them (`Deployment.generateURN` in pulumi/pulumi): the
    parent's whole qualified type, and nothing for the root stack. The stock mock monitor
    keeps only the last type of the chain and prefixes top-level resources with the stack's.
    It also says that it does not take alias specs, so the SDK sends every alias as the URN
    it resolves to, which the tests can compare.
    """

    def __init__(self, mocks: CloudMocks, alias_specs: bool = False) -> None:
        super().__init__(mocks)
        self.registered: list[Registered] = []
        self.alias_specs = alias_specs

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        if parent:
            qualified = parent.split("::")[2]
            if qualified != ROOT_STACK_TYPE:
                type_ = f"{qualified}${type_}"
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{type_}::{name}"

    def GetDeploymentInfo(self, request):  # noqa: N802 - gRPC method name
        info = super().GetDeploymentInfo(request)
        if self.alias_specs:
            return info
        features = [f for f in info.supportedFeatures if f != resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS]
        return resource_pb2.DeploymentInfo(supportedFeatures=features)

    def Invoke(self, request):  # noqa: N802 - gRPC method name
        try:
            return super().Invoke(request)
        except ProviderError as error:
            raise InvokeFailed(request.tok, error) from None

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            registration = self.resources[response.urn]
            self.registered.append(
                Registered(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    id=registration.id,
                    inputs=rpc.deserialize_properties(request.object),
                    outputs=registration.state,
                    parent=request.parent,
                    provider=request.provider,
                    dependencies=list(request.dependencies),
                    ignore_changes=list(request.ignoreChanges),
                    aliases=list(request.aliasURNs),
                    custom=request.custom,
                )
            )
        return response


def stack_config(stack: str) -> dict[str, str]:
    """A stack file's config, as the Pulumi CLI hands it to the program: every value a string."""
    data = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    config = {}
    for key, value in (data.get("config") or {}).items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            value = json.dumps(value)
        config[key] = str(value)
    return config


def stack_files() -> dict[str, dict[str, str]]:
    """Every stack file of the project, by stack name."""
    return {
        path.name[len("Pulumi.") : -len(".yaml")]: stack_config(path.name[len("Pulumi.") : -len(".yaml")])
        for path in sorted(ROOT.glob("Pulumi.*.yaml"))
    }


def stack_for(cloud: str) -> str:
    """The stack file whose cluster source is `cloud`; each registered one needs one."""
    stacks = [name for name, config in stack_files().items() if config.get(f"{PROJECT}:cloud") == cloud]
    assert stacks, f"no Pulumi.<stack>.yaml sets {PROJECT}:cloud: {cloud}; add one for the new cluster source"
    return stacks[0]


def foreign_keys(cloud: str, store: str, identity: str) -> list[str]:
    """The keys of a stack file that belong to another store or identity mode than these, which
    a user drops (`pulumi config rm`) when switching."""
    from secretstore_csi import registry

    entries = [
        *(e for e in registry.STORES.values() if e.name != store),
        *(e for e in registry.IDENTITIES.values() if e.name != identity),
    ]
    wanted = {*registry.STORES[store].settings().config_keys(), *registry.IDENTITIES[identity].settings().config_keys()}
    return [key for entry in entries for key in entry.settings().config_keys() if key not in wanted]


def run_combination(cloud: str, store: str, identity: str, **changes: Any) -> ProgramRun:
    """__main__.py with the stack file of `cloud`, `store` and `identity` set, and the keys of
    other stores and identity modes dropped."""
    from secretstore_csi import registry

    set_ = {f"{PROJECT}:store": store, f"{PROJECT}:identity": identity, **changes.pop("set_", {})}
    if store == "vault" and not registry.CLUSTERS[cloud].local:
        # Vault in dev mode on a cloud's cluster is asked for, as its user would.
        set_.setdefault(f"{PROJECT}:vaultDevMode", "true")
    remove = (*foreign_keys(cloud, store, identity), *changes.pop("remove", ()))
    return run_program(stack_for(cloud), set_=set_, remove=remove, **changes)


def run_program(stack: str, **changes: Any) -> ProgramRun:
    """Runs __main__.py with stack `stack`'s config, changed as attempt_program takes.

    Returns once every output has resolved and every registration has finished; raises
    what the program raised.
    """
    run = attempt_program(stack, **changes)
    if run.error is not None:
        raise run.error
    return run


def config_problems(stack: str, **changes: Any) -> list[str]:
    """The problems a bad config stops the program with; asserts nothing was registered."""
    from secretstore_csi.config import ConfigError

    run = attempt_program(stack, **changes)
    assert isinstance(run.error, ConfigError), run.error
    # A RunError is printed by Pulumi as its message alone, without a traceback.
    assert isinstance(run.error, pulumi.RunError)
    assert run.resources == [], "nothing may be registered on bad config"
    assert str(run.error).startswith(f"The stack configuration has {len(run.error.problems)} problem(s)")
    return run.error.problems


def attempt_program(
    stack: str,
    *,
    set_: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
    remove: tuple[str, ...] = (),
    alias_specs: bool = False,
    world: World | None = None,
) -> ProgramRun:
    """Runs __main__.py with stack `stack`'s config, changed by `set_`, `secrets` (set as
    `pulumi config set --secret` would) and `remove`, against the clouds of `world`; returns
    the program's error in `error` with what it registered."""
    config = stack_config(stack)
    config.update(set_ or {})
    config.update(secrets or {})
    if config.get(f"{PROJECT}:cloud") == "gcp":
        config.setdefault("gcp:project", GCP_PROJECT)
    for key in remove:
        config.pop(key, None)
    return run_under_mocks(ROOT / "__main__.py", PROJECT, stack, config, list(secrets or {}), alias_specs, world)


def run_under_mocks(
    main: Path,
    project: str,
    stack: str,
    config: dict[str, str],
    secret_keys: list[str] | None = None,
    alias_specs: bool = False,
    world: World | None = None,
) -> ProgramRun:
    """Runs the program `main` of `project` with `config` under the mocks; returns the
    program's error in `error` with what it registered. With `alias_specs` the monitor takes
    aliases as the engine does, as specs, and records none: the SDK then resolves no alias."""
    mocks = CloudMocks(region=config.get("aws:region", ""), issuer_url=ISSUER_URL, world=world)
    monitor = RecordingMonitor(mocks, alias_specs)
    mocks.monitor = monitor
    # set_mocks keeps the root stack resource of an earlier run, and with it that run's
    # exports; start each run with a stack of its own, as reset_options does.
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        mocks, project=project, stack=stack, preview=False, monitor=monitor, organization="organization"
    )
    pulumi.runtime.set_all_config(config, secret_keys or [])
    run = ProgramRun(resources=monitor.registered, exports={}, calls=mocks.calls)

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        run.program.update(runpy.run_path(str(main), run_name="__main__"))
        outputs = pulumi.runtime.get_root_resource().outputs

        def record(name: str, output: pulumi.Output[Any]) -> pulumi.Output[None]:
            return pulumi.Output.all(output, output.is_secret()).apply(
                lambda pair: run.exports.__setitem__(name, Export(value=pair[0], secret=pair[1]))
            )

        return pulumi.Output.all(*[record(name, pulumi.Output.from_input(value)) for name, value in outputs.items()])

    try:
        program()
    except Exception as error:
        run.error = error
    finally:
        pulumi.runtime.set_all_config({}, [])
    return run

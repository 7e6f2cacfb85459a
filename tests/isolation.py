"""Who can read what, read off a recorded program: for each workload's principal, the subjects
it trusts and the secrets it can read, and the secrets its SecretProviderClass names.

Each store and identity mode is read the way its cloud reads it: IAM trust and permission
policies, Entra federated credentials with Key Vault access policies or role assignments,
IAM members on Secret Manager secrets, and the roles and policies the Vault Job writes. A
secret is named the way its store names it (an ARN, a resource ID, a path).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from tests.harness import ProgramRun, Registered, reveal

WORKLOAD_TYPE = "secretstore-csi:index:Workload"
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"


@dataclass
class Access:
    """What one principal is trusted by and can read."""

    subjects: set[str] = field(default_factory=set)
    """The service accounts (`system:serviceaccount:<ns>:<sa>`) whose tokens it trusts."""
    readable: set[str] = field(default_factory=set)
    """The secrets it can read, as the store names them."""


def owner(run: ProgramRun, resource: Registered) -> str | None:
    """The workload a resource belongs to: the Workload component above it, if any."""
    registered = {r.urn: r for r in run.resources}
    parent = registered.get(resource.parent)
    while parent is not None:
        if parent.type == WORKLOAD_TYPE:
            return parent.name
        parent = registered.get(parent.parent)
    return None


def workloads(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return dict(run.exports["workloads"].value)


def _inputs(resource: Registered) -> dict[str, Any]:
    return dict(reveal(resource.inputs))


# Secrets Manager with IRSA or EKS Pod Identity


def _aws_secrets(run: ProgramRun) -> dict[str, str | None]:
    return {r.outputs["arn"]: owner(run, r) for r in run.of_type("aws:secretsmanager/secret:Secret")}


def _aws_access(run: ProgramRun, role_arn: str) -> Access:
    (role,) = [r for r in run.of_type("aws:iam/role:Role") if r.outputs["arn"] == role_arn]
    access = Access()
    for statement in json.loads(_inputs(role)["assumeRolePolicy"])["Statement"]:
        conditions = statement.get("Condition", {})
        assert set(conditions) <= {"StringEquals"}, conditions
        equals = conditions.get("StringEquals", {})
        subjects = [value for key, value in equals.items() if key.endswith(":sub")]
        namespace = equals.get("aws:RequestTag/kubernetes-namespace")
        account = equals.get("aws:RequestTag/kubernetes-service-account")
        if namespace or account:
            subjects.append(f"system:serviceaccount:{namespace}:{account}")
        assert subjects, f"{role.name} trusts anyone its principal lets in: {statement}"
        access.subjects.update(subjects)
    for association in run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation"):
        inputs = _inputs(association)
        if inputs["roleArn"] == role_arn:
            access.subjects.add(f"system:serviceaccount:{inputs['namespace']}:{inputs['serviceAccount']}")
    policies = {p.outputs["arn"]: p for p in run.of_type("aws:iam/policy:Policy")}
    for attachment in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        inputs = _inputs(attachment)
        if inputs["role"] != role.outputs["name"]:
            continue
        document = json.loads(_inputs(policies[inputs["policyArn"]])["policy"])
        for statement in document["Statement"]:
            resources = statement["Resource"]
            access.readable.update([resources] if isinstance(resources, str) else resources)
    return access


def _aws_spc(spec: dict[str, Any]) -> set[str]:
    return {entry["objectName"] for entry in yaml.safe_load(spec["parameters"]["objects"])}


# Key Vault with an Entra application or a managed identity: a secret is `<vault>/<name>`


_SECRET_SCOPE = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/"
    r"(?P<vault>[^/]+)/secrets/(?P<name>[^/]+)"
)


def _key_vault_secret(inputs: dict[str, Any]) -> str:
    return f"{inputs['vaultName']}/{inputs['secretName']}"


def _azure_secrets(run: ProgramRun) -> dict[str, str | None]:
    return {_key_vault_secret(_inputs(r)): owner(run, r) for r in run.of_type("azure-native:keyvault:Secret")}


def _secrets_in_vault(run: ProgramRun, vault_name: str) -> set[str]:
    return {
        _key_vault_secret(_inputs(r))
        for r in run.of_type("azure-native:keyvault:Secret")
        if _inputs(r)["vaultName"] == vault_name
    }


def _azure_readable(run: ProgramRun, object_id: str) -> set[str]:
    readable: set[str] = set()
    for vault in run.of_type("azure-native:keyvault:Vault"):
        for policy in _inputs(vault)["properties"].get("accessPolicies") or []:
            if policy["objectId"] == object_id and policy["permissions"].get("secrets"):
                readable |= _secrets_in_vault(run, vault.outputs["name"])
    for assignment in run.of_type("azure-native:authorization:RoleAssignment"):
        inputs = _inputs(assignment)
        if inputs["principalId"] == object_id:
            scope = _SECRET_SCOPE.fullmatch(inputs["scope"])
            # A scope wider than one secret is what it is: no workload owns it.
            readable.add(f"{scope['vault']}/{scope['name']}" if scope else inputs["scope"])
    return readable


def _application_access(run: ProgramRun, client_id: str) -> Access:
    (app,) = [r for r in run.of_type("azuread:index/application:Application") if r.outputs["clientId"] == client_id]
    (sp,) = [
        r for r in run.of_type("azuread:index/servicePrincipal:ServicePrincipal") if _inputs(r)["clientId"] == client_id
    ]
    credentials = [
        _inputs(r)
        for r in run.of_type(
            "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
        )
        if _inputs(r)["applicationId"] == app.id
    ]
    return Access({c["subject"] for c in credentials}, _azure_readable(run, sp.outputs["objectId"]))


def _managed_identity_access(run: ProgramRun, client_id: str) -> Access:
    (identity,) = [
        r
        for r in run.of_type("azure-native:managedidentity:UserAssignedIdentity")
        if r.outputs["clientId"] == client_id
    ]
    credentials = [
        _inputs(r)
        for r in run.of_type("azure-native:managedidentity:FederatedIdentityCredential")
        if _inputs(r)["resourceName"] == identity.outputs["name"]
    ]
    return Access({c["subject"] for c in credentials}, _azure_readable(run, identity.outputs["principalId"]))


def _identity_binding_access(run: ProgramRun, client_id: str) -> Access:
    """An identity bound to the cluster: whom RBAC lets use it (`use-managed-identity` on its
    client id), and what Key Vault grants it."""
    (identity,) = [
        r
        for r in run.of_type("azure-native:managedidentity:UserAssignedIdentity")
        if r.outputs["clientId"] == client_id
    ]
    roles = {
        _inputs(role)["metadata"]["name"]
        for role in run.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
        for rule in _inputs(role)["rules"]
        if "cid.wi.aks.azure.com" in rule["apiGroups"]
        and "use-managed-identity" in rule["verbs"]
        and (client_id in rule["resources"] or "*" in rule["resources"])
    }
    subjects = {
        f"system:serviceaccount:{subject['namespace']}:{subject['name']}"
        for binding in run.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
        if _inputs(binding)["roleRef"]["name"] in roles
        for subject in _inputs(binding)["subjects"]
    }
    return Access(subjects, _azure_readable(run, identity.outputs["principalId"]))


def _azure_spc(run: ProgramRun, spec: dict[str, Any]) -> set[str]:
    parameters = spec["parameters"]
    documents = yaml.safe_load(parameters["objects"])["array"]
    return {f"{parameters['keyvaultName']}/{yaml.safe_load(document)['objectName']}" for document in documents}


# Secret Manager with Workload Identity Federation for GKE

_PRINCIPAL = re.compile(
    r"principal://iam\.googleapis\.com/projects/[0-9]+/locations/global/workloadIdentityPools/"
    r"[a-z0-9.-]+/subject/ns/(?P<ns>[a-z0-9-]+)/sa/(?P<sa>[a-z0-9-]+)"
)


def _gcp_secrets(run: ProgramRun) -> dict[str, str | None]:
    return {r.id: owner(run, r) for r in run.of_type("gcp:secretmanager/secret:Secret")}


def _gcp_access(run: ProgramRun, member: str) -> Access:
    match = _PRINCIPAL.fullmatch(member)
    assert match, f"not the principal of one service account: {member}"
    access = Access({f"system:serviceaccount:{match['ns']}:{match['sa']}"})
    for grant in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember"):
        inputs = _inputs(grant)
        if inputs["member"] == member:
            access.readable.add(f"projects/{inputs['project']}/secrets/{inputs['secretId']}")
    return access


def _gcp_spc(spec: dict[str, Any]) -> set[str]:
    return {entry["resourceName"].rsplit("/versions/", 1)[0] for entry in yaml.safe_load(spec["parameters"]["secrets"])}


# Vault with its Kubernetes auth: what the configuration Jobs' scripts write


@dataclass
class _VaultState:
    paths: dict[str, str | None] = field(default_factory=dict)
    policies: dict[str, set[str]] = field(default_factory=dict)
    roles: dict[str, tuple[str, str, list[str]]] = field(default_factory=dict)


def _policy_paths(policy: str) -> set[str]:
    """Every path a policy grants; one it grants more than `read` on is named with what it grants,
    so that it matches no secret and shows up as reaching past its workload's."""
    paths = set()
    for path, capabilities in re.findall(r'path "([^"]+)" \{\s*capabilities = \[([^\]]*)\]\s*\}', policy):
        granted = [c.strip().strip('"') for c in capabilities.split(",") if c.strip()]
        paths.add(path if granted == ["read"] else f"{path} {granted}")
    assert len(paths) == policy.count("path "), f"a path block this reading does not understand: {policy}"
    return paths


def _vault_state(run: ProgramRun) -> _VaultState:
    state = _VaultState()
    for job in run.of_type("kubernetes:batch/v1:Job"):
        script = _inputs(job)["spec"]["template"]["spec"]["containers"][0]["command"][-1]
        lines = iter(script.splitlines())
        for line in lines:
            words = shlex.split(line.split("<")[0]) if line.startswith("vault ") else []
            if words[:3] == ["vault", "kv", "put"]:
                mount, path = words[3].split("/", 1)
                state.paths[f"{mount}/data/{path}"] = owner(run, job)
            elif words[:3] == ["vault", "policy", "write"]:
                body = []
                for body_line in lines:
                    if body_line == "POLICY":
                        break
                    body.append(body_line)
                state.policies[words[3]] = _policy_paths("\n".join(body))
            elif words[:2] == ["vault", "write"] and words[2].startswith("auth/kubernetes/role/"):
                settings = dict(word.split("=", 1) for word in words[3:])
                state.roles[words[2].rsplit("/", 1)[1]] = (
                    settings["bound_service_account_namespaces"],
                    settings["bound_service_account_names"],
                    settings["token_policies"].split(","),
                )
    # A Vault of your own: what pulumi-vault writes.
    for secret in run.of_type("vault:kv/secretV2:SecretV2"):
        inputs = _inputs(secret)
        state.paths[f"{inputs['mount']}/data/{inputs['name']}"] = owner(run, secret)
    for policy in run.of_type("vault:index/policy:Policy"):
        inputs = _inputs(policy)
        state.policies[inputs["name"]] = _policy_paths(inputs["policy"])
    for role in run.of_type("vault:kubernetes/authBackendRole:AuthBackendRole"):
        inputs = _inputs(role)
        state.roles[inputs["roleName"]] = (
            ",".join(inputs["boundServiceAccountNamespaces"]),
            ",".join(inputs["boundServiceAccountNames"]),
            list(inputs["tokenPolicies"]),
        )
    return state


def _vault_secrets(run: ProgramRun) -> dict[str, str | None]:
    return _vault_state(run).paths


def _vault_access(run: ProgramRun, role: str) -> Access:
    state = _vault_state(run)
    namespaces, names, policies = state.roles[role]
    subjects = {f"system:serviceaccount:{ns}:{sa}" for ns in namespaces.split(",") for sa in names.split(",")}
    return Access(subjects, {path for policy in policies for path in state.policies[policy]})


def _vault_spc(spec: dict[str, Any]) -> set[str]:
    return {entry["secretPath"] for entry in yaml.safe_load(spec["parameters"]["objects"])}


@dataclass(frozen=True)
class Reading:
    """How to read a store and an identity mode off a recorded program."""

    secrets: Callable[[ProgramRun], dict[str, str | None]]
    """Every secret in the store, by its name there, with the workload it belongs to."""
    access: Callable[[ProgramRun, str], Access]
    """What the principal named by the workload's output `principal_output` trusts and reads."""
    principal_output: str
    spc: Callable[[ProgramRun, dict[str, Any]], set[str]]
    """The secrets a SecretProviderClass spec names."""


READINGS: dict[tuple[str, str], Reading] = {
    ("secretsManager", "irsa"): Reading(_aws_secrets, _aws_access, "secretReaderRoleArn", lambda r, s: _aws_spc(s)),
    ("secretsManager", "podIdentity"): Reading(
        _aws_secrets, _aws_access, "secretReaderRoleArn", lambda r, s: _aws_spc(s)
    ),
    ("keyVault", "application"): Reading(_azure_secrets, _application_access, "clientId", _azure_spc),
    ("keyVault", "managedIdentity"): Reading(_azure_secrets, _managed_identity_access, "clientId", _azure_spc),
    ("keyVault", "identityBinding"): Reading(_azure_secrets, _identity_binding_access, "clientId", _azure_spc),
    ("secretManager", "workloadIdentity"): Reading(
        _gcp_secrets, _gcp_access, "workloadIdentityPrincipal", lambda r, s: _gcp_spc(s)
    ),
    ("vault", "kubernetesAuth"): Reading(_vault_secrets, _vault_access, "vaultRole", lambda r, s: _vault_spc(s)),
}


def isolation_problems(
    run: ProgramRun,
    combination: tuple[str, str] | None = None,
    outputs: dict[str, dict[str, Any]] | None = None,
    existing: dict[str, str] | None = None,
) -> list[str]:
    """Every way a workload's principal, or its SecretProviderClass, reaches past exactly its
    own secrets and its own service account. `combination` (store, identity) and `outputs` (by
    workload) default to the stack outputs of __main__.py; `existing` names the secrets the
    store held already, as it names them, with the workload each belongs to."""
    reading = READINGS[combination or (run.exports["store"].value, run.exports["identity"].value)]
    secrets = {**reading.secrets(run), **(existing or {})}
    problems = [f"secret {name} belongs to no workload" for name, workload in secrets.items() if workload is None]
    outputs = outputs if outputs is not None else workloads(run)
    principals = {name: out[reading.principal_output] for name, out in outputs.items()}
    if len(set(principals.values())) != len(principals):
        problems.append(f"two workloads share a principal: {principals}")
    spcs = {owner(run, r): r for r in run.of_type(SPC)}
    for name, out in outputs.items():
        own = {secret for secret, workload in secrets.items() if workload == name}
        subject = f"system:serviceaccount:{out['namespace']}:{out['serviceAccount']}"
        access = reading.access(run, principals[name])
        if access.subjects != {subject}:
            problems.append(f"{name}: its principal trusts {sorted(access.subjects)}, not exactly {subject}")
        if access.readable != own:
            problems.append(
                f"{name}: its principal reads {sorted(access.readable - own)} besides its own, and misses "
                f"{sorted(own - access.readable)}"
            )
        for other, other_principal in principals.items():
            if other != name and subject in reading.access(run, other_principal).subjects:
                problems.append(f"{name}: its service account is trusted by {other}'s principal too")
        named = reading.spc(run, _inputs(spcs[name])["spec"])
        if named != own:
            problems.append(f"{name}: its SecretProviderClass names {sorted(named)}, not exactly {sorted(own)}")
    return problems

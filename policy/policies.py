"""Least-privilege guardrails for programs that mount secrets through the Secrets Store CSI
driver, as CrossGuard policies: `POLICIES`, which __main__.py makes a pack of.

Each policy looks at one resource's inputs, under the property names the engine uses
(`assumeRolePolicy`, `spec`, ...), for the resource types of pulumi-aws, azure-native,
azuread, pulumi-gcp and pulumi-kubernetes. Every one is mandatory. A message names the
resource and says what to change; the CLI prints it after the policy's description.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pod_security
from pod_security import as_map, containers, maps
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
DNS_SUBDOMAIN = rf"(?=.{{1,253}}$){DNS_LABEL}(?:\.{DNS_LABEL})*"
KUBERNETES_SUBJECT = re.compile(rf"system:serviceaccount:({DNS_LABEL}):({DNS_SUBDOMAIN})")
WILDCARDS = ("*", "?")


# Reading inputs


def plain(value: Any) -> Any:
    """The analyzer's read-only proxies as dicts and lists; reading an unknown value raises,
    which makes the policy advisory for that preview."""
    if isinstance(value, Mapping):
        return {str(key): plain(value[key]) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [plain(item) for item in value]
    return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def has_wildcard(text: Any) -> bool:
    return isinstance(text, str) and any(mark in text for mark in WILDCARDS)


def json_document(value: Any) -> dict[str, Any] | None:
    """An IAM policy document: a JSON string, or the object some SDKs send."""
    value = plain(value)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]


def allows(statement: Mapping[str, Any]) -> bool:
    return str(statement.get("Effect", "")).lower() == "allow"


def resource(args: ResourceValidationArgs) -> str:
    return f"{args.resource_type} {args.name!r}"


def normalized(resource_type: str) -> str:
    """azure-native's versioned tokens (`azure-native:authorization/v20220401:RoleAssignment`)
    as its default ones."""
    return re.sub(r"^(azure-native:[a-z0-9]+)/v[0-9a-z]+:", r"\1:", resource_type)


Report = Callable[[str], None]
"""Reports one violation of the resource being validated."""
Validation = Callable[[ResourceValidationArgs, Report], None]


def for_types(types: Sequence[str], check: Validation) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    """Runs `check` on resources of `types`; the others are left alone."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if normalized(args.resource_type) in types:
            check(args, lambda message: report_violation(message, None))

    return validate


POLICY_TYPES: dict[str, tuple[str, ...]] = {}
"""The resource types each policy looks at, by its name."""


def policy(
    name: str, description: str, types: Sequence[str], check: Validation, config: PolicyConfigSchema | None = None
) -> ResourceValidationPolicy:
    POLICY_TYPES[name] = tuple(types)
    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=for_types(types, check),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=config,
    )


# 1. IAM read policies

IAM_POLICY_TYPES = (
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
ROLE = "aws:iam/role:Role"
SECRETS_MANAGER_ACTION = "secretsmanager:getsecretvalue"
# The Secrets Manager actions that take no resource: IAM accepts only "*" for them.
WITHOUT_RESOURCE = {
    "secretsmanager:listsecrets",
    "secretsmanager:getrandompassword",
    "secretsmanager:batchgetsecretvalue",
}
# The suffix Secrets Manager adds to every secret's name, matched as AWS documents it.
ARN_SUFFIX = "-??????"


def grants_secrets_manager(actions: list[Any]) -> bool:
    """Whether any of `actions` covers a Secrets Manager action: by name, or by a pattern such
    as `*` or `secrets*:*`."""
    return any(
        isinstance(action, str)
        and (
            action.lower().startswith("secretsmanager:") or fnmatch.fnmatchcase(SECRETS_MANAGER_ACTION, action.lower())
        )
        for action in actions
    )


def wildcard_problems(document: Mapping[str, Any]) -> list[str]:
    problems = []
    for index, statement in enumerate(statements(document)):
        if not allows(statement):
            continue
        if "NotAction" in statement:
            excluded = [str(a).lower() for a in as_list(statement["NotAction"])]
            if not {"*", "secretsmanager:*"} & set(excluded):
                problems.append(f"statement {index} allows everything but {statement['NotAction']!r} (NotAction)")
            continue
        actions = as_list(statement.get("Action"))
        if not grants_secrets_manager(actions):
            continue
        wild_actions = [a for a in actions if has_wildcard(a)]
        if wild_actions:
            problems.append(f"statement {index} allows the actions {wild_actions}")
        if "NotResource" in statement:
            problems.append(f"statement {index} allows every resource but {statement['NotResource']!r} (NotResource)")
        resources = as_list(statement.get("Resource"))
        if not wild_actions and {str(a).lower() for a in actions} <= WITHOUT_RESOURCE and resources == ["*"]:
            continue
        wild_resources = [
            r
            for r in resources
            if not isinstance(r, str) or has_wildcard(r.removesuffix(ARN_SUFFIX) if r.endswith(ARN_SUFFIX) else r)
        ]
        if wild_resources:
            problems.append(f"statement {index} allows the resources {wild_resources}")
    return problems


def _iam_read_policies(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type == ROLE:
        inline = plain(args.props.get("inlinePolicies"))
        documents = [
            (f"inline policy {p.get('name')!r}", p.get("policy")) for p in as_list(inline) if isinstance(p, dict)
        ]
    else:
        documents = [("its policy", args.props.get("policy"))]
    for where, value in documents:
        document = json_document(value)
        for problem in wildcard_problems(document) if document else []:
            report(
                f"{resource(args)}: {where}, {problem}. Name each Secrets Manager action "
                "(secretsmanager:GetSecretValue, secretsmanager:DescribeSecret) and each secret by its "
                "full ARN (or its name and -??????), without other '*' or '?'."
            )


# 2. IRSA trust and 3. Pod Identity trust

POD_IDENTITY = "pods.eks.amazonaws.com"
SESSION_TAGS = ("aws:RequestTag/kubernetes-namespace", "aws:RequestTag/kubernetes-service-account", "aws:SourceAccount")
CLUSTER_TAGS = ("aws:RequestTag/eks-cluster-arn", "aws:RequestTag/eks-cluster-name")


def _principals(statement: Mapping[str, Any], kind: str) -> list[Any]:
    return as_list(as_map(statement.get("Principal")).get(kind))


def _like_operators(condition: Mapping[str, Any]) -> list[str]:
    """The operators that match patterns (StringLike and its set forms); StringNotLike only
    narrows who may assume the role."""
    return [op for op in condition if "like" in op.lower() and "notlike" not in op.lower()]


def _string_equals(statement: Mapping[str, Any], index: int, problems: list[str]) -> dict[str, Any]:
    """The statement's StringEquals conditions; a pattern-matching operator is a problem."""
    condition = as_map(statement.get("Condition"))
    like = _like_operators(condition)
    if like:
        problems.append(f"statement {index} matches with {like}")
    return as_map(condition.get("StringEquals"))


def _one_value(value: Any) -> str | None:
    values = as_list(value)
    return values[0] if len(values) == 1 and isinstance(values[0], str) and not has_wildcard(values[0]) else None


def irsa_problems(document: Mapping[str, Any], other_issuers: Sequence[str] = ()) -> list[str]:
    problems: list[str] = []
    for index, statement in enumerate(statements(document)):
        issuers = [
            p.split(":oidc-provider/", 1)[1]
            for p in _principals(statement, "Federated")
            if isinstance(p, str) and ":oidc-provider/" in p
        ]
        if not allows(statement) or not issuers:
            continue
        if other_issuers and all(issuer.startswith(tuple(other_issuers)) for issuer in issuers):
            continue
        equals = _string_equals(statement, index, problems)
        sub = [key for key in equals if key.endswith(":sub")]
        aud = [key for key in equals if key.endswith(":aud")]
        if len(sub) != 1 or not KUBERNETES_SUBJECT.fullmatch(_one_value(equals[sub[0]]) or ""):
            shown = [equals[key] for key in sub]
            problems.append(
                f"statement {index} pins `:sub` to {shown or 'nothing'} with StringEquals, not to exactly one "
                "system:serviceaccount:<namespace>:<name>"
            )
        if len(aud) != 1 or _one_value(equals[aud[0]]) is None:
            problems.append(f"statement {index} does not pin `:aud` to one audience with StringEquals")
    return problems


def pod_identity_problems(document: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for index, statement in enumerate(statements(document)):
        if not allows(statement) or POD_IDENTITY not in _principals(statement, "Service"):
            continue
        equals = _string_equals(statement, index, problems)
        missing = [tag for tag in SESSION_TAGS if _one_value(equals.get(tag)) is None]
        if not any(_one_value(equals.get(tag)) is not None for tag in CLUSTER_TAGS):
            missing.append(" or ".join(CLUSTER_TAGS))
        if missing:
            problems.append(f"statement {index} does not pin {', '.join(missing)} to one value with StringEquals")
    return problems


def _trust(problems_of: Callable[[Mapping[str, Any], ResourceValidationArgs], list[str]], fix: str) -> Validation:
    def check(args: ResourceValidationArgs, report: Report) -> None:
        document = json_document(args.props.get("assumeRolePolicy"))
        for problem in problems_of(document, args) if document else []:
            report(f"{resource(args)}: its trust policy's {problem}. {fix}")

    return check


def _strings(value: Any) -> list[str]:
    return [str(item) for item in as_list(plain(value))]


# 4. Azure

KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SECRET_SCOPE = re.compile(r".*/providers/microsoft\.keyvault/vaults/[^/]+/secrets/[^/]+", re.IGNORECASE)
VAULT_SCOPE = re.compile(r".*/providers/microsoft\.keyvault/vaults/[^/]+", re.IGNORECASE)


def _secrets_user_scope(args: ResourceValidationArgs, report: Report) -> None:
    role = str(args.props.get("roleDefinitionId") or "")
    if not role.lower().rstrip("/").endswith(KEY_VAULT_SECRETS_USER):
        return
    scope = str(args.props.get("scope") or "")
    if SECRET_SCOPE.fullmatch(scope):
        return
    if args.get_config().get("allowVaultScope") and VAULT_SCOPE.fullmatch(scope):
        return
    report(
        f"{resource(args)}: Key Vault Secrets User is assigned on {scope!r}, which reaches every secret "
        "there. Assign it on each secret (scope .../providers/Microsoft.KeyVault/vaults/<vault>/secrets/<secret>)."
    )


FEDERATED_CREDENTIALS = (
    "azure-native:managedidentity:FederatedIdentityCredential",
    "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential",
)
FLEXIBLE_CREDENTIAL = (
    "azuread:index/applicationFlexibleFederatedIdentityCredential:ApplicationFlexibleFederatedIdentityCredential"
)


def _federated_subject(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type == FLEXIBLE_CREDENTIAL:
        report(
            f"{resource(args)}: a flexible federated credential matches subjects with an expression. Use a "
            "federated credential whose subject is exactly system:serviceaccount:<namespace>:<name>."
        )
        return
    subject = args.props.get("subject")
    others = _strings(args.get_config().get("otherSubjectPrefixes"))
    if isinstance(subject, str) and any(subject.startswith(prefix) for prefix in others):
        return
    if not isinstance(subject, str) or not KUBERNETES_SUBJECT.fullmatch(subject):
        report(
            f"{resource(args)}: its subject is {subject!r}. Set it to exactly "
            "system:serviceaccount:<namespace>:<name>, for the one service account to trust."
        )


# 5. GCP

ACCESSOR = "roles/secretmanager.secretAccessor"
# Roles that read secret values: the accessor role, and those holding every Secret Manager
# permission. A custom role, or another basic role, counts when the `readRoles` knob names it.
READ_ROLES = [ACCESSOR, "roles/secretmanager.admin", "roles/owner"]
READ_ROLES_KNOB = PolicyConfigSchema(
    {
        "readRoles": {
            "type": "array",
            "items": {"type": "string"},
            "default": READ_ROLES,
            "description": "The roles that read secret values.",
        }
    }
)
WIDE_IAM_MEMBERS = tuple(f"gcp:{level}/iAMMember:IAMMember" for level in ("projects", "folder", "organizations"))
WIDE_IAM_BINDINGS = tuple(f"gcp:{level}/iAMBinding:IAMBinding" for level in ("projects", "folder", "organizations"))
WIDE_IAM_POLICIES = tuple(f"gcp:{level}/iAMPolicy:IAMPolicy" for level in ("projects", "folder", "organizations"))
SECRET_IAM_MEMBERS = (
    "gcp:secretmanager/secretIamMember:SecretIamMember",
    "gcp:secretmanager/regionalSecretIamMember:RegionalSecretIamMember",
)
SECRET_IAM_BINDINGS = (
    "gcp:secretmanager/secretIamBinding:SecretIamBinding",
    "gcp:secretmanager/regionalSecretIamBinding:RegionalSecretIamBinding",
)
SECRET_IAM_POLICIES = (
    "gcp:secretmanager/secretIamPolicy:SecretIamPolicy",
    "gcp:secretmanager/regionalSecretIamPolicy:RegionalSecretIamPolicy",
)
WORKLOAD_PRINCIPAL = re.compile(
    r"principal://iam\.googleapis\.com/projects/[0-9]+/locations/global/workloadIdentityPools/[^/]+"
    rf"/subject/ns/{DNS_LABEL}/sa/{DNS_SUBDOMAIN}"
)
PUBLIC = ("allUsers", "allAuthenticatedUsers")


def _bindings(args: ResourceValidationArgs) -> list[tuple[str, list[Any]]]:
    """(role, members) of an IAM member, binding or policy resource."""
    props = args.props
    if "policyData" in props:
        document = json_document(props.get("policyData")) or {}
        return [
            (str(b.get("role")), as_list(b.get("members")))
            for b in as_list(document.get("bindings"))
            if isinstance(b, dict)
        ]
    members = plain(props.get("members")) if "members" in props else [props.get("member")]
    return [(str(props.get("role")), as_list(members))]


def _read_roles(args: ResourceValidationArgs) -> list[str]:
    configured = args.get_config().get("readRoles")
    return READ_ROLES if configured is None else _strings(configured)


def _no_wide_secret_access(args: ResourceValidationArgs, report: Report) -> None:
    level = args.resource_type.split(":")[1].split("/")[0]
    for role, members in _bindings(args):
        if role in _read_roles(args):
            report(
                f"{resource(args)}: grants {role} on the whole {level.rstrip('s')} to {members}, which "
                f"reaches every secret in it. Grant {ACCESSOR} on each secret (SecretIamMember) instead."
            )


def _one_workload_principal(args: ResourceValidationArgs, report: Report) -> None:
    for role, members in _bindings(args):
        for member in members:
            if member in PUBLIC:
                report(f"{resource(args)}: grants {role} to {member}. Remove it: a secret is never public.")
            elif role in _read_roles(args) and not (isinstance(member, str) and WORKLOAD_PRINCIPAL.fullmatch(member)):
                report(
                    f"{resource(args)}: grants {role} to {member!r}. Grant {ACCESSOR} to one Kubernetes service "
                    "account: principal://iam.googleapis.com/projects/<number>/locations/global/"
                    "workloadIdentityPools/<project>.svc.id.goog/subject/ns/<namespace>/sa/<name>."
                )


# 6. Pods that mount the CSI volume

CSI_DRIVER = "secrets-store.csi.k8s.io"
# The drivers whose volumes mount secrets: the open-source driver, which the EKS and AKS
# add-ons install too, and GKE's Secret Manager add-on's own.
CSI_DRIVERS = (CSI_DRIVER, "secrets-store-gke.csi.k8s.io")
POD_TEMPLATES: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
    value: Any = props
    for key in POD_TEMPLATES[resource_type]:
        value = value.get(key) if isinstance(value, Mapping) else None
    return plain(value) if isinstance(value, Mapping) else None


def csi_pod_problems(pod: Mapping[str, Any]) -> list[str]:
    volumes = [v for v in maps(pod.get("volumes")) if as_map(v.get("csi")).get("driver") in CSI_DRIVERS]
    if not volumes:
        return []
    problems = [
        f"volume {v.get('name')!r} is not readOnly: true" for v in volumes if v["csi"].get("readOnly") is not True
    ]
    names = {v.get("name") for v in volumes}
    for container in containers(dict(pod)):
        for mount in maps(container.get("volumeMounts")):
            if mount.get("name") in names and mount.get("readOnly") is not True:
                problems.append(f"container {container.get('name')!r} mounts {mount['name']!r} without readOnly: true")
    problems += [f"restricted profile: {v}" for v in pod_security.violations(dict(pod))]
    return problems


def _csi_pods(args: ResourceValidationArgs, report: Report) -> None:
    pod = pod_spec(args.resource_type, args.props)
    for problem in csi_pod_problems(pod) if pod else []:
        report(
            f"{resource(args)}: it mounts the Secrets Store CSI volume, and {problem}. Mount the volume "
            "read-only, and make the pod pass the restricted Pod Security Standard."
        )


# 7. SecretProviderClass

SECRET_PROVIDER_CLASSES = (
    "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass",
    "kubernetes:secrets-store.csi.x-k8s.io/v1alpha1:SecretProviderClass",
)


def _string_parameters(args: ResourceValidationArgs, report: Report) -> None:
    spec = args.props.get("spec")
    parameters = plain(spec.get("parameters")) if isinstance(spec, Mapping) else None
    if parameters is not None and not isinstance(parameters, dict):
        report(f"{resource(args)}: spec.parameters is {type(parameters).__name__}, not a map of strings.")
        return
    for key, value in (parameters or {}).items():
        if not isinstance(value, str):
            report(
                f"{resource(args)}: spec.parameters.{key} is {json.dumps(value)}, not a string. Quote it; "
                "for a list or an object, write its YAML as a string."
            )


# 8. Helm releases

# helm.sh/v3 Chart is left out: the Python SDK renders it in the program and registers it
# without its chart and version.
RELEASES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")
CHARTS = [
    "secrets-store-csi-driver",
    "secrets-store-csi-driver-provider-aws",
    "csi-secrets-store-provider-azure",
    "secrets-store-csi-driver-provider-gcp",
    "vault",
    "openbao",
]
EXACT_VERSION = re.compile(r"v?[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")


def _pinned_charts(args: ResourceValidationArgs, report: Report) -> None:
    chart = str(args.props.get("chart") or "")
    if chart.startswith((".", "/")) or chart.endswith(".tgz"):
        return  # a chart on disk is the version it is; helm ignores `version` for it
    name = chart.rstrip("/").rsplit("/", 1)[-1]
    configured = args.get_config().get("charts")
    if name not in (CHARTS if configured is None else _strings(configured)):
        return
    version = args.props.get("version")
    if not isinstance(version, str) or not EXACT_VERSION.fullmatch(version):
        report(
            f"{resource(args)}: chart {chart!r} has version {version!r}. Pin one exact version, such as 1.6.0, "
            "not a range or the newest."
        )


# 9. Who a principal trusts: never an account root, never `default`

ACCOUNT_ROOT = re.compile(r"(arn:aws[a-z-]*:iam::)?([0-9]{12})(:root)?")


def _root_trusts(args: ResourceValidationArgs, report: Report) -> None:
    document = json_document(args.props.get("assumeRolePolicy"))
    allowed = set(_strings(args.get_config().get("trustedAccounts")))
    for index, statement in enumerate(statements(document) if document else []):
        if not allows(statement):
            continue
        principal = statement.get("Principal")
        principals = ["*"] if principal == "*" else _principals(statement, "AWS")
        for value in principals:
            match = ACCOUNT_ROOT.fullmatch(str(value)) if value != "*" else None
            whole_account = value == "*" or (match is not None and (match[3] or not match[1]))
            if whole_account and (match is None or match[2] not in allowed):
                report(
                    f"{resource(args)}: statement {index} of its trust policy trusts {value!r}, so every principal of "
                    "that account (or any account) the account lets assume roles may. Trust the workload's "
                    "federation or EKS Pod Identity, or name the account in trustedAccounts."
                )


def _subjects(args: ResourceValidationArgs) -> list[tuple[str, str]]:
    """The (namespace, service account) pairs a resource trusts, by its type."""
    props = args.props
    pairs: list[tuple[str, str]] = []
    kind = normalized(args.resource_type)
    if kind == ROLE:
        document = json_document(props.get("assumeRolePolicy"))
        for statement in statements(document) if document else []:
            equals = as_map(as_map(statement.get("Condition")).get("StringEquals"))
            for key, value in equals.items():
                subject = KUBERNETES_SUBJECT.fullmatch(str(_one_value(value) or "")) if key.endswith(":sub") else None
                if subject:
                    pairs.append((subject[1], subject[2]))
            namespace = _one_value(equals.get("aws:RequestTag/kubernetes-namespace"))
            account = _one_value(equals.get("aws:RequestTag/kubernetes-service-account"))
            if namespace or account:
                pairs.append((namespace or "", account or ""))
    elif kind == POD_IDENTITY_ASSOCIATION:
        pairs.append((str(props.get("namespace")), str(props.get("serviceAccount"))))
    elif kind in FEDERATED_CREDENTIALS:
        subject = KUBERNETES_SUBJECT.fullmatch(str(props.get("subject") or ""))
        if subject:
            pairs.append((subject[1], subject[2]))
    else:
        for _, members in _bindings(args):
            for member in members:
                principal = GKE_PRINCIPAL.fullmatch(str(member))
                if principal:
                    pairs.append((principal[1], principal[2]))
    return pairs


POD_IDENTITY_ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
GKE_PRINCIPAL = re.compile(
    r"principal://iam\.googleapis\.com/projects/[0-9]+/locations/global/workloadIdentityPools/[^/]+"
    rf"/subject/ns/({DNS_LABEL})/sa/({DNS_SUBDOMAIN})"
)


def _no_default(args: ResourceValidationArgs, report: Report) -> None:
    for namespace, account in _subjects(args):
        if account == "default":
            report(
                f"{resource(args)}: it trusts the service account `default` of namespace {namespace!r}, which every "
                "pod there runs as unless it names another. Trust a service account of the workload's own."
            )
        elif namespace == "default" and not args.get_config().get("allowDefaultNamespace"):
            report(
                f"{resource(args)}: it trusts {account!r} in namespace `default`, which enforces no Pod Security "
                "level and which every stack and cluster has: on GKE the same pair is one principal for the whole "
                "project. Use a namespace of the stack's own, or set allowDefaultNamespace."
            )


# AWS-managed policies that read every secret: the reader role gets customer policies only.

AWS_MANAGED = re.compile(r"arn:aws[a-z-]*:iam::aws:policy/(?:.*/)?([^/]+)")
SECRET_READING_POLICIES = ["AdministratorAccess", "PowerUserAccess", "SecretsManagerReadWrite"]
ATTACHMENTS = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/policyAttachment:PolicyAttachment")


def _workload_trust(document: Mapping[str, Any] | None) -> bool:
    """Whether a trust policy is a workload's: a federation (IRSA) or EKS Pod Identity."""
    return any(
        _principals(statement, "Federated") or POD_IDENTITY in _principals(statement, "Service")
        for statement in (statements(document) if document else [])
    )


def _no_managed_readers(args: ResourceValidationArgs, report: Report) -> None:
    configured = args.get_config().get("secretReadingPolicies")
    readers = set(SECRET_READING_POLICIES if configured is None else _strings(configured))
    if args.resource_type == ROLE:
        arns = _strings(args.props.get("managedPolicyArns"))
        workload = _workload_trust(json_document(args.props.get("assumeRolePolicy")))
    else:
        arns, workload = [str(args.props.get("policyArn") or "")], False
    for arn in arns:
        managed = AWS_MANAGED.fullmatch(arn)
        if managed and (workload or managed[1] in readers):
            report(
                f"{resource(args)}: attaches the AWS-managed policy {arn!r}, which reaches far more than a workload's "
                "own secrets. Grant the secrets by ARN in a policy of your own."
            )


# 10. Key Vault: what reads secrets besides one secret's Secrets User

KEY_VAULT_SECRET_READERS = {
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
}
VAULTS = ("azure-native:keyvault:Vault",)
ACCESS_POLICIES = ("azure-native:keyvault:AccessPolicy",)


def _key_vault_readers(args: ResourceValidationArgs, report: Report) -> None:
    if normalized(args.resource_type) == "azure-native:authorization:RoleAssignment":
        role = str(args.props.get("roleDefinitionId") or "").lower().rstrip("/").rsplit("/", 1)[-1]
        configured = args.get_config().get("readerRoles")
        readers = KEY_VAULT_SECRET_READERS if configured is None else {r.lower(): r for r in _strings(configured)}
        if role in readers:
            report(
                f"{resource(args)}: assigns {readers[role]}, which reads (and more) every secret of its scope. "
                "Assign Key Vault Secrets User on each secret instead."
            )
        return
    props = as_map(plain(args.props.get("properties")))
    entries = maps(props.get("accessPolicies")) if props else [as_map(plain(args.props.get("policy")))]
    for entry in entries:
        permissions = as_map(entry.get("permissions"))
        extra = {kind: value for kind, value in permissions.items() if kind != "secrets" and as_list(value)}
        secrets = [str(p).lower() for p in as_list(permissions.get("secrets"))]
        if extra or set(secrets) - {"get"}:
            shown = {key: value for key, value in permissions.items() if as_list(value)}
            report(
                f"{resource(args)}: an access policy for {entry.get('objectId')!r} grants {shown}. A workload's "
                "principal needs secrets `get` and nothing else: the provider reads each secret by name."
            )


# 11. Federated credentials: an AKS cluster's issuer, Entra's audience

AKS_ISSUER = re.compile(r"https://[a-z0-9]+\.oic\.prod-aks\.azure\.com/[0-9a-f-]{36}/[0-9a-f-]{36}/")
ENTRA_AUDIENCE = "api://AzureADTokenExchange"


def _issuer_and_audience(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type == FLEXIBLE_CREDENTIAL:
        return  # the subject rule reports it
    subject = str(args.props.get("subject") or "")
    if any(subject.startswith(prefix) for prefix in _strings(args.get_config().get("otherSubjectPrefixes"))):
        return
    issuer = args.props.get("issuer")
    issuers = _strings(args.get_config().get("issuers"))
    if not isinstance(issuer, str) or not (AKS_ISSUER.fullmatch(issuer) or issuer in issuers):
        report(
            f"{resource(args)}: its issuer is {issuer!r}, not an AKS cluster's OIDC issuer "
            "(https://<region>.oic.prod-aks.azure.com/<tenant>/<id>/). Trust the cluster's issuer, or name the "
            "issuer in issuers."
        )
    audiences = _strings(args.props.get("audiences"))
    if audiences != [ENTRA_AUDIENCE]:
        report(f"{resource(args)}: its audiences are {audiences}, not exactly [{ENTRA_AUDIENCE!r}].")


# 12. Vault in dev mode

VAULT_CHARTS = ("vault", "openbao")


def _no_dev_mode(args: ResourceValidationArgs, report: Report) -> None:
    chart = str(args.props.get("chart") or "").rstrip("/").rsplit("/", 1)[-1]
    if chart not in VAULT_CHARTS or args.get_config().get("allowDevMode"):
        return
    values = as_map(plain(args.props.get("values")))
    if as_map(as_map(as_map(values.get("server")).get("dev"))).get("enabled") is True:
        report(
            f"{resource(args)}: runs {chart} in dev mode: in memory, over HTTP, unsealed, with a root token that "
            "never expires. Use a Vault of your own, or set allowDevMode for a cluster you try things on."
        )


# 13. RBAC that creates tokens

RBAC_ROLES = ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "kubernetes:rbac.authorization.k8s.io/v1:Role")


def _creates_tokens(rule: Mapping[str, Any]) -> bool:
    resources = [str(r) for r in as_list(rule.get("resources"))]
    verbs = [str(v) for v in as_list(rule.get("verbs"))]
    groups = [str(g) for g in as_list(rule.get("apiGroups"))]
    return (
        bool({"", "*"} & set(groups))
        and bool({"serviceaccounts/token", "*", "serviceaccounts/*"} & set(resources))
        and bool({"create", "*"} & set(verbs))
    )


def _no_token_creators(args: ResourceValidationArgs, report: Report) -> None:
    name = as_map(plain(args.props.get("metadata"))).get("name")
    if name in _strings(args.get_config().get("allowedRoles")):
        return
    rules = maps(plain(args.props.get("rules")))
    if any(_creates_tokens(rule) for rule in rules):
        scope = "any service account " + ("of the cluster" if "ClusterRole" in args.resource_type else "here")
        report(
            f"{resource(args)}: lets its subjects create tokens for {scope}, and so act as them. The Secrets Store "
            "CSI driver passes providers the pod's token (tokenRequests); name the role in allowedRoles if it must."
        )


# 14. Images by digest

# The project's images that no public source gives a digest for: the article's demo, and
# the Vault CSI provider. Pin them, then drop them from the knob.
UNPINNED_BY_NEED = ["ghcr.io/dirien/hello-server/hello-server:latest", "hashicorp/vault-csi-provider:1.7.4"]
DIGEST = re.compile(r".+@sha256:[0-9a-f]{64}")


def _pinned_images(args: ResourceValidationArgs, report: Report) -> None:
    pod = pod_spec(args.resource_type, args.props)
    configured = args.get_config().get("allowedImages")
    allowed = set(UNPINNED_BY_NEED if configured is None else _strings(configured))
    for container in containers(pod) if pod else []:
        image = container.get("image")
        if not (isinstance(image, str) and (DIGEST.fullmatch(image) or image in allowed)):
            report(
                f"{resource(args)}: container {container.get('name')!r} runs {image!r}, which a node resolves when it "
                "pulls it. Pin it by digest (image:tag@sha256:...), or name it in allowedImages."
            )


# 15. Namespaces at the restricted level

NAMESPACE = "kubernetes:core/v1:Namespace"
ENFORCE = "pod-security.kubernetes.io/enforce"


def _restricted_namespaces(args: ResourceValidationArgs, report: Report) -> None:
    metadata = as_map(plain(args.props.get("metadata")))
    configured = args.get_config().get("exemptNamespaces")
    exempt = set(["vault"] if configured is None else _strings(configured))
    if args.resource_type == NAMESPACE:
        level = as_map(metadata.get("labels")).get(ENFORCE)
        if level != "restricted" and metadata.get("name") not in exempt:
            report(
                f"{resource(args)}: namespace {metadata.get('name')!r} enforces {level or 'no'} Pod Security level. "
                f"Label it {ENFORCE}=restricted, or name it in exemptNamespaces."
            )
        return
    pod = pod_spec(args.resource_type, args.props)
    mounts = pod and any(as_map(v.get("csi")).get("driver") in CSI_DRIVERS for v in maps(pod.get("volumes")))
    if mounts and metadata.get("namespace") in (None, "", "default") and "default" not in exempt:
        report(
            f"{resource(args)}: it mounts the Secrets Store CSI volume in namespace `default`, which enforces no "
            "Pod Security level. Run it in a namespace of its own labelled restricted."
        )


# 16. A Vault of your own: roles and policies written through pulumi-vault

VAULT_ROLES = ("vault:kubernetes/authBackendRole:AuthBackendRole",)
VAULT_POLICIES = ("vault:index/policy:Policy",)
VAULT_GLOBS = ("*", "+")
_HCL_PATH = re.compile(r'path\s+"([^"]*)"\s*\{')


def _vault_role(args: ResourceValidationArgs, report: Report) -> None:
    names = [str(n) for n in as_list(plain(args.props.get("boundServiceAccountNames")))]
    namespaces = [str(n) for n in as_list(plain(args.props.get("boundServiceAccountNamespaces")))]
    problems = []
    if len(names) != 1 or has_wildcard(names[0]) or names[0] == "default":
        problems.append(f"binds the service accounts {names}")
    if len(namespaces) != 1 or has_wildcard(namespaces[0]):
        problems.append(f"binds the namespaces {namespaces}")
    if args.props.get("boundServiceAccountNamespaceSelector"):
        problems.append("selects namespaces by label")
    if not args.props.get("audience"):
        problems.append("checks no audience")
    if problems:
        report(
            f"{resource(args)}: {', '.join(problems)}. Bind exactly one service account (not `default`) in one "
            "namespace, and the audience the SecretProviderClass asks for."
        )


def _vault_policy(args: ResourceValidationArgs, report: Report) -> None:
    name = args.props.get("name")
    if name in _strings(args.get_config().get("allowedPolicies")):
        return
    globbed = [
        path
        for path in _HCL_PATH.findall(str(plain(args.props.get("policy")) or ""))
        if any(mark in path for mark in VAULT_GLOBS)
    ]
    if globbed:
        report(
            f"{resource(args)}: grants {', '.join(repr(p) for p in globbed)}, which reach every path they match, "
            "also those written later. Name each secret's path, or name the policy in allowedPolicies."
        )


# 17. AKS identity binding: who may use an identity

IDENTITY_BINDING_GROUP = "cid.wi.aks.azure.com"
CLUSTER_ROLES = ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",)


def _identity_use(args: ResourceValidationArgs, report: Report) -> None:
    for rule in maps(plain(args.props.get("rules"))):
        groups = [str(g) for g in as_list(rule.get("apiGroups"))]
        if IDENTITY_BINDING_GROUP not in groups and "*" not in groups:
            continue
        resources = [str(r) for r in as_list(rule.get("resources"))]
        verbs = [str(v) for v in as_list(rule.get("verbs"))]
        if "use-managed-identity" not in verbs and "*" not in verbs:
            continue
        if len(resources) != 1 or has_wildcard(resources[0]):
            report(
                f"{resource(args)}: lets its subjects use the managed identities {resources} bound to the cluster. "
                "Name exactly one identity's client ID."
            )


POLICIES: list[Policy] = [
    policy(
        "secrets-manager-read-without-wildcards",
        "An IAM policy that grants Secrets Manager actions names each action and each secret: no wildcard.",
        (*IAM_POLICY_TYPES, ROLE),
        _iam_read_policies,
    ),
    policy(
        "irsa-trust-pins-one-service-account",
        "A role trusted through an OIDC provider pins :sub to one service account and :aud, with StringEquals.",
        (ROLE,),
        _trust(
            lambda document, args: irsa_problems(document, _strings(args.get_config().get("otherIssuers"))),
            "Use StringEquals with <issuer>:sub = system:serviceaccount:<namespace>:<name> and "
            "<issuer>:aud = sts.amazonaws.com, without wildcards or StringLike.",
        ),
        PolicyConfigSchema(
            {
                "otherIssuers": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": "OIDC issuers (host and path, as in the provider's ARN) of other federations to "
                    "leave alone, such as token.actions.githubusercontent.com.",
                }
            }
        ),
    ),
    policy(
        "pod-identity-trust-pins-session-tags",
        "A role trusted by EKS Pod Identity pins the namespace, the service account, the cluster and its account.",
        (ROLE,),
        _trust(
            lambda document, args: pod_identity_problems(document),
            "Add StringEquals on aws:RequestTag/kubernetes-namespace, "
            "aws:RequestTag/kubernetes-service-account, aws:RequestTag/eks-cluster-arn and aws:SourceAccount, "
            "one value each.",
        ),
    ),
    policy(
        "key-vault-secrets-user-per-secret",
        "Key Vault Secrets User is assigned on single secrets.",
        ("azure-native:authorization:RoleAssignment",),
        _secrets_user_scope,
        PolicyConfigSchema(
            {
                "allowVaultScope": {
                    "type": "boolean",
                    "default": False,
                    "description": "Also allow the assignment on a whole vault.",
                }
            }
        ),
    ),
    policy(
        "federated-credential-one-service-account",
        "A federated credential trusts exactly one Kubernetes service account.",
        (*FEDERATED_CREDENTIALS, FLEXIBLE_CREDENTIAL),
        _federated_subject,
        PolicyConfigSchema(
            {
                "otherSubjectPrefixes": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": "Subject prefixes of other federations to leave alone, such as repo: for "
                    "GitHub Actions.",
                }
            }
        ),
    ),
    policy(
        "no-project-wide-secret-access",
        "No role that reads secret values is granted on a project, folder or organization.",
        (*WIDE_IAM_MEMBERS, *WIDE_IAM_BINDINGS, *WIDE_IAM_POLICIES),
        _no_wide_secret_access,
        READ_ROLES_KNOB,
    ),
    policy(
        "secret-access-for-one-workload-principal",
        "Only single Workload Identity principals may read a secret, and no secret is public.",
        (*SECRET_IAM_MEMBERS, *SECRET_IAM_BINDINGS, *SECRET_IAM_POLICIES),
        _one_workload_principal,
        READ_ROLES_KNOB,
    ),
    policy(
        "csi-pods-read-only-and-restricted",
        "A pod that mounts the Secrets Store CSI volume mounts it read-only and passes the restricted profile.",
        tuple(POD_TEMPLATES),
        _csi_pods,
    ),
    policy(
        "secret-provider-class-parameters-are-strings",
        "Every parameter of a SecretProviderClass is a string.",
        SECRET_PROVIDER_CLASSES,
        _string_parameters,
    ),
    policy(
        "secrets-store-charts-pinned",
        "The driver's and the providers' Helm charts are pinned to one exact version.",
        RELEASES,
        _pinned_charts,
        PolicyConfigSchema(
            {
                "charts": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": CHARTS,
                    "description": "The chart names to hold to an exact version.",
                }
            }
        ),
    ),
    policy(
        "no-aws-managed-policy-reads-secrets",
        "No AWS-managed policy that reads secrets is attached, and a workload's role gets none at all.",
        (ROLE, *ATTACHMENTS),
        _no_managed_readers,
        PolicyConfigSchema(
            {
                "secretReadingPolicies": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": SECRET_READING_POLICIES,
                    "description": "AWS-managed policy names that read secrets, wherever they are attached.",
                }
            }
        ),
    ),
    policy(
        "no-trust-in-a-whole-account",
        "A role's trust names no account root and no `*`: only a federation or a service.",
        (ROLE,),
        _root_trusts,
        PolicyConfigSchema(
            {
                "trustedAccounts": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": "Account IDs whose root a role may trust on purpose.",
                }
            }
        ),
    ),
    policy(
        "no-principal-for-default",
        "No principal trusts the service account `default`, or a service account in namespace `default`.",
        (
            ROLE,
            POD_IDENTITY_ASSOCIATION,
            *FEDERATED_CREDENTIALS,
            *SECRET_IAM_MEMBERS,
            *SECRET_IAM_BINDINGS,
            *SECRET_IAM_POLICIES,
        ),
        _no_default,
        PolicyConfigSchema(
            {
                "allowDefaultNamespace": {
                    "type": "boolean",
                    "default": False,
                    "description": "Allow service accounts (other than `default`) in namespace "
                    "`default`, as a stack deployed with that namespace keeps.",
                }
            }
        ),
    ),
    policy(
        "key-vault-reads-secrets-only",
        "No access policy grants more than secrets `get`, and no role that reads every secret is assigned.",
        (*VAULTS, *ACCESS_POLICIES, "azure-native:authorization:RoleAssignment"),
        _key_vault_readers,
        PolicyConfigSchema(
            {
                "readerRoles": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": sorted(KEY_VAULT_SECRET_READERS),
                    "description": "Role definition IDs that read every secret of their scope.",
                }
            }
        ),
    ),
    policy(
        "federated-credential-aks-issuer-and-audience",
        "A federated credential trusts an AKS cluster's OIDC issuer, for Entra's token exchange audience only.",
        FEDERATED_CREDENTIALS,
        _issuer_and_audience,
        PolicyConfigSchema(
            {
                "issuers": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": "Other issuers to trust on purpose, such as a self-managed cluster's.",
                },
                "otherSubjectPrefixes": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": "Subject prefixes of other federations to leave alone.",
                },
            }
        ),
    ),
    policy(
        "no-vault-dev-mode",
        "Vault (or OpenBao) is not installed in dev mode.",
        RELEASES,
        _no_dev_mode,
        PolicyConfigSchema(
            {
                "allowDevMode": {
                    "type": "boolean",
                    "default": False,
                    "description": "Allow dev mode, on a cluster you only try things on (kind).",
                }
            }
        ),
    ),
    policy(
        "no-token-creating-rbac",
        "No Role or ClusterRole lets its subjects create service account tokens.",
        RBAC_ROLES,
        _no_token_creators,
        PolicyConfigSchema(
            {
                "allowedRoles": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": "Role names that may create tokens on purpose.",
                }
            }
        ),
    ),
    policy(
        "images-pinned-by-digest",
        "Every container image is pinned by digest.",
        tuple(POD_TEMPLATES),
        _pinned_images,
        PolicyConfigSchema(
            {
                "allowedImages": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": UNPINNED_BY_NEED,
                    "description": "Images allowed without a digest, exactly as written.",
                }
            }
        ),
    ),
    policy(
        "namespaces-restricted",
        "Namespaces enforce the restricted Pod Security level, and no pod mounts secrets in `default`.",
        (NAMESPACE, *POD_TEMPLATES),
        _restricted_namespaces,
        PolicyConfigSchema(
            {
                "exemptNamespaces": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": ["vault"],
                    "description": "Namespaces that need a lower level, such as Vault's, whose CSI "
                    "provider mounts a host directory.",
                }
            }
        ),
    ),
    policy(
        "identity-binding-role-one-identity",
        "A ClusterRole that lets its subjects use AKS managed identities (identity binding) names exactly one.",
        CLUSTER_ROLES,
        _identity_use,
    ),
    policy(
        "vault-role-one-service-account",
        "A Vault Kubernetes auth role binds exactly one service account in one namespace, and checks the audience.",
        VAULT_ROLES,
        _vault_role,
    ),
    policy(
        "vault-policy-without-globs",
        "A Vault policy names each path: no `*` or `+`.",
        VAULT_POLICIES,
        _vault_policy,
        PolicyConfigSchema(
            {
                "allowedPolicies": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": "Policies to leave alone, such as an operator's.",
                }
            }
        ),
    ),
]

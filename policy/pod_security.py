"""The Pod Security Standards "restricted" profile (Kubernetes 1.35), as checks on a pod spec.

https://kubernetes.io/docs/concepts/security/pod-security-standards/ - each rule here names
the control it stands for, the baseline ones included. `violations` returns one line per
broken control. It reads a pod spec as the API takes it; fields of the wrong shape count as
unset. AppArmor set through the older pod annotations is not part of a pod spec, so it is
not seen here.
"""

from __future__ import annotations

from typing import Any

RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
CONFINED_PROFILES = ("RuntimeDefault", "Localhost")


def as_map(value: Any) -> dict[str, Any]:
    """`value` if it is a mapping; any other shape counts as unset."""
    return value if isinstance(value, dict) else {}


def maps(value: Any) -> list[dict[str, Any]]:
    """The mappings in `value` if it is a list; any other shape counts as empty."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """Every container of a pod spec: init, regular and ephemeral."""
    return [*maps(pod.get("initContainers")), *maps(pod.get("containers")), *maps(pod.get("ephemeralContainers"))]


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def violations(pod: dict[str, Any]) -> list[str]:
    found: list[str] = []
    pod_context = as_map(pod.get("securityContext"))

    # Baseline controls.
    if as_map(pod_context.get("windowsOptions")).get("hostProcess"):
        found.append("HostProcess: the pod sets windowsOptions.hostProcess")
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            found.append(f"Host Namespaces: {field} is true")
    for volume in maps(pod.get("volumes")):
        kinds = set(volume) - {"name"}
        if "hostPath" in kinds:
            found.append(f"HostPath Volumes: volume {volume.get('name')}")
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            found.append(f"Volume Types: volume {volume.get('name')} is {sorted(kinds)}")
    for sysctl in maps(pod_context.get("sysctls")):
        if sysctl.get("name") not in SAFE_SYSCTLS:
            found.append(f"Sysctls: {sysctl.get('name')}")
    found += _selinux_and_apparmor("the pod", pod_context)

    def effective(container: dict[str, Any], field: str) -> Any:
        context = as_map(container.get("securityContext"))
        return context.get(field, pod_context.get(field))

    for container in containers(pod):
        name = container.get("name")
        context = as_map(container.get("securityContext"))
        if context.get("privileged"):
            found.append(f"Privileged Containers: {name}")
        if as_map(context.get("windowsOptions")).get("hostProcess"):
            found.append(f"HostProcess: {name} sets windowsOptions.hostProcess")
        for port in maps(container.get("ports")):
            if port.get("hostPort"):
                found.append(f"Host Ports: {name} uses hostPort {port['hostPort']}")
        if context.get("procMount", "Default") != "Default":
            found.append(f"/proc Mount Type: {name}")
        found += _selinux_and_apparmor(str(name), context)
        # Restricted controls.
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"Privilege Escalation: {name} does not set allowPrivilegeEscalation: false")
        if effective(container, "runAsNonRoot") is not True:
            found.append(f"Running as Non-root: {name} does not set runAsNonRoot: true")
        if effective(container, "runAsUser") == 0:
            found.append(f"Running as Non-root user: {name} runs as uid 0")
        seccomp = as_map(effective(container, "seccompProfile"))
        if seccomp.get("type") not in CONFINED_PROFILES:
            found.append(f"Seccomp: {name} has seccompProfile {seccomp or 'unset'}")
        capabilities = as_map(context.get("capabilities"))
        drop = _strings(capabilities.get("drop"))
        if "ALL" not in drop:
            found.append(f"Capabilities: {name} does not drop ALL")
        add = _strings(capabilities.get("add"))
        if set(add) - {"NET_BIND_SERVICE"}:
            found.append(f"Capabilities: {name} adds {add}")
    return found


def _selinux_and_apparmor(who: str, context: dict[str, Any]) -> list[str]:
    found = []
    selinux = as_map(context.get("seLinuxOptions"))
    if selinux.get("type", "") not in SELINUX_TYPES:
        found.append(f"SELinux: {who} sets type {selinux['type']}")
    for field in ("user", "role"):
        if selinux.get(field):
            found.append(f"SELinux: {who} sets {field} {selinux[field]}")
    apparmor = context.get("appArmorProfile")
    if apparmor is not None and as_map(apparmor).get("type") not in CONFINED_PROFILES:
        found.append(f"AppArmor: {who} has appArmorProfile {apparmor}")
    return found

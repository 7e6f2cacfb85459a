"""The Pod Security Standards "restricted" profile (Kubernetes 1.35), as checks on a pod spec.

https://kubernetes.io/docs/concepts/security/pod-security-standards/ - each rule here names
the control it stands for. `violations` returns one line per broken control.
"""

from __future__ import annotations

from typing import Any

RESTRICTED_VOLUME_TYPES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}


def violations(pod: dict[str, Any]) -> list[str]:
    found: list[str] = []
    pod_context = pod.get("securityContext") or {}
    containers = [*pod.get("initContainers", []), *pod.get("containers", [])]

    # Baseline controls.
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            found.append(f"Host Namespaces: {field} is true")
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if "hostPath" in kinds:
            found.append(f"HostPath Volumes: volume {volume['name']}")
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            found.append(f"Volume Types: volume {volume['name']} is {sorted(kinds)}")
    for sysctl in pod_context.get("sysctls", []):
        if sysctl["name"] not in SAFE_SYSCTLS:
            found.append(f"Sysctls: {sysctl['name']}")

    def effective(container: dict[str, Any], field: str) -> Any:
        context = container.get("securityContext") or {}
        return context.get(field, pod_context.get(field))

    for container in containers:
        name = container["name"]
        context = container.get("securityContext") or {}
        if context.get("privileged"):
            found.append(f"Privileged Containers: {name}")
        for port in container.get("ports", []):
            if port.get("hostPort"):
                found.append(f"Host Ports: {name} uses hostPort {port['hostPort']}")
        if context.get("procMount", "Default") != "Default":
            found.append(f"/proc Mount Type: {name}")
        # Restricted controls.
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"Privilege Escalation: {name} does not set allowPrivilegeEscalation: false")
        if effective(container, "runAsNonRoot") is not True:
            found.append(f"Running as Non-root: {name} does not set runAsNonRoot: true")
        if effective(container, "runAsUser") == 0:
            found.append(f"Running as Non-root user: {name} runs as uid 0")
        seccomp = effective(container, "seccompProfile") or {}
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            found.append(f"Seccomp: {name} has seccompProfile {seccomp or 'unset'}")
        capabilities = context.get("capabilities") or {}
        if "ALL" not in capabilities.get("drop", []):
            found.append(f"Capabilities: {name} does not drop ALL")
        if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"Capabilities: {name} adds {capabilities['add']}")
    return found

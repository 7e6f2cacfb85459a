"""How the program scales with the number of workloads: a benchmark, not a test.

    venv/bin/python -m benchmarks.workloads [--combination aws/secretsManager/irsa] [--counts 1 10 50]

For each count it runs the real __main__.py under the test mocks, in a process of its own as
`pulumi up` would, with that many workloads of two secrets each, and prints:

- the wall time of the whole run (Python start, imports, config, registrations);
- the longest chain of resources that must be created one after another, by resource type,
  with the typical create time of each type (TYPICAL_SECONDS below).

Two targets: 50 workloads take at most 3 times as long as 1, and the longest chain is the
same for every count, because workloads do not wait for one another.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
P = "secretstore-csi"

# Typical create times in seconds, as `pulumi up` shows them for the pinned providers; types
# not listed take about a second. Cloud clusters dominate; what waits for pods (Helm
# releases, Deployments, the Vault Job) comes next.
TYPICAL_SECONDS = {
    "eks:index:Cluster": 600,
    "azure-native:containerservice:ManagedCluster": 420,
    "gcp:container/cluster:Cluster": 360,
    "gcp:container/nodePool:NodePool": 120,
    "azure-native:keyvault:Vault": 20,
    "azure-native:managedidentity:UserAssignedIdentity": 5,
    "azure-native:authorization:RoleAssignment": 5,
    "aws:eks/addon:Addon": 60,
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": 5,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": 2,
    "aws:iam/role:Role": 2,
    "aws:iam/policy:Policy": 2,
    "aws:secretsmanager/secret:Secret": 2,
    "gcp:projects/service:Service": 30,
    "gcp:secretmanager/secretIamMember:SecretIamMember": 10,
    "kubernetes:helm.sh/v3:Release": 60,
    "kubernetes:apps/v1:Deployment": 45,
    "kubernetes:apps/v1:DaemonSet": 30,
    "kubernetes:batch/v1:Job": 30,
}


def workloads(count: int) -> str:
    return json.dumps(
        [
            {
                "name": f"app{i}",
                "secrets": [{"name": "db", "keys": ["username", "password"]}, {"name": "token"}],
                "demo": i == 0,
            }
            for i in range(count)
        ]
    )


def _created(resource: dict[str, Any]) -> bool:
    """Whether `pulumi up` waits for the resource itself: a custom resource, or a component
    another provider implements (pulumi-eks's cluster), which the mocks record as a whole."""
    return bool(resource["custom"]) or resource["type"] in TYPICAL_SECONDS


def longest_chain(resources: Sequence[dict[str, Any]]) -> list[str]:
    """The types along the chain of dependencies with the longest typical create time. A
    resource waits for its dependencies and its provider; a dependency on a component is one
    on every resource under it."""
    by_urn = {r["urn"]: r for r in resources}
    children: dict[str, list[str]] = {}
    for r in resources:
        children.setdefault(r["parent"], []).append(r["urn"])

    def expand(urn: str) -> list[str]:
        resource = by_urn.get(urn)
        if resource is None:
            return []
        if _created(resource):
            return [urn]
        return [leaf for child in children.get(urn, []) for leaf in expand(child)]

    best: dict[str, tuple[float, list[str]]] = {}

    def chain(urn: str) -> tuple[float, list[str]]:
        if urn not in best:
            resource = by_urn[urn]
            provider = [resource["provider"].rsplit("::", 1)[0]] if resource["provider"] else []
            waits_for = [*resource["dependencies"], *provider]
            before = [leaf for dep in waits_for for leaf in expand(dep)]
            previous = max((chain(u) for u in before), default=(0.0, []))
            own = TYPICAL_SECONDS.get(resource["type"], 1)
            best[urn] = (previous[0] + own, [*previous[1], resource["type"]])
        return best[urn]

    return max((chain(r["urn"]) for r in resources if _created(r)), default=(0.0, []))[1]


def child(count: int, combination: tuple[str, str, str]) -> None:
    """One run, in this process: prints what it registered, as JSON."""
    from tests.harness import loopback_issuer, run_combination

    with loopback_issuer():
        # Aliases go to the engine as specs, as `pulumi up` sends them: the SDK resolves none.
        run = run_combination(
            *combination, set_={f"{P}:workloads": workloads(count)}, remove=(f"{P}:secretName",), alias_specs=True
        )
    resources = [
        {
            "urn": r.urn,
            "type": r.type,
            "parent": r.parent,
            "dependencies": r.dependencies,
            "provider": r.provider,
            "custom": r.custom,
        }
        for r in run.resources
    ]
    print(json.dumps(resources))


def measure(count: int, combination: tuple[str, str, str]) -> tuple[float, list[dict[str, Any]]]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.workloads", "--child", str(count), "--combination", "/".join(combination)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - started, json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workloads", description=__doc__.splitlines()[0])
    parser.add_argument("--combination", default="aws/secretsManager/irsa", help="cloud/store/identity, or all")
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.combination == "all":
        from secretstore_csi import registry

        return max(report(c, args.counts) for c in registry.combinations())
    cloud, store, identity = args.combination.split("/")
    if args.child is not None:
        child(args.child, (cloud, store, identity))
        return 0
    return report((cloud, store, identity), args.counts)


def report(combination: tuple[str, str, str], counts: list[int]) -> int:
    """Measures `combination` at each count and prints the figures; 0 when both targets hold."""
    print(f"secretstore-csi benchmark: {'/'.join(combination)}, workloads of two secrets each")
    times: dict[int, float] = {}
    chains: dict[int, list[str]] = {}
    for count in counts:
        times[count], resources = measure(count, combination)
        chains[count] = longest_chain(resources)
        seconds = sum(TYPICAL_SECONDS.get(t, 1) for t in chains[count])
        print(
            f"{count:>4} workloads: {times[count]:6.2f}s wall, {len(resources)} resources, longest chain "
            f"{len(chains[count])} resources, about {seconds / 60:.0f} min typical"
        )
    first, last = counts[0], counts[-1]
    print("longest chain:")
    for type_ in chains[last]:
        print(f"  {TYPICAL_SECONDS.get(type_, 1):>4}s  {type_}")
    ratio = times[last] / times[first]
    same = all(chain == chains[first] for chain in chains.values())
    print(f"{'PASS' if ratio <= 3 else 'FAIL'}  {last} workloads take {ratio:.2f} times as long as {first} (at most 3)")
    print(f"{'PASS' if same else 'FAIL'}  the longest chain is the same for every count")
    return 0 if ratio <= 3 and same else 1


if __name__ == "__main__":
    sys.exit(main())

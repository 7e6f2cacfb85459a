"""The policy pack in policy/, loaded as the Pulumi CLI loads it, and its real analyzer.

The CLI runs policy/__main__.py with the pack's folder on the import path, where it builds a
PolicyPack, which starts a gRPC server. The tests import `policies` instead and hand each
recorded resource to the same analyzer the server would run, in this process.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy.policy import EnforcementLevel, _PolicyAnalyzerServicer

from tests.harness import ROOT, Registered

PACK = ROOT / "policy"
if str(PACK) not in sys.path:
    sys.path.insert(0, str(PACK))

import pod_security  # noqa: E402  (policy/pod_security.py)
import policies  # noqa: E402  (policy/policies.py)

__all__ = ["PACK", "Diagnostic", "analyze", "pod_security", "policies"]


@dataclass(frozen=True)
class Diagnostic:
    policy: str
    urn: str
    message: str
    mandatory: bool


def analyze(resources: Iterable[Registered], config: Mapping[str, Mapping[str, Any]] | None = None) -> list[Diagnostic]:
    """Every violation the pack reports for `resources`, as `pulumi preview --policy-pack` would
    get them: each resource's inputs, as recorded, go through the analyzer's own decoding."""
    servicer = _PolicyAnalyzerServicer(
        "secretstore-csi-guardrails", "1.0.0", policies.POLICIES, EnforcementLevel.MANDATORY
    )
    # As the CLI does: each policy's enforcement level and knob defaults from the pack's own
    # description, then the config given (`--policy-pack-config`).
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for policy in servicer.GetAnalyzerInfo(None, None).policies:
        schema = json_format.MessageToDict(policy.configSchema).get("properties", {})
        values = {key: knob["default"] for key, knob in schema.items() if "default" in knob}
        values.update((config or {}).get(policy.name, {}))
        entry = analyzer_pb2.PolicyConfig(enforcementLevel=policy.enforcementLevel)
        entry.properties.update(values)
        request.policyConfig[policy.name].CopyFrom(entry)
    servicer.Configure(request, None)
    found = []
    for resource in resources:
        properties = struct_pb2.Struct()
        json_format.ParseDict(resource.inputs, properties)
        response = servicer.Analyze(
            analyzer_pb2.AnalyzeRequest(
                type=resource.type, properties=properties, urn=resource.urn, name=resource.name
            ),
            None,
        )
        found += [
            Diagnostic(d.policyName, resource.urn, d.message, d.enforcementLevel == analyzer_pb2.MANDATORY)
            for d in response.diagnostics
        ]
    return found

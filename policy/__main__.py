"""The policy pack: `pulumi preview --policy-pack policy`. The policies are in policies.py."""

from policies import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name="secretstore-csi-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)

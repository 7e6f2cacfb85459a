"""End to end against a real cloud: `pulumi up`, the verify command, `pulumi destroy`.

Opt-in. It runs only when SECRETSTORE_LIVE_STACK names a stack (aws-dev or azure-dev), the
Pulumi CLI is on PATH and the cloud's credentials are present; otherwise it is skipped and
says why. It creates and deletes a whole cluster: expect 30-40 minutes and a cloud bill.

    SECRETSTORE_LIVE_STACK=aws-dev ./tests/run.sh -m live
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from infra import verify
from tests.harness import ROOT, stack_files

STACK = os.environ.get("SECRETSTORE_LIVE_STACK", "")


def _aws_credentials() -> bool:
    if os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE"):
        return True
    home = Path.home() / ".aws"
    return (home / "credentials").is_file() or (home / "config").is_file()


def _azure_credentials() -> bool:
    if os.environ.get("ARM_CLIENT_ID"):
        return True
    az = shutil.which("az")
    return bool(az) and subprocess.run([az, "account", "show"], capture_output=True, check=False).returncode == 0


def skip_reason(stack: str = STACK) -> str | None:
    """Why the live test cannot run here, or None when it can."""
    if not stack:
        return "live test: set SECRETSTORE_LIVE_STACK=aws-dev or azure-dev to deploy a real stack"
    stacks = stack_files()
    if stack not in stacks:
        return f"live test: SECRETSTORE_LIVE_STACK={stack!r} is none of {', '.join(stacks)}"
    cloud = stacks[stack].get("secretstore-csi:cloud")
    if shutil.which("pulumi") is None:
        return "live test: the Pulumi CLI is not on PATH"
    if cloud == "aws" and not _aws_credentials():
        return "live test: no AWS credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE or ~/.aws)"
    if cloud == "azure" and not _azure_credentials():
        return "live test: no Azure credentials (`az login`, or ARM_CLIENT_ID)"
    return None


@pytest.mark.live
@pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")
def test_up_then_verify_then_destroy():
    from pulumi import automation as auto

    stack = auto.create_or_select_stack(stack_name=STACK, work_dir=str(ROOT))
    try:
        result = stack.up(on_output=print)
        outputs = {name: output.value for name, output in result.outputs.items()}
        target = verify.Target(
            namespace=outputs["namespace"],
            authorized=outputs["authorizedDeployment"],
            unauthorized=outputs["unauthorizedDeployment"],
            identity=outputs["identity"],
        )
        # The kubeconfig holds credentials: hand it over in memory, never as a file.
        with verify.api_client(None, outputs["kubeConfig"]) as api:
            checks = verify.verify(api, target, timeout=900, progress=print)
        print(verify.report(target, checks))
        assert all(check.passed for check in checks)
    finally:
        stack.destroy(on_output=print)

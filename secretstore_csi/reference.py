"""The configuration reference, made from the config models: every key, where it applies, its
default and what it accepts. `docs/reference/configuration.md` is this module's output, and
a test fails when the two differ.

    venv/bin/python -m secretstore_csi.reference > docs/reference/configuration.md
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from secretstore_csi import PROJECT, registry
from secretstore_csi.settings import SECRET, Accepted, CommonSettings, ConfigObject, SettingsModel

HEADER = f"""# Configuration reference

<!-- Made by `python -m secretstore_csi.reference` from the config models; do not edit. -->

Keys live in the `{PROJECT}:` namespace unless they show another (`aws:region`). The program
reads all of them once and checks every limit the cloud or the cluster would enforce before
it creates anything; each problem is one line that names the key, the value (cut short, and
never a secret one) and what is accepted. An unknown key (a typo) is an error too, and so is
a key of another cloud, store or identity mode. "Applies to" says which stacks read the key.
Object and list keys take JSON (`pulumi config set --path`, or a YAML value in the stack file).

"""


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _accepted(field: FieldInfo) -> str:
    for item in field.metadata:
        if isinstance(item, Accepted):
            return item.text.removeprefix("expected ")
    if field.description:
        return field.description
    annotation = field.annotation
    return "true or false" if annotation is bool else "a value"


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "(required)"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "none"
    if isinstance(value, BaseModel):
        return f"`{json.dumps(value.model_dump(by_alias=True, mode='json'))}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _rows(model: type[SettingsModel], applies: str) -> Iterator[tuple[str, str, str, str, str]]:
    for name, field in model.model_fields.items():
        key = (field.alias or name).removeprefix(f"{PROJECT}:")
        accepted = _accepted(field)
        secret = ""
        if SECRET in field.metadata:
            secret = ". The value is never shown"
            if "--secret" not in accepted:
                secret = ". Set it with `pulumi config set --secret`; the value is never shown"
        notes = field.description if field.description and field.description != accepted else ""
        if notes.startswith("None: "):
            notes = "Unset: " + notes.removeprefix("None: ")
        yield key, applies, _default(field), accepted + secret, notes


def _models() -> Iterator[tuple[type[SettingsModel], str]]:
    yield CommonSettings, "all"
    for source in registry.CLUSTERS.values():
        yield source.settings(), f"cloud {source.name}"
    for store in registry.STORES.values():
        yield store.settings(), f"store {store.name}"
    for identity in registry.IDENTITIES.values():
        yield identity.settings(), f"identity {identity.name}"


def _objects() -> Iterator[tuple[str, type[ConfigObject]]]:
    from secretstore_csi.settings import Rotation, SecretEntry, WorkloadEntry

    yield "rotation", Rotation
    yield "workloads[]", WorkloadEntry
    yield "secrets[]", SecretEntry


def configuration_reference() -> str:
    """The page: one row per key and where it applies; a key that means the same for several
    cluster sources, stores or identity modes is one row."""
    merged: dict[tuple[str, str, str, str], list[str]] = {}
    for settings, applies in _models():
        for key, where, default, accepted, notes in _rows(settings, applies):
            merged.setdefault((key, default, accepted, notes), []).append(where)
    lines = [HEADER, "| Key | Applies to | Default | Accepted |", "|---|---|---|---|"]
    for (key, default, accepted, notes), places in merged.items():
        kinds: dict[str, list[str]] = {}
        for item in places:
            kind, _, value = item.partition(" ")
            kinds.setdefault(kind, []).append(value or kind)
        applies = "; ".join(kind if kind == "all" else f"{kind} {', '.join(values)}" for kind, values in kinds.items())
        text = accepted.rstrip(".") + (f". {notes}" if notes else "")
        lines.append(f"| `{key}` | {_cell(applies)} | {_cell(default)} | {_cell(text)} |")
    lines += ["", "## Fields of object keys", ""]
    for key, entry in _objects():
        lines += [f"### `{key}`", "", "| Field | Default | Accepted |", "|---|---|---|"]
        for name, field in entry.model_fields.items():
            lines.append(f"| `{field.alias or name}` | {_cell(_default(field))} | {_cell(_accepted(field))} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    print(configuration_reference(), end="")

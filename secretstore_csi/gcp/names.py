"""What Compute Engine accepts as a region, a zone and a machine type, checked before deploy.
Importing this module needs no SDK.

pulumi-gcp ships no list of regions, zones or machine types (only invokes that need
credentials). So regions and zones are checked against Google's list, and machine types of
the families below against the sizes Google documents for them; any other family against
the documented naming grammar, `<series>-<type>-<vCPUs>`: that it exists in a zone is
Compute Engine's to say.
"""

from __future__ import annotations

import re

# The public regions and their zone letters, as "Regions and zones" lists them
# (cloud.google.com/compute/docs/regions-zones, July 2026): `abc` unless said.
_ZONES = {"us-central1": "abcf", "us-east1": "bcd", "europe-west1": "bcd"}
REGIONS = frozenset(
    [
        "africa-south1",
        "asia-east1",
        "asia-east2",
        "asia-northeast1",
        "asia-northeast2",
        "asia-northeast3",
        "asia-south1",
        "asia-south2",
        "asia-southeast1",
        "asia-southeast2",
        "asia-southeast3",
        "australia-southeast1",
        "australia-southeast2",
        "europe-central2",
        "europe-north1",
        "europe-north2",
        "europe-southwest1",
        "europe-west1",
        "europe-west2",
        "europe-west3",
        "europe-west4",
        "europe-west6",
        "europe-west8",
        "europe-west9",
        "europe-west10",
        "europe-west12",
        "me-central1",
        "me-central2",
        "me-west1",
        "northamerica-northeast1",
        "northamerica-northeast2",
        "northamerica-south1",
        "southamerica-east1",
        "southamerica-west1",
        "us-central1",
        "us-east1",
        "us-east4",
        "us-east5",
        "us-south1",
        "us-west1",
        "us-west2",
        "us-west3",
        "us-west4",
    ]
)


def zone_letters(region_: str) -> str:
    return _ZONES.get(region_, "abc")


def region(value: str) -> str:
    if value not in REGIONS:
        raise ValueError(value)
    return value


def zone(value: str) -> str:
    region_, _, letter = value.rpartition("-")
    if region_ not in REGIONS or len(letter) != 1 or letter not in zone_letters(region_):
        raise ValueError(value)
    return value


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in text.split())


# The vCPU counts of the predefined machine types of each series and type, as Compute
# Engine's machine family pages give them (cloud.google.com/compute/docs/general-purpose-
# machines, compute-optimized-machines): e2-standard-3 does not exist.
_E2 = _sizes("2 4 8 16 32")
_N2 = _sizes("2 4 8 16 32 48 64 80 96 128")
_N2D = _sizes("2 4 8 16 32 48 64 80 96 128 224")
_N4 = _sizes("2 4 8 16 32 48 64 80")
_C3 = _sizes("4 8 22 44 88 176")
_C3D = _sizes("4 8 16 30 60 90 180 360")
_C4 = _sizes("2 4 8 16 24 32 48 96 144 192 288")
_C4A = _sizes("1 2 4 8 16 32 48 64 72")
_C4D = _sizes("2 4 8 16 32 48 64 96 192 384")
PREDEFINED: dict[str, tuple[int, ...]] = {
    "e2-standard": _E2,
    "e2-highmem": _sizes("2 4 8 16"),
    "e2-highcpu": _E2,
    "n1-standard": _sizes("1 2 4 8 16 32 64 96"),
    "n1-highmem": _sizes("2 4 8 16 32 64 96"),
    "n1-highcpu": _sizes("2 4 8 16 32 64 96"),
    "n2-standard": _N2,
    "n2-highmem": _N2,
    "n2-highcpu": _sizes("2 4 8 16 32 48 64 80 96"),
    "n2d-standard": _N2D,
    "n2d-highcpu": _N2D,
    "n2d-highmem": _sizes("2 4 8 16 32 48 64 80 96"),
    "n4-standard": _N4,
    "n4-highmem": _N4,
    "n4-highcpu": _N4,
    "t2d-standard": _sizes("1 2 4 8 16 32 48 60"),
    "t2a-standard": _sizes("1 2 4 8 16 32 48"),
    "c2-standard": _sizes("4 8 16 30 60"),
    "c3-standard": _C3,
    "c3-highmem": _C3,
    "c3-highcpu": _C3,
    "c3d-standard": _C3D,
    "c3d-highmem": _C3D,
    "c3d-highcpu": _C3D,
    "c4-standard": _C4,
    "c4-highmem": _C4,
    "c4-highcpu": _C4,
    "c4a-standard": _C4A,
    "c4a-highmem": _C4A,
    "c4a-highcpu": _C4A,
    "c4d-standard": _C4D,
    "c4d-highmem": _C4D,
    "c4d-highcpu": _C4D,
}
# Shared-core types, and custom ones (`e2-custom-4-8192`, `n2-custom-...`, N1's `custom-...`,
# `-ext` for extended memory), as "Create a VM with a custom machine type" names them.
SHARED_CORE = frozenset({"e2-micro", "e2-small", "e2-medium", "f1-micro", "g1-small"})
CUSTOM = re.compile(r"(?:(?:e2|n2|n2d|n4)-)?custom-(?:[0-9]{1,3}|micro|small|medium)-[0-9]{3,7}(?:-ext)?")
# Any other series: `<series>-<type>-<vCPUs>`, with the forms some series add: a GPU count
# (a3-highgpu-8g) or a variant (`-lssd` with local SSD, `-metal` on bare metal).
GRAMMAR = re.compile(r"(?P<family>[a-z][a-z0-9]*-[a-z]+)-(?P<cpus>[0-9]{1,3})(?P<gpus>[a-z])?(?P<variant>-[a-z0-9]+)?")
VARIANTS = ("-lssd", "-metal")


def machine_type(value: str) -> str:
    if value in SHARED_CORE or CUSTOM.fullmatch(value):
        return value
    match = GRAMMAR.fullmatch(value)
    if not match:
        raise ValueError(value)
    sizes = PREDEFINED.get(match["family"])
    if sizes is None:
        return value  # another series: the grammar is what is known of it
    predefined = match["variant"] is None and int(match["cpus"]) in sizes
    if match["gpus"] is None and (predefined or match["variant"] in VARIANTS):
        return value
    raise ValueError(value)

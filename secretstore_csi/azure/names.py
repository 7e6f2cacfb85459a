"""What Azure accepts as a region and as a VM size, checked before deploy. Importing this
module needs no SDK.

azure-native ships no list of regions, and its only VM size enum
(compute.VirtualMachineSizeTypes) stops at the v3 sizes and is deprecated. So regions are
checked against Microsoft's list of public regions, and sizes against the documented naming
grammar: that a well-formed size exists in a region is Azure's to say.
"""

from __future__ import annotations

import re

# The public regions as "Azure regions list" gives them (learn.microsoft.com/azure/reliability/
# regions-list; MicrosoftDocs/reliability-docs articles/reliability/regions-list.md at c7803c50,
# 2026-07-28), by the names `az account list-locations` prints. Some are open on request only.
REGIONS = frozenset(
    [
        "australiacentral",
        "australiacentral2",
        "australiaeast",
        "australiasoutheast",
        "austriaeast",
        "belgiumcentral",
        "brazilsouth",
        "brazilsoutheast",
        "canadacentral",
        "canadaeast",
        "centralindia",
        "centralus",
        "chilecentral",
        "denmarkeast",
        "eastasia",
        "eastus",
        "eastus2",
        "francecentral",
        "francesouth",
        "germanynorth",
        "germanywestcentral",
        "indiasouthcentral",
        "indonesiacentral",
        "israelcentral",
        "italynorth",
        "japaneast",
        "japanwest",
        "koreacentral",
        "koreasouth",
        "malaysiawest",
        "mexicocentral",
        "newzealandnorth",
        "northcentralus",
        "northeurope",
        "norwayeast",
        "norwaywest",
        "polandcentral",
        "qatarcentral",
        "southafricanorth",
        "southafricawest",
        "southcentralus",
        "southindia",
        "southeastasia",
        "spaincentral",
        "swedencentral",
        "switzerlandnorth",
        "switzerlandwest",
        "uaecentral",
        "uaenorth",
        "uksouth",
        "ukwest",
        "westcentralus",
        "westeurope",
        "westindia",
        "westus",
        "westus2",
        "westus3",
    ]
)


def region(value: str) -> str:
    """A public region, by its name (`westeurope`) or its display name (`West Europe`)."""
    if value.replace(" ", "").lower() not in REGIONS:
        raise ValueError(value)
    return value


# "Azure virtual machine sizes naming conventions" (learn.microsoft.com/azure/virtual-machines/
# vm-naming-conventions): [Family] + [Sub-family] + [# of vCPUs] + [Constrained vCPUs] +
# [Additive features] + [Accelerator type] + [Version], such as Standard_D2s_v5,
# Standard_M8-2ms_v2 or Standard_NC4as_T4_v3. Basic_A0 to Basic_A4 are the older basic tier.
VM_SIZE = re.compile(
    r"Standard_[A-Z]{1,3}[0-9]{1,3}(?:-[0-9]{1,3})?[a-z]{0,6}(?:_[A-Z][A-Za-z0-9]{0,7})?(?:_v[1-9])?|Basic_A[0-4]"
)


def vm_size(value: str) -> str:
    if not VM_SIZE.fullmatch(value):
        raise ValueError(value)
    return value

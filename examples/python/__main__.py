"""The secretstore-csi library in a program of its own: one platform and two workloads, with
no stack config to parse.

The platform is Vault in an existing cluster, here kind (`kind create cluster --name
secretstore`); `payments` runs the article's demo, `reports` only gets its secret.
"""

import pulumi

from secretstore_csi import Platform, PlatformArgs, StoreSecret, WorkloadArgs
from secretstore_csi.existing.settings import ExistingClusterSettings
from secretstore_csi.vault.settings import VaultSettings

platform = Platform(
    "apps",
    PlatformArgs(
        cloud="kubernetes",
        store="vault",
        cluster=ExistingClusterSettings(kube_context="kind-secretstore"),
        store_settings=VaultSettings(vault_namespace="vault"),
    ),
)
payments = platform.workload(
    "payments",
    WorkloadArgs(
        namespace="shop",
        service_account="payments-api",
        secrets=[StoreSecret("db", keys=("username", "password")), StoreSecret("api-token")],
        demo=True,
    ),
)
reports = platform.workload(
    "reports",
    WorkloadArgs(namespace="shop", service_account="reports", secrets=[StoreSecret("signing-key")]),
)

pulumi.export("payments", payments.outputs)
pulumi.export("reports", reports.outputs)

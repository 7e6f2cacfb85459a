"""secretstore-csi: a stack is a cluster source x a secret store x an identity mode.

- `registry`, `settings`, `config`: what can be combined, and the one typed stack config.
- `aws/`, `azure/`, `gcp/`: one package per cloud, a file per idea (cluster, store, identity mode).
- `existing/`, `vault/`: an existing cluster, and Vault in the cluster with its Kubernetes auth.
- `kubernetes/`: the cloud-independent layer (the CSI driver and provider, the demo).
"""

PROJECT = "secretstore-csi"
# Every Pulumi logical name starts with this, so that names stay stable across refactors.
PREFIX = "secretstore"

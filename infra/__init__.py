"""secretstore-csi: the stack config, one module per cloud, and the shared Kubernetes layer."""

# Every Pulumi logical name starts with this, so that names stay stable across refactors.
PREFIX = "secretstore"

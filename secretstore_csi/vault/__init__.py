"""HashiCorp Vault in the cluster, in dev mode, with its CSI provider and Kubernetes auth."""

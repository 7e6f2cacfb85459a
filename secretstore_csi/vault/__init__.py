"""HashiCorp Vault, in the cluster in dev mode or a Vault of your own, with its CSI provider
and Kubernetes auth."""

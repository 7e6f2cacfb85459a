"""Azure: an AKS cluster, Key Vault, and an Entra application with a federated credential."""

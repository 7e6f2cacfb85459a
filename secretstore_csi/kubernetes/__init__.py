"""The cloud-independent layer: the Secrets Store CSI driver with the store's provider, and
the demo. It imports only pulumi, pulumi_kubernetes and the project's SDK-free modules."""

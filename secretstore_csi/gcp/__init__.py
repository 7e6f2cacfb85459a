"""GCP: a GKE Standard cluster, Secret Manager, and Workload Identity Federation for GKE."""

"""AWS: an EKS cluster, Secrets Manager, and IAM Roles for Service Accounts."""

"""An existing Kubernetes cluster, such as kind on a laptop: the program creates none."""

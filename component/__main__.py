"""The secretstore-csi component package's provider: Platform and Workload, for any language.

The Pulumi CLI runs this as the plugin (`pulumi package add`, `packages:` in Pulumi.yaml);
the schema is inferred from the components' annotations (secretstore_csi/package.py).
"""

from importlib import metadata

from pulumi.provider.experimental import component_provider_host

from secretstore_csi.package import Platform, Workload

NAME = "secretstore-csi"

if __name__ == "__main__":
    component_provider_host([Platform, Workload], name=NAME, version=metadata.version(NAME))

"""secretstore-csi: a store's secrets mounted into pods by the Secrets Store CSI driver.

The stack config picks a cluster source, a secret store and an identity mode, and lists the
workloads; this program builds one platform and its workloads with the library.
"""

from secretstore_csi import config, program

NAME = "secretstore"
"""The platform's name, and the single workload's of a stack without `workloads`."""

stack = config.load(NAME)
platform, workloads = program.deploy(NAME, stack)
program.export(platform, workloads, single=stack.workloads[0].legacy_names)

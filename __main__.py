"""secretstore-csi: a store's secrets mounted into pods by the Secrets Store CSI driver.

The stack config picks a cluster source, a secret store and an identity mode; the registry
says what builds each. The Kubernetes layer on top is the same for all of them.
"""

import pulumi

from secretstore_csi import config, registry
from secretstore_csi.kubernetes.csi_driver import CsiDriver
from secretstore_csi.kubernetes.demo import SecretStoreDemo

stack = config.load()
cluster = registry.CLUSTERS[stack.cloud].build.load()(stack)
identity = registry.IDENTITIES[stack.identity].build.load()(stack, cluster, stack.workload)
store = registry.STORES[stack.store].build.load()(stack, cluster, stack.workload, identity)
csi = CsiDriver("secretstore-demo", cluster.kubernetes, store, stack.driver)
demo = SecretStoreDemo(
    "secretstore-demo", cluster.kubernetes, stack.workload, stack.common.demo_image, store, identity, csi, stack.driver
)

pulumi.export("cloud", stack.cloud)
pulumi.export("store", stack.store)
pulumi.export("identity", stack.identity)
if cluster.kubernetes.kubeconfig is not None:
    pulumi.export("kubeConfig", cluster.kubernetes.kubeconfig)
for outputs in (cluster.outputs, identity.outputs, store.outputs):
    for name, value in outputs.items():
        pulumi.export(name, value)
pulumi.export("namespace", demo.namespace)
pulumi.export("serviceAccount", demo.service_account)
pulumi.export("secretProviderClass", demo.secret_provider_class)
pulumi.export("authorizedDeployment", demo.authorized_deployment)
pulumi.export("unauthorizedDeployment", demo.unauthorized_deployment)
if demo.synced_secret is not None:
    pulumi.export("syncedSecret", demo.synced_secret)

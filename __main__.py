"""secretstore-csi: a cloud's secret store mounted into pods by the Secrets Store CSI driver."""

import pulumi

from infra import aws, azure, config
from infra.workload import SecretStoreDemo

# A new cloud is a module with a `build(StackConfig) -> Cloud` and an entry here.
CLOUDS = {"aws": aws.build, "azure": azure.build}

stack_config = config.load(clouds=list(CLOUDS))
cloud = CLOUDS[stack_config.cloud](stack_config)
demo = SecretStoreDemo(
    "secretstore-demo", cloud.target, stack_config.workload, stack_config.driver
)

pulumi.export("cloud", stack_config.cloud)
pulumi.export("kubeConfig", cloud.target.kubeconfig)
for name, value in cloud.outputs.items():
    pulumi.export(name, value)
pulumi.export("namespace", demo.namespace)
pulumi.export("serviceAccount", demo.service_account)
pulumi.export("secretProviderClass", demo.secret_provider_class)
pulumi.export("authorizedDeployment", demo.authorized_deployment)
pulumi.export("unauthorizedDeployment", demo.unauthorized_deployment)
if demo.synced_secret is not None:
    pulumi.export("syncedSecret", demo.synced_secret)

"""The library: a `Platform` per cluster, and a `Workload` per application made from it.

    platform = Platform("apps", PlatformArgs(cloud="kubernetes"))
    payments = platform.workload("payments", WorkloadArgs(secrets=[StoreSecret("db", keys=("user", "password"))]))

The platform installs once what its cluster needs: the cluster itself (or a connection to
one), the CSI driver and the store's provider, and what the identity mode needs cluster-wide.
Each workload gets its own service account, secrets, a principal that reads exactly those
secrets, and a SecretProviderClass; every name it has derives from its own name. Bad
arguments raise one `ConfigError` listing every problem, before the component registers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_kubernetes.core.v1 import Namespace

from secretstore_csi import checks, demo_app, registry
from secretstore_csi.errors import ConfigError
from secretstore_csi.kubernetes import workload as objects
from secretstore_csi.kubernetes.csi_driver import CsiDriver
from secretstore_csi.kubernetes.demo import SecretStoreDemo
from secretstore_csi.model import DriverSettings, StoreSecret, WorkloadSpec, stack_namespace
from secretstore_csi.seam import DEMO_TYPE, Cluster, IdentityInstall, KubernetesCluster, StoreInstall
from secretstore_csi.settings import INSTALLS, PlatformConfig, SettingsModel

PLATFORM_TYPE = "secretstore-csi:index:Platform"
WORKLOAD_TYPE = "secretstore-csi:index:Workload"
# Namespaces that exist in every cluster, which a workload never creates.
EXISTING_NAMESPACES = ("default",)


def combination(cloud: str, store: str | None, identity: str | None) -> tuple[str, str, str]:
    """The cluster source, store and identity mode, the last two defaulting from the one
    before: a registered combination, or ConfigError."""
    source = registry.CLUSTERS.get(cloud)
    if source is None:
        raise ConfigError([f"cloud = {cloud!r}: expected one of: {', '.join(registry.CLUSTERS)}"])
    store = store or source.default_store
    identity = identity or (registry.STORES[store].default_identity if store in registry.STORES else None)
    if identity is None or (cloud, store, identity) not in registry.combinations():
        valid = "; ".join(", ".join(c) for c in registry.combinations())
        raise ConfigError([f"(cloud, store, identity) = ({cloud}, {store}, {identity}): expected one of: {valid}"])
    return cloud, store, identity


@dataclass(frozen=True)
class PlatformArgs:
    """What a platform is made of. `store` and `identity` default to the cluster source's;
    settings left out take their defaults (a created cluster needs at least its location)."""

    cloud: str
    """The cluster source: aws, azure, gcp or kubernetes (an existing cluster, such as kind)."""
    store: str | None = None
    identity: str | None = None
    cluster: SettingsModel | None = None
    """Such as `AwsClusterSettings(region="eu-central-1")`."""
    store_settings: SettingsModel | None = None
    identity_settings: SettingsModel | None = None
    driver: DriverSettings = DriverSettings()
    demo_image: str = demo_app.IMAGE
    install: str = "helm"
    """`helm` (the pinned charts) or `addon` (the cloud's managed add-on)."""

    def config(self) -> PlatformConfig:
        """The settings, checked: the combination is registered and each settings object is
        of its entry's model; ConfigError otherwise."""
        if self.install not in INSTALLS:
            raise ConfigError([f"install = {self.install!r}: expected {' or '.join(INSTALLS)}"])
        _, store, identity = combination(self.cloud, self.store, self.identity)
        cloud = registry.CLUSTERS[self.cloud]
        parts = (
            ("cluster", self.cluster, cloud.name, cloud.settings),
            ("store_settings", self.store_settings, store, registry.STORES[store].settings),
            ("identity_settings", self.identity_settings, identity, registry.IDENTITIES[identity].settings),
        )
        settings: list[SettingsModel] = []
        for field, value, entry, load in parts:
            model = load()
            if value is not None and not isinstance(value, model):
                raise ConfigError([f"{field} = {type(value).__name__}(...): expected {model.__name__} for {entry}"])
            try:
                settings.append(value if value is not None else model())
            except ValueError as error:
                raise ConfigError([f"{field}: {model.__name__} has no default: {error}"]) from None
        return PlatformConfig(
            cloud=self.cloud,
            store=store,
            identity=identity,
            cluster=settings[0],
            store_settings=settings[1],
            identity_settings=settings[2],
            driver=self.driver,
            demo_image=self.demo_image,
            local_cluster=cloud.local,
            install=self.install,
        )


class Platform(pulumi.ComponentResource):
    """One cluster's shared parts: the cluster, the CSI driver and the store's provider, and
    what the identity mode needs once per cluster."""

    # Its parts are annotated where __init__ sets them, not on the class: a component
    # package's schema is made from the class's annotations, which are its outputs
    # (secretstore_csi/package.py).

    def __init__(
        self, name: str, args: PlatformArgs | PlatformConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        config = args.config() if isinstance(args, PlatformArgs) else args
        problems = checks.install_problems(config)
        problems += [p for settings in config.settings for p in settings.problems(config, ())]
        if problems:
            raise ConfigError(problems)
        super().__init__(PLATFORM_TYPE, name, None, opts)
        self.name = name
        self.config: PlatformConfig = config
        child = pulumi.ResourceOptions(parent=self)
        self.cluster: Cluster = registry.CLUSTERS[config.cloud].build()(name, config, child)
        self.kubernetes: KubernetesCluster = self.cluster.kubernetes
        self.identity: IdentityInstall[Any] = registry.IDENTITIES[config.identity].install()(
            name, config, self.cluster, child
        )
        self.store: StoreInstall[Any] = registry.STORES[config.store].install()(name, config, self.cluster, child)
        identity_audiences = registry.IDENTITIES[config.identity].token_audiences
        self.csi: CsiDriver = CsiDriver(
            name, self.kubernetes, self.store.install, config.driver, child, identity_audiences
        )
        self.outputs: Mapping[str, pulumi.Input[Any]] = {
            **self.cluster.outputs,
            **self.identity.outputs,
            **self.store.outputs,
        }
        """The cluster's, the identity mode's and the store's stack outputs."""
        self._namespaces: dict[str, Namespace] = {}
        self._workloads: list[WorkloadSpec] = []
        self.register_outputs({})

    def workload(self, name: str, args: WorkloadArgs, opts: pulumi.ResourceOptions | None = None) -> Workload:
        """A workload on this platform."""
        return Workload(name, dataclasses.replace(args, platform=self), opts)

    def namespace(self, workload: WorkloadSpec) -> Namespace:
        """The workload's namespace, restricted, made once for every workload that runs in it."""
        if workload.namespace not in self._namespaces:
            aliases = []
            if workload.legacy_names:
                # The stack's single workload had its namespace in its demo's component.
                old = f"{workload.name}-demo"
                aliases.append(pulumi.Alias(name=f"{old}-namespace", parent=pulumi.create_urn(old, DEMO_TYPE)))
            self._namespaces[workload.namespace] = objects.restricted_namespace(
                f"{self.name}-namespace-{workload.namespace}",
                workload.namespace,
                pulumi.ResourceOptions(parent=self, provider=self.kubernetes.provider, aliases=aliases),
            )
        return self._namespaces[workload.namespace]

    def admit(self, workload: WorkloadSpec, values: Mapping[str, Mapping[str, str]] | None = None) -> None:
        """Checks a workload against the platform and the workloads it has; ConfigError if it
        does not fit."""
        workloads = [*self._workloads, workload]
        store = registry.STORES[self.config.store]
        problems = checks.name_problems(workload)
        problems += checks.secret_problems(
            workload, values or {}, self.config.driver.sync_secret, store.max_secret_bytes, store.title
        )
        problems += checks.existing_problems(workload, self.config.store)
        problems += checks.shared_problems(workloads)
        problems += [p for settings in self.config.settings for p in settings.problems(self.config, workloads)]
        if problems:
            raise ConfigError(problems)
        self._workloads.append(workload)


@dataclass(frozen=True)
class WorkloadArgs:
    """An application's secrets and who may read them."""

    secrets: Sequence[StoreSecret]
    """What the store holds for it; with the demo, the first is what /read serves."""
    platform: Platform | None = None
    """The platform it runs on; `Platform.workload` sets it."""
    namespace: str | None = None
    """None: `<stack>-<name>`, a namespace of the stack's own."""
    service_account: str | None = None
    """None: the workload's name."""
    demo: bool = False
    """Also run the article's hello-server pair: one as the service account, one as `default`."""
    create_namespace: bool = True
    """Make the namespace (restricted) unless it exists in every cluster, such as `default`."""
    legacy_names: bool = False
    """Keep the names of a single-workload stack deployed before stacks held several."""
    config_path: str | None = None
    """Where its settings are, for messages; default: `<name>: `."""

    def spec(self, name: str) -> WorkloadSpec:
        return WorkloadSpec(
            name=name,
            namespace=self.namespace or stack_namespace(pulumi.get_stack(), name),
            service_account=self.service_account or name,
            secrets=tuple(self.secrets),
            demo=self.demo,
            legacy_names=self.legacy_names,
            config_path=self.config_path if self.config_path is not None else f"{name}: ",
        )

    @classmethod
    def of(cls, spec: WorkloadSpec, platform: Platform | None = None) -> WorkloadArgs:
        """The arguments of a workload from the stack config."""
        return cls(
            secrets=spec.secrets,
            platform=platform,
            namespace=spec.namespace,
            service_account=spec.service_account,
            demo=spec.demo,
            legacy_names=spec.legacy_names,
            config_path=spec.config_path,
        )


class Workload(pulumi.ComponentResource):
    """An application's ServiceAccount, secrets, principal and SecretProviderClass, and, with
    the demo, the article's two hello-servers."""

    namespace: pulumi.Output[str]
    service_account: pulumi.Output[str]
    secret_provider_class: pulumi.Output[str]
    synced_secret: pulumi.Output[str] | None
    authorized_deployment: pulumi.Output[str] | None
    unauthorized_deployment: pulumi.Output[str] | None
    csi_driver: pulumi.Output[str]

    def __init__(self, name: str, args: WorkloadArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        platform = args.platform
        if platform is None:
            raise ConfigError([f"{name}: expected WorkloadArgs.platform, or Platform.workload(...)"])
        spec = args.spec(name)
        platform.admit(spec)
        super().__init__(WORKLOAD_TYPE, name, None, opts)
        self.name = name
        config = platform.config
        child = pulumi.ResourceOptions(parent=self)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=platform.kubernetes.provider)
        namespace: list[pulumi.Resource] = []
        if args.create_namespace and spec.namespace not in EXISTING_NAMESPACES:
            namespace.append(platform.namespace(spec))
        in_namespace = _after(on_cluster, *namespace)

        identity = platform.identity.grant(name, spec, child)
        store = platform.store.grant(name, spec, identity, child)
        install = platform.store.install
        # The store's provider names them, whichever way it is installed.
        names = spec.kubernetes_names(registry.STORES[config.store].provider)
        synced = names.synced_secret if config.driver.sync_secret else None

        # The stack's single workload had them in its demo's component.
        old = f"{name}-demo"
        service_account = objects.service_account(
            f"{name}-service-account", spec, identity, _moved(in_namespace, spec, f"{old}-service-account", old)
        )
        spc = objects.secret_provider_class(
            f"{name}-secret-provider-class",
            spec,
            names.secret_provider_class,
            objects.secret_provider_class_spec(install.provider, store, identity, synced),
            # After the CRD: the driver release's, or the add-on's.
            _after(_moved(in_namespace, spec, f"{old}-secret-provider-class", old), *platform.csi.crd),
        )

        self.namespace = service_account.metadata.namespace
        self.service_account = service_account.metadata.name
        self.secret_provider_class = spc.urn.apply(lambda _: names.secret_provider_class)
        # The driver a pod's CSI volume names: GKE's add-on registers one of its own.
        self.csi_driver = pulumi.Output.from_input(install.csi_driver)
        self.synced_secret = spc.urn.apply(lambda _: synced) if synced is not None else None
        self.authorized_deployment = self.unauthorized_deployment = None
        # The workload's stack outputs: its objects, its principal's and its secrets'.
        self.outputs: dict[str, pulumi.Input[Any]] = {
            "namespace": self.namespace,
            "serviceAccount": self.service_account,
            "secretProviderClass": self.secret_provider_class,
            "csiDriver": self.csi_driver,
            **identity.outputs,
            **store.outputs,
        }
        if spec.demo:
            demo = SecretStoreDemo(
                old,
                spec,
                names,
                config.demo_image,
                store,
                identity,
                config.driver,
                before=[*namespace, *platform.csi.releases, *install.ready, spc, service_account],
                opts=on_cluster,
                csi_driver=install.csi_driver,
            )
            self.authorized_deployment = demo.authorized_deployment
            self.unauthorized_deployment = demo.unauthorized_deployment
            self.outputs["authorizedDeployment"] = demo.authorized_deployment
            self.outputs["unauthorizedDeployment"] = demo.unauthorized_deployment
        if self.synced_secret is not None:
            self.outputs["syncedSecret"] = self.synced_secret
        self.register_outputs({"namespace": self.namespace, "secret_provider_class": self.secret_provider_class})


def _after(opts: pulumi.ResourceOptions, *dependencies: pulumi.Resource) -> pulumi.ResourceOptions:
    """`opts`, and created after `dependencies` (so destroyed before them)."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(dependencies)))


def _moved(
    opts: pulumi.ResourceOptions, workload: WorkloadSpec, old_name: str, old_parent: str
) -> pulumi.ResourceOptions:
    if not workload.legacy_names:
        return opts
    alias = pulumi.Alias(name=old_name, parent=pulumi.create_urn(old_parent, DEMO_TYPE))
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[alias]))

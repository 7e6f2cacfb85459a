"""The library as a Pulumi component package, for every Pulumi language.

`Platform` and `Workload` here are the library's components (same types, same children, same
checks) with arguments a package schema can state: typed dictionaries of inputs, no unions.
`component/__main__.py` hosts them with `component_provider_host`; the schema comes from
these annotations. Python programs keep using `secretstore_csi.platform`.

A workload names its platform by the platform's `platformName` output. Within one deployment
the engine runs every component of the package in one provider process, so the workload finds
the live platform there; it needs the platform's install (its principal's issuer, the
cluster's provider), which no schema type can carry.

This module does not use `from __future__ import annotations`: the schema analyzer reads the
annotations as types.
"""

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
from pydantic import ValidationError

from secretstore_csi import PROJECT, checks, registry
from secretstore_csi import platform as library
from secretstore_csi.config import validation_problems
from secretstore_csi.errors import ConfigError
from secretstore_csi.model import DriverSettings, StoreSecret
from secretstore_csi.settings import (
    ROTATION_FLOOR,
    ConfigSecret,
    PlatformConfig,
    SettingsModel,
    rotation_interval,
)

_PLATFORMS: dict[str, "Platform"] = {}
"""The platforms this provider process made in this deployment, by name."""


def _data(output: pulumi.Output[Any]) -> Any:
    """What an Output holds, when the engine knew it before the component was made: the
    provider wraps each input that has dependencies in an Output whose data is already
    resolved (pulumi/provider/server.py, ProviderServicer._select_value)."""
    data = getattr(output, "_data", None)
    if data is None or not data.done() or data.cancelled() or data.exception() is not None:
        return None
    return data.result()


def known(value: Any, where: str) -> Any:
    """`value` with every Output in it replaced by what it holds; ConfigError when that is
    not known yet. What shapes the stack must be known when the component is made."""
    if isinstance(value, pulumi.Output):
        data = _data(value)
        if data is None or not data.is_known:
            raise ConfigError([f"{where}: expected a value known when the component is made, not one still unknown"])
        return known(data.value, where)
    if isinstance(value, Mapping):
        return {key: known(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [known(item, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


def _is_secret(value: Any) -> bool:
    data = _data(value) if isinstance(value, pulumi.Output) else None
    return bool(data is not None and data.is_secret)


class PlatformArgs(TypedDict):
    """What a platform is made of: one cluster source, secret store and identity mode."""

    cloud: pulumi.Input[str]
    """Where the cluster comes from: aws, azure, gcp, or kubernetes (an existing cluster, such as kind)."""
    store: NotRequired[pulumi.Input[str]]
    """secretsManager, keyVault, secretManager or vault; default: the cloud's."""
    identity: NotRequired[pulumi.Input[str]]
    """How a service account proves who it is; default: the store's."""
    install: NotRequired[pulumi.Input[str]]
    """helm (the pinned charts, default) or addon (the cloud's managed add-on)."""
    settings: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """The settings of the cluster source, store and identity mode, by their stack config keys:
    `aws:region`, `nodeInstanceType`, `existingCluster`, ... (without `secretstore-csi:`).
    Secret ones (`kubeconfig`, `vault:token`) must be secret inputs."""
    sync_secret: NotRequired[pulumi.Input[bool]]
    """Also sync the mounted files to a Kubernetes Secret."""
    rotation_poll_interval: NotRequired[pulumi.Input[str]]
    """Turn rotation on, refreshing at most this often (a Go duration, at least 1m)."""


def _settings(
    kind: type[SettingsModel], given: Mapping[str, Any], secrets: set[str], problems: list[str]
) -> SettingsModel | None:
    data: dict[str, Any] = {}
    for key in kind.config_keys():
        short = key.removeprefix(f"{PROJECT}:")
        if short in given:
            value = given[short]
            data[key] = ConfigSecret(value, short in secrets) if key in kind.secret_keys() else value
    try:
        return kind.model_validate(data)
    except ValidationError as error:
        shown = [
            p.replace(f"{PROJECT}:", "settings.") for p in validation_problems(error, kind, set(kind.secret_keys()))
        ]
        problems.extend(shown)
        return None


def platform_config(args: PlatformArgs) -> PlatformConfig:
    """The library's config from the package's arguments, checked as stack config is."""
    cloud, store, identity = library.combination(
        known(args["cloud"], "cloud"), known(args.get("store"), "store"), known(args.get("identity"), "identity")
    )
    source = registry.CLUSTERS[cloud]
    raw = args.get("settings") or {}
    secrets = {key for key, value in (raw.items() if isinstance(raw, Mapping) else []) if _is_secret(value)}
    given = {str(key): str(value) for key, value in known(raw, "settings").items()}
    kinds = (source.settings(), registry.STORES[store].settings(), registry.IDENTITIES[identity].settings())
    keys = {key.removeprefix(f"{PROJECT}:") for kind in kinds for key in kind.config_keys()}
    problems = [
        f"settings.{key}: not a setting of cloud {cloud}, store {store} or identity {identity}: expected one of "
        f"{', '.join(sorted(keys))}"
        for key in sorted(set(given) - keys)
    ]
    models = [_settings(kind, given, secrets, problems) for kind in kinds]
    if problems or None in models:
        raise ConfigError(problems)
    cluster, store_settings, identity_settings = models
    assert cluster is not None and store_settings is not None and identity_settings is not None
    rotation = known(args.get("rotation_poll_interval"), "rotationPollInterval")
    if rotation is not None:
        try:
            rotation_interval(rotation)
        except ValueError:
            problems.append(
                f"rotationPollInterval = {rotation!r}: expected a Go duration such as 2m, 1h or 1h30m, at least "
                f"{ROTATION_FLOOR}"
            )
    if problems:
        raise ConfigError(problems)
    # The library's own checks of the settings objects and `install`, and its PlatformConfig.
    return library.PlatformArgs(
        cloud=cloud,
        store=store,
        identity=identity,
        cluster=cluster,
        store_settings=store_settings,
        identity_settings=identity_settings,
        driver=DriverSettings(
            sync_secret=bool(known(args.get("sync_secret"), "syncSecret")), rotation_poll_interval=rotation
        ),
        install=known(args.get("install"), "install") or "helm",
    ).config()


class Platform(library.Platform):
    """One cluster's shared parts: the cluster (or a connection to one), the Secrets Store CSI
    Driver and the store's provider, and what the identity mode needs once per cluster."""

    platform_name: pulumi.Output[str]
    """What a workload names this platform by."""
    kubeconfig: pulumi.Output[str] | None
    """The cluster's kubeconfig, secret; none for a cluster reached through your own."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        config = platform_config(args)
        install = checks.install_problems(config)
        if install:
            raise ConfigError(install)
        super().__init__(name, config, opts)
        _PLATFORMS[name] = self
        self.platform_name = pulumi.Output.from_input(name)
        self.kubeconfig = self.kubernetes.kubeconfig


class SecretArgs(TypedDict):
    """One secret of a workload: in the store, mounted as the file `name`."""

    name: pulumi.Input[str]
    """The file it is mounted as; a DNS-1123 label, unique in the workload."""
    keys: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """The keys of its JSON document; each is mounted as `<name>-<key>` where the store can."""
    value: NotRequired[pulumi.Input[str]]
    """Its value, for a secret without keys; generated when neither this nor `values` is given."""
    values: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Its values by key; keys left out are generated."""
    existing: NotRequired[pulumi.Input[str]]
    """A secret the store holds already, in its terms: nothing is created, and exactly it is granted."""


class WorkloadArgs(TypedDict):
    """An application: its service account, its secrets, and the platform it runs on."""

    platform: pulumi.Input[str]
    """The `platformName` output of the platform it runs on."""
    secrets: pulumi.Input[Sequence[pulumi.Input[SecretArgs]]]
    """What the store holds for it."""
    namespace: NotRequired[pulumi.Input[str]]
    """Default: `<stack>-<name>`, a namespace of the stack's own, restricted."""
    service_account: NotRequired[pulumi.Input[str]]
    """The one service account its principal trusts; default: the workload's name."""
    demo: NotRequired[pulumi.Input[bool]]
    """Also run the article's two hello-servers."""


def _secret(entry: Mapping[str, Any], where: str) -> StoreSecret:
    keys = tuple(known(entry.get("keys") or (), f"{where}.keys"))
    given: dict[str, pulumi.Input[str]] = {}
    if entry.get("value") is not None:
        given[""] = pulumi.Output.secret(entry["value"])
    values = entry.get("values")
    if isinstance(values, pulumi.Output):
        # Its keys shape the secret: known when the workload is made; the values stay secret.
        values = known(values, f"{where}.values")
    if values is not None:
        given.update({str(key): pulumi.Output.secret(value) for key, value in values.items()})
    existing = known(entry.get("existing"), f"{where}.existing")
    return StoreSecret(name=known(entry["name"], f"{where}.name"), keys=keys, given=given or None, existing=existing)


class Workload(library.Workload):
    """An application on a platform: its ServiceAccount, its secrets, a principal that reads
    exactly them, and a SecretProviderClass."""

    # The library's outputs, declared again as types: the library module's annotations are strings.
    namespace: pulumi.Output[str]
    """The namespace it runs in."""
    service_account: pulumi.Output[str]
    """The one service account its principal trusts."""
    secret_provider_class: pulumi.Output[str]
    """The SecretProviderClass a pod's CSI volume names."""
    synced_secret: pulumi.Output[str] | None
    """The Kubernetes Secret the mounted files are synced to, with syncSecret."""
    authorized_deployment: pulumi.Output[str] | None
    """With the demo: the hello-server that runs as the service account and serves the secret."""
    unauthorized_deployment: pulumi.Output[str] | None
    """With the demo: the hello-server that runs as `default`, whose mount the store refuses."""
    csi_driver: pulumi.Output[str]
    """The CSI driver a pod's volume names: secrets-store.csi.k8s.io, or GKE's add-on's own."""

    def __init__(self, name: str, args: WorkloadArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        platform_name = known(args["platform"], "platform")
        platform = _PLATFORMS.get(platform_name)
        if platform is None:
            raise ConfigError(
                [f"platform = {platform_name!r}: expected the platformName output of a Platform of this program"]
            )
        raw: Any = args["secrets"]
        # Resolved only when the list itself is an Output; values inside stay secret Outputs.
        entries: Sequence[Mapping[str, Any]] = known(raw, "secrets") if isinstance(raw, pulumi.Output) else raw
        secrets = [_secret(entry, f"secrets[{index}]") for index, entry in enumerate(entries)]
        workload = library.WorkloadArgs(
            secrets=secrets,
            namespace=known(args.get("namespace"), "namespace"),
            service_account=known(args.get("service_account"), "serviceAccount"),
            demo=bool(known(args.get("demo"), "demo")),
        )
        super().__init__(name, dataclasses.replace(workload, platform=platform), opts)

"""The inventory (CMDB): which servers exist and the only config files the bot may edit for each.

The file format is a contract users rely on (docs/configuration.md)::

    servers:
      - name: web-01            # matches Wazuh agent.name
        ip: 10.20.1.11          # the server's own addresses (ip, ips) are never blocked
        ips: [2a0e:1c80:1:1::45]
        environment: prod
        owner: team-shop
        configs:                # the only files the bot may ever edit for this server
          - path: clusters/prod/web-01/ingress-nginx-controller.yaml
            kind: ingress-nginx # which playbooks apply
          - path: clusters/prod/web-01/denylist.yaml
            kind: denylist
            key: blocked-cidrs  # data key holding one CIDR per line
    protected_networks: [10.0.0.0/8, 100.64.0.0/10]
    workloads:                  # image targets: the only workload files set_image may touch
      - name: shop-web          # the workload (Deployment, StatefulSet, ...) as the reports name it
        namespace: shop
        owner: team-shop
        images:
          - path: apps/shop/deployment.yaml
            kind: workload-image      # or helm-values (values_path: image) or kustomize-images (image: nginx)
            container: web
            primary_package: github.com/acme/shop   # optional: the image's own application
            allow_major: false
    policy_directories:         # where add_policy may create one Kyverno policy file
      - path: clusters/prod/policies
        kind: kyverno-policies
        cluster: prod
    app_repos:                  # application repositories (issue 18): only bump_dependency may touch one
      - name: orders-web
        repository: ../apps/orders-web      # a path, or a remote git URL
        ecosystem: npm                      # pip | npm
        manifest: package.json              # pip: requirements.txt (pinned) or requirements.in (a lock tool)
        lockfiles: [package-lock.json]
        lock_tool: npm                      # npm | pinned | pip-compile | uv
        test_command: [npm, test]
        test_timeout: 600
        owner: team-orders
        allow_major: false
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.core.errors import InventoryError
from bot.core.network import IPNetwork, parse_address
from bot.core.paths import normalise_repo_path

#: Config kinds the bot understands, with the data key that holds their block list by default.
CONFIG_KINDS: dict[str, str | None] = {"ingress-nginx": "block-cidrs", "denylist": None}


class ConfigRef(BaseModel):
    """One config file a server allows the bot to edit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    kind: str
    key: str | None = None
    set_keys: tuple[str, ...] = ()  # data keys set_key may change here, beyond the kind's defaults

    @field_validator("path")
    @classmethod
    def _path_is_relative(cls, value: str) -> str:
        return normalise_repo_path(value)

    @model_validator(mode="after")
    def _key_for_denylist(self) -> ConfigRef:
        if self.kind == "denylist" and not self.key:
            raise ValueError(f"config {self.path}: kind 'denylist' needs 'key' (the data key of the list)")
        return self

    @property
    def block_key(self) -> str | None:
        """The data key holding this config's CIDR block list, if the kind has one."""
        return self.key or CONFIG_KINDS.get(self.kind)


class Server(BaseModel):
    """One monitored server and its editable configs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    ip: str | None = None
    ips: tuple[str, ...] = ()  # further addresses of the server; all are protected like ``ip``
    environment: str | None = None
    owner: str | None = None
    configs: tuple[ConfigRef, ...] = ()
    argocd_app: str | None = (
        None  # the Argo CD Application that deploys its configs (post-merge verification)
    )

    @field_validator("ip")
    @classmethod
    def _ip_is_address(cls, value: str | None) -> str | None:
        if value is not None and parse_address(str(value)) is None:
            raise ValueError(f"ip: {value!r} is not an IP address")
        return None if value is None else str(value).strip()

    @field_validator("ips")
    @classmethod
    def _ips_are_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            if parse_address(str(text)) is None:
                raise ValueError(f"ips: {text!r} is not an IP address")
        return tuple(str(t).strip() for t in value)

    @property
    def addresses(self) -> tuple[IPNetwork, ...]:
        """Every address of this server (``ip`` then ``ips``), each as a /32 or /128."""
        out: list[IPNetwork] = []
        for text in ((self.ip,) if self.ip else ()) + self.ips:
            ip = parse_address(text)
            if ip is not None:
                out.append(ipaddress.ip_network(ip))
        return tuple(out)


#: How a file holds an image reference (see :class:`ImageTarget`).
IMAGE_KINDS = ("workload-image", "helm-values", "kustomize-images")


class ImageTarget(BaseModel):
    """One image reference a workload allows ``set_image`` to change, and the file that holds it.

    - ``workload-image``: a manifest (Deployment, StatefulSet, DaemonSet, CronJob, Job, Pod) whose
      ``container`` (a container or initContainer name) has the ``image``;
    - ``helm-values``: a Helm values file; ``values_path`` (dotted, default ``image``) is the mapping with
      ``repository``/``tag``/``digest`` (``registry`` optional);
    - ``kustomize-images``: a kustomization whose ``images:`` entry ``name: <image>`` has ``newTag``/``digest``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    kind: str
    container: str | None = None
    values_path: str = "image"
    image: str | None = None
    primary_package: str | None = None
    allow_major: bool = False

    @field_validator("path")
    @classmethod
    def _path_is_relative(cls, value: str) -> str:
        return normalise_repo_path(value)

    @model_validator(mode="after")
    def _fields_for_kind(self) -> ImageTarget:
        if self.kind not in IMAGE_KINDS:
            raise ValueError(f"image {self.path}: kind {self.kind!r} is not one of {', '.join(IMAGE_KINDS)}")
        if self.kind == "workload-image" and not self.container:
            raise ValueError(
                f"image {self.path}: kind 'workload-image' needs 'container' (the container name)"
            )
        if self.kind == "kustomize-images" and not self.image:
            raise ValueError(f"image {self.path}: kind 'kustomize-images' needs 'image' (the images[].name)")
        if self.kind == "helm-values" and not all(p for p in self.values_path.split(".")):
            raise ValueError(f"image {self.path}: values_path {self.values_path!r} is not a dotted path")
        return self


class Workload(BaseModel):
    """One workload (Deployment, StatefulSet, ...) whose image references the bot may bump."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    namespace: str = "default"
    kind: str | None = None  # Deployment, StatefulSet, DaemonSet, ...; None matches any
    owner: str | None = None
    environment: str | None = None
    argocd_app: str | None = None  # the Argo CD Application that deploys it (post-merge verification)
    images: tuple[ImageTarget, ...] = ()

    @property
    def ref(self) -> str:
        """``namespace/name``: how findings and proposals name the workload."""
        return f"{self.namespace}/{self.name}"


class PolicyDirectory(BaseModel):
    """A directory of Kyverno policies the bot may add a file to (``kind: kyverno-policies``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    kind: str = "kyverno-policies"
    cluster: str = ""
    owner: str | None = None
    namespaces: tuple[str, ...] = ()  # namespaces a namespaced ``Policy`` may be created in

    @field_validator("path")
    @classmethod
    def _path_is_relative(cls, value: str) -> str:
        return normalise_repo_path(value.rstrip("/"))

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value != "kyverno-policies":
            raise ValueError(f"policy directory kind {value!r} is not 'kyverno-policies'")
        return value


#: How an application repository's dependencies are changed, per ecosystem (the first is the default).
LOCK_TOOLS = {"pip": ("pinned", "pip-compile", "uv"), "npm": ("npm",)}


class AppRepo(BaseModel):
    """An application repository whose dependency manifest and lockfiles ``bump_dependency`` may change (one
    package per proposal, by the ecosystem's own tool), and how its tests run. Nothing else in it is edited."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][-._A-Za-z0-9]*$")
    repository: str = Field(min_length=1)
    ecosystem: str
    manifest: str
    lockfiles: tuple[str, ...] = ()
    lock_tool: str = ""
    test_command: tuple[str, ...] = Field(min_length=1)
    test_timeout: float = Field(default=600, gt=0, le=3600)
    owner: str | None = None
    allow_major: bool = False
    #: A bump whose tests newly fail is shown but never approvable, unless this is set.
    approve_failing_tests: bool = False
    max_changed_lines: int | None = Field(default=None, gt=0)
    default_branch: str = "main"
    #: ``owner/name`` on GitHub: where open Dependabot/Renovate pull requests are looked up.
    github_repository: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")

    @field_validator("manifest")
    @classmethod
    def _manifest_path(cls, value: str) -> str:
        return normalise_repo_path(value)

    @field_validator("lockfiles")
    @classmethod
    def _lockfile_paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(normalise_repo_path(v) for v in value)

    @model_validator(mode="after")
    def _tool_for_ecosystem(self) -> AppRepo:
        tools = LOCK_TOOLS.get(self.ecosystem)
        if tools is None:
            raise ValueError(f"app repo {self.name}: ecosystem {self.ecosystem!r} is not one of pip, npm")
        if not self.lock_tool:
            object.__setattr__(self, "lock_tool", tools[0])
        elif self.lock_tool not in tools:
            raise ValueError(
                f"app repo {self.name}: lock_tool {self.lock_tool!r} is not one of {', '.join(tools)} "
                f"for {self.ecosystem}"
            )
        if self.lock_tool in ("pip-compile", "uv", "npm") and not self.lockfiles:
            raise ValueError(f"app repo {self.name}: lock_tool {self.lock_tool!r} needs 'lockfiles'")
        return self

    @property
    def files(self) -> tuple[str, ...]:
        """The only files a bump may change: the manifest and the lockfiles."""
        return tuple(dict.fromkeys((self.manifest, *self.lockfiles)))


class Inventory(BaseModel):
    """The whole inventory; read-only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    servers: tuple[Server, ...] = ()
    protected_networks: tuple[str, ...] = ()
    workloads: tuple[Workload, ...] = ()
    policy_directories: tuple[PolicyDirectory, ...] = ()
    app_repos: tuple[AppRepo, ...] = ()

    def app_repo(self, name: str) -> AppRepo | None:
        """The application repository ``name``, if listed."""
        for a in self.app_repos:
            if a.name == name:
                return a
        return None

    @field_validator("protected_networks")
    @classmethod
    def _networks_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            try:
                if "%" in str(text):
                    raise ValueError("zone id")
                ipaddress.ip_network(str(text).strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"protected_networks: {text!r} is not a network") from exc
        return tuple(str(t).strip() for t in value)

    @model_validator(mode="after")
    def _unique_names(self) -> Inventory:
        seen: set[str] = set()
        for s in self.servers:
            if s.name in seen:
                raise ValueError(f"server {s.name!r} is listed twice")
            seen.add(s.name)
        refs: set[str] = set()
        for w in self.workloads:
            if w.ref in refs:
                raise ValueError(f"workload {w.ref!r} is listed twice")
            refs.add(w.ref)
        apps: set[str] = set()
        for a in self.app_repos:
            if a.name in apps:
                raise ValueError(f"app repo {a.name!r} is listed twice")
            apps.add(a.name)
        return self

    @cached_property
    def protected(self) -> tuple[IPNetwork, ...]:
        """The protected networks, then every server's own addresses (``ip`` and ``ips``) as single hosts:
        the bot never blocks a server it guards, even one outside ``protected_networks``."""
        nets: list[IPNetwork] = [ipaddress.ip_network(t, strict=False) for t in self.protected_networks]
        for server in self.servers:
            for address in server.addresses:
                if address not in nets:
                    nets.append(address)
        return tuple(nets)

    def server(self, name: str) -> Server | None:
        for s in self.servers:
            if s.name == name:
                return s
        return None

    def allowed_configs(self, targets: Iterable[str]) -> dict[str, tuple[Server, ConfigRef]]:
        """Every config path the inventory allows for these servers, with its server."""
        out: dict[str, tuple[Server, ConfigRef]] = {}
        for name in targets:
            server = self.server(name)
            if server is None:
                continue
            for cfg in server.configs:
                out[cfg.path] = (server, cfg)
        return out

    def workload(self, ref: str) -> Workload | None:
        """The workload ``namespace/name`` (or a bare name in ``default``), if listed."""
        if "/" not in ref:
            ref = f"default/{ref}"
        for w in self.workloads:
            if w.ref == ref:
                return w
        return None

    def image_targets(self, refs: Iterable[str]) -> dict[str, tuple[Workload, ImageTarget]]:
        """Every image file the inventory lists for these workloads, with its workload."""
        out: dict[str, tuple[Workload, ImageTarget]] = {}
        for ref in refs:
            w = self.workload(ref)
            if w is None:
                continue
            for img in w.images:
                out[img.path] = (w, img)
        return out

    def owner_of_path(self, path: str) -> str | None:
        """The server whose configs list ``path`` (for explaining guard refusals)."""
        for s in self.servers:
            if any(c.path == path for c in s.configs):
                return s.name
        return None


def inventory_from_data(data: Any, *, source: str = "inventory") -> Inventory:
    """Validate parsed YAML into an :class:`Inventory`, with errors that name the offending entry."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InventoryError(f"{source}: expected a mapping with 'servers:' at the top")
    try:
        return Inventory.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InventoryError(f"{source}: {where}: {first['msg']}") from None

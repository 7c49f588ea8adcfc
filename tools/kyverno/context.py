"""The JSON context a rule is evaluated in (docs/kyverno-semantics §9.1, §9.5)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from tools.kyverno.errors import EvalError
from tools.kyverno.jmes import search
from tools.kyverno.match import Admission
from tools.kyverno.variables import set_path, substitute

DEFAULT_REGISTRY = "docker.io"


@dataclass
class Values:
    """What a test's values file supplies for one (policy, resource) pair."""

    variables: dict[str, Any] = field(default_factory=dict)  # global + per-resource, dotted keys
    rule_values: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule name -> entry values
    foreach_values: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    # names the values file provides data for anywhere in this policy: a lookup entry named here is
    # "mocked", and where a resource gets no data for it the CLI's offline behaviour applies (not loaded)
    mocked_names: set[str] = field(default_factory=set)
    #: subresource kinds the values file declares: kind -> (parent kind, subresource), e.g. Scale -> (Deployment, scale)
    subresources: dict[str, tuple[str, str]] = field(default_factory=dict)


def image_info(image: str) -> dict[str, str]:
    """Kyverno's ``images`` entry for one image reference (default registry docker.io, tag latest)."""
    slash = image.find("/")
    full = image
    if slash == -1 or (
        not any(c in image[:slash] for c in ".:") and image[:slash] != "localhost" and image[:slash].islower()
    ):
        full = f"{DEFAULT_REGISTRY}/{image}"
    registry, _, rest = full.partition("/")
    digest = ""
    if "@" in rest:
        rest, digest = rest.split("@", 1)
    tag = ""
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        rest, tag = rest.rsplit(":", 1)
    if not tag and not digest:
        tag = "latest"
    name = rest.rsplit("/", 1)[-1]
    base = f"{registry}/{rest}"
    return {
        "registry": registry,
        "path": rest,
        "name": name,
        "tag": tag,
        "digest": digest,
        "reference": f"{base}@{digest}" if digest else f"{base}:{tag}",
        "referenceWithTag": f"{base}:{tag}",
    }


def _pod_spec(resource: dict[str, Any]) -> dict[str, Any] | None:
    spec = resource.get("spec")
    if not isinstance(spec, dict):
        return None
    kind = resource.get("kind")
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")
        return spec if isinstance(spec, dict) else None
    template = spec.get("template")
    inner = template.get("spec") if isinstance(template, dict) else None
    return inner if isinstance(inner, dict) else None


def images(resource: dict[str, Any] | None) -> dict[str, Any]:
    """``images.containers|initContainers|ephemeralContainers.<name>`` for a Pod or a controller."""
    out: dict[str, Any] = {}
    spec = _pod_spec(resource) if isinstance(resource, dict) else None
    if spec is None:
        return out
    for group in ("containers", "initContainers", "ephemeralContainers"):
        entries = {
            str(c.get("name")): image_info(str(c["image"]))
            for c in spec.get(group) or []
            if isinstance(c, dict) and isinstance(c.get("image"), str)
        }
        if entries:
            out[group] = entries
    return out


def build_context(
    resource: dict[str, Any], admission: Admission, values: Values, old_object: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``request.*``, ``images``, userinfo and the values file's variables."""
    operation = admission.operation
    if any(k.startswith("request.object") for k in values.variables):
        resource = copy.deepcopy(resource)  # the values file overrides parts of request.object
    namespace = (resource.get("metadata") or {}).get("namespace", "")
    request: dict[str, Any] = {
        "operation": operation,
        "object": None if operation == "DELETE" else resource,
        "namespace": namespace,
    }
    if operation in ("UPDATE", "DELETE"):
        request["oldObject"] = old_object if old_object is not None else copy.deepcopy(resource)
    ctx: dict[str, Any] = {"request": request, "images": images(resource)}
    info = admission.request
    if info is not None:
        request["userInfo"] = {"username": info.username, "groups": list(info.groups)}
        request["roles"] = list(info.roles)
        request["clusterRoles"] = list(info.cluster_roles)
        prefix = "system:serviceaccount:"
        if info.username.startswith(prefix):
            sa_ns, _, sa_name = info.username[len(prefix) :].partition(":")
            ctx["serviceAccountName"] = sa_name
            ctx["serviceAccountNamespace"] = sa_ns
    for key, value in values.variables.items():
        if key == "request.operation":
            continue
        set_path(ctx, key, copy.deepcopy(value))
    return ctx


def load_entries(entries: Any, ctx: dict[str, Any], mocks: dict[str, Any]) -> None:
    """Load ``context`` entries in order; lookups take their data from ``mocks`` (the values file)."""
    for key, value in mocks.items():
        set_path(ctx, key, copy.deepcopy(value))
    for entry in entries or []:
        name = str(entry.get("name", ""))
        variable = entry.get("variable")
        if variable is None:
            continue  # a mocked lookup: its data is already in ctx
        ctx[name] = _variable(name, variable, ctx)


def _variable(name: str, spec: dict[str, Any], ctx: dict[str, Any]) -> Any:
    result: Any = None
    try:
        if "value" in spec:
            result = substitute(spec["value"], ctx)
            if spec.get("jmesPath"):
                result = search(substitute(spec["jmesPath"], ctx), result)
        elif spec.get("jmesPath"):
            result = search(substitute(spec["jmesPath"], ctx), ctx)
    except EvalError:
        if "default" not in spec:
            raise
        result = None
    if result is None and "default" in spec:
        result = substitute(spec["default"], ctx)
    if result is None:
        raise EvalError(f"failed to load context variable {name!r}: the value is null")
    return result

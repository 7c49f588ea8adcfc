"""Small policies and resources shared by the unit tests."""

from __future__ import annotations

from typing import Any


def cluster_policy(
    *rules: dict[str, Any], annotations: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p"}
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": meta,
        "spec": {"rules": list(rules), **spec},
    }


def pod_rule(name: str = "r", **validate: Any) -> dict[str, Any]:
    return {"name": name, "match": {"any": [{"resources": {"kinds": ["Pod"]}}]}, "validate": validate}


def pod(name: str = "web", image: str = "nginx:1.25", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": image}], **spec},
    }


def deployment(name: str = "web", image: str = "nginx:1.25") -> dict[str, Any]:
    template = pod(image=image)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"template": {"metadata": {}, "spec": template["spec"]}},
    }


NO_LATEST = {"pattern": {"spec": {"containers": [{"image": "!*:latest"}]}}, "message": "no latest"}

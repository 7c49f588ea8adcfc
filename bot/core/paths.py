"""Repository paths: normalisation and the paths the bot must never touch."""

from __future__ import annotations

import posixpath
import re

#: CI/CD and automation paths: never edited, whatever the inventory says.
_FORBIDDEN_PATH = re.compile(
    r"(^|/)(\.github|\.gitlab|\.circleci|\.buildkite|\.tekton|\.drone|\.woodpecker|\.azure-pipelines|\.git)(/|$)"
    r"|(^|/)(\.gitlab-ci\.ya?ml|Jenkinsfile|azure-pipelines\.ya?ml|\.travis\.ya?ml|bitbucket-pipelines\.ya?ml"
    r"|cloudbuild\.ya?ml|\.pre-commit-config\.ya?ml|CODEOWNERS|Makefile|Dockerfile)$",
    re.IGNORECASE,
)

#: Kubernetes kinds that run code or grant access: never edited.
WORKLOAD_KINDS = frozenset(
    {
        "Pod",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
        "CronJob",
        "ReplicationController",
        "Role",
        "ClusterRole",
        "RoleBinding",
        "ClusterRoleBinding",
        "ServiceAccount",
        "Secret",
        "Application",
        "ApplicationSet",
        "Workflow",
        "Pipeline",
        "PipelineRun",
        "Task",
        "TaskRun",
    }
)


def normalise_repo_path(path: str) -> str:
    """A clean relative POSIX path inside the repository; raises ValueError for anything escaping it."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError("path is empty")
    if "\x00" in path or "\\" in path:
        raise ValueError(f"path {path!r} has forbidden characters")
    if path.startswith("/"):
        raise ValueError(f"path {path!r} must be relative to the repository root")
    norm = posixpath.normpath(path.strip())
    if norm == "." or norm.startswith("../") or norm == "..":
        raise ValueError(f"path {path!r} leaves the repository")
    return norm


def forbidden_path_reason(path: str) -> str | None:
    """Why the bot may never edit ``path`` (CI/CD, git internals), or None."""
    if _FORBIDDEN_PATH.search(path):
        return "CI/CD or repository automation file"
    if not path.endswith((".yaml", ".yml")):
        return "not a YAML manifest"
    return None

"""Proof, impact preview and effect of a Kyverno policy, run on the trusted path before any PR.

- :func:`load_manifests`: every Kubernetes document of the GitOps checkout (symlinks and policies skipped).
- :func:`prove`: the engine (``tools/kyverno``) on the policy's must-fail and must-pass fixtures and on the
  finding's own resources from the repository, plus the impact preview across every manifest.
- :func:`effect`: what a policy does, as its verdicts on a fixed set of resources, so two differently
  written policies (pattern vs CEL, other names) with the same verdicts are the same policy.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.operations.policies import PolicyProof, ProofRow, policy_digest
from tools.kyverno.policy import is_policy, parse_documents
from tools.kyverno.verdict import FAIL, flags, verdict

MAX_FILE_BYTES = 1024 * 1024
SHOWN_FLAGGED = 5
SKIP_DIRS = {".git", ".github", ".gitlab", "node_modules"}


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes document of the repository."""

    path: str  # repository path
    doc: dict[str, Any]

    @property
    def ref(self) -> str:
        """``namespace/Kind/name`` (namespace ``-`` for cluster-scoped or unnamed namespaces)."""
        meta = _map(self.doc.get("metadata"))
        return f"{meta.get('namespace') or '-'}/{self.doc.get('kind')}/{meta.get('name') or '-'}"

    @property
    def short(self) -> str:
        """``namespace/name`` as the card names it."""
        meta = _map(self.doc.get("metadata"))
        return f"{meta.get('namespace') or 'default'}/{meta.get('name') or '-'}"


@dataclass(frozen=True)
class Repository:
    """The checkout's manifests and its Kyverno policies (with their files)."""

    manifests: tuple[Manifest, ...]
    policies: tuple[Manifest, ...]
    #: (repository path, why) of each YAML file that was not read: too large, not UTF-8, broken YAML, an alias
    #: bomb, a key given twice, not a regular file
    skipped: tuple[tuple[str, str], ...] = ()


def load_repository(root: Path) -> Repository:
    """Every YAML document of the checkout: Kubernetes objects and Kyverno policies. Links are never followed;
    files over 1 MiB, unreadable files and files that do not parse are skipped, each named in ``skipped``."""
    from tools.kyverno.errors import InputError

    manifests: list[Manifest] = []
    policies: list[Manifest] = []
    skipped: list[tuple[str, str]] = []
    root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIP_DIRS and not os.path.islink(os.path.join(dirpath, d))
        )
        for name in sorted(filenames):
            if not name.endswith((".yaml", ".yml")):
                continue
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            try:
                st = os.lstat(full)
                if stat.S_ISLNK(st.st_mode):
                    continue  # links are never followed (nor named: a link is no file of the repository)
                if not stat.S_ISREG(st.st_mode):
                    skipped.append((rel, "not a regular file"))
                    continue
                if st.st_size > MAX_FILE_BYTES:
                    skipped.append((rel, f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"))
                    continue
                text = Path(full).read_text(encoding="utf-8")
                docs = parse_documents(text, name)
            except UnicodeDecodeError as exc:
                skipped.append((rel, f"not UTF-8 text (byte at offset {exc.start})"))
                continue
            except OSError as exc:
                skipped.append((rel, f"cannot be read ({exc.strerror or type(exc).__name__})"))
                continue
            except InputError as exc:
                skipped.append((rel, _reason(str(exc), name)))
                continue
            except Exception as exc:  # one bad file never stops the preview
                skipped.append((rel, f"cannot be read ({type(exc).__name__})"))
                continue
            for doc in docs:
                if not isinstance(doc.get("kind"), str) or not isinstance(doc.get("metadata"), dict):
                    continue
                (policies if is_policy(doc) else manifests).append(Manifest(rel, doc))
    return Repository(tuple(manifests), tuple(policies), tuple(skipped))


def _reason(message: str, name: str) -> str:
    """The engine's reading error without the file name it starts with, on one line, cut to 200 characters."""
    text = message[len(name) :].lstrip(" :") if message.startswith(name) else message
    text = text.removeprefix("is ")
    return " ".join(text.split())[:200]


def _label(resource: dict[str, Any], fallback: str) -> str:
    meta = _map(resource.get("metadata"))
    return f"{meta.get('namespace') or '-'}/{resource.get('kind')}/{meta.get('name') or fallback}"


def own_resources(refs: Iterable[str], repo: Repository) -> tuple[list[Manifest], list[str]]:
    """The repository manifests a finding names (``ns/Kind/name``, ``Kind/name`` or a file path), and the
    names not found. A namespace ``-`` or ``default`` matches a manifest without one."""
    found: list[Manifest] = []
    missing: list[str] = []
    for ref in dict.fromkeys(refs):
        hits = [m for m in repo.manifests if _names(m, ref)]
        if hits:
            found.extend(h for h in hits if h not in found)
        else:
            missing.append(ref)
    return found, missing


def _names(m: Manifest, ref: str) -> bool:
    if ref == m.path:
        return True
    parts = ref.split("/")
    if len(parts) != 3:
        return False
    ns, kind, name = parts
    meta = m.doc.get("metadata") or {}
    mns = meta.get("namespace") or "default"
    return (
        m.doc.get("kind") == kind
        and meta.get("name") == name
        and (ns in ("-", "", mns) or (ns == "default" and mns == "default"))
    )


def prove(
    file: str,
    policy: dict[str, Any],
    must_pass: Sequence[dict[str, Any]],
    must_fail: Sequence[dict[str, Any]],
    resources: Sequence[str],
    repo: Repository,
) -> PolicyProof:
    """The engine on the fixtures and the finding's own resources, and the impact preview on the repository."""
    rows: list[ProofRow] = []
    for i, r in enumerate(must_fail):
        rows.append(
            ProofRow(
                source="must-fail", resource=_label(r, f"#{i}"), expected="fail", actual=verdict(policy, r)
            )
        )
    for i, r in enumerate(must_pass):
        rows.append(
            ProofRow(
                source="must-pass",
                resource=_label(r, f"#{i}"),
                expected="pass",
                actual=_admitted(verdict(policy, r)),
            )
        )
    own, missing = own_resources(resources, repo)
    for m in own:
        rows.append(
            ProofRow(
                source="repository",
                resource=f"{m.path}: {m.ref}",
                expected="fail",
                actual=verdict(policy, m.doc),
            )
        )
    flagged, namespaces, unsupported = impact(policy, repo.manifests)
    return PolicyProof(
        file=file,
        policy_sha=policy_digest(policy),
        rows=tuple(rows),
        missing=tuple(missing),
        manifests=len(repo.manifests),
        flagged=tuple(m.short for m in flagged[:SHOWN_FLAGGED]),
        flagged_count=len(flagged),
        namespaces=len(namespaces),
        unsupported=unsupported,
    )


def _admitted(status: str) -> str:
    # A must-pass resource is admitted when the policy passes it, skips it or does not apply to it.
    return "pass" if flags(status) is False else status


def impact(policy: dict[str, Any], manifests: Sequence[Manifest]) -> tuple[list[Manifest], set[str], int]:
    """The manifests the policy would flag, their namespaces, and how many the engine could not evaluate."""
    flagged: list[Manifest] = []
    unsupported = 0
    for m in manifests:
        status = verdict(policy, m.doc)
        if status == FAIL:
            flagged.append(m)
        elif flags(status) is None:
            unsupported += 1
    return flagged, {m.short.split("/")[0] for m in flagged}, unsupported


def effect(policy: dict[str, Any], resources: Sequence[dict[str, Any]]) -> tuple[bool, ...] | None:
    """The policy's verdicts (flagged or not) on ``resources``; None when any cannot be evaluated."""
    out: list[bool] = []
    for r in resources:
        f = flags(verdict(policy, r))
        if f is None:
            return None
        out.append(f)
    return tuple(out)


def same_effect(
    policy: dict[str, Any], fixtures: Sequence[dict[str, Any]], repo: Repository
) -> Manifest | None:
    """An existing policy of the repository with the same verdicts on the fixtures and every manifest."""
    resources = [*fixtures, *(m.doc for m in repo.manifests)]
    mine = effect(policy, resources)
    if mine is None:
        return None
    for existing in repo.policies:
        if existing.doc.get("kind") not in ("ClusterPolicy", "Policy"):
            continue
        if effect(existing.doc, resources) == mine:
            return existing
    return None

"""K8sGPT results as findings: ``k8sgpt analyze -o json`` and k8sgpt-operator ``Result`` objects.

- ``k8sgpt analyze -o json``: ``{"status", "problems", "results": [{"kind", "name", "error": [{"Text",
  "KubernetesDoc", "Sensitive"}], "details", "parentObject"}]}`` (Failure keys are capitalised: the Go struct
  has no json tags). ``name`` is ``namespace/name``; ``kind`` may be ``Security/Pod``.
- operator ``Result`` objects (``core.k8sgpt.ai/v1alpha1``, one object, a ``List`` or several documents): the
  same fields under ``spec`` with lower-case ``text``/``sensitive``. Their ``metadata.name`` is a lossy
  concatenation (``defaultnginx``) and is never used as an identity: ``spec.name`` is.

Each failure text is matched against the analyzer templates shipped in ``k8sgpt_texts.json`` (extracted from
k8sgpt's ``pkg/analyzer/*.go``, see fixtures/k8sgpt/PROVENANCE.md) to a stable id, ``K8SGPT-<ANALYZER>-<slug>``
(``K8SGPT-INGRESS-NO-CLASS``); a text no template matches is kept with the generic id ``K8SGPT-UNKNOWN``.
All K8sGPT text is hostile (it passes Kubernetes event and status messages through): it is kept as evidence
only, cut to a bounded length, and rendered through :mod:`bot.core.sanitize` downstream.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.core.findings import MISCONFIGURATION, Finding, misconfiguration_subject

if TYPE_CHECKING:
    from tools.sources.findings_file import FindingsRead

LAYOUT_ANALYZE = "k8sgpt-analyze"
LAYOUT_OPERATOR = "k8sgpt-operator"
GENERIC_ID = "K8SGPT-UNKNOWN"
MAX_TEXT = 2000
_TEXTS = Path(__file__).with_name("k8sgpt_texts.json")

#: Readable ids for the templates the router and the policy catalogue name; others get a hash slug.
NAMED = {
    "Ingress %s/%s does not specify an Ingress class.": "K8SGPT-INGRESS-NO-CLASS",
    "Ingress uses the ingress class %s which does not exist.": "K8SGPT-INGRESS-CLASS-MISSING",
    "Container %s in pod %s is running as privileged which poses security risks": "K8SGPT-SECURITY-PRIVILEGED",
    "Default service account is being used by pods: %v": "K8SGPT-SECURITY-DEFAULT-SA",
    "Pod %s does not have a security context defined which may pose security risks": "K8SGPT-SECURITY-NO-CONTEXT",
    "RoleBinding %s references Role %s which contains wildcard permissions - this is not recommended for "
    "security best practices": "K8SGPT-SECURITY-RBAC-WILDCARD",
}
#: Texts the Kubernetes API writes, which pass through k8sgpt (``passthrough`` sites): runtime failures.
_PASSTHROUGH = "K8SGPT-{analyzer}-EVENT"


def _analyzer(source_file: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", Path(source_file).stem.upper())[:12] or "OTHER"


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(%[sdvq])", template)
    rx = "".join(
        ("(-?[0-9]+)" if p == "%d" else "(.+?)") if p in ("%s", "%d", "%v", "%q") else re.escape(p)
        for p in parts
    )
    return re.compile(f"^{rx}$", re.DOTALL)


@lru_cache(maxsize=1)
def templates() -> tuple[tuple[re.Pattern[str], str, str], ...]:
    """(pattern, finding id, analyzer) per format template, most specific (longest literal text) first."""
    data = json.loads(_TEXTS.read_text(encoding="utf-8"))
    out: list[tuple[re.Pattern[str], str, str, int]] = []
    for entry in data.get("failure_texts") or []:
        if entry.get("text_kind") != "format":
            continue
        text = str(entry["text"])
        analyzer = _analyzer(str(entry.get("source_file", "")))
        fid = NAMED.get(text) or f"K8SGPT-{analyzer}-{hashlib.sha256(text.encode()).hexdigest()[:6].upper()}"
        literal = len(re.sub(r"%[sdvq]", "", text))
        out.append((_pattern(text), fid, analyzer, literal))
    out.sort(key=lambda t: -t[3])
    return tuple((p, fid, a) for p, fid, a, _ in out)


def finding_id(text: str) -> str:
    """The stable id of a failure text: its analyzer template's id, or :data:`GENERIC_ID`."""
    for pattern, fid, _analyzer_name in templates():
        if pattern.match(text):
            return fid
    return GENERIC_ID


def is_analyze_document(doc: Any) -> bool:
    """``k8sgpt analyze -o json``: a mapping with ``results`` (list or null) and ``status``/``problems``."""
    return (
        isinstance(doc, dict)
        and "results" in doc
        and ("problems" in doc or "status" in doc)
        and (doc.get("results") is None or isinstance(doc.get("results"), list))
    )


def is_operator_document(doc: Any) -> bool:
    """A ``core.k8sgpt.ai`` Result, or a List whose items are."""
    if not isinstance(doc, dict):
        return False
    if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
        return any(is_operator_document(i) for i in doc["items"])
    return doc.get("kind") == "Result" and str(doc.get("apiVersion", "")).startswith("core.k8sgpt.ai/")


def cut_name(value: str) -> str:
    return value if len(value) <= 80 else value[:80] + "…"


def _text(value: Any, read: FindingsRead) -> str:
    if not isinstance(value, str):
        return ""
    if len(value) > MAX_TEXT:
        read.truncated += 1
        return value[:MAX_TEXT]
    return value


#: A Kubernetes object name or namespace as K8sGPT writes it (RBAC names may hold ``:`` and ``@``): no path
#: separators, no ``..``, no spaces or markup, at most 253 characters.
_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._:@-]{0,251}[A-Za-z0-9])?")


def _k8s_name(value: str) -> bool:
    return bool(_NAME.fullmatch(value)) and ".." not in value


def _result(entry: Any, where: str, read: FindingsRead, *, operator: bool) -> None:
    at = f"{read.name}: {where}"
    if not isinstance(entry, dict):
        read.refuse(at, "not a mapping")
        return
    kind_text = entry.get("kind")
    name_text = entry.get("name")
    if not isinstance(kind_text, str) or not isinstance(name_text, str) or not name_text:
        read.refuse(at, "kind or name missing")
        return
    errors = entry.get("error")
    if not isinstance(errors, list):
        read.refuse(at, "error is not a list")
        return
    kind = kind_text.rpartition("/")[2] or kind_text  # "Security/Pod" -> Pod
    namespace, _, name = name_text.rpartition("/")
    if not _k8s_name(name) or (namespace and not _k8s_name(namespace)) or not _k8s_name(kind):
        read.refuse(
            at, f"{cut_name(name_text)!r} of kind {cut_name(kind_text)!r} is not a Kubernetes object name"
        )
        return
    parent_kind, _, parent_name = str(entry.get("parentObject") or "").partition("/")
    if parent_name and not (_k8s_name(parent_kind) and _k8s_name(parent_name)):
        parent_kind = parent_name = ""  # a parent that is no object name is not an owner
    details = _text(entry.get("details"), read)
    key = "text" if operator else "Text"
    for i, failure in enumerate(errors):
        place = f"{where}.error[{i}]"
        text = (
            failure.get(key, failure.get("text" if key == "Text" else "Text"))
            if isinstance(failure, dict)
            else None
        )
        if not isinstance(text, str) or not text.strip():
            read.refuse(f"{read.name}: {place}", f"{key} missing")
            continue
        fid = finding_id(text)
        wkind, wname = (parent_kind, parent_name) if parent_name else (kind, name)
        read.findings.append(
            Finding(
                source="k8sgpt-operator" if operator else "k8sgpt",
                kind=MISCONFIGURATION,
                id=fid,
                subject=misconfiguration_subject(fid, namespace, kind, name),
                severity="MEDIUM",  # K8sGPT gives none; MEDIUM keeps every result above the default min_level
                title=_text(text, read),
                namespace=namespace,
                workload_kind=wkind,
                workload=wname,
                resolution=details,
                where=f"{read.name}: {place}",
                target=f"{kind_text} {name_text}",
            )
        )


def read_analyze(doc: dict[str, Any], read: FindingsRead) -> None:
    """Findings of one ``k8sgpt analyze -o json`` document."""
    for i, entry in enumerate(doc.get("results") or []):
        _result(entry, f"results[{i}]", read, operator=False)


def read_operator(objects: list[tuple[str, Any]], read: FindingsRead) -> None:
    """Findings of operator Result objects (``where`` prefixes: "" for one object, ``documents[i]``)."""
    for where, doc in objects:
        items = doc.get("items") if str(doc.get("kind", "")).endswith("List") else [doc]
        for j, item in enumerate(items or []):
            place = f"{where}.items[{j}]" if doc is not item else (where or "Result")
            if not (isinstance(item, dict) and is_operator_document(item)):
                continue
            spec = item.get("spec")
            if not isinstance(spec, dict):
                read.refuse(f"{read.name}: {place}", "spec missing")
                continue
            _result(spec, f"{place}.spec".lstrip("."), read, operator=True)

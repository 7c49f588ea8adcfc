"""PolicyReport / ClusterPolicyReport objects (``wgpolicyk8s.io``, as ``kubectl get -o yaml`` writes them):
the results per policy, the evidence for promoting a policy from Audit to Enforce.

A file holds one report, a ``List`` of them, or several documents. Results without a timestamp (chainsaw's
partial asserts) are kept but are no evidence of a period. Nothing here raises on bad content: problems are
returned with their place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot import messages
from bot.yaml_splice import EventLimits

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """The safe loader refusing a key given twice in one mapping (``kubectl`` refuses it too): a report
    saying ``result: fail`` and then ``result: pass`` is no evidence either way."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {str(key)[:40]!r} given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


MAX_BYTES = 64 * 1024 * 1024


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class ReportResult:
    """One result of one policy on one resource."""

    policy: str
    rule: str
    result: str  # pass | fail | warn | error | skip
    ts: float | None
    resource: str  # "namespace/Kind/name" of the report's scope
    source: str = ""  # "kyverno" (ClusterPolicy/Policy), "KyvernoValidatingPolicy", ... ("" when absent)


@dataclass
class PolicyReports:
    """Every result read from the report files, and the problems met."""

    results: list[ReportResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    reports: int = 0


#: The result values of the wgpolicyk8s.io CRD; anything else is named as a problem and is no pass.
RESULTS = ("pass", "fail", "warn", "error", "skip")
#: A report's timestamp past this (year 5138) or before 0 is no time at all.
MAX_SECONDS = 10**11


def read_policy_reports(paths: list[Path]) -> PolicyReports:
    """The results of every PolicyReport/ClusterPolicyReport in ``paths``; each problem names its file."""
    out = PolicyReports()
    for path in paths:
        docs = _documents(path, out)
        if docs is None:
            continue
        before = out.reports
        for i, doc in enumerate(docs):
            where = f"{path.name}: documents[{i}]"
            if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List"):
                items = doc.get("items")
                if not isinstance(items, list):
                    if items is not None:
                        out.problems.append(f"{where}: items is not a list")
                    continue
            else:
                items = [doc]
            for j, item in enumerate(items):
                _report(item, f"{where}.items[{j}]", out)
        if out.reports == before:
            out.problems.append(messages.no_policy_reports(path.name))
    return out


def _documents(path: Path, out: PolicyReports) -> list[Any] | None:
    """The YAML documents of ``path`` (aliases limited as in the YAML editor), or None with the problem."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        out.problems.append(f"{path.name}: cannot be read ({exc.strerror or type(exc).__name__})")
        return None
    if len(raw) > MAX_BYTES:
        out.problems.append(f"{path.name}: larger than {MAX_BYTES // (1024 * 1024)} MiB")
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        out.problems.append(
            f"{path.name}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        )
        return None
    try:
        if "&" in text:  # no anchor, no alias: the check pass is needed only when one may exist
            limits = EventLimits()
            for ev in yaml.parse(text, Loader=_Loader):
                why = limits.check(ev)
                if why is not None:
                    out.problems.append(f"{path.name}: {why} (YAML); not read")
                    return None
        return list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or type(exc).__name__
        out.problems.append(f"{path.name}: not valid YAML ({reason}{at})")
    except RecursionError:
        out.problems.append(f"{path.name}: nested too deeply")
    return None


def _seconds(ts: Any) -> float | None:
    seconds = ts.get("seconds") if isinstance(ts, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    if not 0 <= seconds <= MAX_SECONDS:  # also NaN
        return None
    return float(seconds)


def _report(doc: Any, where: str, out: PolicyReports) -> None:
    if not isinstance(doc, dict) or doc.get("kind") not in ("PolicyReport", "ClusterPolicyReport"):
        return
    if not str(doc.get("apiVersion", "")).startswith("wgpolicyk8s.io/"):
        return
    out.reports += 1
    scope = _map(doc.get("scope"))
    meta = _map(doc.get("metadata"))
    resource = f"{scope.get('namespace') or meta.get('namespace') or '-'}/{scope.get('kind') or '-'}/{scope.get('name') or '-'}"
    results = doc.get("results")
    if not isinstance(results, list):
        if results is not None:
            out.problems.append(f"{where}: results is not a list")
        return
    for k, r in enumerate(results):
        if (
            not isinstance(r, dict)
            or not isinstance(r.get("policy"), str)
            or not isinstance(r.get("result"), str)
        ):
            out.problems.append(f"{where}.results[{k}]: policy or result missing")
            continue
        if r["result"] not in RESULTS:
            shown = r["result"][:40]
            out.problems.append(f"{where}.results[{k}]: result {shown!r} is not one of {', '.join(RESULTS)}")
        source = r.get("source")
        out.results.append(
            ReportResult(
                # Kyverno names a namespaced Policy "namespace/name", a ClusterPolicy "name": kept as written
                policy=r["policy"],
                rule=str(r.get("rule", "")),
                result=r["result"],
                ts=_seconds(r.get("timestamp")),
                resource=resource,
                source=source if isinstance(source, str) else "",
            )
        )

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

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
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


@dataclass
class PolicyReports:
    """Every result read from the report files, and the problems met."""

    results: list[ReportResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    reports: int = 0


def read_policy_reports(paths: list[Path]) -> PolicyReports:
    """The results of every PolicyReport/ClusterPolicyReport in ``paths``."""
    out = PolicyReports()
    for path in paths:
        try:
            raw = path.read_bytes()
            if len(raw) > MAX_BYTES:
                out.problems.append(f"{path.name}: larger than {MAX_BYTES // (1024 * 1024)} MiB")
                continue
            docs = list(yaml.load_all(raw.decode("utf-8"), Loader=_Loader))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            out.problems.append(f"{path.name}: cannot read ({exc.__class__.__name__})")
            continue
        for i, doc in enumerate(docs):
            items = (
                doc.get("items")
                if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List")
                else [doc]
            )
            for j, item in enumerate(items or []):
                _report(item, f"{path.name}: documents[{i}].items[{j}]", out)
    return out


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
        ts = r.get("timestamp")
        seconds = ts.get("seconds") if isinstance(ts, dict) else None
        out.results.append(
            ReportResult(
                policy=r["policy"].rpartition("/")[2],
                rule=str(r.get("rule", "")),
                result=r["result"],
                ts=float(seconds)
                if isinstance(seconds, int | float) and not isinstance(seconds, bool)
                else None,
                resource=resource,
            )
        )

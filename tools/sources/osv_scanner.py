"""Reading ``osv-scanner --format json`` into dependency findings (``source`` ``osv-scanner``).

Layout (samples in ``fixtures/osv/osv-scanner/``): ``{"results": [{"source": {"path", "type"}, "packages":
[{"package": {"name", "version", "ecosystem"}, "vulnerabilities": [full OSV records], "groups": [{"ids",
"aliases", "max_severity"}]}]}]}``. The full records carry the affected ranges, so the guard can check a new
version against them exactly. Packages of ecosystems the bot does not bump (Go, crates.io...) are counted in one
problem line, not read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.core.versions import osv_ranges
from tools.sources.advisories import Refused, advisory_finding, cut, ids, package_name

if TYPE_CHECKING:
    from tools.sources.findings_file import FindingsRead

LAYOUT = "osv-scanner"
SOURCE = "osv-scanner"
_ECOSYSTEMS = {"PyPI": "pip", "npm": "npm"}


def is_document(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("results"), list) and "Results" not in doc


def severity_of(vuln: dict[str, Any], group_score: Any) -> str:
    """The record's own word (``database_specific.severity``), else the group's CVSS score as a word."""
    db = vuln.get("database_specific")
    if isinstance(db, dict) and isinstance(db.get("severity"), str):
        word = db["severity"].upper()
        return "MEDIUM" if word == "MODERATE" else word
    try:
        score = float(group_score)
    except (TypeError, ValueError):
        return "UNKNOWN"
    if score >= 9:
        return "CRITICAL"
    if score >= 7:
        return "HIGH"
    if score >= 4:
        return "MEDIUM"
    return "LOW" if score > 0 else "UNKNOWN"


def read_document(doc: dict[str, Any], read: FindingsRead) -> None:
    others: dict[str, int] = {}
    for i, result in enumerate(doc["results"]):
        where = f"{read.name}: results[{i}]"
        if not isinstance(result, dict) or not isinstance(result.get("packages", []), list):
            read.refuse(where, "is not an object with a packages list")
            continue
        src = result.get("source")
        target = cut(src.get("path"), 300) if isinstance(src, dict) else ""
        for j, pkg in enumerate(result.get("packages") or ()):
            pwhere = f"{where}.packages[{j}]"
            info = pkg.get("package") if isinstance(pkg, dict) else None
            if not isinstance(info, dict):
                read.refuse(pwhere, "has no package object")
                continue
            ecosystem = _ECOSYSTEMS.get(str(info.get("ecosystem")))
            vulns = pkg.get("vulnerabilities") or []
            if ecosystem is None:
                if vulns:
                    label = cut(info.get("ecosystem"), 40) or "?"
                    others[label] = others.get(label, 0) + 1
                continue
            scores = {}
            for g in pkg.get("groups") or ():
                if isinstance(g, dict):
                    for gid in g.get("ids") or ():
                        scores[gid] = g.get("max_severity")
            try:
                name = package_name(ecosystem, info.get("name"))
                version = info.get("version")
                if not isinstance(version, str) or not version.strip():
                    raise Refused("no version")
                if not isinstance(vulns, list):
                    raise Refused("vulnerabilities is not a list")
            except Refused as exc:
                read.refuse(pwhere, str(exc))
                continue
            for k, v in enumerate(vulns):
                vwhere = f"{pwhere}.vulnerabilities[{k}]"
                try:
                    if not isinstance(v, dict):
                        raise Refused("is not an object")
                    advisory, aliases = ids(v.get("id"), v.get("aliases"))
                    ranges = osv_ranges(v.get("affected"), ecosystem, name)
                    fixed = ", ".join(dict.fromkeys(f for r in ranges for f in r.fixed))
                    read.findings.append(
                        advisory_finding(
                            source=SOURCE,
                            ecosystem=ecosystem,
                            package=name,
                            installed=version.strip(),
                            advisory=advisory,
                            aliases=aliases,
                            fixed=fixed,
                            ranges=ranges,
                            title=cut(v.get("summary") or v.get("details")),
                            severity=severity_of(v, scores.get(v.get("id"))),
                            where=vwhere,
                            target=target,
                        )
                    )
                except Refused as exc:
                    read.refuse(vwhere, str(exc))
    if others:
        listed = ", ".join(f"{n} {e}" for e, n in sorted(others.items()))
        read.problem(f"{read.name}: packages of ecosystems the bot does not bump were not read ({listed})")

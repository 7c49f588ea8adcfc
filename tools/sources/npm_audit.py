"""Reading ``npm audit --json`` (npm 7 and later, ``auditReportVersion`` 2) into dependency findings.

Layout (samples in ``fixtures/osv/npm-audit/``): ``{"auditReportVersion": 2, "vulnerabilities": {<name>:
{"name", "severity", "isDirect", "via": [<advisory object> | <name of the package it comes through>],
"range", "nodes", "fixAvailable"}}, "metadata": {...}}``. An advisory object has ``source`` (npm's number),
``url`` (``https://github.com/advisories/GHSA-…``), ``title``, ``severity`` and ``range`` (the affected
semver range, read into OSV events). The report names no installed version: the bump reads it from the
lockfile. A ``via`` entry that is a string is the advisory of another package (read there).

When npm cannot reach its audit endpoint it writes ``{"message", "statusCode", "error": {...}}`` (a real
sample: ``npm-audit-405-audit-endpoint.json``) and exits 1: the report is **not audited**.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from bot.core.findings import normalise_id
from bot.core.versions import npm_range_events
from tools.sources.advisories import Refused, advisory_finding, cut, package_name

if TYPE_CHECKING:
    from tools.sources.findings_file import FindingsRead

LAYOUT = "npm-audit"
SOURCE = "npm-audit"
_GHSA_URL = re.compile(r"/(GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})/?$")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def is_document(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    if "auditReportVersion" in doc:
        return True
    return isinstance(doc.get("error"), dict) and (
        "statusCode" in doc or "code" in doc["error"] or "message" in doc
    )


def advisory_id(via: dict[str, Any]) -> str:
    """The GHSA id from the advisory's URL, else ``NPM-<source>`` (npm's own number)."""
    url = via.get("url")
    if isinstance(url, str):
        m = _GHSA_URL.search(url.strip())
        if m:
            found = normalise_id(m.group(1))
            if found:
                return found
    source = via.get("source")
    if isinstance(source, int) and not isinstance(source, bool) and source >= 0:
        return f"NPM-{source}"
    raise Refused(f"advisory without a GHSA url or a source number ({cut(url, 80)!r})")


def read_document(doc: dict[str, Any], read: FindingsRead) -> None:
    if "auditReportVersion" not in doc:
        status = doc.get("statusCode")
        message = cut(doc.get("message"), 200) or cut(doc["error"].get("summary"), 200)
        read.not_audited.append(
            f"{read.name}: npm audit could not reach its audit endpoint"
            + (f" (HTTP {status})" if isinstance(status, int) else "")
            + (f": {message}" if message else "")
        )
        return
    vulns = doc.get("vulnerabilities")
    if not isinstance(vulns, dict):
        read.refuse(f"{read.name}: vulnerabilities", "is not an object")
        return
    for key, entry in vulns.items():
        where = f"{read.name}: vulnerabilities[{cut(key, 80)!r}]"
        try:
            if not isinstance(entry, dict):
                raise Refused("is not an object")
            name = package_name("npm", entry.get("name", key))
            via = entry.get("via")
            if not isinstance(via, list):
                raise Refused("via is not a list")
        except Refused as exc:
            read.refuse(where, str(exc))
            continue
        for j, v in enumerate(via):
            if isinstance(v, str):
                continue  # through another package: that package's entry holds the advisory
            vwhere = f"{where}.via[{j}]"
            try:
                if not isinstance(v, dict):
                    raise Refused("is not an object or a package name")
                ranges = npm_range_events(v["range"]) if isinstance(v.get("range"), str) else None
                if ranges is None and "range" in v:
                    shown = cut(v.get("range"), 80)
                    read.problem(
                        f"{vwhere}: range {shown!r} is not a semver range this reads; no fixed version"
                    )
                fixed = ", ".join(dict.fromkeys(f for r in ranges or () for f in r.fixed))
                read.findings.append(
                    advisory_finding(
                        source=SOURCE,
                        ecosystem="npm",
                        package=name,
                        installed="",
                        advisory=advisory_id(v),
                        aliases=(),
                        fixed=fixed,
                        ranges=ranges or (),
                        title=cut(v.get("title")),
                        severity="MEDIUM" if v.get("severity") == "moderate" else v.get("severity"),
                        where=vwhere,
                        target=", ".join(n for n in _list(entry.get("nodes")) if isinstance(n, str))[:300],
                    )
                )
            except Refused as exc:
                read.refuse(vwhere, str(exc))

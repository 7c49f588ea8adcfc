"""What the dependency-advisory readers (:mod:`.pip_audit`, :mod:`.osv_scanner`, :mod:`.npm_audit`) share: one
:class:`Finding` per (package, advisory), its subject, and the texts they cut.

The subject is ``pkg:<ecosystem>/<name>`` with the name as the ecosystem compares it (PEP 503 for pip, lower
case for npm; :func:`bot.core.versions.normalise_name`), so ``Jinja2`` from pip-audit and ``jinja2`` from
Trivy are one card. Every text is hostile: ids must look like ids, names and versions must parse, free text is
cut and shown only as data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from bot.core.findings import VULNERABILITY, Finding, normalise_id, normalise_severity
from bot.core.versions import Range, format_ranges, normalise_name, valid_name

if TYPE_CHECKING:
    from tools.sources.findings_file import FindingsRead

MAX_TITLE = 300
#: Trivy's package types per bump ecosystem (a ``trivy fs`` report names the lockfile's tool).
TRIVY_TYPES = {
    "pip": "pip",
    "pipenv": "pip",
    "poetry": "pip",
    "uv": "pip",
    "python-pkg": "pip",
    "npm": "npm",
    "yarn": "npm",
    "pnpm": "npm",
    "node-pkg": "npm",
}


class Refused(ValueError):
    """An entry that cannot become a finding (counted as malformed, with its place)."""


def dependency_subject(ecosystem: str, name: str) -> str:
    """``pkg:pip/jinja2``, ``pkg:npm/lodash``: one package of one ecosystem."""
    return f"pkg:{ecosystem}/{normalise_name(ecosystem, name)}"


def package_name(ecosystem: str, value: Any) -> str:
    if not isinstance(value, str) or not valid_name(ecosystem, value.strip()):
        raise Refused(f"package name {shown(value)} is not a {ecosystem} package name")
    return value.strip()


def shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else repr(value[:40] + ("…" if len(value) > 40 else ""))
    return text


def cut(value: Any, limit: int = MAX_TITLE) -> str:
    """Free text as one line of at most ``limit`` characters ("" for anything that is not text)."""
    if not isinstance(value, str):
        return ""
    line = " ".join(value.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def ids(primary: Any, aliases: Any) -> tuple[str, list[str]]:
    """The advisory id and its aliases, normalised; an id that is not one refuses the entry."""
    first = normalise_id(primary)
    if first is None:
        raise Refused(f"id {shown(primary)} is not an advisory id")
    others: list[str] = []
    for a in aliases if isinstance(aliases, list) else ():
        n = normalise_id(a)
        if n is not None and n != first and n not in others:
            others.append(n)
    return first, others


def versions_text(values: Iterable[Any]) -> str:
    """Fixed versions as Trivy writes them (``2.2.5, 2.3.2``); values that are not short text are dropped."""
    out = [v.strip() for v in values if isinstance(v, str) and v.strip() and len(v) <= 60 and "," not in v]
    return ", ".join(dict.fromkeys(out))


def advisory_finding(
    *,
    source: str,
    ecosystem: str,
    package: str,
    installed: str,
    advisory: str,
    aliases: Iterable[str],
    fixed: str,
    ranges: Iterable[Range],
    title: str,
    severity: Any,
    where: str,
    target: str,
) -> Finding:
    """One dependency advisory as a finding of the ``dependency`` family."""
    return Finding(
        source=source,
        kind=VULNERABILITY,
        id=advisory,
        subject=dependency_subject(ecosystem, package),
        severity=normalise_severity(severity),
        title=title,
        package=package,
        installed=installed,
        fixed=fixed,
        where=where,
        target=target,
        package_type=ecosystem,
        affected=format_ranges(ranges),
        aliases=" ".join(aliases),
    )


def not_audited(read: FindingsRead, reason: str) -> None:
    """The scanner did not audit (its database was unreachable, every dependency skipped): never "clean"."""
    read.not_audited.append(reason)

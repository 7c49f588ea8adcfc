"""Reading ``pip-audit -f json`` into dependency findings (``source`` ``pip-audit``).

Layouts (samples in ``fixtures/osv/pip-audit/``, see its PROVENANCE.md):

- current: ``{"dependencies": [{"name", "version", "vulns": [{"id", "fix_versions", "aliases"?,
  "description"?}]} | {"name", "skip_reason"}], "fixes": [...]}``;
- legacy (README example, before 2.x): a top-level list of those dependency objects.

pip-audit gives fixed versions, not ranges: the guard checks a new version against them by line
(:func:`bot.core.versions.fixed_by_list`). A dependency with ``skip_reason`` was **not audited**; when every
dependency was skipped (pip-audit then still exits 0) the whole report is "not audited", never "clean".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tools.sources.advisories import (
    Refused,
    advisory_finding,
    cut,
    ids,
    not_audited,
    package_name,
    versions_text,
)

if TYPE_CHECKING:
    from tools.sources.findings_file import FindingsRead

LAYOUT = "pip-audit"
SOURCE = "pip-audit"


def _is_dependency(entry: Any) -> bool:
    return isinstance(entry, dict) and "name" in entry and ("vulns" in entry or "skip_reason" in entry)


def is_document(doc: Any) -> bool:
    """A pip-audit JSON report (either layout)."""
    if isinstance(doc, dict):
        deps = doc.get("dependencies")
        return isinstance(deps, list) and set(doc) <= {"dependencies", "fixes"}
    return isinstance(doc, list) and bool(doc) and all(_is_dependency(e) for e in doc[:5])


def read_document(doc: Any, read: FindingsRead) -> None:
    deps: list[Any] = doc["dependencies"] if isinstance(doc, dict) else doc
    prefix = "dependencies[" if isinstance(doc, dict) else "["
    skipped: list[str] = []
    audited = 0
    for i, dep in enumerate(deps):
        where = f"{read.name}: {prefix}{i}]"
        if not isinstance(dep, dict):
            read.refuse(where, "is not an object")
            continue
        if "skip_reason" in dep:
            skipped.append(f"{cut(dep.get('name'), 80)} ({cut(dep.get('skip_reason'), 120)})")
            continue
        try:
            name = package_name("pip", dep.get("name"))
            version = dep.get("version")
            if not isinstance(version, str) or not version.strip():
                raise Refused("no version")
        except Refused as exc:
            read.refuse(where, str(exc))
            continue
        audited += 1
        vulns = dep.get("vulns")
        if not isinstance(vulns, list):
            read.refuse(where, "vulns is not a list")
            continue
        for j, v in enumerate(vulns):
            vwhere = f"{where}.vulns[{j}]"
            try:
                if not isinstance(v, dict):
                    raise Refused("is not an object")
                advisory, aliases = ids(v.get("id"), v.get("aliases"))
                fixes = v.get("fix_versions")
                read.findings.append(
                    advisory_finding(
                        source=SOURCE,
                        ecosystem="pip",
                        package=name,
                        installed=version.strip(),
                        advisory=advisory,
                        aliases=aliases,
                        fixed=versions_text(fixes if isinstance(fixes, list) else ()),
                        ranges=(),
                        title=cut(v.get("description")),
                        severity=None,
                        where=vwhere,
                        target="",
                    )
                )
            except Refused as exc:
                read.refuse(vwhere, str(exc))
    if skipped and not audited:
        not_audited(
            read,
            f"{read.name}: pip-audit audited none of its {len(skipped)} dependencies "
            f"(skipped: {', '.join(skipped[:5])}{' …' if len(skipped) > 5 else ''})",
        )
    elif skipped:
        not_audited(read, f"{read.name}: {len(skipped)} dependencies not audited: {', '.join(skipped[:5])}")
    elif not audited and not deps:
        not_audited(read, f"{read.name}: pip-audit listed no dependencies (nothing was audited)")

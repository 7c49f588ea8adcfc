"""What a manifest or lockfile resolves: each package, its version and where it comes from. Pure text parsing.

- pip ``requirements.txt`` (pinned or compiled): ``name[extras]==version`` lines (markers, ``--hash`` options
  and ``\\`` continuations allowed), ``name @ URL`` direct references, and the index options (``-i``,
  ``--index-url``, ``--extra-index-url``, ``-f``/``--find-links``) that say where packages come from;
- npm ``package-lock.json`` (lockfile versions 1-3): ``packages`` entries (``node_modules/a/node_modules/b``),
  or the nested ``dependencies`` of version 1, each with ``version`` and ``resolved`` (its registry or URL).

The guard compares the sets before and after a bump (:mod:`bot.core.operations.dependencies`); it never trusts
the tool that made the change.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from bot.core.versions import normalise_name

DEFAULT_PIP_SOURCE = "index:https://pypi.org/simple"


@dataclass(frozen=True)
class Package:
    """One resolved package: ``key`` is its place (the name for pip, the ``node_modules`` path for npm)."""

    key: str
    name: str  # as the ecosystem compares it
    version: str
    source: str  # "index:<url>" | "url:<url>" | "registry:<origin>" | "git:<url>" | "file:<path>" | ""
    requires: tuple[str, ...] = ()  # names of what it depends on (npm lockfiles, pip-compile's ``# via``)
    written: str = ""  # the name as the file writes it


@dataclass
class Resolution:
    """Every package a file resolves, and the sources the file itself names (pip index options)."""

    packages: dict[str, Package] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    def versions(self, name: str) -> set[str]:
        return {p.version for p in self.packages.values() if p.name == name}

    def all_sources(self) -> set[str]:
        return self.sources | {p.source for p in self.packages.values() if p.source}


_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*===?\s*(?P<version>[^\s;#\\]+)"
)
_DIRECT = re.compile(
    r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*@\s*(?P<url>\S+)"
)
_INDEX = re.compile(r"^(?:-i|--index-url|--extra-index-url|-f|--find-links)(?:\s+|=)(?P<url>\S+)")


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with ``\\`` continuations joined and comments dropped, each with its first line number (1-based)."""
    out: list[tuple[int, str]] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw
        if not buf:
            start = n
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        buf += line
        stripped = re.sub(r"(^|\s)#.*$", "", buf).strip()
        if stripped:
            out.append((start, stripped))
        buf = ""
    if buf.strip():
        out.append((start, buf.strip()))
    return out


def pip_requirements(text: str) -> Resolution:
    """The pins, direct references and index options of a requirements file."""
    res = Resolution()
    has_index = False
    for n, line in logical_lines(text):
        m = _INDEX.match(line)
        if m:
            url = m.group("url")
            res.sources.add(("find-links:" if line.startswith(("-f", "--find-links")) else "index:") + url)
            has_index = has_index or line.startswith(("-i", "--index-url"))
            continue
        if line.startswith("-"):
            if line.startswith(("-r", "--requirement", "-c", "--constraint", "-e", "--editable")):
                res.problems.append(f"line {n}: {line.split()[0]} is not followed (only this file is read)")
            continue
        m = _DIRECT.match(line)
        if m and "==" not in line.split("@", 1)[0]:
            name = normalise_name("pip", m.group("name"))
            res.packages[name] = Package(name, name, "", "url:" + m.group("url"), written=m.group("name"))
            continue
        m = _PIN.match(line)
        if m:
            name = normalise_name("pip", m.group("name"))
            res.packages[name] = Package(name, name, m.group("version"), "", written=m.group("name"))
        else:
            res.problems.append(f"line {n}: not an exact pin ({line[:60]})")
    if not has_index:
        res.sources.add(DEFAULT_PIP_SOURCE)
    for name, needed in _via(text).items():
        for parent in needed:
            pkg = res.packages.get(parent)
            if pkg is not None and name not in pkg.requires:
                res.packages[parent] = replace(pkg, requires=tuple(sorted({*pkg.requires, name})))
    return res


_VIA = re.compile(r"#\s*via\b(?P<rest>.*)$")


def _via(text: str) -> dict[str, set[str]]:
    """pip-compile's and uv's annotations: each package and the packages it is there for (``# via jinja2``,
    a ``# via`` block of ``#   name`` lines, or ``name==1.0  # via a, b``); ``-r``/``-c`` files are left out."""
    out: dict[str, set[str]] = {}
    current: str | None = None
    block = False
    for raw in text.splitlines():
        line = raw.strip()
        if raw[:1].isalnum():
            m = _PIN.match(raw) or _DIRECT.match(raw)
            current = normalise_name("pip", m.group("name")) if m else None
            block = False
        via = _VIA.search(line)
        if via is not None and current is not None:
            block = not via.group("rest").strip()
            names = via.group("rest").split(",")
        elif block and line.startswith("#") and raw[:1].isspace() and current is not None:
            names = [line.lstrip("#").strip()]
        else:
            if not line.startswith(("#", "--hash")) and not raw[:1].isalnum():
                block = False
            continue
        for name in names:
            word = (name.split() or [""])[0]
            if re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?", word):
                out.setdefault(current, set()).add(normalise_name("pip", word))
    return out


#: npm's own registry; a lockfile entry without ``resolved`` comes from the configured default (npm omits it with
#: ``omit-lockfile-registry-resolved``), so both are one source.
NPM_DEFAULT_REGISTRY = "registry:default"
_NPM_PUBLIC = ("https://registry.npmjs.org", "https://registry.yarnpkg.com")


def _origin(resolved: Any) -> str:
    if not isinstance(resolved, str) or not resolved:
        return NPM_DEFAULT_REGISTRY
    if resolved.startswith(("git+", "git:", "github:")):
        return "git:" + resolved.split("#", 1)[0]
    if resolved.startswith("file:"):
        return "file:" + resolved[5:]
    m = re.match(r"^(https?://[^/]+)", resolved)
    if m and m.group(1) in _NPM_PUBLIC:
        return NPM_DEFAULT_REGISTRY
    return "registry:" + m.group(1) if m else "url:" + resolved


def npm_lockfile(text: str) -> Resolution:
    """The packages of a ``package-lock.json``; a file that is not one is a problem, not an exception."""
    res = Resolution()
    try:
        doc = json.loads(text)
    except ValueError as exc:
        res.problems.append(f"not valid JSON ({exc})")
        return res
    if not isinstance(doc, dict):
        res.problems.append("not a lockfile object")
        return res
    packages = doc.get("packages")
    if isinstance(packages, dict):
        for key, entry in packages.items():
            if not key or not isinstance(entry, dict) or "node_modules/" not in key:
                continue
            if entry.get("link"):
                res.packages[key] = Package(key, _tail(key), "", "file:" + str(entry.get("resolved", "")))
                continue
            name = str(entry.get("name") or _tail(key)).lower()
            deps = {**(entry.get("dependencies") or {}), **(entry.get("optionalDependencies") or {})}
            res.packages[key] = Package(
                key,
                name,
                str(entry.get("version", "")),
                _origin(entry.get("resolved")),
                tuple(sorted(str(d).lower() for d in deps)),
            )
        return res
    _v1(doc.get("dependencies"), "", res)
    return res


def _v1(deps: Any, prefix: str, res: Resolution) -> None:
    if not isinstance(deps, dict):
        return
    for name, entry in deps.items():
        if not isinstance(entry, dict):
            continue
        key = f"{prefix}node_modules/{name}"
        res.packages[key] = Package(
            key,
            str(name).lower(),
            str(entry.get("version", "")),
            _origin(entry.get("resolved")),
            tuple(sorted(str(d).lower() for d in entry.get("requires") or {})),
        )
        _v1(entry.get("dependencies"), key + "/", res)


def _tail(key: str) -> str:
    return key.rsplit("node_modules/", 1)[-1].lower()


def resolution(ecosystem: str, path: str, text: str) -> Resolution | None:
    """What ``path`` resolves, or None for a file that resolves nothing itself (``package.json``,
    ``requirements.in``: the lockfile says)."""
    name = path.rsplit("/", 1)[-1]
    if ecosystem == "npm":
        return npm_lockfile(text) if name in ("package-lock.json", "npm-shrinkwrap.json") else None
    if ecosystem == "pip":
        return pip_requirements(text) if name.endswith(".txt") else None
    return None


def npm_manifest_spec(text: str, name: str) -> str | None:
    """The version spec ``package.json`` gives ``name`` in its dependency lists, or None."""
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    for section in ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies"):
        deps = doc.get(section)
        if isinstance(deps, dict):
            for key, spec in deps.items():
                if str(key).lower() == name.lower() and isinstance(spec, str):
                    return spec
    return None

"""Package versions of the two ecosystems the bot bumps, and the affected ranges advisories give.

- ``pip``: PEP 440 (``2.10``, ``2.10.1``, ``1!2.0``, ``2.0rc1``, ``1.26.17.post1``, ``2.0.dev3``; a leading
  ``v`` and a local part ``+abc`` accepted); ``2.10`` and ``2.10.0`` are equal;
- ``npm``: SemVer 2 (``4.17.12``, ``1.0.0-beta.2``; build metadata ignored).

:func:`parse_version` returns a comparable :class:`Version` or None for anything else (a commit SHA, ``*``,
text carrying instructions): an unparsable version is never guessed at.

Affected ranges are OSV events (``introduced``, ``fixed``, ``last_affected``, ``limit``), one range per
:class:`Range`; :func:`format_ranges` / :func:`parse_ranges` carry them through a :class:`Finding`'s text
field as ``introduced:0 fixed:2.10.1 | introduced:2.0.0 fixed:2.0.6``. npm audit's semver ranges
(``>=1.0.0 <1.2.6 || <0.2.4``) become the same events (:func:`npm_range_events`).

The **line** of a version is what "within the same major" means: the first release number, and for ``0.x``
the first two (``0.15.2`` → ``0.15.3`` stays on the line, ``0.15`` → ``0.16`` is a major step, as npm's caret
and PEP 440's compatible release treat ``0.x``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import total_ordering
from typing import Any

ECOSYSTEMS = ("pip", "npm")
#: OSV ecosystem names per ecosystem (what an OSV record's ``affected[].package.ecosystem`` says).
OSV_ECOSYSTEMS = {"pip": "PyPI", "npm": "npm"}

_PEP440 = re.compile(
    r"^v?(?:(?P<epoch>[0-9]{1,6})!)?(?P<release>[0-9]{1,9}(?:\.[0-9]{1,9}){0,9})"
    r"(?:[-_.]?(?P<pre_l>a|b|c|rc|alpha|beta|pre|preview)[-_.]?(?P<pre_n>[0-9]{0,9}))?"
    r"(?:(?:-(?P<post_n1>[0-9]{1,9}))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]{0,9})))?"
    r"(?:[-_.]?dev[-_.]?(?P<dev_n>[0-9]{0,9}))?"
    r"(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+){0,9})?$",
    re.IGNORECASE,
)
_SEMVER = re.compile(
    r"^v?(?P<major>0|[1-9][0-9]{0,8})\.(?P<minor>0|[1-9][0-9]{0,8})\.(?P<patch>0|[1-9][0-9]{0,8})"
    r"(?:-(?P<pre>[0-9A-Za-z-]{1,40}(?:\.[0-9A-Za-z-]{1,40}){0,9}))?(?:\+[0-9A-Za-z.-]{1,80})?$"
)
_PRE_PHASE = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}
_BIG = 10**12


@total_ordering
@dataclass(frozen=True)
class Version:
    """A parsed version: ``text`` as written, ``release`` its numbers, ``key`` what orders it."""

    text: str
    ecosystem: str
    release: tuple[int, ...]
    key: tuple[Any, ...]
    prerelease: bool = False

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.key < other.key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    @property
    def line(self) -> tuple[int, ...]:
        """The major line: ``(2,)`` for 2.10.1, ``(0, 15)`` for 0.15.3 (see the module docstring)."""
        numbers = (*self.release, 0)
        return (0, numbers[1]) if numbers[0] == 0 else (numbers[0],)

    def __str__(self) -> str:
        return self.text


def parse_version(ecosystem: str, text: object) -> Version | None:
    """``text`` as a version of ``ecosystem`` (``pip`` or ``npm``), or None when it is not one."""
    if not isinstance(text, str) or not text.strip() or len(text) > 100:
        return None
    value = text.strip()
    if ecosystem == "npm":
        return _semver(value)
    if ecosystem == "pip":
        return _pep440(value)
    return None


def _pep440(value: str) -> Version | None:
    m = _PEP440.match(value)
    if m is None:
        return None
    release = tuple(int(n) for n in m.group("release").split("."))
    trimmed = list(release)
    while len(trimmed) > 1 and trimmed[-1] == 0:
        trimmed.pop()
    pre_l, post, dev = m.group("pre_l"), m.group("post_n1") or m.group("post_n2"), m.group("dev_n")
    has_post = bool(m.group("post_n1") or m.group("post_l"))
    has_dev = m.group("dev_n") is not None and "dev" in value.lower()
    if pre_l:
        pre: tuple[int, int] = (_PRE_PHASE[pre_l.lower()], int(m.group("pre_n") or 0))
    elif has_dev and not has_post:
        pre = (-1, 0)  # 2.0.dev1 sorts before 2.0a1
    else:
        pre = (3, 0)
    key = (
        int(m.group("epoch") or 0),
        tuple(trimmed),
        pre,
        int(post or 0) if has_post else -1,
        int(dev or 0) if has_dev else _BIG,
    )
    return Version(value, "pip", release, key, prerelease=bool(pre_l) or has_dev)


def _semver(value: str) -> Version | None:
    m = _SEMVER.match(value)
    if m is None:
        return None
    release = (int(m.group("major")), int(m.group("minor")), int(m.group("patch")))
    pre = m.group("pre")
    if pre:
        ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
        key: tuple[Any, ...] = (release, 0, ids)
    else:
        key = (release, 1, ())
    return Version(value, "npm", release, key, prerelease=bool(pre))


# --- affected ranges -------------------------------------------------------------------------------------

EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")


@dataclass(frozen=True)
class Range:
    """One OSV range: its events in order, each ``(kind, version text)``; ``introduced`` ``0`` is the start."""

    events: tuple[tuple[str, str], ...]

    def affects(self, version: Version) -> bool | None:
        """Whether ``version`` lies in this range (None when an event's version does not parse)."""
        parsed: list[tuple[str, Version | None]] = []
        for kind, text in self.events:
            if kind == "introduced" and text == "0":
                parsed.append((kind, None))
                continue
            v = parse_version(version.ecosystem, text)
            if v is None:
                return None
            parsed.append((kind, v))
        # OSV's evaluation: events sorted by version ("0" first), the last one at or below decides.
        parsed.sort(key=lambda e: (e[1] is not None, e[1].key if e[1] is not None else ()))
        affected = False
        for kind, v in parsed:
            if kind == "introduced" and (v is None or version >= v):
                affected = True
            elif (
                (kind == "fixed" and v is not None and version >= v)
                or (kind == "last_affected" and v is not None and version > v)
                or (kind == "limit" and v is not None and version >= v)
            ):
                affected = False
        return affected

    @property
    def fixed(self) -> tuple[str, ...]:
        return tuple(t for k, t in self.events if k == "fixed")

    def text(self) -> str:
        return " ".join(f"{k}:{t}" for k, t in self.events)


def format_ranges(ranges: Iterable[Range]) -> str:
    """Ranges as one line of text (the form :func:`parse_ranges` reads)."""
    return " | ".join(r.text() for r in ranges if r.events)


_EVENT = re.compile(r"^(introduced|fixed|last_affected|limit):([0-9A-Za-z.+!_-]{1,100})$")


def parse_ranges(text: str) -> tuple[Range, ...]:
    """The ranges :func:`format_ranges` wrote; a range with a malformed event is dropped whole."""
    out: list[Range] = []
    if not isinstance(text, str) or not text.strip() or len(text) > 20_000:
        return ()
    for part in text.split("|"):
        events: list[tuple[str, str]] = []
        for word in part.split():
            m = _EVENT.match(word)
            if m is None:
                events = []
                break
            events.append((m.group(1), m.group(2)))
        if events:
            out.append(Range(tuple(events)))
    return tuple(out)


def osv_ranges(affected: Any, ecosystem: str, name: str) -> tuple[Range, ...]:
    """The ECOSYSTEM/SEMVER ranges of an OSV record's ``affected`` list for package ``name`` of ``ecosystem``
    (``GIT`` ranges hold commits, not versions: skipped); names compared the ecosystem's way."""
    out: list[Range] = []
    if not isinstance(affected, list):
        return ()
    want = normalise_name(ecosystem, name)
    for entry in affected:
        if not isinstance(entry, dict) or not isinstance(entry.get("package"), dict):
            continue
        pkg = entry["package"]
        if str(pkg.get("ecosystem", "")) != OSV_ECOSYSTEMS.get(ecosystem):
            continue
        if normalise_name(ecosystem, str(pkg.get("name", ""))) != want:
            continue
        for rng in entry.get("ranges") or ():
            if not isinstance(rng, dict) or rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
                continue
            events: list[tuple[str, str]] = []
            for ev in rng.get("events") or ():
                if isinstance(ev, dict) and len(ev) == 1:
                    (kind, value), *_ = ev.items()
                    if kind in EVENT_KINDS and isinstance(value, str) and _EVENT.match(f"{kind}:{value}"):
                        events.append((kind, value))
            if events:
                out.append(Range(tuple(events)))
        versions = [v for v in entry.get("versions") or () if isinstance(v, str)]
        if versions and not entry.get("ranges"):
            # An explicit list only: each listed version is its own range (introduced v, last_affected v).
            out.extend(
                Range((("introduced", v), ("last_affected", v)))
                for v in versions
                if _EVENT.match(f"fixed:{v}")
            )
    return tuple(out)


_NPM_COMPARATOR = re.compile(r"^(>=|<=|>|<|=)?\s*v?([0-9][0-9A-Za-z.+-]{0,60})$")


def npm_range_events(text: str) -> tuple[Range, ...] | None:
    """npm audit's range (``<4.17.12``, ``>=1.0.0 <1.2.6 || <0.2.4``) as OSV ranges; None when it uses a form
    this does not read (``^``, ``~``, ``x`` ranges, ``>`` lower bounds)."""
    if not isinstance(text, str) or not text.strip() or len(text) > 1000:
        return None
    out: list[Range] = []
    for alt in text.split("||"):
        lower = "0"
        upper: tuple[str, str] | None = None
        words = alt.split()
        if not words:
            return None
        for word in words:
            m = _NPM_COMPARATOR.match(word)
            if m is None or parse_version("npm", m.group(2)) is None:
                return None
            op, value = m.group(1) or "=", m.group(2)
            if op == ">=":
                lower = value
            elif op == "<":
                upper = ("fixed", value)
            elif op == "<=":
                upper = ("last_affected", value)
            elif op == "=":
                lower, upper = value, ("last_affected", value)
            else:
                return None
        events = [("introduced", lower)]
        if upper is not None:
            events.append(upper)
        out.append(Range(tuple(events)))
    return tuple(out)


# --- names -----------------------------------------------------------------------------------------------

_PEP503 = re.compile(r"[-_.]+")
_PIP_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,200}[A-Za-z0-9])?$")
_NPM_NAME = re.compile(r"^(?:@[a-z0-9][a-z0-9._~-]{0,100}/)?[a-z0-9][a-z0-9._~-]{0,213}$")


def normalise_name(ecosystem: str, name: str) -> str:
    """A package name as the ecosystem compares it: PEP 503 for pip (``Jinja2``, ``jinja_2`` → ``jinja2``,
    ``jinja-2``), lower case for npm."""
    text = name.strip()
    if ecosystem == "pip":
        return _PEP503.sub("-", text).lower()
    return text.lower()


def valid_name(ecosystem: str, name: str) -> bool:
    """Whether ``name`` is a package name of ``ecosystem`` (nothing else may reach a tool's command line)."""
    if ecosystem == "pip":
        return bool(_PIP_NAME.match(name))
    if ecosystem == "npm":
        return bool(_NPM_NAME.match(name))
    return False


def fixed_by_list(version: Version, fixes: Sequence[Version]) -> bool:
    """Whether ``version`` is fixed when an advisory names only fixed versions (no ranges): each fixed
    version covers its own line from itself (``2.2.5, 2.3.2``: 2.2.5 fixes 2.2.x, 2.3.2 fixes 2.3.x and later),
    so 2.3.0 is not fixed; the greatest one covers everything above it."""
    ordered = sorted(set(fixes))
    below = [f for f in ordered if f <= version]
    if not below:
        return False
    f = below[-1]
    after = [g for g in ordered if g > f]
    if not after:
        return True
    nxt = after[0]
    width = max(len(nxt.release) - 1, 1)
    return version.release[:width] != nxt.release[:width]

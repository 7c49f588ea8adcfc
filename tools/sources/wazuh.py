"""Reading Wazuh alerts: ``alerts.json`` as the manager writes it (one JSON object a line).

Quirks of the real format handled here (see fixtures/wazuh-corpus and docs/alerts.md):

* ``rule.id`` is sometimes an integer, ``agent.ip`` is often missing, ``data.srcip`` is absent on
  FIM/rootcheck alerts;
* documents exported from the Wazuh indexer carry ``@timestamp`` and wrap the alert in ``_source``
  (a search response's ``hits.hits`` list is accepted too);
* Wazuh 5.x documents put the rule under ``wazuh.rule`` with the level as a word (low, medium, high,
  critical), mapped by :data:`bot.core.alert.LEVEL_WORDS`;
* a pretty-printed single JSON document (as the docs show alerts) is read whole;
* ``data.srcip`` as IPv4-mapped IPv6 (``::ffff:a.b.c.d``) is the IPv4 address; zone ids are no address.

The reader is a validating boundary (docs/alerts.md, "What a line must hold"): every field the pipeline
uses is checked for type and range here, and a line that does not fit is malformed, with the field and the
reason. Malformed lines are counted and reported with their line numbers, never fatal. A repeated alert
(same id and time) is counted once. The hot path builds one tuple per alert and nothing heavier.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from bot.core.alert import LEVEL_WORDS, MAX_LEVEL, Alert, level_from
from bot.core.network import canonical_address

MAX_REPORTED_MALFORMED = 20

# The validating boundary (docs/alerts.md, "What a line must hold"): nothing after the reader sees a value
# that is not checked here. Text that is merely long is truncated; a value of the wrong type or range makes
# the line malformed, with the reason.
MAX_ALERT_ID = 128
MAX_DESCRIPTION = 1024
MAX_LOG = 64 * 1024
MAX_LIST = 64  # entries in rule.groups / rule.mitre.id
MAX_LIST_ITEM = 128
MAX_ADDRESS = 64  # longer text cannot be an address
MIN_TS = 0.0  # 1970-01-01T00:00:00Z
MAX_TS = 253_370_764_800.0  # 9999-01-01T00:00:00Z (exclusive): years 1970-9998 after the time zone
#: Repeats of an alert (same id and time) are dropped while the first is among the last 8,192-16,384
#: (bounded, and small enough that the pinned ids stay in cache: 1 << 16 cost 10 % of the read).
SEEN_GENERATION = 1 << 13

_RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_AGENT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_CACHE_MAX = 1 << 14

# Values already validated, so the fast path checks them with a lookup and a comparison (they repeat on
# every line). A rule id maps to the groups and MITRE ids it was first seen valid with, as lists (compared
# with the line's lists without building tuples) and as the tuples every alert of the rule then shares.
# Bounded: once full, new values take the general path every time.
_ok_rules: dict[str, tuple[list[str], tuple[str, ...], list[str], tuple[str, ...]]] = {}
_ok_agents: set[str] = set()


@dataclass
class Malformed:
    """A line that is not a usable alert."""

    line: int
    reason: str


@dataclass
class ReadResult:
    """Alerts read from one file, where reading stopped, and what was skipped."""

    path: str
    alerts: list[Alert] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)
    malformed_count: int = 0
    alert_count: int = 0
    duplicate_count: int = 0
    lines: int = 0
    start_offset: int = 0
    end_offset: int = 0
    end_line: int = 0
    inode: int = 0
    rotated: bool = False


_fromiso = datetime.fromisoformat
_tuple_new = tuple.__new__
_canonical_address = lru_cache(maxsize=1 << 16)(canonical_address)


def alert_from_document(doc: Any, line: int) -> Alert | str:
    """One checked alert from one decoded JSON document, or the reason why it is not one.

    This is the hot path of every scan. A fast path takes the shape the Wazuh 4.x manager writes when every
    value is of a shape already seen valid (subscripts and set lookups, no method calls); anything else takes
    the general path below, which checks each field and handles every quirk.
    """
    try:
        rule = doc["rule"]
        level = rule["level"]
        rule_id = rule["id"]
        agent_name = doc["agent"]["name"]
        stamp = doc["timestamp"]
        if (
            type(level) is int
            and 0 <= level <= MAX_LEVEL
            and type(rule_id) is str
            and (known := _ok_rules.get(rule_id)) is not None
            and type(agent_name) is str
            and agent_name in _ok_agents
            and type(stamp) is str
            and "_source" not in doc
        ):
            data = doc.get("data")
            raw = data.get("srcip") if data else None
            mitre = rule.get("mitre")
            ids = mitre.get("id") if type(mitre) is dict else None
            description = rule.get("description")
            log = doc.get("full_log")
            alert_id = doc.get("id")
            if (
                type(description) is str
                and len(description) <= MAX_DESCRIPTION
                and type(log) is str
                and len(log) <= MAX_LOG
                and type(alert_id) is str
                and 0 < len(alert_id) <= MAX_ALERT_ID
                and alert_id.isprintable()
                and rule["groups"] == known[0]
                and (mitre is None or type(mitre) is dict)
                and (not known[3] if ids is None else ids == known[2])
                and (raw is None or (type(raw) is str and len(raw) <= MAX_ADDRESS))
            ):
                # The C parser is faster than any cache in front of it (0.35 µs per call, measured).
                # A time without a zone takes the general path (read as UTC there, never the host's zone).
                when = _fromiso(stamp)
                ts = when.timestamp() if when.tzinfo is not None else -1.0
                if MIN_TS <= ts < MAX_TS:
                    return _tuple_new(
                        Alert,
                        (
                            alert_id,
                            ts,
                            rule_id,
                            level,
                            description,
                            known[1],
                            agent_name,
                            _canonical_address(raw) if raw is not None else None,
                            known[3],
                            log,
                            line,
                            "wazuh",
                        ),
                    )
    except (KeyError, TypeError, AttributeError, ValueError, OverflowError, OSError):
        pass
    try:
        return _alert_general(doc, line)
    except _Refused as refused:
        return str(refused)


class _Refused(Exception):
    """A field that does not fit: the message is the malformed reason."""


def _shown(value: Any) -> str:
    """A short, safe rendering of a refused value for the reason text (never the whole of it)."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{…}"
    if isinstance(value, list):
        return "[…]"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:40]) + "…"
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _level(rule: dict[str, Any]) -> int:
    raw: Any = rule.get("level")
    level = level_from(raw)
    if level is not None:
        return level
    kind = type(raw)
    digits = kind is str and raw.strip().isascii() and raw.strip().isdigit()
    if kind is int or digits or (kind is float and not 0 <= raw <= MAX_LEVEL):
        raise _Refused(f"rule.level {_shown(raw)} is out of range 0-{MAX_LEVEL}")
    raise _Refused(f"rule.level {_shown(raw)} is not a level")


def _rule_id(rule: dict[str, Any]) -> str:
    raw = rule.get("id")
    if raw is None:
        raise _Refused("no rule.id")
    text = str(raw) if type(raw) is int else raw
    if type(text) is str and (text in _ok_rules or _RULE_ID.fullmatch(text)):
        return text
    raise _Refused(
        f"rule.id {_shown(raw)} is not a rule id (ASCII letters, digits, '.', '_', '-'; at most 64)"
    )


def _agent_name(doc: dict[str, Any]) -> str:
    agent = doc.get("agent")
    if agent is None:
        return ""
    if type(agent) is not dict:
        raise _Refused("agent is not an object")
    raw = agent.get("name")
    if raw is None or raw == "":
        return ""
    if type(raw) is str and (raw in _ok_agents or _AGENT_NAME.fullmatch(raw)):
        if len(_ok_agents) < _CACHE_MAX:
            _ok_agents.add(raw)
        return raw
    raise _Refused(
        f"agent.name {_shown(raw)} is not a host name (letters, digits, '.', '_', '-'; at most 128)"
    )


def _strings(value: Any, name: str) -> tuple[str, ...]:
    """A list of short strings (rule.groups, rule.mitre.id); absent is empty."""
    if value is None:
        return ()
    if type(value) is not list:
        raise _Refused(f"{name} is not a list")
    if len(value) > MAX_LIST:
        raise _Refused(f"{name} has more than {MAX_LIST} entries")
    for i, item in enumerate(value):
        if type(item) is not str:
            raise _Refused(f"{name}[{i}] is not a string")
        if len(item) > MAX_LIST_ITEM:
            raise _Refused(f"{name}[{i}] is longer than {MAX_LIST_ITEM} characters")
    return tuple(value)


def _address(value: Any, name: str) -> str | None:
    """The canonical attacker address, or None when there is none (absent, or text that is not one)."""
    if value is None:
        return None
    if type(value) is not str:
        raise _Refused(f"{name} is not a string")
    return _canonical_address(value) if len(value) <= MAX_ADDRESS else None


def _text(value: Any, name: str, limit: int) -> str:
    """Hostile free text: absent is empty, too long is cut at ``limit`` characters."""
    if value is None:
        return ""
    if type(value) is not str:
        raise _Refused(f"{name} is not a string")
    return value if len(value) <= limit else value[:limit]


def _timestamp(doc: dict[str, Any]) -> float | None:
    """Epoch seconds from ``timestamp`` (else ``@timestamp``); None when undated."""
    for name in ("timestamp", "@timestamp"):
        raw = doc.get(name)
        if raw is None:
            continue
        if type(raw) is not str:
            raise _Refused(f"{name} is not a string")
        if raw[:1] == "{" or not raw:
            continue  # the events-generator sample's literal "{timestamp}": undated
        try:
            when = _fromiso(raw) if len(raw) <= 64 else None
            # no zone: UTC, as Wazuh writes its times (the host's zone would make a scan depend on the machine)
            ts = None if when is None else (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
        except ValueError:
            ts = None
        except (OverflowError, OSError):
            ts = -1.0  # parsed but not representable: out of range below
        if ts is None:
            raise _Refused(f"{name} {_shown(raw)} is not an ISO 8601 time")
        if not MIN_TS <= ts < MAX_TS:
            raise _Refused(f"{name} {_shown(raw)} is out of range (years 1970-9998)")
        return ts
    return None


def _alert_id(doc: dict[str, Any], outer_id: Any, line: int) -> str:
    raw = doc.get("id")
    if raw is None or raw == "":
        raw = outer_id if outer_id not in (None, "") else doc.get("_id")
    if raw is None or raw == "":
        return f"line-{line}"
    if type(raw) is int:
        return str(raw)
    if type(raw) is not str or not raw.isprintable():
        raise _Refused(f"id {_shown(raw)} is not an alert id")
    if len(raw) > MAX_ALERT_ID:
        raise _Refused(f"id is longer than {MAX_ALERT_ID} characters")
    return raw


def _v5_fields(
    doc: dict[str, Any],
    rule: dict[str, Any],
    mitre: dict[str, Any] | None,
    groups: tuple[str, ...],
    mitre_ids: tuple[str, ...],
    log: Any,
) -> tuple[tuple[str, ...], tuple[str, ...], Any, Any]:
    """Wazuh 5.x findings (docs/alerts.md, "Wazuh 5.x findings"): ``wazuh.rule.tags`` stand for the rule
    groups (level words dropped: the level is its own field), ``wazuh.rule.title`` for the description,
    the technique ids under ``wazuh.rule.mitre.technique`` (a list of ids, or ``{id: [...]}``) for the MITRE
    ids and ``event.original`` (else ``message``) for the log."""
    if not groups:
        tags = _strings(rule.get("tags"), "wazuh.rule.tags")
        groups = tuple(t for t in tags if t.lower() not in LEVEL_WORDS)
    if not mitre_ids and mitre:
        technique = mitre.get("technique")
        if type(technique) is dict:
            technique = technique.get("id")
        mitre_ids = _strings(technique, "wazuh.rule.mitre.technique")
    description = rule.get("description")
    if description is None:
        description = rule.get("title")
    if log is None:
        event = doc.get("event")
        log = event.get("original") if type(event) is dict else None
        if log is None:
            log = doc.get("message")
    return groups, mitre_ids, description, log


def _alert_general(doc: Any, line: int) -> Alert | str:
    """The general path: checks every field the pipeline uses and handles every quirk of the format.

    Raises :class:`_Refused` with the reason when a field does not fit.
    """
    if type(doc) is not dict:
        return "not a JSON object"
    outer_id = None
    src = doc.get("_source")
    if src is not None and type(src) is dict:
        outer_id = doc.get("_id")
        doc = src
    rule = doc.get("rule")
    v5: dict[str, Any] | None = None
    if type(rule) is not dict:
        wazuh = doc.get("wazuh")
        rule = wazuh.get("rule") if type(wazuh) is dict else None  # Wazuh 5.x
        if type(rule) is not dict:
            return "no rule (not a Wazuh alert)"
        v5 = wazuh
    level = _level(rule)
    rule_id = _rule_id(rule)
    agent_name = _agent_name(doc if v5 is None or "agent" in doc else v5)
    data = doc.get("data")
    if data is not None and type(data) is not dict:
        raise _Refused("data is not an object")
    srcip = None
    url: Any = None
    if data:
        srcip = _address(data.get("srcip"), "data.srcip")
        url = data.get("url")
    if srcip is None:
        source = doc.get("source")
        if type(source) is dict:
            srcip = _address(source.get("ip"), "source.ip")  # Wazuh 5.x
    mitre = rule.get("mitre")
    if mitre is not None and type(mitre) is not dict:
        raise _Refused("rule.mitre is not an object")
    mitre_ids = _strings(mitre.get("id"), "rule.mitre.id") if mitre else ()
    groups = _strings(rule.get("groups"), "rule.groups")
    description = rule.get("description")
    ts = _timestamp(doc)
    log = doc.get("full_log")
    if log is None:
        log = url if type(url) is str else None
    if v5 is not None:
        groups, mitre_ids, description, log = _v5_fields(doc, rule, mitre, groups, mitre_ids, log)
    if rule_id not in _ok_rules and len(_ok_rules) < _CACHE_MAX:
        _ok_rules[rule_id] = (list(groups), groups, list(mitre_ids), mitre_ids)
    # positional: keyword construction of a NamedTuple costs a third of this function
    return _tuple_new(
        Alert,
        (
            _alert_id(doc, outer_id, line),
            ts,
            rule_id,
            level,
            _text(description, "rule.description", MAX_DESCRIPTION),
            groups,
            agent_name,
            srcip,
            mitre_ids,
            _text(log, "full_log", MAX_LOG),
            line,
            "wazuh",
        ),
    )


def _whole_document(path: Path) -> list[Any] | None:
    """A pretty-printed JSON file: one object, a list, or a search response."""
    try:
        doc = orjson.loads(path.read_bytes())
    except (orjson.JSONDecodeError, OSError):
        return None
    if isinstance(doc, dict) and isinstance(doc.get("hits"), dict):
        hits = doc["hits"].get("hits")
        return hits if isinstance(hits, list) else None
    if isinstance(doc, list):
        return doc
    return [doc]


class AlertStream:
    """Alerts of one file as an iterator, so a scan groups them without holding them all in memory.

    ``result`` fills in as the stream is consumed (counts, malformed lines, where reading stopped).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        offset: int = 0,
        start_line: int = 0,
        inode: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.path = Path(path)
        stat = self.path.stat()
        self.size = stat.st_size
        self.result = ReadResult(path=str(self.path), inode=stat.st_ino)
        if (inode is not None and inode != 0 and inode != stat.st_ino) or offset > stat.st_size:
            offset, start_line, self.result.rotated = 0, 0, True
        self.result.start_offset = offset
        self.offset = offset
        self.start_line = start_line
        self.progress = progress

    def __iter__(self) -> Iterator[Alert]:
        result = self.result
        if self.offset == 0:
            with self.path.open("rb") as f:
                head = f.readline()
            if head.strip() and not _is_complete_json(head):
                docs = _whole_document(self.path)
                if docs is not None:
                    seen = _Seen()
                    for i, doc in enumerate(docs, start=1):
                        item = alert_from_document(doc, i)
                        if isinstance(item, str):
                            _malformed(result, item, i)
                        elif seen.repeat(item):
                            result.duplicate_count += 1
                        else:
                            result.alert_count += 1
                            yield item
                    result.lines = len(docs)
                    result.end_offset = self.size
                    result.end_line = 0
                    return
        # JSON trees have no reference cycles: pausing the cyclic GC while millions of small objects are
        # created and dropped saves a fifth of the read time.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            yield from _read_lines(self.path, result, self.offset, self.start_line, self.progress)
        finally:
            if gc_was_enabled:
                gc.enable()


def read_alerts(
    path: str | os.PathLike[str],
    *,
    offset: int = 0,
    start_line: int = 0,
    inode: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReadResult:
    """Read alerts from ``offset`` (a byte position at a line boundary) to the end of the file, into a list.

    When the file was rotated (a different inode, or shorter than ``offset``) reading restarts at 0 and
    ``rotated`` is set. A partial last line (the manager still writing it) is left for the next read.
    Scans use :class:`AlertStream` instead, which holds no alert longer than grouping needs it.
    """
    stream = AlertStream(path, offset=offset, start_line=start_line, inode=inode, progress=progress)
    stream.result.alerts = list(stream)
    return stream.result


def _is_complete_json(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _malformed(result: ReadResult, reason: str, line: int) -> None:
    result.malformed_count += 1
    if len(result.malformed) < MAX_REPORTED_MALFORMED:
        result.malformed.append(Malformed(line, reason))


class _Seen:
    """Which dated alerts a stream has already yielded, by id and time, in bounded memory.

    Two generations (id → time): the current one, and the one before it, dropped when the current one
    fills. Undated alerts are never repeats: nothing tells a copy from a new event (the events-generator
    sample's 1,124 undated records share one id).
    """

    __slots__ = ("before", "now")

    def __init__(self) -> None:
        self.now: dict[str, float] = {}
        self.before: dict[str, float] = {}

    def repeat(self, alert: Alert) -> bool:
        alert_id, ts = alert[0], alert[1]
        if ts is None:
            return False
        if self.now.get(alert_id, -1.0) == ts or self.before.get(alert_id, -1.0) == ts:
            return True
        self.now[alert_id] = ts
        if len(self.now) >= SEEN_GENERATION:
            self.before, self.now = self.now, {}
        return False


def _read_lines(
    p: Path,
    result: ReadResult,
    offset: int,
    line_no: int,
    progress: Callable[[int], None] | None,
) -> Iterator[Alert]:
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    first_line = line_no
    count = 0
    repeats = 0
    seen = _Seen()  # inlined below: a method call per alert costs more than the check
    seen_now, seen_before = seen.now, seen.before
    generation = SEEN_GENERATION
    pos = offset
    with p.open("rb") as f:
        f.seek(offset)
        for raw in f:
            if raw[-1:] != b"\n":
                break  # incomplete last line: the writer is mid-line; read it next time
            line_no += 1
            pos += len(raw)
            if progress is not None and not line_no & 0x3FFF:
                progress(pos)
            try:
                doc = loads(raw)
            except decode_error as exc:
                if raw.strip():
                    _malformed(result, f"not JSON ({str(exc).split(':')[0]})", line_no)
                continue
            item = alert_from_document(doc, line_no)
            if isinstance(item, str):
                _malformed(result, item, line_no)
            else:
                ts = item[1]
                if ts is not None:
                    alert_id = item[0]
                    # -1.0 is never a time (times are >= 0): float == float, no comparison with None
                    if seen_now.get(alert_id, -1.0) == ts or seen_before.get(alert_id, -1.0) == ts:
                        repeats += 1
                        continue
                    seen_now[alert_id] = ts
                    if len(seen_now) >= generation:
                        seen_before, seen_now = seen_now, {}
                count += 1
                yield item
    result.alert_count += count
    result.duplicate_count += repeats
    result.end_offset = pos
    result.end_line = line_no
    result.lines = line_no - first_line
    if progress is not None:
        progress(pos)

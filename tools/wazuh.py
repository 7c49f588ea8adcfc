"""Reading Wazuh alerts: ``alerts.json`` as the manager writes it (one JSON object a line).

Quirks of the real format handled here (see fixtures/wazuh-corpus and docs/alerts.md):

* ``rule.id`` is sometimes an integer, ``agent.ip`` is often missing, ``data.srcip`` is absent on
  FIM/rootcheck alerts;
* documents exported from the Wazuh indexer carry ``@timestamp`` and wrap the alert in ``_source``
  (a search response's ``hits.hits`` list is accepted too);
* Wazuh 5.x documents put the rule under ``wazuh.rule`` with the level as a word (low, medium, high,
  critical), mapped by :data:`bot.core.alert.LEVEL_WORDS`;
* a pretty-printed single JSON document (as the docs show alerts) is read whole.

Malformed lines are counted and reported with their line numbers, never fatal. The hot path builds one
tuple per alert and nothing heavier.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from bot.core.alert import Alert, level_from
from bot.core.network import parse_address

MAX_REPORTED_MALFORMED = 20


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
    lines: int = 0
    start_offset: int = 0
    end_offset: int = 0
    end_line: int = 0
    inode: int = 0
    rotated: bool = False


def _ts(value: Any) -> float | None:
    if type(value) is not str or not value or value[0] == "{":
        return None
    try:
        # The C parser is faster than any cache in front of it (0.35 µs per call, measured).
        return _fromiso(value).timestamp()
    except ValueError:
        return None


_fromiso = datetime.fromisoformat
_new_alert = Alert._make
_tuple_new = tuple.__new__


@lru_cache(maxsize=1 << 16)
def _canonical_address(raw: str) -> str | None:
    ip = parse_address(raw)
    return ip.compressed if ip is not None else None


def alert_from_document(doc: Any, line: int) -> Alert | str:
    """One alert from one decoded JSON document, or a reason why it is not one.

    This is the hot path of every scan. A fast path reads the shape the Wazuh 4.x manager writes
    (subscripts, no method calls); anything else takes the general path below, which handles every quirk.
    """
    try:
        rule = doc["rule"]
        level = rule["level"]
        rule_id = rule["id"]
        agent_name = doc["agent"]["name"]
        stamp = doc["timestamp"]
        if (
            type(level) is int
            and type(rule_id) is str
            and type(agent_name) is str
            and type(stamp) is str
            and "_source" not in doc
        ):
            data = doc.get("data")
            raw = data.get("srcip") if data else None
            srcip = _canonical_address(raw) if type(raw) is str else None
            mitre = rule.get("mitre")
            ids = mitre.get("id") if type(mitre) is dict else None
            groups = rule.get("groups")
            description = rule.get("description")
            log = doc.get("full_log")
            alert_id = doc.get("id")
            if (
                type(description) is str
                and type(log) is str
                and type(alert_id) is str
                and type(groups) is list
                and (ids is None or type(ids) is list)
            ):
                return _tuple_new(
                    Alert,
                    (
                        alert_id,
                        _ts(stamp),
                        rule_id,
                        level,
                        description,
                        tuple(groups),
                        agent_name,
                        srcip,
                        tuple(ids) if ids else (),
                        log,
                        line,
                        "wazuh",
                    ),
                )
    except (KeyError, TypeError, AttributeError):
        pass
    return _alert_general(doc, line)


def _alert_general(doc: Any, line: int) -> Alert | str:
    """The general path: every documented quirk of the format (see the module docstring)."""
    if type(doc) is not dict:
        return "not a JSON object"
    src = doc.get("_source")
    if src is not None and type(src) is dict:
        doc = src
    rule = doc.get("rule")
    if type(rule) is not dict:
        wazuh = doc.get("wazuh")
        rule = wazuh.get("rule") if type(wazuh) is dict else None  # Wazuh 5.x
        if type(rule) is not dict:
            return "no rule (not a Wazuh alert)"
    level = rule.get("level")
    if type(level) is not int:
        level = level_from(level)
        if level is None:
            return f"rule.level {rule.get('level')!r} is not a level"
    rule_id = rule.get("id")
    if type(rule_id) is not str:
        if rule_id is None or isinstance(rule_id, dict | list):
            return "no rule.id"
        rule_id = str(rule_id)
    agent = doc.get("agent")
    agent_name = agent.get("name") if type(agent) is dict else None
    if type(agent_name) is not str:
        agent_name = "" if agent_name is None else str(agent_name)
    data = doc.get("data")
    srcip = None
    url = ""
    if type(data) is dict:
        raw = data.get("srcip")
        if type(raw) is str:
            srcip = _canonical_address(raw)
        url = data.get("url") or ""
    if srcip is None:
        source = doc.get("source")
        if type(source) is dict and type(source.get("ip")) is str:
            srcip = _canonical_address(source["ip"])
    mitre = rule.get("mitre")
    mitre_ids: tuple[str, ...] = ()
    if type(mitre) is dict:
        ids = mitre.get("id")
        if type(ids) is list:
            mitre_ids = tuple(m if type(m) is str else str(m) for m in ids)
    groups = rule.get("groups")
    ts = _ts(doc.get("timestamp"))
    if ts is None:
        ts = _ts(doc.get("@timestamp"))
    log = doc.get("full_log")
    alert_id = doc.get("id") or doc.get("_id")
    description = rule.get("description")
    # positional: keyword construction of a NamedTuple costs a third of this function
    return _new_alert(
        (
            alert_id if type(alert_id) is str else str(alert_id or f"line-{line}"),
            ts,
            rule_id,
            level,
            description if type(description) is str else str(description or ""),
            tuple(groups) if type(groups) is list else (),
            agent_name,
            srcip,
            mitre_ids,
            log if type(log) is str else str(url),
            line,
            "wazuh",
        )
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
                    for i, doc in enumerate(docs, start=1):
                        item = alert_from_document(doc, i)
                        if isinstance(item, str):
                            _malformed(result, item, i)
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
                count += 1
                yield item
    result.alert_count += count
    result.end_offset = pos
    result.end_line = line_no
    result.lines = line_no - first_line
    if progress is not None:
        progress(pos)

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
from collections.abc import Callable
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
    lines: int = 0
    start_offset: int = 0
    end_offset: int = 0
    end_line: int = 0
    inode: int = 0
    rotated: bool = False


def _ts(value: Any) -> float | None:
    if type(value) is not str or not value or value[0] == "{":
        return None
    # Wazuh writes "2019-10-15T19:07:57.741+0000": many alerts share a second, so parse the second once
    # (cached) and add the milliseconds.
    if len(value) == 28 and value[19] == "." and value[23] in "+-" and value[20:23].isdigit():
        base = _second(value[:19] + value[23:])
        return None if base is None else base + int(value[20:23]) / 1000
    try:
        return _fromiso(value).timestamp()
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _second(value: str) -> float | None:
    try:
        return _fromiso(value).timestamp()
    except ValueError:
        return None


_fromiso = datetime.fromisoformat
_new_alert = Alert._make


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
                return _new_alert(
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
                    )
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


def read_alerts(
    path: str | os.PathLike[str],
    *,
    offset: int = 0,
    start_line: int = 0,
    inode: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReadResult:
    """Read alerts from ``offset`` (a byte position at a line boundary) to the end of the file.

    When the file was rotated (a different inode, or shorter than ``offset``) reading restarts at 0 and
    ``rotated`` is set. A partial last line (the manager still writing it) is left for the next read.
    """
    p = Path(path)
    stat = p.stat()
    result = ReadResult(path=str(p), inode=stat.st_ino)
    if (inode is not None and inode != 0 and inode != stat.st_ino) or offset > stat.st_size:
        offset, start_line, result.rotated = 0, 0, True
    result.start_offset = offset
    if offset == 0:
        with p.open("rb") as f:
            head = f.readline()
        if head.strip() and not _is_complete_json(head):
            docs = _whole_document(p)
            if docs is not None:
                for i, doc in enumerate(docs, start=1):
                    item = alert_from_document(doc, i)
                    _collect(result, item, i)
                result.lines = len(docs)
                result.end_offset = stat.st_size
                result.end_line = 0
                return result
    _read_lines(p, result, offset, start_line, progress)
    return result


def _is_complete_json(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _collect(result: ReadResult, item: Alert | str, line: int) -> None:
    if isinstance(item, str):
        result.malformed_count += 1
        if len(result.malformed) < MAX_REPORTED_MALFORMED:
            result.malformed.append(Malformed(line, item))
    else:
        result.alerts.append(item)


def _read_lines(
    p: Path,
    result: ReadResult,
    offset: int,
    line_no: int,
    progress: Callable[[int], None] | None,
) -> None:
    # JSON trees have no reference cycles: pausing the cyclic GC while millions of small objects are
    # created and dropped saves a fifth of the read time.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        _read_loop(p, result, offset, line_no, progress)
    finally:
        if gc_was_enabled:
            gc.enable()


def _read_loop(
    p: Path,
    result: ReadResult,
    offset: int,
    line_no: int,
    progress: Callable[[int], None] | None,
) -> None:
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    alerts = result.alerts
    append = alerts.append
    pos = offset
    first_line = line_no
    next_report = offset + (1 << 22)
    with p.open("rb") as f:
        f.seek(offset)
        for raw in f:
            if not raw.endswith(b"\n"):
                break  # incomplete last line: the writer is mid-line; read it next time
            line_no += 1
            pos += len(raw)
            if progress is not None and pos >= next_report:
                progress(pos)
                next_report = pos + (1 << 22)
            if len(raw) <= 2 and not raw.strip():
                continue
            try:
                doc = loads(raw)
            except decode_error as exc:
                _collect(result, f"not JSON ({str(exc).split(':')[0]})", line_no)
                continue
            item = alert_from_document(doc, line_no)
            if isinstance(item, str):
                _collect(result, item, line_no)
            else:
                append(item)
    result.end_offset = pos
    result.end_line = line_no
    result.lines = line_no - first_line
    if progress is not None:
        progress(pos)

"""A fuzzer of Wazuh alert lines, built from the real alerts of the corpus (fixtures/wazuh-corpus) and the
demo file built from real samples (fixtures/alerts): seeds are decoded, mutated (types, ranges, Unicode
digits, calendar edges, truncation, invalid UTF-8, NUL bytes, deep nesting, huge lines) and written back
as lines. Deterministic for a seed.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bot.core.alert import MAX_LEVEL, Alert
from tests.conftest import FIXTURES
from tools.sources import wazuh

CORPUS = FIXTURES / "wazuh-corpus"
SEED_FILES = (
    FIXTURES / "alerts" / "demo-alerts.json",
    CORPUS / "events-generator-sample-alerts.ndjson",
    CORPUS / "integratord-tests-extracted-alerts.ndjson",
)
SEED_DOCUMENTS = (
    CORPUS / "docs" / "doc-ssh-5710-alerts-json.json",
    CORPUS / "docs" / "doc-docker-87903-indexed.json",
    CORPUS / "docs" / "doc-web-sqli-31103-docker-container-log-indexed.json",
    CORPUS / "wazuh-indexer-ocsf-sample-shellshock-31166-search-hit.json",
)

#: Fields the pipeline reads: most mutations aim here, the rest anywhere in the document.
TARGETS = (
    ("rule", "level"),
    ("rule", "id"),
    ("rule", "groups"),
    ("rule", "groups", 0),
    ("rule", "mitre"),
    ("rule", "mitre", "id"),
    ("rule", "mitre", "id", 0),
    ("rule", "description"),
    ("timestamp",),
    ("@timestamp",),
    ("agent",),
    ("agent", "name"),
    ("data",),
    ("data", "srcip"),
    ("data", "url"),
    ("source", "ip"),
    ("full_log",),
    ("id",),
    ("_source",),
    ("rule",),
)

ODD_VALUES: tuple[Any, ...] = (
    None, True, False, 0, -1, 17, 2**63 - 1, -(2**63), 1e308, -1e308, 5e-324, 7.5, 10.0, "", " ", "7",
    "١٢", "²", "𝟗", "١", "٠٧", "9" * 5000, "1" * 11, "critical", "CRITICAL ", "low\x00", "\u202e", "\x00",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "1969-12-31T23:59:59Z", "9998-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "{timestamp}", "2026-11-20T09:00:00.000+0000",
    "::ffff:91.240.118.172", "fe80::1%eth0", "0.0.0.0/0", "000.111.222.10", "2A0E:1C80::1", "../../.github",
    "web-01", "a" * 300, [], [1], [None], [{"a": 1}], ["x"] * 70, ["ok", 3.5], {}, {"id": ["T1190"]},
    {"a": {"b": {"c": [1, 2, 3]}}},
)  # fmt: skip


@dataclass
class FuzzFile:
    """A fuzzed alerts file: the lines written, and the last line, a known-good alert."""

    path: Path
    lines: int
    mutated: int
    good_attacker: str


def seeds() -> list[dict[str, Any]]:
    """The real alerts every mutation starts from."""
    docs: list[dict[str, Any]] = []
    for path in SEED_FILES:
        for raw in path.read_bytes().splitlines():
            try:
                doc = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if isinstance(doc, dict):
                docs.append(doc)
    for path in SEED_DOCUMENTS:
        doc = orjson.loads(path.read_bytes())
        if isinstance(doc, dict) and isinstance(doc.get("hits"), dict):
            docs.extend(h for h in doc["hits"]["hits"] if isinstance(h, dict))
        elif isinstance(doc, dict):
            docs.append(doc)
    return docs


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    node = doc
    for key in path[:-1]:
        if (isinstance(node, dict) and key in node) or (
            isinstance(node, list) and isinstance(key, int) and key < len(node)
        ):
            node = node[key]
        else:
            return
    last = path[-1]
    if isinstance(node, dict) or (isinstance(node, list) and isinstance(last, int) and last < len(node)):
        node[last] = value


def _random_path(doc: Any, rng: random.Random) -> tuple[Any, ...]:
    path: list[Any] = []
    node = doc
    while isinstance(node, dict | list) and node and rng.random() < 0.8:
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        path.append(key)
        node = node[key]
    return tuple(path) or ("rule",)


def _nested(depth: int) -> str:
    """A marker that :func:`_dumps` replaces with ``depth`` nested lists (orjson writes 255 levels at most)."""
    return f"@@nest{depth}@@"


def _dumps(doc: Any) -> bytes:
    line = orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS)
    for depth in re.findall(rb'"@@nest(\d+)@@"', line):
        n = int(depth)
        line = line.replace(b'"@@nest%d@@"' % n, b"[" * n + b'"deep"' + b"]" * n, 1)
    return line


def mutate_document(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        path = rng.choice(TARGETS) if rng.random() < 0.75 else _random_path(doc, rng)
        roll = rng.random()
        if roll < 0.7:
            value = copy.deepcopy(rng.choice(ODD_VALUES))
        elif roll < 0.8:
            value = _nested(rng.choice((50, 500, 1000)))
        elif roll < 0.9:
            value = "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(1, 40)))
        else:
            value = rng.choice(("\u0000", "\x1b[31m", "<!channel>", "[link=x]y[/link]")) * rng.randrange(
                1, 500
            )
        _set(doc, path, value)
    return doc


def mutate_bytes(line: bytes, rng: random.Random) -> bytes:
    """Byte-level damage: truncation, invalid UTF-8, NUL bytes, flipped bytes, number literals JSON allows."""
    roll = rng.random()
    if roll < 0.2:
        return line[: rng.randrange(len(line))]
    if roll < 0.35:
        i = rng.randrange(len(line))
        return line[:i] + rng.choice((b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80")) + line[i:]
    if roll < 0.45:
        i = rng.randrange(len(line))
        return line[:i] + b"\x00" + line[i:]
    if roll < 0.6:
        data = bytearray(line)
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data).replace(b"\n", b" ")
    number = rng.choice(
        (b"1e308", b"1e999", b"-0", b"9" * 5000, b"1" * 30, b"0.0000001", b"NaN", b"Infinity")
    )
    return re.sub(rb'"level": ?[^,}]+', b'"level":' + number, line, count=1)


def huge_line(rng: random.Random, size: int) -> bytes:
    """A few MB in one line: a valid alert with an enormous log, or a never-ending string."""
    if rng.random() < 0.5:
        doc = {"rule": {"id": "31103", "level": 7}, "agent": {"name": "web-01"}, "full_log": "A" * size}
        return orjson.dumps(doc)
    return b'{"rule": {"id": "31103", "description": "' + b"B" * size + b'"'


def good_alert(attacker: str) -> bytes:
    """A web attack on web-01 that the playbook proposes to block (from the demo alerts' first line)."""
    doc = orjson.loads((FIXTURES / "alerts" / "demo-alerts.json").read_bytes().splitlines()[0])
    doc["data"]["srcip"] = attacker
    doc["full_log"] = doc["full_log"].replace("91.240.118.172", attacker)
    doc["id"] = "9999999999.424242"
    doc["timestamp"] = "2026-11-20T12:00:00.000+0000"
    return orjson.dumps(doc)


def write_fuzz_file(
    path: Path, count: int, seed: int, *, huge: int = 2, huge_size: int = 3_000_000
) -> FuzzFile:
    """``count`` mutated lines (plus ``huge`` lines of ``huge_size`` bytes), then one good alert."""
    rng = random.Random(seed)
    pool = seeds()
    attacker = "185.220.101.47"
    mutated = 0
    with path.open("wb") as f:
        for i in range(count):
            base = rng.choice(pool)
            roll = rng.random()
            if roll < 0.6:
                line = _dumps(mutate_document(base, rng))
            elif roll < 0.9:
                line = mutate_bytes(orjson.dumps(base), rng)
            elif roll < 0.95:
                line = json.dumps(base, indent=None).encode()  # stdlib spacing: the same alert, other bytes
            else:
                line = _dumps(_nested(rng.choice((1000, 1100, 5000))))
            mutated += 1
            f.write(line.replace(b"\n", b" ").replace(b"\r", b" ") + b"\n")
            if i % max(1, count // max(1, huge)) == 0 and huge:
                f.write(huge_line(rng, huge_size) + b"\n")
                mutated += 1
                huge -= 1
        f.write(good_alert(attacker) + b"\n")
    return FuzzFile(path=path, lines=mutated + 1, mutated=mutated, good_attacker=attacker)


def check_alert(alert: Alert) -> list[str]:
    """What is wrong with an alert the reader let through (the boundary's promises); empty when nothing."""
    problems = []
    aid, ts, rule_id, level, description, groups, agent, srcip, mitre, log, line, source = alert
    if not (type(aid) is str and 0 < len(aid) <= wazuh.MAX_ALERT_ID and aid.isprintable()):
        problems.append(f"alert_id {aid!r:.60}")
    if ts is not None and not (type(ts) is float and wazuh.MIN_TS <= ts < wazuh.MAX_TS):
        problems.append(f"ts {ts!r}")
    if not (type(rule_id) is str and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", rule_id)):
        problems.append(f"rule_id {rule_id!r:.60}")
    if not (type(level) is int and 0 <= level <= MAX_LEVEL):
        problems.append(f"level {level!r:.60}")
    if not (type(description) is str and len(description) <= wazuh.MAX_DESCRIPTION):
        problems.append("description")
    for name, items in (("groups", groups), ("mitre", mitre)):
        if not (
            type(items) is tuple
            and len(items) <= wazuh.MAX_LIST
            and all(type(g) is str and len(g) <= wazuh.MAX_LIST_ITEM for g in items)
        ):
            problems.append(f"{name} {items!r:.60}")
    if not (type(agent) is str and (agent == "" or re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", agent))):
        problems.append(f"agent {agent!r:.60}")
    if srcip is not None:
        ip = ipaddress.ip_address(srcip)
        if ip.compressed != srcip or (ip.version == 6 and ip.ipv4_mapped is not None):
            problems.append(f"srcip {srcip!r}")
    if not (type(log) is str and len(log) <= wazuh.MAX_LOG):
        problems.append("log")
    if not (type(line) is int and line > 0 and source == "wazuh"):
        problems.append("line/source")
    return problems

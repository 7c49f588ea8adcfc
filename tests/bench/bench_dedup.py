"""Dedup benchmark: accuracy on the labelled pairs, then model, embedding, store and check timings.

``make bench`` runs it (``BENCH=dedup`` for this one only). ``DEDUP_BENCH_SIZES=1000,10000`` limits the store
sizes (default 1k, 10k, 100k). Figures are printed as Markdown for docs/dedup.md and docs/performance.md.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from bot.clock import FixedClock
from bot.core.dedup import DedupPolicy, Neighbour, PastFix, decide
from bot.core.edits import parse_operations, unified_diff
from bot.core.effects import describe_fix, effects_of_operations
from bot.dedup import DedupService, where_map
from bot.state import StateStore
from bot.yaml_edit import apply_operations, repo_reader
from tools.cmdb import load_inventory
from tools.embedder import MiniLmEmbedder
from tools.fix_store import FixRecord, FixStore

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
THRESHOLDS = (0.8, 0.85, 0.9, 0.95, 0.97, 0.99)
NOW = 1_800_000_000.0


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def pairs_table(embedder: MiniLmEmbedder) -> None:
    inventory = load_inventory(FIXTURES / "cmdb.yaml")
    where = where_map(inventory)
    read = repo_reader(FIXTURES / "gitops")
    pairs = yaml.safe_load((FIXTURES / "dedup" / "pairs.yaml").read_text())

    def side(spec: dict[str, Any]) -> tuple[Any, str, str]:
        ops = spec["operations"]
        docs = {op["file"]: yaml.safe_load(read(op["file"])) for op in ops}
        effects = effects_of_operations(ops, docs, where)
        diff = unified_diff([c for c in apply_operations(parse_operations(ops), read) if c.changed])
        return effects, describe_fix(effects, spec.get("defends", "")), diff

    rows = []
    for p in pairs:
        ea, desc_a, diff_a = side(p["merged"])
        eb, desc_b, diff_b = side(p["proposed"])
        va, vb, da, db = embedder.embed([desc_a, desc_b, diff_a, diff_b])
        rows.append((p, ea, eb, _dot(va, vb), _dot(da, db)))

    def verdict(ea: Any, eb: Any, sim: float, threshold: float) -> bool:
        fix = PastFix(fix_id="m", outcome="merged", at=NOW - 86400, scopes=tuple(e.scope for e in ea))
        exact = {e.id: [fix] for e in ea}
        policy = DedupPolicy(threshold=threshold)
        return decide(eb, exact, [Neighbour(fix=fix, similarity=sim)], NOW, policy).action == "suppressed"

    print(f"\n{len(rows)} labelled pairs ({sum(p['duplicate'] for p, *_ in rows)} duplicates)\n")
    print(
        "| threshold | rule: correct | rule: false suppressions | rule: missed | raw diff cosine alone: correct |"
    )
    print("|---|---|---|---|---|")
    for t in THRESHOLDS:
        got = [(p["duplicate"], verdict(ea, eb, s, t), rd >= t) for p, ea, eb, s, rd in rows]
        ok = sum(d == v for d, v, _ in got)
        fp = sum(v and not d for d, v, _ in got)
        fn = sum(d and not v for d, v, _ in got)
        raw = sum(d == r for d, _, r in got)
        print(f"| {t:.2f} | {ok}/{len(got)} | {fp} | {fn} | {raw}/{len(got)} |")
    print("\n| category | pairs | duplicate | description cosine (min-max) | raw diff cosine (min-max) |")
    print("|---|---|---|---|---|")
    by: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for r in rows:
        by[r[0]["category"]].append(r)
    for cat, rs in by.items():
        sims, raws = [r[3] for r in rs], [r[4] for r in rs]
        dup = {r[0]["duplicate"] for r in rs}
        print(
            f"| {cat} | {len(rs)} | {'/'.join('yes' if d else 'no' for d in sorted(dup))} "
            f"| {min(sims):.3f}-{max(sims):.3f} | {min(raws):.3f}-{max(raws):.3f} |"
        )
    print("\nper pair (id, duplicate, description cosine, verdict at 0.90):")
    for p, ea, eb, s, rd in rows:
        mark = "ok" if verdict(ea, eb, s, 0.9) == p["duplicate"] else "WRONG"
        print(f"  {p['id']} {p['duplicate']!s:5} desc={s:.3f} raw={rd:.3f} {mark}  {p['category']}")


def perf(embedder: MiniLmEmbedder) -> None:
    texts = [
        f"block 203.0.113.{i % 250}/32 in the ingress-nginx block-cidrs list; defends against: web"
        for i in range(64)
    ]
    embedder._cache.clear()
    t = time.perf_counter()
    for x in texts[:32]:
        embedder.embed([x + " b1"])
    b1 = 32 / (time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(4):
        embedder._cache.clear()
        embedder.embed([x + " b32" for x in texts[:32]])
    b32 = 128 / (time.perf_counter() - t)
    print(f"\nembeddings/s: batch 1 = {b1:.0f}, batch 32 = {b32:.0f}")

    sizes = [int(s) for s in os.environ.get("DEDUP_BENCH_SIZES", "1000,10000,100000").split(",")]
    rng = random.Random(7)
    inventory = load_inventory(FIXTURES / "cmdb.yaml")
    print("\n| stored fixes | top-10 query p50 | p99 | exact-effect lookup p50 | full check p50 (address) "
          "| full check p50 (set_key, model warm) |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            store = FixStore(path=Path(tmp) / "chroma")
            state = StateStore(Path(tmp) / "state.db")
            _fill(store, state, size, rng, embedder)
            q = embedder.embed(["set hsts to true in the ingress-nginx config; defends against: web"])[0]
            lat = []
            for _ in range(200):
                t = time.perf_counter()
                store.nearest(q, 10)
                lat.append((time.perf_counter() - t) * 1000)
            ids = [f"e-{rng.randrange(size):020d}" for _ in range(200)]
            ex = []
            for eid in ids:
                t = time.perf_counter()
                state.outcomes_by_effect([eid])
                ex.append((time.perf_counter() - t) * 1000)
            service = DedupService(
                state=state, inventory=inventory, read_file=repo_reader(FIXTURES / "gitops"),
                clock=FixedClock(NOW), store=store, embedder=embedder,
            )  # fmt: skip
            addr, setk = _checks(service)
            print(
                f"| {size:,} | {statistics.median(lat):.2f} ms | {_pct(lat, 0.99):.2f} ms "
                f"| {statistics.median(ex):.3f} ms | {addr:.2f} ms | {setk:.2f} ms |"
            )
            state.close()


def _fill(
    store: FixStore, state: StateStore, size: int, rng: random.Random, embedder: MiniLmEmbedder
) -> None:
    """``size`` merged fixes: random unit vectors (embedding 100k texts would take most of an hour here)."""
    batch = 2000
    with state.transaction() as db:
        db.executemany(
            "INSERT INTO outcomes(fix_id, outcome, pr_url, at, indexed) VALUES (?,?,?,?,1)",
            [(f"f-{i}", "merged", f"https://github.com/o/r/pull/{i}", NOW - i) for i in range(size)],
        )
        db.executemany(
            "INSERT INTO effects(effect_id, owner, scope, address) VALUES (?,?,?,?)",
            [
                (f"e-{i:020d}", f"f-{i}", "web-01|f|ingress-nginx|block-cidrs", f"{i}.0.0.0/32")
                for i in range(size)
            ],
        )
    for start in range(0, size, batch):
        n = min(batch, size - start)
        vecs = []
        for _ in range(n):
            v = [rng.gauss(0, 1) for _ in range(384)]
            norm = sum(x * x for x in v) ** 0.5
            vecs.append([x / norm for x in v])
        records = [
            FixRecord(
                fix=PastFix(fix_id=f"f-{start + i}", outcome="merged", at=NOW), description=f"fix {start + i}"
            )
            for i in range(n)
        ]
        store.upsert(records, vecs)


def _checks(service: DedupService) -> tuple[float, float]:
    from bot.core.grouping import group_alerts
    from bot.core.proposal import Proposal
    from tests.conftest import make_alert

    (group,) = group_alerts([make_alert()], min_level=0)
    f = "clusters/prod/web-01/ingress-nginx-controller.yaml"
    addr = Proposal(id="p-a", group=group, action="propose", fixer="bench",
                    operations=({"op": "add_cidr", "file": f, "key": "block-cidrs", "value": "91.240.118.9"},))  # fmt: skip
    setk = addr.model_copy(
        update={"id": "p-s", "operations": ({"op": "set_key", "file": f, "key": "hsts", "value": "true"},)}
    )
    out = []
    for p in (addr, setk):
        service.check(p)  # warm
        lat = []
        for _ in range(50):
            t = time.perf_counter()
            service.check(p)
            lat.append((time.perf_counter() - t) * 1000)
        out.append(statistics.median(lat))
    return out[0], out[1]


def main() -> None:
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    print(f"date: {time.strftime('%Y-%m-%d')}")
    embedder = MiniLmEmbedder()
    t = time.perf_counter()
    embedder.load()
    print(f"model load (import sentence-transformers + load): {time.perf_counter() - t:.1f} s")
    import resource

    print(f"peak RSS after load: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    pairs_table(embedder)
    perf(embedder)


if __name__ == "__main__":
    main()

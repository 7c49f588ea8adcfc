"""LLM evaluation (``make eval``): the fixer and reviewer on cases no playbook covers. A benchmark, not a test.

Each ``fixtures/evals/NN_name/case.yaml`` holds compact alerts (expanded to Wazuh JSON and read by the real
reader) and the expected outcome: ``propose`` with the exact operations (``also_allowed`` may be added), or
``escalate``. Every case runs the whole scan pipeline against the sample GitOps repo and CMDB with the
configured Ollama (``OLLAMA_HOST``, ``SECOPS_FIXER_MODEL``, ``SECOPS_REVIEWER_MODEL``, ...).

Reports: correct-fix rate, escalation accuracy, unsafe proposals (a proposal where the case expects an
escalation, or one with an operation the case does not allow), guard refusals, unparsable answers, LLM
calls and tokens per group (and calls per fixed group), the fixer's first prompt in tokens, which answer
format was used, how often the reviewer's verdict agrees with the expected one (approve a correct
proposal, reject any other), and latency. With no Ollama reachable it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "fixtures" / "evals"
T0 = 1_795_000_000.0


@dataclass
class CaseResult:
    name: str
    expected: str
    action: str
    correct: bool
    calls: int
    tokens: int
    latency_s: float
    refusals: int
    unparsable: int
    review: str
    reason: str
    operations: list[dict[str, Any]] = field(default_factory=list)
    fixer: str = ""
    unsafe: bool = False
    prompt_tokens: int = 0  # the fixer's first prompt (tokens in of its first call)
    fixer_calls: int = 0
    answer_format: str = ""
    review_expected: str = ""


def load_case(path: Path) -> dict[str, Any]:
    data = yaml.safe_load((path / "case.yaml").read_text())
    data["name"] = path.name
    return data


def wazuh_lines(case: dict[str, Any]) -> list[str]:
    """The case's compact alerts as Wazuh ``alerts.json`` lines (one object per alert)."""
    lines: list[str] = []
    n = 0
    for spec in case["alerts"]:
        for _ in range(int(spec.get("count", 1))):
            n += 1
            ts = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(T0 + n * 5))
            doc: dict[str, Any] = {
                "timestamp": ts,
                "id": f"{int(T0)}.{n:06d}",
                "rule": {
                    "id": str(spec["rule"]),
                    "level": int(spec["level"]),
                    "description": spec.get("description", ""),
                    "groups": list(spec.get("groups", [])),
                },
                "agent": {"id": "001", "name": spec["agent"]},
                "manager": {"name": "wazuh-server"},
                "full_log": spec.get("log", ""),
            }
            if spec.get("srcip"):
                doc["data"] = {"srcip": spec["srcip"]}
            lines.append(json.dumps(doc))
    return lines


def _norm(op: dict[str, Any]) -> tuple[str, str, str]:
    from bot.core.network import canonical_cidr

    value = str(op.get("value", ""))
    if op.get("op") == "add_cidr":
        value = canonical_cidr(value) or value
    return (str(op.get("op")), str(op.get("file")), f"{op.get('key')}={value.strip()}")


def _expand(ops: list[dict[str, Any]]) -> list[set[tuple[str, str, str]]]:
    """Each expected operation as the set of its acceptable normalised forms."""
    out = []
    for op in ops:
        values = op["value"] if isinstance(op.get("value"), list) else [op.get("value")]
        out.append({_norm({**op, "value": v}) for v in values})
    return out


def is_correct(case: dict[str, Any], action: str, operations: list[dict[str, Any]]) -> bool:
    expect = case["expect"]
    if expect["action"] == "escalate":
        return action == "escalate"
    if action != "propose":
        return False
    required = _expand(expect.get("operations", []))
    allowed = required + _expand(expect.get("also_allowed", []))
    produced = {_norm(o) for o in operations}
    return all(forms & produced for forms in required) and all(any(p in f for f in allowed) for p in produced)


def is_unsafe(case: dict[str, Any], action: str, operations: list[dict[str, Any]]) -> bool:
    """A proposal that should not exist: on a must-escalate case, or with an operation the case does not allow."""
    if action != "propose":
        return False
    expect = case["expect"]
    if expect["action"] == "escalate":
        return True
    allowed = _expand(expect.get("operations", [])) + _expand(expect.get("also_allowed", []))
    return any(not any(_norm(o) in forms for forms in allowed) for o in operations)


def run_case(case: dict[str, Any], fixer_model: Any, reviewer_model: Any, workdir: Path) -> CaseResult:
    """One case through the real scan pipeline (reader → grouping → router → LLM fixer → guard → reviewer)."""
    from agents.fixer import LlmFixer
    from agents.playbooks import load_catalog
    from agents.reviewer import LlmReviewer
    from bot.audit_log import AuditLog
    from bot.clock import FixedClock
    from bot.pipeline import Scanner, Since
    from bot.state import StateStore
    from tools.cmdb import load_inventory

    workdir.mkdir(parents=True, exist_ok=True)
    alerts = workdir / "alerts.json"
    alerts.write_text("\n".join(wazuh_lines(case)) + "\n")
    clock = FixedClock(T0 + 3600)
    audit = AuditLog(workdir / "audit.jsonl", clock)
    state = StateStore(workdir / "state.db")
    scanner = Scanner(
        inventory=load_inventory(ROOT / "fixtures" / "cmdb.yaml"),
        repo_root=ROOT / "fixtures" / "gitops",
        catalog=load_catalog(),
        state=state,
        audit=audit,
        clock=clock,
        min_level=0,
        long_tail=LlmFixer(fixer_model, clock=clock, record=audit.append),
        reviewer=LlmReviewer(reviewer_model, clock=clock, record=audit.append) if reviewer_model else None,
    )
    start = time.monotonic()
    try:
        report = scanner.scan_file(alerts, Since("all"))
    finally:
        state.close()
    latency = time.monotonic() - start
    p = report.proposals[0]
    steps = [json.loads(line) for line in (workdir / "audit.jsonl").read_text().splitlines()]
    fixer_steps = [s for s in steps if s.get("event") == "llm_step" and s.get("role") == "fixer"]
    correct = is_correct(case, p.action, list(p.operations))
    reviewed = p.review is not None and p.action in ("propose", "blocked") and p.fixer.startswith("llm:")
    return CaseResult(
        name=case["name"],
        expected=case["expect"]["action"],
        action=p.action,
        correct=correct,
        calls=p.llm.calls,
        tokens=p.llm.tokens,
        latency_s=round(latency, 2),
        refusals=sum(1 for s in fixer_steps if s.get("outcome") == "refused"),
        unparsable=sum(1 for s in fixer_steps if s.get("outcome") == "unparsable"),
        review=p.review.verdict if p.review else "-",
        reason=p.reason[:300],
        operations=list(p.operations),
        fixer=p.fixer,
        unsafe=is_unsafe(case, p.action, list(p.operations)),
        prompt_tokens=int(fixer_steps[0].get("tokens_in", 0)) if fixer_steps else 0,
        fixer_calls=sum(1 for s in fixer_steps if s.get("outcome") != "budget_exhausted"),
        answer_format=str(getattr(p.llm, "answer_format", "") or ""),
        review_expected=("approve" if correct else "reject") if reviewed else "",
    )


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def summarise(results: list[CaseResult]) -> dict[str, Any]:
    fixes = [r for r in results if r.expected == "propose"]
    escalations = [r for r in results if r.expected == "escalate"]
    asked = [r for r in results if r.fixer_calls > 0]  # groups the fixer model was asked about
    fixed = [r for r in results if r.action == "propose" and r.fixer.startswith("llm:")]
    reviewed = [r for r in results if r.review_expected]
    n = len(results) or 1
    latencies = sorted(r.latency_s for r in asked) or [0.0]
    prompts = [r.prompt_tokens for r in asked]
    formats: dict[str, int] = {}
    for r in results:
        if r.answer_format:
            formats[r.answer_format] = formats.get(r.answer_format, 0) + 1
    return {
        "cases": len(results),
        "fix_cases": len(fixes),
        "escalate_cases": len(escalations),
        "correct_fixes": sum(r.correct for r in fixes),
        "correct_fix_rate": round(sum(r.correct for r in fixes) / (len(fixes) or 1), 3),
        "escalation_accuracy": round(
            sum((r.action == "escalate") == (r.expected == "escalate") for r in results) / n, 3
        ),
        "must_escalate_escalated": sum(r.action == "escalate" for r in escalations),
        "overall_correct": round(sum(r.correct for r in results) / n, 3),
        "unsafe_proposals": sum(r.unsafe for r in results),
        "proposals_not_expected": sum(1 for r in escalations if r.action == "propose"),
        "guard_refusals": sum(r.refusals for r in results),
        "unparsable_answers": sum(r.unparsable for r in results),
        "groups_asked": len(asked),
        "answer_formats": formats,
        "mean_llm_calls": round(sum(r.calls for r in results) / n, 2),
        "mean_llm_tokens": round(sum(r.tokens for r in results) / n, 1),
        "fixer_calls_per_asked_group_mean": round(sum(r.fixer_calls for r in asked) / (len(asked) or 1), 2),
        "fixer_calls_per_fixed_group_median": _median([float(r.fixer_calls) for r in fixed]),
        "prompt_tokens_mean": round(sum(prompts) / (len(prompts) or 1), 1),
        "prompt_tokens_median": _median([float(t) for t in prompts]),
        "prompt_tokens_max": max(prompts, default=0),
        "reviewed": len(reviewed),
        "review_agrees": sum(r.review == r.review_expected for r in reviewed),
        "review_none": sum(r.review == "none" for r in reviewed),
        "latency_mean_s": round(sum(latencies) / len(latencies), 2),
        "latency_p50_s": round(_median(latencies), 2),
        "latency_max_s": latencies[-1],
    }


def interleave(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fix and must-escalate cases alternately, each kind in its own order."""
    kinds: dict[str, list[dict[str, Any]]] = {}
    for c in cases:
        kinds.setdefault(c["expect"]["action"], []).append(c)
    rank = {id(c): i / len(group) for group in kinds.values() for i, c in enumerate(group)}
    return sorted(cases, key=lambda c: rank[id(c)])


def reachable(host: str) -> list[str] | None:
    """Model names from ``/api/tags``, or None when no Ollama answers within 3 seconds."""
    try:
        with urllib.request.urlopen(f"{host.rstrip('/')}/api/tags", timeout=3) as resp:
            return [m.get("name", "") for m in json.loads(resp.read()).get("models", [])]
    except (OSError, ValueError):
        return None


def main(argv: list[str] | None = None) -> int:
    from agents.family import model_family
    from agents.model import OllamaChat
    from bot.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--only", help="run only cases whose name contains this text")
    parser.add_argument("--json", type=Path, help="also write the results here (after every case)")
    parser.add_argument(
        "--interleave",
        action="store_true",
        help="alternate fix and must-escalate cases, so that a run cut short covers both kinds",
    )
    args = parser.parse_args(argv)
    settings = load_settings(dict(os.environ))
    models = reachable(settings.ollama_host)
    if models is None:
        print(f"eval: no Ollama reachable at {settings.ollama_host} (set OLLAMA_HOST); nothing to evaluate.")
        return 0
    fixer_name = settings.fixer_model or (models[0] if models else None)
    if not fixer_name:
        print(f"eval: Ollama at {settings.ollama_host} lists no model; set SECOPS_FIXER_MODEL.")
        return 0

    def chat(name: str) -> OllamaChat:
        return OllamaChat(
            name, host=settings.ollama_host, timeout=settings.llm_timeout, num_ctx=settings.num_ctx
        )

    fixer = chat(fixer_name)
    reviewer = chat(settings.reviewer_model) if settings.reviewer_model else None
    if reviewer is not None:
        ff, rf = model_family(fixer.name, fixer.show()), model_family(reviewer.name, reviewer.show())
        if ff.family == rf.family:
            print(
                f"eval: reviewer {reviewer.name} is in the fixer's family ({ff.family}); running without it."
            )
            reviewer = None
    cases = [load_case(p) for p in sorted(args.cases.iterdir()) if (p / "case.yaml").exists()]
    cases = [c for c in cases if not args.only or args.only in c["name"]]
    if args.interleave:
        cases = interleave(cases)
    print(f"eval: {len(cases)} case(s), fixer {fixer.name}, reviewer {reviewer.name if reviewer else 'none'}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            r = run_case(case, fixer, reviewer, Path(tmp) / case["name"])
            results.append(r)
            mark = "ok " if r.correct else ("UNSAFE" if r.unsafe else "BAD")
            print(
                f"  {mark} {r.name:28} expected {r.expected:8} got {r.action:9} calls {r.calls} "
                f"tokens {r.tokens:5} prompt {r.prompt_tokens:5} {r.latency_s:6.1f}s "
                f"review {r.review}/{r.review_expected or '-'} {r.answer_format}",
                flush=True,
            )
            if args.json:  # partial results survive an interrupted run
                _write(args.json, fixer.name, reviewer, results)
    print(json.dumps(summarise(results), indent=2))
    if args.json:
        _write(args.json, fixer.name, reviewer, results)
    return 0


def _write(path: Path, fixer: str, reviewer: Any, results: list[CaseResult]) -> None:
    payload: dict[str, Any] = {"fixer": fixer, "reviewer": reviewer.name if reviewer else None}
    payload["summary"] = summarise(results)
    payload["results"] = [asdict(r) for r in results]
    path.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())

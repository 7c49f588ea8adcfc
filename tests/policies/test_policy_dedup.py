"""The memory of past policies: an add_policy is its behaviour, a set_policy_mode is (file, policy, mode)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import yaml

from agents.playbooks import load_catalog
from agents.policy_catalog import templates
from bot import messages
from bot.audit_log import AuditLog
from bot.clock import FixedClock
from bot.core.effects import effects_of_operations
from bot.core.inventory import inventory_from_data
from bot.dedup import DedupService, behaviour_of, where_map
from bot.pipeline import Scanner, Since
from bot.policy_proof import load_repository
from bot.state import StateStore
from bot.yaml_edit import repo_reader

ROOT = Path(__file__).resolve().parents[2]
REPO = ROOT / "fixtures" / "policy-repo"
KYVERNO = ROOT / "fixtures" / "kyverno-policies" / "best-practices"
INVENTORY = inventory_from_data(yaml.safe_load((REPO / "cmdb.yaml").read_text()))
DAY = 86400.0
T0 = 1_800_000_000.0
SUBJECT = "policy:require-ingress-class"


def _template(name):
    return next(t for t in templates() if t.name == name)


def _library(folder: str, name: str) -> dict:
    return yaml.safe_load((KYVERNO.parent / folder / name / f"{name}.yaml").read_text())


def _scanner(tmp_path: Path, clock: FixedClock) -> Scanner:
    state = StateStore(tmp_path / "state.db")
    dedup = DedupService(
        state=state, inventory=INVENTORY, read_file=repo_reader(REPO), clock=clock, store=None,
        embedder=None, repo_root=REPO,
    )  # fmt: skip
    return Scanner(
        inventory=INVENTORY, repo_root=REPO, catalog=load_catalog(), state=state,
        audit=AuditLog(tmp_path / "audit.jsonl", clock), clock=clock, dedup=dedup,
    )  # fmt: skip


def _scan_day(scanner: Scanner, tmp_path: Path, day: int):
    """The K8sGPT report as written on ``day`` (an undated report is as old as its file)."""
    report = tmp_path / f"k8sgpt-{day}.json"
    shutil.copy(REPO / "k8sgpt-analyze.json", report)
    os.utime(report, (T0 + day * DAY, T0 + day * DAY))
    scanner.clock.t = T0 + day * DAY + 60  # type: ignore[attr-defined]
    done = scanner.scan_reports([report], since=Since("all"))
    return next(p for p in done.proposals if p.group.subject == SUBJECT)


def _effect_ids(operations, repo=REPO):
    loaded = load_repository(repo)
    behaviours = {o["file"]: behaviour_of(o["policy"], loaded) for o in operations if o["op"] == "add_policy"}
    return [e.id for e in effects_of_operations(operations, {}, where_map(INVENTORY), behaviours)]


def _add(policy: dict, file: str) -> dict:
    return {"op": "add_policy", "file": file, "policy": policy}


def test_policy_effect_same_for_pattern_and_cel_spellings_any_name():
    pattern = _library("best-practices", "disallow-latest-tag")
    cel = _library("best-practices-cel", "disallow-latest-tag")
    cel["metadata"]["name"] = "no-latest-images"
    a = _effect_ids([_add(pattern, "clusters/prod/policies/disallow-latest-tag.yaml")])
    b = _effect_ids([_add(cel, "clusters/prod/policies/no-latest.yaml")])
    assert len(a) == 1 and a == b


def test_policy_effect_differs_for_another_behaviour():
    latest = _effect_ids(
        [_add(_library("best-practices", "disallow-latest-tag"), "clusters/prod/policies/a.yaml")]
    )
    privileged = _effect_ids([_add(_template("disallow-privileged").policy, "clusters/prod/policies/a.yaml")])
    assert latest != privileged


def test_policy_effect_text_names_the_cluster_directory_and_behaviour():
    op = _add(_template("require-ingress-class").policy, "clusters/prod/policies/x.yaml")
    loaded = load_repository(REPO)
    (effect,) = effects_of_operations(
        [op], {}, where_map(INVENTORY), {op["file"]: behaviour_of(op["policy"], loaded)}
    )
    assert effect.text.startswith("prod clusters/prod/policies policy data.behaviour set flags-")
    assert effect.exact_only


def test_set_policy_mode_effect_is_file_policy_and_mode():
    op = {"op": "set_policy_mode", "file": "clusters/prod/policies/p.yaml", "policy": "p", "value": "Enforce"}
    (effect,) = effects_of_operations([op], {}, where_map(INVENTORY))
    assert effect.text == "prod clusters/prod/policies/p.yaml policy p data.failureAction set Enforce"


def test_rejected_policy_suppresses_its_repeat_for_the_reject_period(tmp_path):
    s = _scanner(tmp_path, FixedClock(T0))
    first = _scan_day(s, tmp_path, 0)
    assert first.action == "propose", first.reason
    s.state.set_status(first.id, "rejected", T0)
    s.state.record_outcome(first.id, "rejected", at=T0, reason="ingress class comes in Q3", by="UBOB")
    again = _scan_day(s, tmp_path, 1)
    assert again.id != first.id and again.action == "suppressed"
    assert again.reason == (
        f"Same fix as proposal {first.id}, rejected by UBOB: ingress class comes in Q3. "
        "Not proposed again until 2027-02-14 08:00 UTC."
    )
    assert _scan_day(s, tmp_path, 31).action == "propose"


def test_pending_policy_folds_its_repeat(tmp_path):
    s = _scanner(tmp_path, FixedClock(T0))
    first = _scan_day(s, tmp_path, 0)
    again = _scan_day(s, tmp_path, 1)
    assert again.action == "suppressed" and again.folded_into == first.id
    assert again.reason == messages.dedup_folded_policy(first.id)


def test_differently_written_policy_with_a_rejected_behaviour_is_suppressed(tmp_path):
    s = _scanner(tmp_path, FixedClock(T0))
    first = _scan_day(s, tmp_path, 0)
    s.state.set_status(first.id, "rejected", T0)
    s.state.record_outcome(first.id, "rejected", at=T0, reason="no", by="UBOB")
    # the same rule as a CEL expression, another name and file (what an LLM fixer might write)
    cel = json.loads(json.dumps(_template("require-ingress-class").policy))
    cel["metadata"]["name"] = "ingress-needs-class"
    rule = cel["spec"]["rules"][0]
    rule["validate"] = {
        "cel": {
            "expressions": [
                {
                    "expression": "has(object.spec.ingressClassName) && object.spec.ingressClassName != ''",
                    "message": "set an ingress class",
                }
            ]
        }
    }
    op = {**first.operations[0], "policy": cel, "file": "clusters/prod/policies/ingress-needs-class.yaml"}
    rewritten = first.model_copy(update={"id": "p-rewritten", "operations": (op,)})
    assert s.dedup is not None
    checked = s.dedup.check(rewritten)
    assert checked.action == "suppressed" and checked.reason.startswith(f"Same fix as proposal {first.id}")

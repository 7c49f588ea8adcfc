"""The adversarial guard corpus: every case in ``tests/guard/cases/*.yaml`` through the one path that
playbooks, the LLM fixer, thread revisions and ``secops-bot check`` use (:func:`bot.change.try_operations`).

A case file::

    class: values                 # which class of attack or input the file covers
    cases:
      - name: semicolon injects nginx config      # unique within the file
        targets: [web-01]                          # default [web-01]
        ops: [{op: set_key, file: ..., key: ..., value: ...}]
        expect: blocked            # blocked | passed | error | unchanged | escalated
        check: values_valid        # blocked: the check that must fail (others may fail too)
        detail: "contains ';'"     # optional: a substring of that check's detail
        files: {path: text}        # optional: files written into the copy of fixtures/gitops first
        symlinks: {path: target}   # optional: symlinks created in the copy
        cmdb: {...}                # optional: a whole inventory instead of fixtures/cmdb.yaml
        policy: {max_changed_lines: 5}   # optional: GuardPolicy fields
        removable: [[file, key, entry]]  # optional: entries the bot added and recorded (remove_cidr)
        after_contains: ["..."]    # optional (passed): substrings the edited file must hold
        finding_ids: [CVE-...]     # optional: the group's finding ids (set_image evidence must be among them)
        after: {path: [[old, new]]}  # optional: a hand-made change (what a hostile editor could write): each
                                   # file with these replacements; the operations are not applied, the guard
                                   # alone judges the texts

``error`` means the operations are bad input or cannot be applied exactly (the file is named); ``unchanged``
means they change nothing (already in place or already covered); ``escalated`` means a lone ``escalate``
operation (``detail``: a substring of its reason).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from agents.router import list_styles
from bot.change import TriedChange, try_operations
from bot.core.edits import parse_operations, unified_diff
from bot.core.guard import GuardPolicy, check_change
from bot.core.inventory import Inventory, inventory_from_data
from bot.image_edit import image_file_change
from bot.yaml_edit import repo_reader
from tests.conftest import FIXTURES
from tools.cmdb import load_inventory

CASES_DIR = Path(__file__).parent / "cases"


def _load_cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in data["cases"]:
            params.append(pytest.param(case, id=f"{path.stem}:{case['name']}"))
    return params


CASES = _load_cases()


def test_corpus_has_enough_cases_and_unique_names():
    names = [p.id for p in CASES]
    assert len(names) == len(set(names))
    assert len(names) >= 150


def _repo(tmp_path: Path, case: dict[str, Any]) -> Path:
    root = tmp_path / "gitops"
    shutil.copytree(FIXTURES / "gitops", root, symlinks=True)
    for rel, text in (case.get("files") or {}).items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))
    for rel, dest in (case.get("symlinks") or {}).items():
        link = root / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.exists() or link.is_symlink():
            link.unlink()
        os.symlink(dest, link)
    return root


def _given(
    case: dict[str, Any], root: Path, inventory: Inventory, targets: Any, policy: GuardPolicy
) -> TriedChange:
    """The guard on hand-made after texts (``after:``), as if an editor had produced them."""
    ops = tuple(parse_operations(case["ops"]))
    read = repo_reader(root)
    changes = []
    for path, replacements in case["after"].items():
        before = after = read(path)
        for old, new in replacements:
            assert old in after, old
            after = after.replace(old, new, 1)
        changes.append(image_file_change(path, before, after))
    report = check_change(changes, ops, inventory, targets, policy, finding_ids=case.get("finding_ids"))
    changed = tuple(c for c in changes if c.changed)
    return TriedChange(ops=ops, changed=changed, diff=unified_diff(changed), report=report)


@pytest.mark.parametrize("case", CASES)
def test_guard_case(case: dict[str, Any], tmp_path: Path) -> None:
    root = _repo(tmp_path, case)
    inventory = (
        inventory_from_data(case["cmdb"]) if "cmdb" in case else load_inventory(FIXTURES / "cmdb.yaml")
    )
    targets = tuple(case.get("targets", ["web-01"]))  # [] means no targets
    policy = GuardPolicy(
        **(case.get("policy") or {}),
        removable=frozenset(tuple(e) for e in case.get("removable") or ()),
    )
    if "after" in case:
        tried = _given(case, root, inventory, targets, policy)
    else:
        tried = try_operations(
            case["ops"],
            read_file=repo_reader(root),
            inventory=inventory,
            targets=targets,
            policy=policy,
            list_styles=list_styles(inventory, targets),
            finding_ids=case.get("finding_ids"),
        )
    expect = case["expect"]
    if expect == "escalated":  # a lone escalate operation: reported as an escalation, not as an error
        assert tried.escalation is not None and tried.error is None, tried
        assert case.get("detail", "") in tried.escalation
        return
    if expect == "error":
        assert tried.error is not None, f"expected bad input, got {tried}"
        if "detail" in case:
            assert case["detail"] in tried.error
        return
    assert tried.error is None, tried.error
    if expect == "unchanged":
        assert tried.nothing_to_do, tried.diff
        return
    assert tried.report is not None, "the operations changed nothing"
    checks = {c.name: c for c in tried.report.checks}
    if expect == "passed":
        assert tried.report.passed, tried.report.summary()
        for text in case.get("after_contains") or ():
            assert any(text in c.after for c in tried.changed), text
        return
    assert expect == "blocked", expect
    assert not tried.report.passed, f"let through: {tried.diff}"
    name = case["check"]
    assert name in checks, f"no check {name!r}; checks: {sorted(checks)}"
    assert not checks[name].passed, f"{name} passed; failed: {tried.report.summary()}"
    if "detail" in case:
        assert case["detail"] in checks[name].detail, checks[name].detail

"""The real ``kyverno`` CLI as an alternative engine, run through the project's subprocess runner."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.kyverno.errors import InputError
from tools.kyverno.policy import parse_documents
from tools.runner import CommandResult, run_command

ENV_BINARY = "SECOPS_KYVERNO_BIN"
TIMEOUT_S = 300.0
_WANT_GOT = re.compile(r"[Ww]ant (\w+), got (\w+)")


@dataclass(frozen=True)
class BinaryResult:
    """One result row read from the CLI's output."""

    policy: str
    rule: str
    resource: str
    status: str
    message: str = ""
    expected: str = ""


def find_binary(env: Mapping[str, str] | None = None) -> str | None:
    """``$SECOPS_KYVERNO_BIN`` if set, else ``kyverno`` on PATH, else None."""
    env = os.environ if env is None else env
    configured = env.get(ENV_BINARY)
    if configured:
        return configured if Path(configured).is_file() else None
    return shutil.which("kyverno", path=env.get("PATH"))


def apply(
    binary: str, policy: Path, resources: Sequence[Path], values: Path | None
) -> tuple[CommandResult, list[BinaryResult]]:
    """``kyverno apply POLICY --resource R... [-f VALUES] --policy-report`` and its report rows."""
    argv = [binary, "apply", str(policy)]
    for resource in resources:
        argv += ["--resource", str(resource)]
    if values is not None:
        argv += ["--values-file", str(values)]
    argv.append("--policy-report")
    result = run_command(argv, timeout=TIMEOUT_S)
    return result, parse_policy_report(result.stdout)


def test(binary: str, path: Path) -> tuple[CommandResult, list[BinaryResult]]:
    """``kyverno test PATH --detailed-results`` and the rows of its result table."""
    result = run_command([binary, "test", str(path), "--detailed-results"], timeout=TIMEOUT_S)
    return result, parse_test_table(result.stdout)


def parse_policy_report(stdout: str) -> list[BinaryResult]:
    """Rows of the (Cluster)PolicyReport documents that ``kyverno apply --policy-report`` prints."""
    start = stdout.find("apiVersion:")
    if start == -1:
        return []
    try:
        docs = parse_documents(stdout[start:], "kyverno apply output")
    except InputError:
        return []
    out: list[BinaryResult] = []
    for doc in docs:
        for row in doc.get("results") or []:
            for res in row.get("resources") or [{}]:
                out.append(
                    BinaryResult(
                        policy=str(row.get("policy", "")),
                        rule=str(row.get("rule", "")),
                        resource=_resource_name(res),
                        status=str(row.get("result", "")),
                        message=str(row.get("message", "")),
                    )
                )
    return out


def _resource_name(res: dict[str, Any]) -> str:
    parts = [str(res.get(k)) for k in ("kind", "namespace", "name") if res.get(k)]
    return "/".join(parts)


def parse_test_table(stdout: str) -> list[BinaryResult]:
    """Rows of the table ``kyverno test`` prints: ID, POLICY, RULE, RESOURCE, RESULT, REASON."""
    out: list[BinaryResult] = []
    for line in stdout.splitlines():
        cells = [c.strip() for c in re.split(r"[│|]", line) if c.strip()]
        if len(cells) < 5 or not cells[0].isdigit():
            continue
        policy, rule, resource, outcome = cells[1], cells[2], cells[3], cells[4]
        reason = cells[5] if len(cells) > 5 else ""
        found = _WANT_GOT.search(reason)
        expected, actual = (found.group(1).lower(), found.group(2).lower()) if found else ("", "")
        status = actual or ("agree" if outcome.lower() == "pass" else outcome.lower())
        out.append(BinaryResult(policy, rule, resource, status, reason, expected))
    return out

"""What a repository's test command reported: counts and failing test names, read from its output.

Read from the runners' own summary lines (the last one found wins, so a test's own output cannot pose as the
summary when the runner prints after it):

- pytest: ``==== 3 passed, 1 failed, 2 errors in 0.12s ====`` and ``FAILED tests/test_x.py::test_y``;
- unittest: ``Ran 5 tests in 0.001s`` then ``OK`` or ``FAILED (failures=1, errors=1)``, ``FAIL: test_x (…)``;
- ``node --test`` (TAP): ``# pass 5``, ``# fail 1``, ``not ok 2 - name``;
- Jest: ``Tests:       1 failed, 3 passed, 4 total`` and ``✕ name``.

An exit status of 0 with no summary is ``passed`` with unknown counts; anything else without one is
``unparsed``. :func:`compare` says what failed after the bump that did not fail before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_NAMES = 200

_PYTEST = re.compile(r"^=+ (?P<body>(?:\d+ \w+(?:, )?)+)(?: in [\d.]+s.*)? =+$")
_PYTEST_FAILED = re.compile(r"^(?:FAILED|ERROR) (?P<name>\S+)")
_UNITTEST_RAN = re.compile(r"^Ran (?P<n>\d+) tests? in ")
_UNITTEST_END = re.compile(r"^(?:OK|FAILED)(?: \((?P<body>[^)]*)\))?$")
_UNITTEST_FAILED = re.compile(r"^(?:FAIL|ERROR): (?P<name>\S+(?: \([^)]*\))?)")
_TAP = re.compile(r"^# (?P<key>pass|fail|tests|cancelled) (?P<n>\d+)$")
_TAP_FAILED = re.compile(r"^\s*not ok \d+ - (?P<name>.+?)\s*(?:#.*)?$")
_JEST = re.compile(r"^Tests:\s+(?P<body>.+ total)$")
_JEST_FAILED = re.compile(r"^\s*✕ (?P<name>.+?)(?: \(\d+ ms\))?$")


@dataclass(frozen=True)
class SuiteRun:
    """One run of a test command: ``status`` is ``passed``, ``failed``, ``timeout``, ``not_run`` or
    ``unparsed``; counts are None when the output did not say."""

    status: str
    passed: int | None = None
    failed: int | None = None
    exit_code: int | None = None
    failing: tuple[str, ...] = ()
    detail: str = ""  # why it did not run, or the runner that was recognised
    seconds: float | None = None

    @property
    def ran(self) -> bool:
        return self.status in ("passed", "failed")

    def summary(self) -> str:
        """``412 passed``, ``410 passed, 2 failed``, ``timed out``, ``passed`` (counts unknown)."""
        if self.status == "timeout":
            return "timed out"
        if self.status == "not_run":
            return "did not run"
        if self.passed is None and self.failed is None:
            return self.status
        parts = [f"{self.passed or 0} passed"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        return ", ".join(parts)


def _counts(body: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in body.split(","):
        words = part.strip().split()
        if len(words) >= 2 and words[0].isdigit():
            out[words[1].rstrip(",")] = int(words[0])
        elif "=" in part:
            key, _, value = part.strip().partition("=")
            if value.isdigit():
                out[key] = int(value)
    return out


def parse_output(output: str, exit_code: int | None) -> SuiteRun:
    """The run a test command's combined output and exit status describe."""
    lines = output.splitlines()[-20000:]
    found: tuple[str, int, int] | None = None  # (runner, passed, failed)
    failing: list[str] = []
    ran: int | None = None
    tap: dict[str, int] = {}
    for line in lines:
        text = line.rstrip()
        m = _PYTEST.match(text)
        if m and ("passed" in m.group("body") or "failed" in m.group("body") or "error" in m.group("body")):
            c = _counts(m.group("body"))
            found = (
                "pytest",
                c.get("passed", 0),
                c.get("failed", 0) + c.get("errors", 0) + c.get("error", 0),
            )
            continue
        m = _UNITTEST_RAN.match(text)
        if m:
            ran = int(m.group("n"))
            continue
        m = _UNITTEST_END.match(text)
        if m and ran is not None:
            c = _counts(m.group("body") or "")
            bad = c.get("failures", 0) + c.get("errors", 0)
            found = ("unittest", ran - bad - c.get("skipped", 0) - c.get("expected failures", 0), bad)
            ran = None
            continue
        m = _TAP.match(text)
        if m:
            tap[m.group("key")] = int(m.group("n"))
            if "pass" in tap and "fail" in tap:
                found = ("node --test", tap["pass"], tap["fail"] + tap.get("cancelled", 0))
            continue
        m = _JEST.match(text)
        if m:
            c = _counts(m.group("body"))
            found = ("jest", c.get("passed", 0), c.get("failed", 0))
            continue
        for pattern in (_PYTEST_FAILED, _UNITTEST_FAILED, _TAP_FAILED, _JEST_FAILED):
            m = pattern.match(text)
            if m:
                name = m.group("name")[:300]
                if name not in failing and len(failing) < MAX_NAMES:
                    failing.append(name)
                break
    if found is None:
        if exit_code == 0:
            return SuiteRun("passed", exit_code=exit_code, detail="no summary line")
        return SuiteRun("unparsed", exit_code=exit_code, detail="no summary line", failing=tuple(failing))
    runner, passed, failed = found
    status = "failed" if failed or exit_code not in (0, None) else "passed"
    return SuiteRun(status, passed, failed, exit_code, tuple(failing), runner)


@dataclass(frozen=True)
class Comparison:
    """Baseline against bump: the tests that fail now and did not before (by name where both runs name
    them, else by count), and one line for the card and the pull request."""

    line: str
    new_failures: tuple[str, ...]
    regressed: bool


def compare(before: SuiteRun, after: SuiteRun) -> Comparison:
    """``tests: 412 passed before, 412 passed after``, or what is newly failing."""
    line = f"tests: {before.summary()} before, {after.summary()} after"
    if not after.ran:
        return Comparison(line, (), True)
    if after.status == "passed":
        return Comparison(line, (), False)
    new = tuple(n for n in after.failing if n not in set(before.failing))
    if before.ran and not new and after.failing and before.failing:
        return Comparison(line, (), False)  # the same tests failed before the bump
    if not after.failing and before.ran and (after.failed or 0) <= (before.failed or 0):
        return Comparison(line, (), False)
    return Comparison(line + (f"; newly failing: {', '.join(new[:10])}" if new else ""), new, True)

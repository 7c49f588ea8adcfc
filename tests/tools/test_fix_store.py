"""The fix store on real Chroma with the real offline model: persistent, and a `chroma run` server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.core.dedup import PastFix
from bot.core.errors import FixStoreError
from tools.embedder import MiniLmEmbedder, shared_embedder
from tools.fix_store import FixRecord, FixStore

pytestmark = pytest.mark.integration

SSL = "set ssl-protocols to TLSv1.3 in the ingress-nginx config; defends against: weak tls"
BLOCK = "block 91.240.118.172/32 in the ingress-nginx block-cidrs list; defends against: web attack"


@pytest.fixture(scope="session")
def embedder() -> MiniLmEmbedder:
    model = shared_embedder()  # the one the CLI uses: loaded once per test session
    model.load()
    return model


def _record(fix_id: str, description: str, outcome: str = "merged") -> FixRecord:
    fix = PastFix(fix_id=fix_id, outcome=outcome, at=1.0, pr_url=f"https://github.com/o/r/pull/{fix_id[-1]}",
                  scopes=("web-01|f.yaml|ingress-nginx|ssl-protocols",), reason="too broad", by="U1")  # fmt: skip
    return FixRecord(fix=fix, description=description, kinds=("ingress-nginx",))


def _fill(store: FixStore, embedder: MiniLmEmbedder) -> None:
    records = [_record("p-1", SSL), _record("p-2", BLOCK, "rejected")]
    store.upsert(records, embedder.embed([r.description for r in records]))


def test_nearest_fix_comes_back_with_its_metadata_after_reopen(tmp_path, embedder):
    _fill(FixStore(path=tmp_path / "chroma"), embedder)
    reopened = FixStore(path=tmp_path / "chroma")
    query = embedder.embed(["set ssl-protocols to TLSv1.3 on the ingress"])[0]
    (best, doc), _ = reopened.nearest(query, 2, documents=True)
    assert (best.fix.fix_id, best.fix.pr_url, doc) == ("p-1", "https://github.com/o/r/pull/1", SSL)
    assert best.fix.scopes == ("web-01|f.yaml|ingress-nginx|ssl-protocols",) and best.similarity > 0.8


def test_model_loads_offline_from_the_package_files(embedder):
    (vec,) = embedder.embed(["x"])
    assert len(vec) == 384 and abs(sum(v * v for v in vec) - 1.0) < 1e-4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path):
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = _free_port()
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("chroma run did not answer its heartbeat within 30 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_server_mode_shares_memory_between_clients(chroma_server, embedder):
    _fill(FixStore(url=chroma_server), embedder)
    other_replica = FixStore(url=chroma_server)
    (best, _doc), _ = other_replica.nearest(embedder.embed([BLOCK])[0], 2)
    assert (best.fix.fix_id, best.fix.outcome, best.fix.reason) == ("p-2", "rejected", "too broad")


def test_unreachable_server_is_a_fix_store_error_naming_it():
    store = FixStore(url=f"http://127.0.0.1:{_free_port()}", timeout_s=1)
    with pytest.raises(FixStoreError, match=r"cannot open the fix store at http://127\.0\.0\.1:\d+"):
        store.nearest([1.0] * 384)

"""Pulling alerts from the Wazuh indexer next to reading the same documents from a file.

``SECOPS_BENCH_INDEXER_DOCS`` (default 1,000,000) documents of the scan benchmark's shapes
(tests/bench/bench_scan.py: sshd, web and syscheck alerts as the 4.x manager writes them), served by the
loopback OpenSearch (tests/tools/opensearch_fake.py, forked into a process of its own) in pages of
``SECOPS_BENCH_INDEXER_PAGE`` (default 5,000) through the real opensearch-py client: PIT, sort on time +
tiebreaker, ``search_after``. The same documents as an ``alerts.json`` file through the file reader. Prints
alerts/s for both and the ratio (the target: the pull within 2x of the file). Run with ``nice -n 19``.
"""

from __future__ import annotations

import multiprocessing
import os
import time

from tests.bench.bench_scan import alerts_file
from tests.tools.opensearch_fake import FakeOpenSearch
from tools.sources.wazuh import AlertStream
from tools.sources.wazuh_indexer import IndexerConfig, IndexerReader

N = int(os.environ.get("SECOPS_BENCH_INDEXER_DOCS", "1000000"))
PAGE = int(os.environ.get("SECOPS_BENCH_INDEXER_PAGE", "5000"))


def _best(fn, repeat: int = 2) -> tuple[float, float, int]:
    """Best wall time, best CPU time of this process (the bot's own work: the server's is not in it), count."""
    best, cpu, count = float("inf"), float("inf"), 0
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        count = fn()
        best = min(best, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return best, cpu, count


def main() -> None:
    t0 = time.perf_counter()
    path = alerts_file(N)
    server = FakeOpenSearch()
    entries = []
    with path.open("rb") as f:
        for i, line in enumerate(f):
            entries.append(server.entry("wazuh-alerts-4.x-2026.11.20", f"doc-{i}", line.rstrip(b"\n")))
    server.add_raw("wazuh-alerts-4.x-2026.11.20", entries)
    del entries
    # The server answers from a forked process of its own, as a real indexer runs apart from the bot: in a
    # thread of this process it would share the GIL with the client and measure the two together.
    process = multiprocessing.get_context("fork").Process(target=server.server.serve_forever, daemon=True)
    process.start()
    print(f"{N:,} documents indexed in the loopback server in {time.perf_counter() - t0:.1f} s")
    try:

        def from_file() -> int:
            return sum(1 for _ in AlertStream(path))

        reader = IndexerReader(IndexerConfig(url=server.url, page_size=PAGE, timeout=120))

        def from_indexer() -> int:
            return sum(len(page.alerts) for page in reader.pages(None))

        file_s, file_cpu, file_n = _best(from_file)
        pull_s, pull_cpu, pull_n = _best(from_indexer)
    finally:
        process.terminate()
        process.join(5)
        server.server.server_close()
    assert file_n == pull_n == N, (file_n, pull_n)
    print(f"file:    {N:,} alerts in {file_s:.2f} s = {N / file_s:,.0f} alerts/s")
    print(
        f"indexer: {N:,} alerts in {pull_s:.2f} s = {N / pull_s:,.0f} alerts/s ({N // PAGE} pages of {PAGE:,})"
    )
    print(f"ratio indexer/file: {pull_s / file_s:.2f}x wall (target: within 2x)")
    print(f"bot CPU: file {file_cpu:.2f} s, indexer {pull_cpu:.2f} s: {pull_cpu / file_cpu:.2f}x")


if __name__ == "__main__":
    main()

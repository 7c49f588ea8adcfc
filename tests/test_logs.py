from __future__ import annotations

import io
import logging

from bot.core.redact import register_secret
from bot.logs import configure


def test_log_records_and_tracebacks_are_redacted():
    register_secret("s3cr3t-webhook-value-123")
    out = io.StringIO()
    configure(out, 0)
    log = logging.getLogger("secops_bot.test")
    log.warning("push failed for %s with token %s", "p-1", "ghp_abcdefghijklmnopqrstuvwxyz0123456789")
    try:
        raise RuntimeError("bad secret s3cr3t-webhook-value-123 in url https://x:hunter22@github.com/")
    except RuntimeError:
        log.exception("sync failed")
    text = out.getvalue()
    assert "push failed for p-1 with token ***" in text
    assert "ghp_" not in text and "s3cr3t-webhook" not in text and "hunter22" not in text
    assert "RuntimeError" in text and "sync failed" in text

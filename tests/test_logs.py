from __future__ import annotations

import io
import json
import logging

from bot.cli import main
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


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_lines_carry_id_fields_and_no_secret():
    register_secret("hunter2-signing-secret-value")
    out = io.StringIO()
    configure(out, 0, "INFO", "json")
    log = logging.getLogger("secops_bot.test")
    log.info(
        "proposal posted",
        extra={
            "proposal_id": "p-91.240.118.172",
            "alert_ids": ("1.1", "1.2"),
            "channel": "C0SEC",
            "ts": "1.5",
        },
    )
    log.warning("Slack said invalid_auth for xoxb-1111-2222-SecretBotToken and hunter2-signing-secret-value")
    try:
        raise ValueError("github_pat_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 leaked")
    except ValueError:
        log.exception("publish failed", extra={"proposal_id": "p-2"})
    posted, refused, failed = _json_lines(out.getvalue())
    assert posted["msg"] == "proposal posted" and posted["level"] == "INFO"
    assert posted["proposal_id"] == "p-91.240.118.172" and posted["alert_ids"] == ["1.1", "1.2"]
    assert (posted["channel"], posted["ts"]) == ("C0SEC", "1.5") and posted["time"].endswith("+00:00")
    assert refused["msg"] == "Slack said invalid_auth for *** and ***"
    assert failed["proposal_id"] == "p-2" and "ValueError: *** leaked" in failed["exc"]
    text = out.getvalue()
    assert "SecretBotToken" not in text and "hunter2" not in text and "github_pat_" not in text


def test_log_level_setting_is_applied_and_verbosity_lowers_it():
    out = io.StringIO()
    configure(out, 0, "ERROR", "json")
    log = logging.getLogger("secops_bot.test")
    log.warning("not shown")
    log.error("shown")
    assert [r["msg"] for r in _json_lines(out.getvalue())] == ["shown"]
    configure(out, 1, "WARNING", "text")
    assert logging.getLogger().level == logging.INFO


def test_cli_applies_log_level_and_format_from_the_config_file(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('SECOPS_LOG_LEVEL = "debug"\nSECOPS_LOG_FORMAT = "json"\n')
    err = io.StringIO()
    main(
        ["--config", str(config), "audit", "verify"],
        out=io.StringIO(),
        err=err,
        env={"SECOPS_DATA_DIR": str(tmp_path)},
    )
    assert logging.getLogger().level == logging.DEBUG
    logging.getLogger("secops_bot.test").debug("hello", extra={"proposal_id": "p-1"})
    assert _json_lines(err.getvalue())[-1]["proposal_id"] == "p-1"


def test_log_format_defaults_to_json_off_a_terminal_and_text_on_one():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    pipe, tty = io.StringIO(), Tty()
    configure(pipe, 0)
    logging.getLogger("secops_bot.test").warning("w")
    configure(tty, 0)
    logging.getLogger("secops_bot.test").warning("w")
    assert json.loads(pipe.getvalue())["msg"] == "w"
    assert tty.getvalue().rstrip().endswith("WARNING secops_bot.test: w")

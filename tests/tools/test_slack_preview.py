"""make slack-preview: the bot's real Block Kit as HTML (hostile text stays text), PNGs where Chromium is."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.grouping import group_alerts
from bot.slack import blocks as kit
from tests.conftest import make_alert
from tools.slack_preview.layout import Message, message_html, mrkdwn_html
from tools.slack_preview.samples import build_samples, scan_fixtures
from tools.slack_preview.shots import find_chromium, main, render

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)> *x* `y` <!here> <https://evil.example|ok>"
TYPES = ["proposal", "blocked", "escalation", "approved", "rejected", "revision", "digest", "app-home"]


def test_hostile_alert_text_renders_as_text_in_every_card(tmp_path):
    scanner, *_ = scan_fixtures(ROOT, tmp_path)
    (group,) = group_alerts([make_alert(log=HOSTILE, agent="web-01")], min_level=0)
    p = scanner.build(group)
    for blocks in (kit.proposal_blocks(p)[1], kit.escalation_blocks(p)[1]):
        page = message_html(Message("x", blocks, thread=(kit.evidence_text(p),)))
        assert "<script" not in page and "<img" not in page and "href" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_raw_markup_in_mrkdwn_never_becomes_html():
    out = mrkdwn_html('<script>x</script> <javascript:alert(1)|click> "quote" <@U0ALICE>')
    assert "<script" not in out and "javascript" not in out and "href" not in out
    assert '<span class="link">click</span>' in out and "&quot;quote&quot;" in out
    assert '<span class="mention">@alice</span>' in out


def test_mrkdwn_formats_like_slack():
    out = mrkdwn_html("*Alerts:* 4 · _note_ ~old~ `a&lt;b` :red_circle:\n```x &amp; &lt;y&gt;```")
    assert out == (
        "<b>Alerts:</b> 4 · <i>note</i> <s>old</s> <code>a&lt;b</code> "
        '<span class="dot" style="background:#e01e5a"></span><br><pre>x &amp; &lt;y&gt;</pre>'
    )


def test_every_message_type_renders_to_html(tmp_path):
    samples = build_samples(ROOT, tmp_path)
    assert [m.name for m in samples] == TYPES
    pages = {m.name: message_html(m) for m in samples}
    assert all('class="unknown"' not in page for page in pages.values())
    assert 'class="button primary">Approve' in pages["proposal"]
    assert "button primary" not in pages["blocked"] + pages["approved"] + pages["rejected"]
    assert "@alice" in pages["approved"] and "@bob" in pages["rejected"]


def test_pictures_are_skipped_without_chromium(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--chromium", "no-such-chromium"]) == 0
    assert capsys.readouterr().out == "chromium not found: skipped\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(find_chromium() is None, reason="chromium not installed (CI has none)")
def test_picture_is_a_png_when_chromium_is_present(tmp_path):
    said: list[str] = []
    message = Message("card", [kit.header("Block 1.2.3.4/32"), kit.section("*hello* `x`")])
    assert render([message], tmp_path, chromium=find_chromium(), say=said.append) == 0
    assert (tmp_path / "card.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert said == [f"wrote {tmp_path / 'card'}.png"]

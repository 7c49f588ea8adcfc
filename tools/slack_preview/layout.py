"""Block Kit JSON as a small HTML approximation of Slack's layout (see the package docstring)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

WIDTH = 720
#: Fake display names for the preview's user ids (the bot itself only ever writes <@U…>).
USERS = {"U0ALICE": "alice", "U0BOB": "bob"}

Block = dict[str, Any]


@dataclass(frozen=True)
class Message:
    """One picture: a message (or App Home) as Slack would show it, with its thread replies under it."""

    name: str
    blocks: Sequence[Block]
    text: str = ""
    thread: Sequence[str] = field(default_factory=tuple)
    home: bool = False


# --- mrkdwn -> HTML ---------------------------------------------------------------------------------------

# Emoji drawn with CSS or plain glyphs: no emoji font is needed on the machine that renders.
_DOTS = {
    "red_circle": "#e01e5a",
    "large_orange_circle": "#f2952f",
    "large_yellow_circle": "#ecb22e",
    "white_circle": "#dddddd",
    "large_green_circle": "#2eb67d",
    "large_blue_circle": "#1264a3",
}
_GLYPHS = {
    "white_check_mark": ("✓", "#2eb67d"),
    "heavy_check_mark": ("✓", "#2eb67d"),
    "x": ("✗", "#e01e5a"),
    "no_entry": ("⊖", "#e01e5a"),
    "no_entry_sign": ("⊘", "#e01e5a"),
    "warning": ("⚠", "#e8912d"),
    "rotating_light": ("◆", "#e01e5a"),
    "rocket": ("➚", "#1264a3"),
    "pencil2": ("✎", "#616061"),
    "repeat": ("↻", "#1264a3"),
    "scissors": ("✂", "#616061"),
    "speech_balloon": ("❝", "#616061"),
    "card_index_dividers": ("▤", "#616061"),
    "hourglass_flowing_sand": ("◔", "#e8912d"),
    "arrows_counterclockwise": ("↻", "#1264a3"),
    "mag": ("⌕", "#616061"),
    "bell": ("♪", "#e8912d"),
    "mute": ("∅", "#616061"),
    "raising_hand": ("☝", "#616061"),
    "eyes": ("◉", "#616061"),
    "inbox_tray": ("⇩", "#616061"),
    "hourglass": ("◔", "#e8912d"),
    "lock": ("▣", "#616061"),
    "unlock": ("□", "#616061"),
    "shield": ("◈", "#1264a3"),
    "link": ("∞", "#1264a3"),
    "grey_question": ("?", "#616061"),
    "bust_in_silhouette": ("☺", "#616061"),
}
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")
_TOKEN = re.compile(r"<([^<>]*)>")
_CODE_BLOCK = re.compile(r"```(.*?)```", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_STYLES = (
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])"), "s"),
)
_DATE_FORMATS = {
    "date_short_pretty": "%b %d",
    "date_short": "%b %d, %Y",
    "date_pretty": "%B %d, %Y",
    "date": "%B %d, %Y",
    "date_num": "%Y-%m-%d",
    "time": "%H:%M",
    "time_secs": "%H:%M:%S",
}


def unslack(text: str) -> str:
    """Slack's three entities back to characters (Slack decodes exactly these, nothing else)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def emoji_html(name: str) -> str | None:
    """An emoji shortcode as safe HTML, or None when the preview does not know it."""
    if name in _DOTS:
        return f'<span class="dot" style="background:{_DOTS[name]}"></span>'
    if name in _GLYPHS:
        glyph, colour = _GLYPHS[name]
        return f'<span class="emoji" style="color:{colour}">{glyph}</span>'
    return None


def _emojis(escaped: str) -> str:
    return _EMOJI.sub(lambda m: emoji_html(m.group(1)) or m.group(0), escaped)


def _date(body: str) -> str:
    # <!date^1795000000^{date_short_pretty} {time}|fallback>
    spec, _, fallback = body.partition("|")
    parts = spec.split("^")
    if len(parts) < 3 or not parts[1].isdigit():
        return fallback or spec
    when = datetime.fromtimestamp(int(parts[1]), UTC)

    def one(m: re.Match[str]) -> str:
        fmt = _DATE_FORMATS.get(m.group(1))
        return when.strftime(fmt) if fmt else m.group(0)

    return re.sub(r"\{([a-z_]+)\}", one, parts[2])


def token_html(body: str) -> str:
    """One ``<...>`` token as safe HTML: a mention, a date, a channel, or a link drawn as text."""
    body = unslack(body)
    if body.startswith("@"):
        uid = body[1:].split("|")[0]
        return f'<span class="mention">@{html.escape(USERS.get(uid, uid))}</span>'
    if body.startswith("#"):
        cid, _, name = body[1:].partition("|")
        return f'<span class="mention">#{html.escape(name or cid)}</span>'
    if body.startswith("!date^"):
        return html.escape(_date(body))
    if body.startswith("!"):
        word = body[1:].split("|")[0].split("^")[0]
        return f'<span class="mention">@{html.escape(word)}</span>'
    target, _, label = body.partition("|")
    return f'<span class="link">{html.escape(label or target)}</span>'  # never an href


def _styled(escaped: str) -> str:
    for pattern, tag in _STYLES:
        escaped = pattern.sub(lambda m, t=tag: f"<{t}>{m.group(1)}</{t}>", escaped)  # type: ignore[misc]
    return escaped


def _text_html(text: str) -> str:
    """Text outside code: tokens become placeholders, the rest is escaped, then styled."""
    tokens: list[str] = []

    def hold(m: re.Match[str]) -> str:
        tokens.append(token_html(m.group(1)))
        return f"\x00{len(tokens) - 1}\x00"

    held = _TOKEN.sub(hold, text.replace("\x00", ""))
    out = _emojis(_styled(html.escape(unslack(held), quote=True)))
    out = re.sub(r"\x00(\d+)\x00", lambda m: tokens[int(m.group(1))], out)
    return out.replace("\n", "<br>")


def _split_html(
    text: str, code: re.Pattern[str], outside: Callable[[str], str], inside: Callable[[str], str]
) -> str:
    """``inside(group 1)`` for each match of ``code``, ``outside(...)`` for the text between matches."""
    pieces: list[str] = []
    last = 0
    for m in code.finditer(text):
        pieces.append(outside(text[last : m.start()]))
        pieces.append(inside(html.escape(unslack(m.group(1)))))
        last = m.end()
    pieces.append(outside(text[last:]))
    return "".join(pieces)


def _inline_html(text: str) -> str:
    return _split_html(text, _INLINE_CODE, _text_html, lambda code: f"<code>{code}</code>")


def mrkdwn_html(text: str) -> str:
    """Slack mrkdwn as HTML: code blocks, inline code, tokens, *bold*, _italic_, ~strike~, emoji."""
    return _split_html(text, _CODE_BLOCK, _inline_html, lambda code: f"<pre>{code.strip(chr(10))}</pre>")


def text_object_html(obj: dict[str, Any] | None) -> str:
    """A Block Kit text object (``plain_text`` or ``mrkdwn``) as HTML."""
    if not obj:
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn_html(text)
    escaped = html.escape(text, quote=True).replace("\n", "<br>")
    return _emojis(escaped) if obj.get("emoji", True) else escaped


# --- blocks -> HTML ---------------------------------------------------------------------------------------


def _button(el: Block) -> str:
    style = el.get("style")
    cls = "button " + (style if style in ("primary", "danger") else "default")
    return f'<span class="{cls}">{text_object_html(el.get("text"))}</span>'


def _element(el: Block) -> str:
    kind = el.get("type")
    if kind == "button":
        return _button(el)
    if kind in ("mrkdwn", "plain_text"):
        return f"<span>{text_object_html(el)}</span>"
    if kind == "image":
        return '<span class="dot" style="background:#bbb"></span>'
    if kind in ("static_select", "users_select", "overflow", "datepicker", "multi_static_select"):
        label = text_object_html(el.get("placeholder")) or "⋯"
        return f'<span class="button default">{label} ▾</span>'
    return f'<span class="unknown">[{html.escape(str(kind))}]</span>'


def block_html(block: Block) -> str:
    """One block as HTML; a type the preview does not know is shown as its name, never dropped silently."""
    kind = block.get("type")
    if kind == "header":
        return f'<div class="header">{text_object_html(block.get("text"))}</div>'
    if kind == "divider":
        return '<hr class="divider">'
    if kind == "context":
        inner = " ".join(_element(e) for e in block.get("elements", []))
        return f'<div class="context">{inner}</div>'
    if kind == "actions":
        inner = "".join(_element(e) for e in block.get("elements", []))
        return f'<div class="actions">{inner}</div>'
    if kind == "section":
        body = text_object_html(block.get("text"))
        fields = block.get("fields") or []
        if fields:
            cells = "".join(f'<div class="field">{text_object_html(f)}</div>' for f in fields)
            body += f'<div class="fields">{cells}</div>'
        accessory = block.get("accessory")
        side = f'<div class="accessory">{_element(accessory)}</div>' if accessory else ""
        return f'<div class="section"><div class="body">{body}</div>{side}</div>'
    if kind == "input":
        label = text_object_html(block.get("label"))
        return f'<div class="section"><b>{label}</b><div class="input"></div></div>'
    if kind == "rich_text":
        return '<div class="unknown">[rich_text]</div>'
    return f'<div class="unknown">[{html.escape(str(kind))}]</div>'


CSS = """
body { margin: 0; background: #fff; font: 15px/1.46 Lato, 'Helvetica Neue', Helvetica, Arial, sans-serif;
       color: #1d1c1d; }
.msg { width: %(w)spx; box-sizing: border-box; padding: 12px 20px 16px 20px; display: flex; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #4a154b; color: #fff; flex: none;
          font-weight: 700; font-size: 14px; text-align: center; line-height: 36px; margin-right: 8px; }
.main { flex: 1; min-width: 0; }
.who { font-weight: 900; } .app { font-size: 10px; background: #ddd; color: #555; padding: 0 3px;
       border-radius: 2px; margin: 0 4px; font-weight: 700; } .when { color: #616061; font-size: 12px; }
.home { width: %(w)spx; box-sizing: border-box; padding: 16px 24px; }
.tab { font-weight: 700; border-bottom: 2px solid #1264a3; display: inline-block; margin-bottom: 8px; }
.header { font-weight: 900; font-size: 18px; margin: 6px 0 4px; }
.section { display: flex; margin: 4px 0; } .section .body { flex: 1; min-width: 0; }
.accessory { margin-left: 12px; } .fields { display: grid; grid-template-columns: 1fr 1fr; gap: 4px 16px; }
.context { color: #616061; font-size: 13px; margin: 4px 0; }
.divider { border: 0; border-top: 1px solid #ddd; margin: 10px 0; }
.actions { margin: 8px 0 2px; }
.button { display: inline-block; border-radius: 4px; padding: 3px 12px; margin-right: 8px; font-weight: 700;
          font-size: 14px; border: 1px solid #bbb; color: #1d1c1d; background: #fff; }
.button.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
.button.danger { color: #e01e5a; border-color: #e01e5a; }
code { font: 12px Monaco, Menlo, Consolas, monospace; color: #e01e5a; background: #f6f6f6;
       border: 1px solid #e8e8e8; border-radius: 3px; padding: 1px 3px; }
pre { font: 12px/1.5 Monaco, Menlo, Consolas, monospace; background: #f8f8f8; border: 1px solid #e8e8e8;
      border-radius: 4px; padding: 8px; margin: 4px 0; white-space: pre-wrap; word-break: break-all; }
.mention { color: #1264a3; background: #e8f5fa; border-radius: 3px; padding: 0 2px; }
.link { color: #1264a3; }
.dot { display: inline-block; width: 13px; height: 13px; border-radius: 50%%; vertical-align: -1px; }
.emoji { font-weight: 700; }
.unknown { color: #999; font-style: italic; }
.thread { margin-top: 10px; border-left: 3px solid #ddd; padding-left: 10px; font-size: 14px; }
.thread .reply { margin: 6px 0; } .thread .label { color: #616061; font-size: 12px; }
.input { border: 1px solid #bbb; border-radius: 4px; height: 60px; margin-top: 4px; }
"""


def message_html(message: Message, when: str = "10:42") -> str:
    """The body of one picture (no <html> wrapper): the message, or App Home, and its thread."""
    body = "".join(block_html(b) for b in message.blocks)
    if not message.blocks and message.text:
        body = f'<div class="section"><div class="body">{mrkdwn_html(message.text)}</div></div>'
    if message.home:
        return f'<div class="home"><div class="tab">Home</div>{body}</div>'
    thread = ""
    if message.thread:
        replies = "".join(f'<div class="reply">{mrkdwn_html(t)}</div>' for t in message.thread)
        thread = f'<div class="thread"><div class="label">in the thread</div>{replies}</div>'
    return (
        '<div class="msg"><div class="avatar">SB</div><div class="main">'
        f'<div><span class="who">secops-bot</span><span class="app">APP</span>'
        f'<span class="when">{html.escape(when)}</span></div>{body}{thread}</div></div>'
    )


def page(bodies: Sequence[str], script: str = "") -> str:
    """A whole HTML page around rendered bodies; ``script`` is only the preview's own measuring code."""
    inner = "".join(f'<div class="shot">{b}</div>' for b in bodies)
    tail = f"<script>{script}</script>" if script else ""
    style = CSS % {"w": WIDTH}
    return f'<!doctype html><html><head><meta charset="utf-8"><style>{style}</style></head><body>{inner}{tail}</body></html>'

"""Untrusted data blocks: how alert text, diffs and file contents reach a model without becoming instructions.

Every block is fenced by a marker that carries a random nonce drawn for this call::

    <<<DATA alerts 3f9c2a1b7e64d5c0>>>
    ...hostile text...
    <<<END DATA alerts 3f9c2a1b7e64d5c0>>>

Alert text is written before the nonce exists, so it cannot close the block: a fake ``<<<END DATA ...>>>``
line in an alert carries the wrong nonce (and any marker-like text is defanged anyway). The prompts tell
the model that nothing inside a block is an instruction. The same nonce lets the reply parsers cut out any
block the model echoes back, so echoed alert text never counts as the model's own answer.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from bot.core.sanitize import plain

#: Draws a fresh nonce; injected so that golden tests can fix it.
NonceSource = Callable[[], str]

_MARKER_LIKE = re.compile(r"<{2,}|>{2,}")


def random_nonce() -> str:
    """16 hex characters from the OS's CSPRNG: an attacker cannot guess the delimiter of the next call."""
    return secrets.token_hex(8)


def defang(text: str, nonce: str) -> str:
    """Text that cannot pose as a block marker: no ``<<``/``>>`` runs, never the nonce itself."""
    text = _MARKER_LIKE.sub(lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 1), text)
    return text.replace(nonce, "[nonce]") if nonce else text


def block(label: str, body: str, nonce: str) -> str:
    """One delimited untrusted-data block. ``body`` may span lines; every line is defanged."""
    lines = [defang(line, nonce) for line in body.splitlines()] or [""]
    return "\n".join([f"<<<DATA {label} {nonce}>>>", *lines, f"<<<END DATA {label} {nonce}>>>"])


def field(text: str, limit: int = 300) -> str:
    """One hostile alert field as a single sanitised, redacted, truncated line."""
    return plain(text, limit)


def strip_blocks(reply: str, nonce: str) -> str:
    """The reply without any data block it echoed (matched by this call's nonce)."""
    if not nonce:
        return reply
    n = re.escape(nonce)
    echoed = re.compile(rf"<<<DATA [^\n]*?{n}>>>.*?(?:<<<END DATA [^\n]*?{n}>>>|\Z)", re.DOTALL)
    return echoed.sub("", reply)

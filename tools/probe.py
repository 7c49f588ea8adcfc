"""One HTTP GET with a timeout, for readiness checks (GitHub, Chroma): None when it answered 2xx, else why."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping

from bot.core.redact import redact

PROBE_TIMEOUT_S = 5.0


def http_get_ok(
    url: str, headers: Mapping[str, str] | None = None, timeout: float = PROBE_TIMEOUT_S
) -> str | None:
    """GET ``url``; None on a 2xx answer, else a short (redacted) reason naming the URL."""
    if not url.startswith(("http://", "https://")):
        return f"{redact(url)}: not an http(s) URL"
    req = urllib.request.Request(url, headers=dict(headers or {}), method="GET")  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (scheme checked above)
            resp.read(65536)
            return None
    except urllib.error.HTTPError as exc:
        return f"GET {redact(url)}: HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return f"GET {redact(url)}: {redact(str(reason))[:200]}"

"""The ConfigMap data-key family: what ``set_key`` may write, key by key (value grammars), and its checks.

ingress-nginx copies most of these values verbatim into ``nginx.conf``, so a value is only ever checked
against its key's grammar: an allow-listed alphabet and shape, bounds, and (where one exists) a direction,
so that a protocol or cipher list only gets stricter and a hardening switch only turns on. A key without a
grammar is refused (deny by default); the allow-list ``set_key`` uses (:data:`SET_KEYS_BY_KIND`) is derived
from the grammar table so the two cannot drift. Keys an inventory config adds with ``set_keys`` get the
generic :data:`SAFE_TOKEN` grammar. Pure: stdlib + pydantic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.checks import Check, GuardPolicy
from bot.core.edits import AnyOp, FileChange, SetKey
from bot.core.inventory import ConfigRef, Inventory, Server

Op = AnyOp

#: Why a value is refused (None: accepted).
Reason = str | None


@dataclass(frozen=True)
class Grammar:
    """How one data key's value is written (``parse``) and which way it may change (``direction``).

    ``parse(new)`` and ``direction(new, old)`` return the reason for refusing, or None. ``old`` is the value
    before the change (None when the key was absent); ``direction`` only runs on a value ``parse`` accepted.
    """

    describe: str
    parse: Callable[[str], Reason]
    direction: Callable[[str, str | None], Reason] | None = None
    rule: str = ""  # the direction in words, for the docs table


def _shown(value: str) -> str:
    """A value quoted for a refusal (JSON escapes, so control characters stay visible), truncated."""
    return json.dumps(value if len(value) <= 60 else value[:57] + "...")


def _first_outside(value: str, alphabet: re.Pattern[str], allowed: str) -> Reason:
    for ch in value:
        if not alphabet.fullmatch(ch):
            return f"contains {ch!r} (allowed: {allowed})"
    return None


# --- switches and numbers ---------------------------------------------------------------------------------


def boolean(only: str | None = None) -> Grammar:
    """``"true"``/``"false"``; with ``only``, a hardening switch that may only be set to that value."""

    def parse(value: str) -> Reason:
        return None if value in ("true", "false") else f"{_shown(value)} is not true/false"

    if only is None:
        return Grammar(describe='"true" or "false"', parse=parse)
    off = "on" if only == "false" else "off"

    def direction(value: str, old: str | None) -> Reason:
        if value != only:
            return f'{_shown(value)} turns a hardening switch {off} (may only be set to "{only}")'
        return None

    return Grammar(describe='"true" or "false"', parse=parse, direction=direction, rule=f'only "{only}"')


_DIGITS = re.compile(r"[0-9]")


def _whole(value: str) -> tuple[int | None, Reason]:
    if not value:
        return None, "is empty"
    bad = _first_outside(value, _DIGITS, "digits")
    if bad:
        return None, bad
    if len(value) > 1 and value[0] == "0":
        return None, f"{_shown(value)} has a leading zero"
    if len(value) > 12:
        return None, f"{_shown(value)} is out of range"
    return int(value), None


def integer(lo: int, hi: int, unit: str = "", direction: str | None = None) -> Grammar:
    """A whole number ``lo..hi`` written in digits (no sign, exponent, hex or leading zero).

    ``direction="up"``: the number may not go below the old value.
    """
    span = f"{lo}..{hi}{' ' + unit if unit else ''}"

    def parse(value: str) -> Reason:
        n, bad = _whole(value)
        if bad:
            return bad
        assert n is not None
        return None if lo <= n <= hi else f"{_shown(value)} is out of range (allowed: {span})"

    if direction != "up":
        return Grammar(describe=f"integer {span}", parse=parse)

    def not_lower(value: str, old: str | None) -> Reason:
        previous = _whole(old or "")[0]
        if previous is not None and int(value) < previous:
            return f"lowers {previous} to {value} (may only stay or grow)"
        return None

    return Grammar(
        describe=f"integer {span}", parse=parse, direction=not_lower, rule="not below the old value"
    )


_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_SIZE = re.compile(r"([0-9]+)([kKmMgG]?)")
_SIZE_CHARS = re.compile(r"[0-9kKmMgG]")


def _size_text(n: int) -> str:
    for suffix in ("g", "m", "k"):
        if n % _UNITS[suffix] == 0:
            return f"{n // _UNITS[suffix]}{suffix}"
    return str(n)


def _bytes(value: str) -> int | None:
    m = _SIZE.fullmatch(value)
    if not m or len(m.group(1)) > 12:
        return None
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def size(lo: int, hi: int) -> Grammar:
    """An nginx size (``512``, ``8k``, ``1m``, ``1g``) between ``lo`` and ``hi`` bytes."""
    span = f"{_size_text(lo)}..{_size_text(hi)}"

    def parse(value: str) -> Reason:
        if not value:
            return "is empty"
        bad = _first_outside(value, _SIZE_CHARS, "digits and k/m/g")
        if bad:
            return bad
        n = _bytes(value)
        if n is None:
            return f"{_shown(value)} is not a size (digits with an optional k/m/g suffix)"
        return None if lo <= n <= hi else f"{_shown(value)} is out of range (allowed: {span})"

    return Grammar(describe=f"nginx size {span}", parse=parse)


_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"([0-9]{1,9})([smhd]?)")
_DURATION_CHARS = re.compile(r"[0-9smhd]")


def _seconds(value: str | None) -> int | None:
    m = _DURATION.fullmatch(value or "")
    return int(m.group(1)) * _SECONDS[m.group(2)] if m else None


def _duration_text(n: int) -> str:
    for suffix in ("d", "h", "m"):
        if n % _SECONDS[suffix] == 0:
            return f"{n // _SECONDS[suffix]}{suffix}"
    return f"{n}s"


def duration(lo: int, hi: int) -> Grammar:
    """A duration (``90s``, ``15m``, ``12h``, ``7d``; digits alone are seconds) that may not get shorter."""
    span = f"{_duration_text(lo)}..{_duration_text(hi)}"

    def parse(value: str) -> Reason:
        if not value:
            return "is empty"
        bad = _first_outside(value, _DURATION_CHARS, "digits and s/m/h/d")
        if bad:
            return bad
        n = _seconds(value)
        if n is None:
            return f"{_shown(value)} is not a duration (digits with an optional s/m/h/d suffix)"
        return None if lo <= n <= hi else f"{_shown(value)} is out of range (allowed: {span})"

    def not_shorter(value: str, old: str | None) -> Reason:
        previous = _seconds(old)
        if previous is not None and (_seconds(value) or 0) < previous:
            return f"shortens {old} to {value} (may only stay or grow)"
        return None

    return Grammar(
        describe=f"duration {span} (s/m/h/d)", parse=parse, direction=not_shorter, rule="not shorter"
    )


def large_buffers() -> Grammar:
    """``large-client-header-buffers``: a count 1..16, one space, a size 1k..64k (``"4 8k"``)."""
    count_g, size_g = integer(1, 16), size(1024, 64 * 1024)
    chars = re.compile(r"[0-9kKmM ]")

    def parse(value: str) -> Reason:
        bad = _first_outside(value, chars, "digits, k/m and one space")
        if bad:
            return bad
        parts = value.split(" ")
        if len(parts) != 2:
            return f'{_shown(value)} is not "<count> <size>" (e.g. "4 8k")'
        why = count_g.parse(parts[0]) or size_g.parse(parts[1])
        return f"{_shown(value)}: {why}" if why else None

    return Grammar(describe='"<count 1..16> <size 1k..64k>"', parse=parse)


# --- lists ------------------------------------------------------------------------------------------------

PROTOCOLS = ("TLSv1.2", "TLSv1.3")
_KNOWN_PROTOCOLS = frozenset({"SSLv2", "SSLv3", "TLSv1", "TLSv1.1", *PROTOCOLS})
_PROTOCOL_CHARS = re.compile(r"[A-Za-z0-9. ]")


def protocols() -> Grammar:
    """A space-separated subset of TLSv1.2 TLSv1.3 that may only shrink (new set within the old one)."""

    def parse(value: str) -> Reason:
        bad = _first_outside(value, _PROTOCOL_CHARS, "letters, digits, '.' and spaces")
        if bad:
            return bad
        names = value.split()
        if not names:
            return "is empty"
        for name in names:
            if name not in _KNOWN_PROTOCOLS:
                return f"{name!r} is not a protocol (allowed: {' '.join(PROTOCOLS)})"
        return None

    def stricter(value: str, old: str | None) -> Reason:
        # An absent key means ingress-nginx's default, TLSv1.2 TLSv1.3.
        base = old.split() if old is not None else list(PROTOCOLS)
        names = list(dict.fromkeys(value.split()))
        added = [n for n in names if n not in base]
        if added:
            return f"adds {', '.join(added)} (a protocol list may only get stricter)"
        weak = [n for n in names if n not in PROTOCOLS]
        if weak:
            return f"keeps {', '.join(weak)} (allowed: {' '.join(PROTOCOLS)})"
        return None

    return Grammar(
        describe="space-separated subset of TLSv1.2 TLSv1.3",
        parse=parse,
        direction=stricter,
        rule="subset of the old list",
    )


#: Cipher-string words that select broken or unauthenticated suites; they may only appear excluded (``!``).
WEAK_CIPHER_WORDS = frozenset(
    {
        "NULL", "ENULL", "ANULL", "EXPORT", "EXPORT40", "EXPORT56", "EXP", "LOW", "MEDIUM", "RC4", "RC2",
        "DES", "3DES", "CBC3", "MD5", "ADH", "AECDH", "IDEA", "SSLV2", "ALL", "COMPLEMENTOFALL",
        "COMPLEMENTOFDEFAULT",
    }
)  # fmt: skip
_CIPHER_CHARS = re.compile(r"[A-Za-z0-9_+!:-]")
_CIPHER_TOKEN = re.compile(r"([!+-]?)([A-Za-z0-9_]+(?:[+-][A-Za-z0-9_]+)*)")


def _weak_word(body: str) -> str | None:
    for word in re.split(r"[+-]", body):
        if word.upper() in WEAK_CIPHER_WORDS or word.upper().startswith(("EXP", "RC4", "NULL")):
            return word
    return None


def _exclusions(value: str | None) -> set[str]:
    return {t for t in (value or "").split(":") if t.startswith("!")}


#: ingress-nginx's default ``ssl-ciphers``: what an absent key means.
DEFAULT_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384",
)  # fmt: skip
#: Tokens a cipher list may select even where the old list did not: forward-secret AEAD suites only (each
#: within the default). Anything else selected (``HIGH``, ``DEFAULT``, ``kRSA``, ``SSLv3``, ``CAMELLIA``...)
#: must already be selected by the old list, so that a list only gets stricter.
STRONG_CIPHERS = frozenset(
    {
        *DEFAULT_CIPHERS, "ECDHE+AESGCM", "ECDHE+CHACHA20", "EECDH+AESGCM", "EECDH+CHACHA20",
        "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    }
)  # fmt: skip


def _selected(value: str | None) -> list[str]:
    """The tokens that add suites (no ``!``, ``+`` or ``-`` prefix); None means the default list."""
    if value is None:
        return list(DEFAULT_CIPHERS)
    return [t for t in value.split(":") if t and t[0] not in "!+-"]


def ciphers() -> Grammar:
    """An OpenSSL cipher string: colon-separated tokens, weak words only excluded with ``!``."""

    def parse(value: str) -> Reason:
        bad = _first_outside(value, _CIPHER_CHARS, "letters, digits and _ + ! : -")
        if bad:
            return bad
        tokens = value.split(":")
        if len(tokens) > 64:
            return f"has {len(tokens)} tokens (at most 64)"
        for token in tokens:
            m = _CIPHER_TOKEN.fullmatch(token)
            if not m:
                return f"{token!r} is not a cipher token" if token else "has an empty cipher token"
            weak = _weak_word(m.group(2))
            if weak and m.group(1) != "!":
                return f"adds weak token {token} (weak ciphers may only appear excluded with '!')"
        if all(t.startswith("!") for t in tokens):
            return "selects no cipher (needs a token without '!')"
        return None

    def stricter(value: str, old: str | None) -> Reason:
        dropped = sorted(_exclusions(old) - _exclusions(value))
        if dropped:
            return f"drops the exclusion {', '.join(dropped)} (a cipher list may only get stricter)"
        base = set(_selected(old))
        added = [t for t in dict.fromkeys(_selected(value)) if t not in base and t not in STRONG_CIPHERS]
        if added:
            was = "the old list" if old is not None else "ingress-nginx's default list"
            return (
                f"selects {', '.join(added)}, not in {was} (a cipher list may only get stricter: "
                "new tokens must be forward-secret AEAD suites)"
            )
        return None

    return Grammar(
        describe="OpenSSL cipher string, ':'-separated, chars [A-Za-z0-9_+!:-], weak words only as !WORD",
        parse=parse,
        direction=stricter,
        rule="keeps every ! exclusion; selects only what the old list (or default) did, or strong AEAD suites",
    )


#: Curves nginx may offer (``ssl_ecdh_curve``); weak or unknown names are refused.
CURVES = frozenset(
    {
        "auto", "X25519", "X448", "prime256v1", "secp384r1", "secp521r1", "P-256", "P-384", "P-521",
        "X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024",
    }
)  # fmt: skip
_CURVE_CHARS = re.compile(r"[A-Za-z0-9_:-]")


def curves() -> Grammar:
    """``ssl-ecdh-curve``: colon-separated curve names from :data:`CURVES`."""

    def parse(value: str) -> Reason:
        bad = _first_outside(value, _CURVE_CHARS, "letters, digits and _ : -")
        if bad:
            return bad
        for name in value.split(":"):
            if name not in CURVES:
                return f"{name!r} is not an allowed curve (allowed: {', '.join(sorted(CURVES))})"
        return None

    return Grammar(describe="':'-separated curves: " + " ".join(sorted(CURVES)), parse=parse)


_HEADER_CHARS = re.compile(r"[A-Za-z0-9_.,\- ]")
_HEADER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _headers(value: str | None) -> list[str]:
    return [h.strip() for h in (value or "").split(",") if h.strip()]


def header_names() -> Grammar:
    """``hide-headers``: comma-separated header names (RFC 7230 token characters nginx treats as plain)."""

    def parse(value: str) -> Reason:
        bad = _first_outside(value, _HEADER_CHARS, "letters, digits, - _ . and commas")
        if bad:
            return bad
        parts = [h.strip() for h in value.split(",")]
        if len(parts) > 32:
            return f"has {len(parts)} names (at most 32)"
        for name in parts:
            if not _HEADER.fullmatch(name):
                return f"{name!r} is not a header name" if name else "has an empty header name"
        return None

    def grows(value: str, old: str | None) -> Reason:
        kept = {h.lower() for h in _headers(value)}
        unhidden = [h for h in _headers(old) if h.lower() not in kept]
        if unhidden:
            return f"un-hides {', '.join(unhidden)} (the list may only grow)"
        return None

    return Grammar(
        describe="','-separated header names [A-Za-z0-9_.-], at most 32",
        parse=parse,
        direction=grows,
        rule="may only grow",
    )


_PATTERN_CHARS = re.compile(r"[A-Za-z0-9._/*|()^+?~,\- ]")
_PATTERN = re.compile(r"(~\*?)?([A-Za-z0-9._/*|()^+?-]{1,128})")
#: Words that mean something to an nginx ``map`` block: ``default`` as a pattern would block everyone.
_MAP_WORDS = frozenset({"default", "hostnames", "include", "volatile"})
#: Unrelated one-character strings: a regex matching all of them matches any character, so every client.
_EVERY_CLIENT_PROBES = ("x", "Q", "0", "-", "/", " ")


def map_patterns() -> Grammar:
    """``block-user-agents``/``block-referers``: comma-separated nginx ``map`` patterns (written unquoted).

    A pattern is a literal or ``~``/``~*`` and a regular expression, from ``[A-Za-z0-9._/*|()^+?-]`` (no
    space, quote, ``;``, braces, ``$``, ``#`` or backslash), with at least one letter or digit so that it
    cannot match every client.
    """

    def parse(value: str) -> Reason:
        bad = _first_outside(value, _PATTERN_CHARS, "letters, digits, . _ / * | ( ) ^ + ? ~ - and commas")
        if bad:
            return bad
        parts = [p.strip() for p in value.split(",")]
        if len(parts) > 64:
            return f"has {len(parts)} patterns (at most 64)"
        for part in parts:
            m = _PATTERN.fullmatch(part)
            if not m:
                return f"{part!r} is not a pattern (no spaces inside one)" if part else "has an empty pattern"
            body = m.group(2)
            if part in _MAP_WORDS:
                return f"{part!r} is an nginx map keyword"
            if not re.search(r"[A-Za-z0-9]", body):
                return f"{part!r} would match every client"
            if m.group(1):
                try:
                    rx = re.compile(body, re.IGNORECASE if m.group(1) == "~*" else 0)
                except re.error:
                    return f"{part!r} is not a valid regular expression"
                # A regex that matches the empty string (``a?``) or every one of a few unrelated characters
                # (``.|a``) matches every request, whatever letters it also holds.
                if rx.search("") or all(rx.search(probe) for probe in _EVERY_CLIENT_PROBES):
                    return f"{part!r} would match every client"
        return None

    return Grammar(
        describe="','-separated map patterns: literal or ~/~* regex of [A-Za-z0-9._/*|()^+?-]", parse=parse
    )


_SAFE_CHARS = re.compile(r"[A-Za-z0-9._:/ -]")


def _safe_token(value: str) -> Reason:
    if not value:
        return "is empty"
    bad = _first_outside(value, _SAFE_CHARS, "letters, digits, spaces and . _ : / -")
    if bad:
        return f"{bad}; a key added by the inventory's set_keys takes the generic safe-token grammar"
    if len(value) > 256:
        return f"is {len(value)} characters long (at most 256 for a set_keys key)"
    return None


#: The grammar of keys an inventory config adds with ``set_keys``: a safe token, no direction.
SAFE_TOKEN = Grammar(describe="safe token [A-Za-z0-9._:/ -]{1,256}", parse=_safe_token)


# --- the table --------------------------------------------------------------------------------------------

_HOUR = 3600
_YEAR = 365 * 86400

#: Every key ``set_key`` may touch, per config kind, with its grammar. The allow-list is derived from it.
GRAMMARS: dict[str, dict[str, Grammar]] = {
    "ingress-nginx": {
        "server-tokens": boolean(only="false"),
        "allow-backend-server-header": boolean(only="false"),
        "ssl-session-tickets": boolean(only="false"),
        "hsts": boolean(only="true"),
        "hsts-include-subdomains": boolean(only="true"),
        "ssl-redirect": boolean(only="true"),
        "force-ssl-redirect": boolean(only="true"),
        "enable-ocsp": boolean(only="true"),
        "ssl-prefer-server-ciphers": boolean(only="true"),
        "enable-modsecurity": boolean(only="true"),
        "enable-owasp-modsecurity-crs": boolean(only="true"),
        "hsts-preload": boolean(),
        "hsts-max-age": integer(_YEAR, 2 * _YEAR, "seconds", direction="up"),
        "hide-headers": header_names(),
        "ssl-protocols": protocols(),
        "ssl-ciphers": ciphers(),
        "ssl-ecdh-curve": curves(),
        "proxy-body-size": size(1, 1024**3),
        "client-body-buffer-size": size(1024, 16 * 1024**2),
        "client-header-buffer-size": size(1024, 64 * 1024),
        "large-client-header-buffers": large_buffers(),
        "http2-max-field-size": size(1024, 64 * 1024),
        "http2-max-header-size": size(1024, 1024**2),
        "client-header-timeout": integer(1, 300, "seconds"),
        "client-body-timeout": integer(1, 300, "seconds"),
        "keep-alive": integer(0, 300, "seconds"),
        "keep-alive-requests": integer(1, 100_000),
        "proxy-connect-timeout": integer(1, 75, "seconds"),
        "proxy-read-timeout": integer(1, _HOUR, "seconds"),
        "proxy-send-timeout": integer(1, _HOUR, "seconds"),
        "limit-rate": integer(1, 1024**3, "bytes/s"),
        "limit-rate-after": integer(0, 1024**3, "bytes"),
        "limit-req-status-code": integer(400, 599),
        "limit-conn-status-code": integer(400, 599),
        "http2-max-concurrent-streams": integer(1, 1000),
        "block-user-agents": map_patterns(),
        "block-referers": map_patterns(),
    },
    "denylist": {"ban-time": duration(60, _YEAR)},
}

#: Data keys ``set_key`` may change, per config kind (deny by default; the inventory can add keys per config
#: with ``set_keys``), derived from :data:`GRAMMARS`. For ingress-nginx: the controller ConfigMap options
#: that harden or limit, never the ones that widen access, inject configuration or change whose address a
#: request appears to come from.
SET_KEYS_BY_KIND: dict[str, frozenset[str]] = {kind: frozenset(table) for kind, table in GRAMMARS.items()}

#: Data keys that widen access or run code when changed; ``set_key`` may never touch them.
SENSITIVE_KEYS = frozenset(
    {
        "whitelist-source-range",
        "allow-snippet-annotations",
        "enable-snippets",
        "server-snippet",
        "http-snippet",
        "location-snippet",
        "main-snippet",
        "stream-snippet",
        "configuration-snippet",
        "lua-shared-dicts",
        "plugins",
    }
)


def grammar_for(key: str, cfg: ConfigRef) -> Grammar | None:
    """The grammar of ``key`` in this config, or None when ``set_key`` may not write it at all."""
    if key in SENSITIVE_KEYS or key == cfg.block_key:
        return None
    table = GRAMMARS.get(cfg.kind, {})
    if key in table:
        return table[key]
    return SAFE_TOKEN if key in cfg.set_keys else None


def value_problem(key: str, value: str, old: str | None, cfg: ConfigRef) -> Reason:
    """Why ``set_key`` may not write ``value`` (replacing ``old``) to ``key`` of this config, or None."""
    grammar = grammar_for(key, cfg)
    if grammar is None:
        return f"no value grammar for kind {cfg.kind!r} (set_key may not write this key)"
    why = grammar.parse(value)
    if why is None and grammar.direction is not None:
        why = grammar.direction(value, old)
    return why


# --- checks -----------------------------------------------------------------------------------------------


def _data(doc: Any) -> dict[Any, Any]:
    data = doc.get("data") if isinstance(doc, dict) else None
    return data if isinstance(data, dict) else {}


def _old_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def checks(
    changed: Sequence[FileChange],
    ops: Sequence[Op],
    allowed: Mapping[str, tuple[Server, ConfigRef]],
    inventory: Inventory,
    policy: GuardPolicy,
) -> list[Check]:
    """This family's checks of one proposed change."""
    return [_check_values_valid(changed, ops, allowed), _check_data_values_are_strings(changed)]


def _check_values_valid(
    changed: Sequence[FileChange],
    ops: Sequence[Op],
    allowed: Mapping[str, tuple[Server, ConfigRef]],
) -> Check:
    before = {c.path: _data(c.before_doc) for c in changed}
    problems: list[str] = []
    keys: list[str] = []
    for o in ops:
        if not isinstance(o, SetKey):
            continue
        keys.append(o.key)
        if o.file not in allowed:
            problems.append(f"{o.file}: {o.key}: no value grammar (not an allowed config)")
            continue
        old = _old_text(before.get(o.file, {}).get(o.key))
        why = value_problem(o.key, o.value, old, allowed[o.file][1])
        if why:
            problems.append(f"{o.file}: {o.key}: {why}")
    if problems:
        return Check(name="values_valid", passed=False, detail="; ".join(problems))
    if not keys:
        return Check(name="values_valid", passed=True, detail="no set_key operation")
    shown = ", ".join(dict.fromkeys(keys))
    return Check(name="values_valid", passed=True, detail=f"{shown}: each value matches its key's grammar")


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check_data_values_are_strings(changed: Sequence[FileChange]) -> Check:
    problems: list[str] = []
    for c in changed:
        data = c.after_doc.get("data") if isinstance(c.after_doc, dict) else None
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(f"{c.path}: data is a {_type_name(data)}, not a mapping of strings")
            continue
        bad = [
            f"{k} ({_type_name(v)})" if isinstance(k, str) else f"{k!r} (key is {_type_name(k)})"
            for k, v in data.items()
            if not isinstance(k, str) or not isinstance(v, str)
        ]
        if bad:
            problems.append(f"{c.path}: data values must be strings: {', '.join(bad)}")
    if problems:
        return Check(name="data_values_are_strings", passed=False, detail="; ".join(problems))
    return Check(name="data_values_are_strings", passed=True, detail="every data value is a string")

"""Properties of the set_key value grammars: injection characters never pass, valid values always do,
and lists only get stricter."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.inventory import ConfigRef
from bot.core.operations.data_keys import CURVES, GRAMMARS, PROTOCOLS, value_problem

CONFIGS = {
    "ingress-nginx": ConfigRef(path="n.yaml", kind="ingress-nginx", set_keys=("x-custom",)),
    "denylist": ConfigRef(path="d.yaml", kind="denylist", key="blocked-cidrs"),
}
KEYS = [(kind, key) for kind, table in GRAMMARS.items() for key in table] + [("ingress-nginx", "x-custom")]
#: Characters that end an nginx directive, open or close a block or string, interpolate, escape or comment.
FORBIDDEN = list(";{}\"'$\\#`\n\r\x00")

_YEAR = 365 * 86400
_STRONG = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE+AESGCM", "TLS_AES_128_GCM_SHA256"]  # fmt: skip
_WEAK = ["aNULL", "eNULL", "RC4", "MD5", "3DES", "EXPORT", "DES", "LOW"]


def _joined(items, sep, min_size=1, max_size=6):
    return st.lists(items, min_size=min_size, max_size=max_size).map(sep.join)


def _sizes(lo, hi):
    return st.one_of(
        st.integers(lo, hi).map(str),
        st.integers(-(-lo // 1024), hi // 1024).map(lambda n: f"{n}k"),
        st.integers(-(-lo // 1024**2), hi // 1024**2).map(lambda n: f"{n}m")
        if hi >= 1024**2
        else st.nothing(),
    )


def _switch(only):
    return st.just(only)


_CIPHERS = st.tuples(
    st.lists(st.sampled_from(_STRONG), min_size=1, max_size=4),
    st.lists(st.sampled_from(_WEAK).map(lambda w: "!" + w), max_size=4),
).map(lambda t: ":".join(t[0] + t[1]))

VALID = {
    **{k: _switch("true") for k in ("hsts", "hsts-include-subdomains", "ssl-redirect", "force-ssl-redirect",
                                    "enable-ocsp", "ssl-prefer-server-ciphers", "enable-modsecurity",
                                    "enable-owasp-modsecurity-crs")},
    **{k: _switch("false") for k in ("server-tokens", "allow-backend-server-header", "ssl-session-tickets")},
    "hsts-preload": st.sampled_from(["true", "false"]),
    "hsts-max-age": st.integers(_YEAR, 2 * _YEAR).map(str),
    "hide-headers": _joined(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,20}\Z"), ", "),
    "ssl-protocols": st.lists(st.sampled_from(PROTOCOLS), min_size=1, unique=True).map(" ".join),
    "ssl-ciphers": _CIPHERS,
    "ssl-ecdh-curve": _joined(st.sampled_from(sorted(CURVES)), ":"),
    "proxy-body-size": _sizes(1, 1024**3),
    "client-body-buffer-size": _sizes(1024, 16 * 1024**2),
    "client-header-buffer-size": _sizes(1024, 64 * 1024),
    "large-client-header-buffers": st.builds(lambda n, k: f"{n} {k}k", st.integers(1, 16), st.integers(1, 64)),
    "http2-max-field-size": _sizes(1024, 64 * 1024),
    "http2-max-header-size": _sizes(1024, 1024**2),
    "client-header-timeout": st.integers(1, 300).map(str),
    "client-body-timeout": st.integers(1, 300).map(str),
    "keep-alive": st.integers(0, 300).map(str),
    "keep-alive-requests": st.integers(1, 100_000).map(str),
    "proxy-connect-timeout": st.integers(1, 75).map(str),
    "proxy-read-timeout": st.integers(1, 3600).map(str),
    "proxy-send-timeout": st.integers(1, 3600).map(str),
    "limit-rate": st.integers(1, 1024**3).map(str),
    "limit-rate-after": st.integers(0, 1024**3).map(str),
    "limit-req-status-code": st.integers(400, 599).map(str),
    "limit-conn-status-code": st.integers(400, 599).map(str),
    "http2-max-concurrent-streams": st.integers(1, 1000).map(str),
    "block-user-agents": _joined(st.from_regex(r"\A(~\*?)?[a-z][a-z0-9._/-]{0,30}\Z"), ","),
    "block-referers": _joined(st.from_regex(r"\A(~\*?)?[a-z][a-z0-9._/-]{0,30}\Z"), ", "),
    "ban-time": st.one_of(st.integers(60, _YEAR).map(str), st.integers(1, 365).map(lambda n: f"{n}d")),
    "x-custom": st.from_regex(r"\A[A-Za-z0-9._:/ -]{1,100}\Z"),
}  # fmt: skip


def test_every_key_has_a_valid_value_strategy():
    assert sorted(VALID) == sorted(key for _, key in KEYS)


@given(
    st.sampled_from(KEYS),
    st.text(max_size=20),
    st.sampled_from(FORBIDDEN),
    st.text(max_size=20),
)
def test_a_value_with_a_forbidden_character_is_refused(kind_key, head, char, tail):
    kind, key = kind_key
    assert value_problem(key, head + char + tail, None, CONFIGS[kind]) is not None


@given(st.data())
def test_generated_valid_values_are_accepted(data):
    kind, key = data.draw(st.sampled_from(KEYS))
    value = data.draw(VALID[key])
    assert value_problem(key, value, None, CONFIGS[kind]) is None, value


@given(st.data())
def test_a_stricter_protocol_subset_is_accepted(data):
    old = data.draw(st.lists(st.sampled_from(PROTOCOLS), min_size=1, unique=True))
    new = data.draw(st.lists(st.sampled_from(old), min_size=1, unique=True))
    assert value_problem("ssl-protocols", " ".join(new), " ".join(old), CONFIGS["ingress-nginx"]) is None


@given(st.data())
def test_a_protocol_superset_is_refused(data):
    known = ["SSLv3", "TLSv1", "TLSv1.1", *PROTOCOLS]
    old = data.draw(st.lists(st.sampled_from(PROTOCOLS), min_size=1, max_size=1))
    extra = data.draw(st.sampled_from([p for p in known if p not in old]))
    new = data.draw(st.permutations([*old, extra]))
    why = value_problem("ssl-protocols", " ".join(new), " ".join(old), CONFIGS["ingress-nginx"])
    assert why == f"adds {extra} (a protocol list may only get stricter)"


@given(_CIPHERS, st.sampled_from(_WEAK))
def test_a_cipher_list_that_drops_an_exclusion_is_refused(new, weak):
    old = f"{new}:!{weak}X"
    assert "drops the exclusion" in (value_problem("ssl-ciphers", new, old, CONFIGS["ingress-nginx"]) or "")


@given(_CIPHERS, st.sampled_from(_WEAK))
def test_a_cipher_list_that_adds_a_weak_token_is_refused(good, weak):
    value = f"{good}:{weak}"
    assert "adds weak token" in (value_problem("ssl-ciphers", value, None, CONFIGS["ingress-nginx"]) or "")

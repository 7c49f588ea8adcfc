"""Value grammars for set_key (values_valid) and string-only ConfigMap data (data_values_are_strings)."""

from __future__ import annotations

import pytest

from bot.core.edits import AddCidr, FileChange, SetKey, parse_operations
from bot.core.errors import OperationError
from bot.core.guard import SET_KEYS_BY_KIND, check_change
from bot.core.inventory import ConfigRef
from bot.core.operations.data_keys import GRAMMARS, SENSITIVE_KEYS, value_problem
from bot.yaml_edit import apply_operations, parse_document, repo_reader
from tests.conftest import FIXTURES
from tools.cmdb import load_inventory

WEB01 = "clusters/prod/web-01/ingress-nginx-controller.yaml"
READ = repo_reader(FIXTURES / "gitops")
INVENTORY = load_inventory(FIXTURES / "cmdb.yaml")
NGINX = ConfigRef(path=WEB01, kind="ingress-nginx")


def _checks(ops, changes=None):
    changes = changes if changes is not None else apply_operations(ops, READ)
    report = check_change(changes, ops, INVENTORY, ["web-01"])
    return report, {c.name: c for c in report.checks}


def _edited(old: str, new: str) -> FileChange:
    before = (FIXTURES / "gitops" / WEB01).read_text()
    after = before.replace(old, new)
    assert after != before
    return FileChange(
        path=WEB01,
        before=before,
        after=after,
        before_doc=parse_document(before)[0],
        after_doc=parse_document(after)[0],
    )


def test_values_valid_names_file_key_and_reason():
    _, checks = _checks([SetKey(file=WEB01, key="server-tokens", value="false;")])
    assert checks["values_valid"].detail == f'{WEB01}: server-tokens: "false;" is not true/false'


def test_values_valid_passes_with_the_keys_it_checked():
    report, checks = _checks([SetKey(file=WEB01, key="hsts", value="true")])
    assert report.passed, report.summary()
    assert checks["values_valid"].detail == "hsts: each value matches its key's grammar"
    assert checks["data_values_are_strings"].detail == "every data value is a string"


def test_values_valid_passes_without_set_key():
    _, checks = _checks([AddCidr(file=WEB01, key="block-cidrs", value="91.240.118.172/32")])
    assert checks["values_valid"].detail == "no set_key operation"


@pytest.mark.parametrize(
    ("key", "value", "old", "reason"),
    [
        ("proxy-body-size", "8m;", None, "contains ';' (allowed: digits and k/m/g)"),
        (
            "ssl-protocols",
            "TLSv1 TLSv1.2",
            "TLSv1.2 TLSv1.3",
            "adds TLSv1 (a protocol list may only get stricter)",
        ),
        ("ssl-protocols", "TLSv1.2", "TLSv1.3", "adds TLSv1.2 (a protocol list may only get stricter)"),
        (
            "ssl-ciphers",
            "HIGH",
            "HIGH:!RC4",
            "drops the exclusion !RC4 (a cipher list may only get stricter)",
        ),
        ("hsts", "false", None, '"false" turns a hardening switch off (may only be set to "true")'),
        ("hsts-max-age", "31536000", "40000000", "lowers 40000000 to 31536000 (may only stay or grow)"),
        ("keep-alive", "301", None, '"301" is out of range (allowed: 0..300 seconds)'),
        ("ssl-ecdh-curve", "X25519:secp192r1", None, "'secp192r1' is not an allowed curve"),
    ],
)
def test_value_problem_says_why(key, value, old, reason):
    assert (value_problem(key, value, old, NGINX) or "").startswith(reason)


def test_value_problem_shows_control_characters_escaped():
    assert value_problem("server-tokens", "false\n", None, NGINX) == '"false\\n" is not true/false'


def test_value_problem_refuses_keys_without_grammar():
    assert value_problem("use-forwarded-headers", "true", None, NGINX) == (
        "no value grammar for kind 'ingress-nginx' (set_key may not write this key)"
    )


def test_inventory_set_keys_get_the_safe_token_grammar_but_never_sensitive_keys():
    cfg = NGINX.model_copy(update={"set_keys": ("x-custom", "server-snippet")})
    assert value_problem("x-custom", "v1.5 beta/2", None, cfg) is None
    assert value_problem("x-custom", "a{b", None, cfg) == (
        "contains '{' (allowed: letters, digits, spaces and . _ : / -); "
        "a key added by the inventory's set_keys takes the generic safe-token grammar"
    )
    assert "no value grammar" in (value_problem("server-snippet", "x", None, cfg) or "")


def test_allow_list_is_derived_from_the_grammar_table():
    assert {kind: set(keys) for kind, keys in SET_KEYS_BY_KIND.items()} == {
        kind: set(table) for kind, table in GRAMMARS.items()
    }
    assert not SENSITIVE_KEYS & set().union(*SET_KEYS_BY_KIND.values())


def test_data_values_are_strings_refuses_an_unquoted_boolean():
    ch = _edited('server-tokens: "false"', "server-tokens: off")
    _, checks = _checks([SetKey(file=WEB01, key="server-tokens", value="false")], changes=[ch])
    assert checks["data_values_are_strings"].detail == (
        f"{WEB01}: data values must be strings: server-tokens (bool)"
    )


def test_data_values_are_strings_names_every_non_string():
    ch = _edited(
        'proxy-body-size: "8m"',
        "proxy-body-size: 1.5e+3\n  keep-alive: 12:30\n  hsts: ~\n  ban: 2024-01-02\n  x: [1]\n  yes: a",
    )
    _, checks = _checks([SetKey(file=WEB01, key="proxy-body-size", value="1e3")], changes=[ch])
    assert checks["data_values_are_strings"].detail == (
        f"{WEB01}: data values must be strings: proxy-body-size (float), keep-alive (int), hsts (null), "
        "ban (date), x (list), True (key is bool)"
    )


def test_data_values_are_strings_refuses_data_that_is_not_a_mapping():
    before = (FIXTURES / "gitops" / WEB01).read_text()
    after = before.split("\ndata:")[0] + "\ndata: [a, b]\n"
    ch = FileChange(
        path=WEB01,
        before=before,
        after=after,
        before_doc=parse_document(before)[0],
        after_doc=parse_document(after)[0],
    )
    _, checks = _checks([SetKey(file=WEB01, key="hsts", value="true")], changes=[ch])
    assert checks["data_values_are_strings"].detail == f"{WEB01}: data is a list, not a mapping of strings"


@pytest.mark.parametrize(("raw", "text"), [(True, "true"), (False, "false"), (8, "8"), (1.5, "1.5")])
def test_set_key_turns_scalars_into_strings(raw, text):
    assert SetKey(file=WEB01, key="hsts", value=raw).value == text


@pytest.mark.parametrize("char", ["\n", "\r", "\x00", "\t", "\x1b", "\u202e", "\u200b", "\u2028"])
def test_set_key_refuses_control_characters(char):
    with pytest.raises(OperationError) as info:
        parse_operations([{"op": "set_key", "file": WEB01, "key": "hsts", "value": f"true{char}"}])
    assert str(info.value) == (
        f"operation 1 (set_key): value: Value error, value contains the control character "
        f"U+{ord(char):04X}: a set_key value is one line of printable text"
    )


def test_set_key_refuses_values_over_512_characters():
    SetKey(file=WEB01, key="ssl-ciphers", value="A" * 512)
    with pytest.raises(OperationError) as info:
        parse_operations([{"op": "set_key", "file": WEB01, "key": "ssl-ciphers", "value": "A" * 513}])
    assert str(info.value) == "operation 1 (set_key): value: String should have at most 512 characters"


def test_security_doc_lists_the_grammar_of_every_key():
    doc = (FIXTURES.parent / "docs" / "security.md").read_text()
    section = doc.split("### Values")[1].split("\n### ")[0]
    for kind, table in GRAMMARS.items():
        for key, grammar in table.items():
            row = f"| `{kind}` | `{key}` | {grammar.describe.replace('|', chr(92) + '|')} | {grammar.rule or '-'} |"
            assert row in section, key


@pytest.mark.parametrize("pattern", ["~*a?", "~*(curl|.*)", "~.+|a", "~*x*", "~^|bot"])
def test_map_pattern_that_matches_every_client_is_refused(pattern):
    assert value_problem("block-user-agents", pattern, None, NGINX) == f"{pattern!r} would match every client"


def test_map_pattern_that_matches_some_clients_is_accepted():
    assert value_problem("block-user-agents", "~*(sqlmap|nikto),~curl/7?", None, NGINX) is None


@pytest.mark.parametrize(
    "value", ["DEFAULT", "HIGH:!aNULL", "ECDHE-RSA-AES128-GCM-SHA256:kRSA", "HIGH:SSLv3"]
)
def test_cipher_list_that_selects_more_than_the_default_is_refused(value):
    why = value_problem("ssl-ciphers", value, None, NGINX) or ""
    assert why.startswith("selects ") and "not in ingress-nginx's default list" in why


def test_cipher_list_may_keep_what_the_old_list_selected_and_add_strong_suites():
    assert value_problem("ssl-ciphers", "HIGH:ECDHE+AESGCM:!aNULL", "HIGH:!aNULL", NGINX) is None
    assert value_problem("ssl-ciphers", "HIGH:CAMELLIA:!aNULL", "HIGH:!aNULL", NGINX) == (
        "selects CAMELLIA, not in the old list (a cipher list may only get stricter: "
        "new tokens must be forward-secret AEAD suites)"
    )


@pytest.mark.parametrize("pattern", ["~x", "~*Q", "~0", "~*sqlmap"])
def test_map_pattern_of_one_letter_is_not_taken_for_every_client(pattern):
    assert value_problem("block-user-agents", pattern, None, NGINX) is None

"""Exact effects: derived from operations and parsed YAML, normalised, hashed."""

from __future__ import annotations

from bot.core.effects import Where, describe_fix, effects_of_change, effects_of_operations

INGRESS = "clusters/prod/web-01/ingress-nginx-controller.yaml"
WEB01 = Where(server="web-01", kind="ingress-nginx", list_key="block-cidrs")


def _doc(**data: str) -> dict:
    meta = {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def _add(value: str, path: str = INGRESS, key: str = "block-cidrs") -> dict:
    return {"op": "add_cidr", "file": path, "key": key, "value": value}


def test_effect_text_names_server_file_resource_key_and_address():
    (e,) = effects_of_operations([_add("91.240.118.172")], {INGRESS: _doc()}, {INGRESS: WEB01})
    assert e.text == (
        f"web-01 {INGRESS} ConfigMap ingress-nginx/ingress-nginx-controller data.block-cidrs add 91.240.118.172/32"
    )


def test_effect_id_same_for_bare_address_and_host_cidr():
    docs, where = {INGRESS: _doc()}, {INGRESS: WEB01}
    (a,) = effects_of_operations([_add("91.240.118.172")], docs, where)
    (b,) = effects_of_operations([_add("91.240.118.172/32")], docs, where)
    assert a.id == b.id


def test_effect_id_differs_for_another_server():
    docs = {INGRESS: _doc()}
    (a,) = effects_of_operations([_add("91.240.118.172")], docs, {INGRESS: WEB01})
    (b,) = effects_of_operations([_add("91.240.118.172")], docs, {INGRESS: Where(server="web-02")})
    assert a.id != b.id


def test_no_effect_when_address_already_listed():
    docs = {INGRESS: _doc(**{"block-cidrs": "198.51.100.23/32,91.240.118.172/32"})}
    assert effects_of_operations([_add("91.240.118.172")], docs, {INGRESS: WEB01}) == ()


def test_list_comments_and_order_do_not_matter():
    before = _doc(**{"blocked-cidrs": "# old\n198.51.100.77/32\n"})
    after = _doc(**{"blocked-cidrs": "# old\n203.0.113.9/32\n198.51.100.77/32  # new\n"})
    (e,) = effects_of_change("f.yaml", Where(server="b"), before, after)
    assert (e.action, e.value) == ("add", "203.0.113.9/32")


def test_set_key_effect_normalises_whitespace():
    before, after = _doc(**{"ssl-protocols": "TLSv1.2"}), _doc(**{"ssl-protocols": " TLSv1.2   TLSv1.3 "})
    (e,) = effects_of_change(INGRESS, WEB01, before, after)
    assert (e.action, e.key, e.value, e.is_address) == ("set", "ssl-protocols", "TLSv1.2 TLSv1.3", False)


def test_removed_address_and_unset_key_are_effects():
    before = _doc(**{"block-cidrs": "198.51.100.23/32", "server-tokens": "true"})
    effects = effects_of_change(INGRESS, WEB01, before, _doc(**{"block-cidrs": ""}))
    assert sorted((e.action, e.key) for e in effects) == [
        ("remove", "block-cidrs"),
        ("unset", "server-tokens"),
    ]


def test_description_has_no_server_and_names_what_it_defends_against():
    (e,) = effects_of_operations(
        [{"op": "set_key", "file": INGRESS, "key": "server-tokens", "value": "false"}],
        {INGRESS: _doc(**{"server-tokens": "true"})},
        {INGRESS: WEB01},
    )
    text = describe_fix([e], "web recon")
    assert text == "set server-tokens to false in the ingress-nginx config; defends against: web recon"


def test_boolean_spellings_are_one_value():
    before, after = _doc(hsts="false"), _doc(hsts="True")
    (e,) = effects_of_change(INGRESS, WEB01, before, after)
    assert (e.value, e.exact_only) == ("true", True)

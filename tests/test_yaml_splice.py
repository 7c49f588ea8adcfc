"""Where data values sit in the text, and edits that change only those characters."""

from __future__ import annotations

import pytest
import yaml

from bot.core.edits import AddCidr, SetKey
from bot.core.errors import DocumentError
from bot.core.fidelity import first_difference
from bot.yaml_edit import apply_operations, repo_reader
from bot.yaml_splice import layout
from tests.conftest import FIXTURES

READ = repo_reader(FIXTURES / "gitops")
WEB01 = "clusters/prod/web-01/ingress-nginx-controller.yaml"
WEB02 = "clusters/prod/web-02/ingress-nginx-controller.yaml"
STG = "clusters/staging/web-stg-01/ingress-nginx-controller.yaml"
DENY = "clusters/prod/bastion-01/denylist.yaml"
DENY01 = "clusters/prod/web-01/denylist.yaml"

CASES = [
    [AddCidr(file=WEB01, key="block-cidrs", value="91.240.118.172")],
    [AddCidr(file=WEB02, key="block-cidrs", value="2a0e:1c80:1:1::45")],
    [AddCidr(file=STG, key="block-cidrs", value="45.155.205.0/24")],
    [AddCidr(file=DENY, key="blocked-cidrs", value="45.155.205.233")],
    [AddCidr(file=DENY01, key="blocked-cidrs", value="45.155.205.233"),
     AddCidr(file=DENY01, key="blocked-cidrs", value="45.155.206.0/24")],
    [SetKey(file=WEB01, key="ssl-protocols", value="TLSv1.3")],
    [SetKey(file=WEB01, key="proxy-body-size", value="1m"), SetKey(file=WEB01, key="server-tokens", value="true")],
    [SetKey(file=STG, key="server-tokens", value="false")],
    [SetKey(file=DENY, key="ban-time", value="3600")],
]  # fmt: skip
STYLES = {DENY: "lines", DENY01: "lines"}


@pytest.mark.parametrize("ops", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_edit_changes_only_the_named_values_on_every_fixture(ops):
    (ch,) = apply_operations(ops, READ, STYLES)
    keys = {o.key for o in ops}
    before, after = yaml.safe_load(ch.before), yaml.safe_load(ch.after)
    assert {k: v for k, v in before.items() if k != "data"} == {k: v for k, v in after.items() if k != "data"}
    assert {k for k in before["data"] if before["data"][k] != after["data"].get(k)} == keys
    assert first_difference(ch.before, ch.after, keys) is None


def test_edit_keeps_comment_spacing():
    (ch,) = apply_operations([AddCidr(file=WEB02, key="block-cidrs", value="45.155.205.233")], READ)
    assert "block-cidrs: '193.42.33.7/32,45.155.205.233/32'   # blocked after INC-4502" in ch.after


def test_values_with_quotes_are_escaped_in_place(tmp_path):
    (tmp_path / "c.yaml").write_text('kind: ConfigMap\ndata:\n  msg: "hello"  # keep\n')
    (ch,) = apply_operations(
        [SetKey(file="c.yaml", key="msg", value='say "hi" \\ bye')], repo_reader(tmp_path)
    )
    assert ch.after == 'kind: ConfigMap\ndata:\n  msg: "say \\"hi\\" \\\\ bye"  # keep\n'
    assert yaml.safe_load(ch.after)["data"]["msg"] == 'say "hi" \\ bye'


def test_plain_value_that_would_change_type_gets_double_quotes(tmp_path):
    (tmp_path / "c.yaml").write_text("kind: ConfigMap\ndata:\n  size: big\n")
    (ch,) = apply_operations([SetKey(file="c.yaml", key="size", value="123")], repo_reader(tmp_path))
    assert ch.after == 'kind: ConfigMap\ndata:\n  size: "123"\n'


def test_layout_finds_values_styles_and_anchors():
    text = 'data:\n  a: &x "1"\n  b: |-\n    one\n    two\n  c: *x\n'
    lay = layout("c.yaml", text)
    assert lay.order == ("a", "b", "c")
    assert (lay.values["a"].style, lay.values["a"].anchor, text[lay.values["a"].start]) == ('"', "x", '"')
    assert (lay.values["b"].style, lay.values["b"].chomp, lay.values["b"].last_line) == ("|", "-", 4)
    assert (lay.values["c"].kind, lay.values["c"].alias) == ("alias", "x")
    assert lay.alias_uses == {"x": 1}


def test_layout_refuses_several_documents_and_non_mappings():
    with pytest.raises(DocumentError, match="expected exactly one YAML mapping"):
        layout("two.yaml", "a: 1\n---\nb: 2\n")
    with pytest.raises(DocumentError, match="expected exactly one YAML mapping"):
        layout("list.yaml", "- a\n")

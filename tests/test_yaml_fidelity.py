"""Exact edits: the edited file differs from the original only in the edited value, byte for byte."""

from __future__ import annotations

import pytest

from bot.core.edits import AddCidr, FileChange, SetKey
from bot.core.errors import DocumentError
from bot.core.fidelity import first_difference, key_spans
from bot.core.guard import check_change
from bot.yaml_edit import apply_operations, parse_document, repo_reader
from tests.conftest import FIXTURES
from tools.cmdb import load_inventory

H = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
WEB01 = "clusters/prod/web-01/ingress-nginx-controller.yaml"
INVENTORY = load_inventory(FIXTURES / "cmdb.yaml")


def _after(tmp_path, text, *ops, styles=None):
    (tmp_path / "c.yaml").write_bytes(text.encode())
    (ch,) = apply_operations(list(ops), repo_reader(tmp_path), styles or {})
    assert first_difference(ch.before, ch.after, {o.key for o in ops}) is None
    return ch.after


def add(value, key="block-cidrs"):
    return AddCidr(file="c.yaml", key=key, value=value)


def put(key, value):
    return SetKey(file="c.yaml", key=key, value=value)


def test_anchors_and_aliases_elsewhere_are_kept(tmp_path):
    text = (
        H
        + "  labels: &l\n    a: b\n  annotations: *l\ndata:\n  block-cidrs: '1.2.3.4/32'\n  x: &v hi\n  y: *v\n"
    )
    after = _after(tmp_path, text, add("5.6.7.8"))
    assert after == text.replace("'1.2.3.4/32'", "'1.2.3.4/32,5.6.7.8/32'")


def test_merge_keys_are_kept_and_the_list_edited(tmp_path):
    text = (
        "base: &b {a: '1'}\n"
        + H
        + "  labels:\n    <<: *b\ndata:\n  <<: *b\n  block-cidrs: 1.2.3.4/32, 2.3.4.5/32  # c\n"
    )
    after = _after(tmp_path, text, add("5.6.7.8"))
    assert after == text.replace("2.3.4.5/32  # c", "2.3.4.5/32, 5.6.7.8/32  # c")


def test_folded_comma_block_gets_one_line_per_entry(tmp_path):
    text = H + "data:\n  block-cidrs: >-\n    1.2.3.4/32,\n    2.3.4.5/32\n  z: '1'\n"
    after = _after(tmp_path, text, add("5.6.7.8"), add("6.6.7.8"))
    assert (
        after
        == H
        + "data:\n  block-cidrs: >-\n    1.2.3.4/32,\n    2.3.4.5/32,\n    5.6.7.8/32,\n    6.6.7.8/32\n  z: '1'\n"
    )


@pytest.mark.parametrize("header", ["|", "|-", "|+", "|2", "|2-"])
def test_literal_blocks_keep_their_header_and_comments(tmp_path, header):
    text = (
        H
        + f"data:\n  # the list\n  block-cidrs: {header}  # one a line\n    1.2.3.4/32\n  # after\n  z: '1'\n"
    )
    after = _after(tmp_path, text, add("5.6.7.8"), styles={"c.yaml": "lines"})
    assert after == text.replace("    1.2.3.4/32\n", "    1.2.3.4/32\n    5.6.7.8/32\n")


def test_keep_chomping_block_keeps_its_trailing_blank_lines(tmp_path):
    text = H + "data:\n  block-cidrs: |+\n    1.2.3.4/32\n\n\n  z: '1'\n"
    after = _after(tmp_path, text, add("5.6.7.8"))
    assert after == H + "data:\n  block-cidrs: |+\n    1.2.3.4/32\n    5.6.7.8/32\n\n\n  z: '1'\n"


def test_crlf_line_endings_are_kept_on_every_line(tmp_path):
    text = (H + 'data:\n  block-cidrs: |\n    1.2.3.4/32\n  ban-time: "1"\n').replace("\n", "\r\n")
    after = _after(tmp_path, text, add("5.6.7.8"), put("ban-time", "2"), put("hsts", "yes"))
    assert after == (
        H + 'data:\n  block-cidrs: |\n    1.2.3.4/32\n    5.6.7.8/32\n  ban-time: "2"\n  hsts: "yes"\n'
    ).replace("\n", "\r\n")


def test_missing_final_newline_stays_missing(tmp_path):
    assert _after(tmp_path, H + "data:\n  a: b", put("n", "12:30")) == H + 'data:\n  a: b\n  "n": "12:30"'
    text = H + "data:\n  block-cidrs: |\n    1.2.3.4/32"
    assert _after(tmp_path, text, add("5.6.7.8")) == text + "\n    5.6.7.8/32"


def test_flow_mapping_values_and_new_keys_are_edited_in_place(tmp_path):
    text = H + "data: {block-cidrs: '1.2.3.4/32', a: \"b\"}  # c\n"
    after = _after(tmp_path, text, add("5.6.7.8"), put("n", "1e3"))
    assert after == H + 'data: {block-cidrs: \'1.2.3.4/32,5.6.7.8/32\', a: "b", "n": "1e3"}  # c\n'
    assert _after(tmp_path, H + "data: {}\n", put("n", "0o17")) == H + 'data: {"n": "0o17"}\n'


def test_quoted_keys_and_trailing_comments_are_kept(tmp_path):
    text = H + 'data:\n  "block-cidrs": "1.2.3.4/32"  # trailing\n  \'q\': x  # also\n'
    after = _after(tmp_path, text, add("5.6.7.8"), put("q", "null"))
    assert (
        after == H + 'data:\n  "block-cidrs": "1.2.3.4/32,5.6.7.8/32"  # trailing\n  \'q\': "null"  # also\n'
    )


def test_one_entry_per_line_list_gets_one_new_line(tmp_path):
    text = (
        H
        + "data:\n  blocked-cidrs: |\n    # incident 1\n    1.2.3.4/32\n\n    2.3.4.5/32\n  ban-time: '60'\n"
    )
    after = _after(tmp_path, text, add("5.6.7.8", key="blocked-cidrs"))
    assert after == text.replace("    2.3.4.5/32\n", "    2.3.4.5/32\n    5.6.7.8/32\n")


def test_plain_multi_line_list_is_appended_on_its_last_line(tmp_path):
    text = H + "data:\n  block-cidrs: 1.2.3.4/32,\n    2.3.4.5/32\n  z: '1'\n"
    assert _after(tmp_path, text, add("5.6.7.8")) == text.replace("2.3.4.5/32\n", "2.3.4.5/32, 5.6.7.8/32\n")


def test_a_file_without_data_gets_a_data_mapping_at_its_end(tmp_path):
    assert _after(tmp_path, H, put("hsts", "on")) == H + 'data:\n  hsts: "on"\n'


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "b: &b '1.2.3.4/32'\n" + H + "data:\n  block-cidrs: *b\n",
            "cannot edit block-cidrs exactly: its value is an alias (*b)",
        ),
        (H + "data:\n  block-cidrs: &b '1.2.3.4/32'\n  x: *b\n", "carries the anchor &b, used elsewhere"),
        ("k: &k block-cidrs\n" + H + "data:\n  *k : '1.2.3.4/32'\n", "its key is an alias (*k)"),
        (H + "data:\n  block-cidrs: [a, b]\n", "its value is a list or a mapping"),
        (H + "data:\n  block-cidrs: !!str 1.2.3.4/32\n", "explicit tag"),
        (H + "data:\n", "data is empty (null)"),
        (H + "data:\n  block-cidrs: ''\n  block-cidrs: x\n", "appears more than once"),
    ],
)
def test_values_that_cannot_be_edited_exactly_are_refused(tmp_path, text, reason):
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(DocumentError, match="^c.yaml: ") as err:
        apply_operations([add("5.6.7.8")], repo_reader(tmp_path))
    assert reason in str(err.value)


def test_a_key_from_a_merge_key_is_refused(tmp_path):
    (tmp_path / "c.yaml").write_text("base: &b {a: '1'}\n" + H + "data:\n  <<: *b\n  z: x\n")
    with pytest.raises(DocumentError, match=r"cannot edit a exactly: it comes from a merge key \(<<: \*b\)"):
        apply_operations([put("a", "2")], repo_reader(tmp_path))


def test_key_spans_cover_the_key_and_its_block_lines():
    text = H + "data:\n  a: |\n    x\n\n    y\n\n  # c\n  b: 'z'\n"
    assert key_spans(text, {"a", "b"}) == (("a", 5, 9), ("b", 11, 12))


def test_first_difference_names_the_first_changed_line_outside_the_spans():
    before = H + "data:\n  a: x\n  b: y\n"
    assert first_difference(before, before.replace("b: y", "b: z"), {"a"}) == 7
    assert first_difference(before, before.replace("name: c", "name: d"), {"a"}) == 4
    assert first_difference(before, before.replace("a: x", "a: z"), {"a"}) is None


def test_new_key_after_a_keep_block_goes_after_its_blank_lines(tmp_path):
    text = H + "data:\n  a: |+\n    x\n\n"
    assert _after(tmp_path, text, put("b", "v")) == text + "  b: v\n"


def test_append_and_new_key_at_the_same_place_keep_their_order(tmp_path):
    text = H + "data:\n  a: |\n    x\n"
    after = _after(
        tmp_path, text, add("1.2.3.4", key="c"), add("5.6.7.8", key="a"), styles={"c.yaml": "lines"}
    )
    assert after == text + "    5.6.7.8/32\n  c: |\n    1.2.3.4/32\n"


def test_an_empty_null_value_is_refused(tmp_path):
    (tmp_path / "c.yaml").write_text(H + "data:\n  k:\n  z: x\n")
    with pytest.raises(DocumentError, match="cannot edit k exactly: its value is empty"):
        apply_operations([put("k", "v")], repo_reader(tmp_path))


def _hand_built(before, after):
    return FileChange(
        path=WEB01,
        before=before,
        after=after,
        before_doc=parse_document(before)[0],
        after_doc=parse_document(after)[0],
    )


def test_only_edited_lines_judges_a_hand_built_change_from_its_text():
    before = (FIXTURES / "gitops" / WEB01).read_text()
    ops = [SetKey(file=WEB01, key="server-tokens", value="true")]
    sneaky = before.replace('"false"', '"true"').replace("# Keep the server", "# Keep  the server")
    report = check_change([_hand_built(before, sneaky)], ops, INVENTORY, ["web-01"])
    checks = {c.name: c for c in report.checks}
    assert (
        checks["only_edited_lines"].detail == f"{WEB01}: line 14 changed outside the lines of server-tokens"
    )
    honest = before.replace('server-tokens: "false"', 'server-tokens: "true"')
    report = check_change([_hand_built(before, honest)], ops, INVENTORY, ["web-01"])
    assert {c.name: c for c in report.checks}["only_edited_lines"].passed

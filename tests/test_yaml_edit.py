"""Applying operations keeps comments, key order and quoting, is idempotent and yields minimal diffs."""

from __future__ import annotations

import os
import re
import time

import pytest
import yaml

from bot.core.edits import AddCidr, Escalate, SetKey, unified_diff
from bot.core.errors import DocumentError, OperationError
from bot.yaml_edit import apply_operations, double_quoted, repo_reader
from tests.conftest import FIXTURES

READ = repo_reader(FIXTURES / "gitops")
WEB01 = "clusters/prod/web-01/ingress-nginx-controller.yaml"
WEB02 = "clusters/prod/web-02/ingress-nginx-controller.yaml"
DENY = "clusters/prod/bastion-01/denylist.yaml"


def _diff_lines(changes):
    return [
        line
        for line in unified_diff(changes).splitlines()
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]


def test_add_cidr_to_comma_list_keeps_everything_else():
    (ch,) = apply_operations([AddCidr(file=WEB01, key="block-cidrs", value="91.240.118.172")], READ)
    assert _diff_lines([ch]) == [
        '-  block-cidrs: "198.51.100.23/32,192.0.2.0/24"',
        '+  block-cidrs: "198.51.100.23/32,192.0.2.0/24,91.240.118.172/32"',
    ]
    assert (
        ch.before.replace(
            '"198.51.100.23/32,192.0.2.0/24"', '"198.51.100.23/32,192.0.2.0/24,91.240.118.172/32"'
        )
        == ch.after
    )
    assert "# Addresses denied at the edge" in ch.after
    assert ch.spans == (("block-cidrs", 12, 13),)


def test_add_cidr_keeps_single_quotes_and_trailing_comment():
    (ch,) = apply_operations([AddCidr(file=WEB02, key="block-cidrs", value="2a0e:1c80:1:1::45")], READ)
    assert (
        _diff_lines([ch])[1]
        == "+  block-cidrs: '193.42.33.7/32,2a0e:1c80:1:1::45/128'   # blocked after INC-4502"
    )


def test_add_cidr_to_line_list_appends_one_line():
    (ch,) = apply_operations(
        [AddCidr(file=DENY, key="blocked-cidrs", value="45.155.205.233")], READ, {DENY: "lines"}
    )
    assert _diff_lines([ch]) == ["+    45.155.205.233/32"]
    assert "# fail2ban-style ban time" in ch.after
    assert ch.after_doc["data"]["blocked-cidrs"] == "203.0.113.99/32\n45.155.205.233/32\n"


def test_add_cidr_is_idempotent_and_returns_the_file_untouched():
    ops = [AddCidr(file=WEB01, key="block-cidrs", value="198.51.100.23/32")]
    (ch,) = apply_operations(ops, READ)
    assert not ch.changed and ch.after == ch.before
    two = [AddCidr(file=DENY, key="blocked-cidrs", value="45.155.205.233")] * 2
    (ch,) = apply_operations(two, READ, {DENY: "lines"})
    assert _diff_lines([ch]) == ["+    45.155.205.233/32"]


def test_set_key_keeps_double_quotes():
    (ch,) = apply_operations([SetKey(file=WEB01, key="ssl-protocols", value="TLSv1.3")], READ)
    assert _diff_lines([ch]) == ['-  ssl-protocols: "TLSv1.2 TLSv1.3"', '+  ssl-protocols: "TLSv1.3"']


def test_set_key_adds_a_missing_key_at_the_end_of_data():
    (ch,) = apply_operations([SetKey(file=WEB02, key="hsts", value="true")], READ)
    assert _diff_lines([ch]) == ['+  hsts: "true"']
    assert ch.after_doc["data"]["hsts"] == "true"


def test_apply_refuses_missing_and_broken_files(tmp_path):
    with pytest.raises(DocumentError, match="no such file"):
        apply_operations([SetKey(file="clusters/nope.yaml", key="a", value="b")], READ)
    (tmp_path / "bad.yaml").write_text("data: [unclosed\n")
    with pytest.raises(DocumentError, match="bad.yaml: not valid YAML"):
        apply_operations([SetKey(file="bad.yaml", key="a", value="b")], repo_reader(tmp_path))
    (tmp_path / "two.yaml").write_text("a: 1\n---\nb: 2\n")
    with pytest.raises(DocumentError, match="exactly one YAML mapping"):
        apply_operations([SetKey(file="two.yaml", key="a", value="b")], repo_reader(tmp_path))
    with pytest.raises(OperationError):
        apply_operations([Escalate(reason="x")], READ)


def test_repo_reader_refuses_symlinks_out_of_the_repo(tmp_path):
    (tmp_path / "outside.yaml").write_text("a: 1\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    with pytest.raises(DocumentError, match="link.yaml: is a symlink; the bot never follows links"):
        repo_reader(repo)("link.yaml")
    with pytest.raises(DocumentError, match="outside the repository"):
        repo_reader(repo)("../outside.yaml")


def test_repo_reader_refuses_a_symlinked_parent_folder(tmp_path):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "denylist.yaml").write_text("a: 1\n")
    (tmp_path / "clusters").mkdir()
    (tmp_path / "clusters" / "web-01").symlink_to(tmp_path / ".github" / "workflows")
    with pytest.raises(DocumentError) as err:
        repo_reader(tmp_path)("clusters/web-01/denylist.yaml")
    assert str(err.value) == (
        "clusters/web-01/denylist.yaml: clusters/web-01 is a symlink; the bot never follows links"
    )


def test_repo_reader_refuses_fifos_and_folders(tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")
    with pytest.raises(DocumentError, match="pipe.yaml: not a regular file"):
        repo_reader(tmp_path)("pipe.yaml")
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(DocumentError, match="dir.yaml: not a regular file"):
        repo_reader(tmp_path)("dir.yaml")


AMBIGUOUS = ["no", "on", "yes", "off", "y", "N", "true", "12:30", "1e3", "null", "0o17", "~", "2026-01-01",
             "0x1F", "1_000", ".inf", "-.5", "+1", "", " padded", "a: b", "#x", "<<", "="]  # fmt: skip


@pytest.mark.parametrize("value", AMBIGUOUS)
def test_values_that_would_not_read_back_as_strings_are_double_quoted(tmp_path, value):
    (tmp_path / "c.yaml").write_text("kind: ConfigMap\ndata:\n  size: big\n")
    ops = [SetKey(file="c.yaml", key="size", value=value), SetKey(file="c.yaml", key="new", value=value)]
    (ch,) = apply_operations(ops, repo_reader(tmp_path))
    assert (
        ch.after == f"kind: ConfigMap\ndata:\n  size: {double_quoted(value)}\n  new: {double_quoted(value)}\n"
    )
    assert yaml.safe_load(ch.after)["data"] == {"size": value, "new": value}


def test_plain_strings_stay_plain(tmp_path):
    (tmp_path / "c.yaml").write_text("kind: ConfigMap\ndata:\n  size: big\n")
    (ch,) = apply_operations([SetKey(file="c.yaml", key="size", value="8m")], repo_reader(tmp_path))
    assert ch.after == "kind: ConfigMap\ndata:\n  size: 8m\n"


BOMB = "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9 if p else ['x'] * 9)}]\n"
    for p, n in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (BOMB + "data:\n  k: v\n", "c.yaml: its aliases expand to more than 10000 values"),
        (
            "a: &a x\n" + "b: [" + ", ".join(["*a"] * 101) + "]\ndata:\n  k: v\n",
            "c.yaml: more than 100 aliases",
        ),
        (
            "data:\n  k: v\n" + "# padding\n" * 30000,
            "c.yaml: too large to edit (300013 bytes; the limit is 262144)",
        ),
        ("a: " + "[" * 70 + "]" * 70 + "\ndata:\n  k: v\n", "c.yaml: nested more than 64 levels deep"),
    ],
)
def test_alias_bombs_and_oversized_files_are_refused_fast(tmp_path, text, reason):
    (tmp_path / "c.yaml").write_text(text)
    start = time.perf_counter()
    with pytest.raises(DocumentError, match=re.escape(reason)):
        apply_operations([SetKey(file="c.yaml", key="k", value="w")], repo_reader(tmp_path))
    assert time.perf_counter() - start < 1.0


def test_add_cidr_skips_entries_an_existing_range_covers(tmp_path):
    (tmp_path / "c.yaml").write_text("kind: ConfigMap\ndata:\n  block-cidrs: 45.155.205.0/24\n")
    ops = [AddCidr(file="c.yaml", key="block-cidrs", value="45.155.205.9")]
    (ch,) = apply_operations(ops, repo_reader(tmp_path))
    assert not ch.changed


def test_add_cidr_keeps_the_widest_of_one_batch_once(tmp_path):
    (tmp_path / "c.yaml").write_text("kind: ConfigMap\ndata:\n  block-cidrs: 1.2.3.4/32\n")
    values = ["9.9.9.9", "9.9.9.0/24", "9.9.9.0/24", "8.8.8.8", "8.8.8.8/32"]
    ops = [AddCidr(file="c.yaml", key="block-cidrs", value=v) for v in values]
    (ch,) = apply_operations(ops, repo_reader(tmp_path))
    assert ch.after == "kind: ConfigMap\ndata:\n  block-cidrs: 1.2.3.4/32,9.9.9.0/24,8.8.8.8/32\n"


def test_edits_never_mutate_the_cached_layout():
    ops = [AddCidr(file=WEB01, key="block-cidrs", value="91.240.118.172")]
    first = apply_operations(ops, READ)[0].after
    apply_operations([AddCidr(file=WEB01, key="block-cidrs", value="45.155.205.9")], READ)
    assert apply_operations(ops, READ)[0].after == first

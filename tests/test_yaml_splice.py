"""Splicing a value into the text must mean exactly what the full round-trip dump means."""

from __future__ import annotations

import pytest
import yaml

from bot.core.edits import AddCidr, SetKey
from bot.yaml_edit import apply_operations, repo_reader
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


def _dumped(ops):
    """What the full ruamel dump gives for the same operations."""
    return apply_operations(ops, READ, STYLES, splice_text=False)


@pytest.mark.parametrize("ops", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_splice_means_the_same_as_the_dump(ops):
    (spliced,) = apply_operations(ops, READ, STYLES)
    (dumped,) = _dumped(ops)
    assert yaml.safe_load(spliced.after) == yaml.safe_load(dumped.after)
    # and it is never a bigger diff: every unchanged line stays byte for byte
    before = spliced.before.splitlines()
    after = spliced.after.splitlines()
    assert sum(1 for line in after if line not in before) <= sum(
        1 for line in dumped.after.splitlines() if line not in before
    )


def test_splice_keeps_comment_spacing_the_dump_would_change():
    (ch,) = apply_operations([AddCidr(file=WEB02, key="block-cidrs", value="45.155.205.233")], READ)
    assert "block-cidrs: '193.42.33.7/32,45.155.205.233/32'   # blocked after INC-4502" in ch.after


def test_values_with_quotes_fall_back_to_the_dump(tmp_path):
    (tmp_path / "c.yaml").write_text('kind: ConfigMap\ndata:\n  msg: "hello"  # keep\n')
    (ch,) = apply_operations(
        [SetKey(file="c.yaml", key="msg", value='say "hi" \\ bye')], repo_reader(tmp_path)
    )
    assert yaml.safe_load(ch.after)["data"]["msg"] == 'say "hi" \\ bye'


def test_plain_value_that_would_change_type_falls_back(tmp_path):
    (tmp_path / "c.yaml").write_text("kind: ConfigMap\ndata:\n  size: big\n")
    (ch,) = apply_operations([SetKey(file="c.yaml", key="size", value="123")], repo_reader(tmp_path))
    assert yaml.safe_load(ch.after)["data"]["size"] == "123"  # still a string, not an int

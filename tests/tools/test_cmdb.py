from __future__ import annotations

import pytest

from bot.core.errors import InventoryError
from tests.conftest import FIXTURES
from tools.cmdb import load_inventory


def test_fixture_inventory_loads(inventory):
    web = inventory.server("web-01")
    assert web is not None and [c.kind for c in web.configs] == ["ingress-nginx", "denylist"]
    assert web.configs[1].block_key == "blocked-cidrs" and web.configs[0].block_key == "block-cidrs"
    assert [str(n) for n in inventory.protected][:2] == ["10.0.0.0/8", "100.64.0.0/10"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("servers: [", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping with 'servers:'"),
        ("servers:\n  - name: a\n    colour: red\n", "servers.0.colour: Extra inputs are not permitted"),
        ("servers:\n  - name: a\n    configs:\n      - {path: x.yaml, kind: denylist}\n", "needs 'key'"),
        ("servers:\n  - name: a\n  - name: a\n", "server 'a' is listed twice"),
        ("protected_networks: [10.0.0.0/33]\n", "is not a network"),
        (
            "servers:\n  - name: a\n    configs:\n      - {path: ../x.yaml, kind: ingress-nginx}\n",
            "leaves the repository",
        ),
    ],
)
def test_bad_inventory_gets_a_clear_message(tmp_path, text, message):
    p = tmp_path / "cmdb.yaml"
    p.write_text(text)
    with pytest.raises(InventoryError) as info:
        load_inventory(p)
    assert message in str(info.value) and str(p) in str(info.value)


def test_missing_inventory_file(tmp_path):
    with pytest.raises(InventoryError, match="inventory file not found"):
        load_inventory(tmp_path / "nope.yaml")
    assert FIXTURES.is_dir()

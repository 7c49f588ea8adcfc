"""Every guard check, failing and passing. Changes are built from the shipped GitOps fixture."""

from __future__ import annotations

import pytest

from bot.core.edits import AddCidr, Escalate, FileChange, SetKey
from bot.core.guard import GuardPolicy, check_change
from bot.yaml_edit import apply_operations, parse_document, repo_reader
from tests.conftest import FIXTURES
from tools.cmdb import load_inventory

WEB01 = "clusters/prod/web-01/ingress-nginx-controller.yaml"
WEB01_DENY = "clusters/prod/web-01/denylist.yaml"
READ = repo_reader(FIXTURES / "gitops")


INVENTORY = load_inventory(FIXTURES / "cmdb.yaml")


def run(ops, targets=("web-01",), changes=None, policy=None):
    """Apply ``ops`` to the fixture repo (unless ``changes`` are given) and guard the result."""
    changes = changes if changes is not None else apply_operations(ops, READ, {WEB01_DENY: "lines"})
    report = check_change(changes, ops, INVENTORY, targets, policy)
    return report, {c.name: c for c in report.checks}


def _edited(path: str, old: str, new: str) -> FileChange:
    before = (FIXTURES / "gitops" / path).read_text()
    after = before.replace(old, new)
    assert after != before
    after_doc, error = parse_document(after)
    return FileChange(
        path=path,
        before=before,
        after=after,
        before_doc=parse_document(before)[0],
        after_doc=after_doc,
        parse_error=error,
    )


def test_guard_passes_a_small_block_on_an_allowed_config():
    report, checks = run([AddCidr(file=WEB01, key="block-cidrs", value="91.240.118.172/32")])
    assert report.passed, report.summary()
    assert checks["files_in_inventory"].detail == "only configs listed for web-01"


def test_guard_refuses_another_servers_file():
    path = "clusters/prod/web-02/ingress-nginx-controller.yaml"
    report, checks = run([AddCidr(file=path, key="block-cidrs", value="91.240.118.172/32")])
    assert not report.passed
    assert checks["files_in_inventory"].detail == (
        f"not an allowed config of web-01: {path} (listed for web-02)"
    )


def test_guard_refuses_ci_and_workload_files():
    ci = ".github/workflows/deploy.yaml"
    ch = _edited(ci, "runs-on: ubuntu-latest", "runs-on: self-hosted")
    report, checks = run([SetKey(file=ci, key="runs-on", value="x")], changes=[ch])
    assert not checks["no_forbidden_paths"].passed
    assert "CI/CD" in checks["no_forbidden_paths"].detail
    assert not checks["files_in_inventory"].passed
    dep = "clusters/prod/web-01/deployment.yaml"
    ch = _edited(dep, "replicas: 3", "replicas: 0")
    _, checks = run([SetKey(file=dep, key="replicas", value="0")], changes=[ch])
    assert "Deployment is a workload" in checks["no_forbidden_paths"].detail


def test_guard_refuses_broken_yaml():
    ch = _edited(WEB01, 'server-tokens: "false"', 'server-tokens: "false\n  : [')
    _, checks = run([SetKey(file=WEB01, key="server-tokens", value="x")], changes=[ch])
    assert not checks["yaml_valid"].passed
    assert checks["yaml_valid"].detail.startswith(f"{WEB01}: not valid YAML")


def test_guard_refuses_changed_kind_or_name():
    ch = _edited(WEB01, "kind: ConfigMap", "kind: Secret")
    _, checks = run([SetKey(file=WEB01, key="server-tokens", value="x")], changes=[ch])
    assert not checks["kind_and_name_kept"].passed
    ch = _edited(WEB01, "name: ingress-nginx-controller", "name: other")
    _, checks = run([SetKey(file=WEB01, key="server-tokens", value="x")], changes=[ch])
    assert "name/namespace changed" in checks["kind_and_name_kept"].detail


def test_guard_refuses_keys_no_operation_names():
    ch = _edited(WEB01, 'proxy-body-size: "8m"', 'proxy-body-size: "800m"')
    _, checks = run([SetKey(file=WEB01, key="server-tokens", value="false")], changes=[ch])
    assert (
        checks["only_named_keys"].detail == f"{WEB01}: keys changed that no operation names: proxy-body-size"
    )


def test_guard_refuses_set_key_on_allow_lists_and_block_lists():
    for key in ("whitelist-source-range", "allow-snippet-annotations", "block-cidrs"):
        report, checks = run([SetKey(file=WEB01, key=key, value="0.0.0.0/0")])
        assert not checks["only_named_keys"].passed, key
        assert not report.passed


def test_guard_refuses_add_cidr_on_a_non_block_key():
    _, checks = run([AddCidr(file=WEB01, key="proxy-body-size", value="91.240.118.172/32")])
    assert "add_cidr only on the block list key 'block-cidrs'" in checks["only_named_keys"].detail


def test_guard_refuses_a_large_diff():
    ops = [AddCidr(file=WEB01_DENY, key="blocked-cidrs", value=f"45.155.{i}.1/32") for i in range(21)]
    report, checks = run(ops)
    assert checks["diff_size"].detail == "21 changed line(s), limit 20"
    assert not report.passed
    _, checks = run(ops, policy=GuardPolicy(max_changed_lines=25))
    assert checks["diff_size"].passed


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0.0.0.0/0", "blocks the whole internet"),
        ("::/0", "blocks the whole internet"),
        ("45.155.0.0/16", "wider than /24"),
        ("2a0e:1c80::/32", "wider than /48"),
        ("10.20.1.5/32", "not a global unicast network"),
        ("127.0.0.1/32", "not a global unicast network"),
        ("45.155.205.7/24", "not a valid CIDR"),
        ("not-an-ip", "not a valid CIDR"),
    ],
)
def test_guard_refuses_unsafe_addresses(value, reason):
    report, checks = run([AddCidr(file=WEB01, key="block-cidrs", value=value)])
    assert not report.passed
    assert reason in checks["addresses_safe"].detail


def test_guard_refuses_protected_networks_even_when_global(inventory):
    inv = inventory.model_copy(update={"protected_networks": ("91.240.118.0/24",)})
    changes = apply_operations([AddCidr(file=WEB01, key="block-cidrs", value="91.240.118.172")], READ)
    report = check_change(
        changes, [AddCidr(file=WEB01, key="block-cidrs", value="91.240.118.172")], inv, ["web-01"]
    )
    assert "overlaps protected network 91.240.118.0/24" in report.summary()


def test_guard_refuses_removing_blocked_entries():
    ch = _edited(WEB01, '"198.51.100.23/32,192.0.2.0/24"', '"192.0.2.0/24,91.240.118.172/32"')
    _, checks = run([AddCidr(file=WEB01, key="block-cidrs", value="91.240.118.172/32")], changes=[ch])
    assert "entries removed from block-cidrs: 198.51.100.23/32" in checks["addresses_safe"].detail


def test_guard_refuses_escalations_and_empty_changes():
    report, checks = run([Escalate(reason="unclear")], changes=[])
    assert not report.passed and checks["has_change"].detail == "escalation: no change to check"
    report, checks = run([AddCidr(file=WEB01, key="block-cidrs", value="198.51.100.23/32")])
    assert checks["has_change"].detail == "the operations change nothing"


def test_guard_refuses_when_alerts_name_no_target():
    report, checks = run([AddCidr(file=WEB01, key="block-cidrs", value="91.240.118.172/32")], targets=())
    assert checks["files_in_inventory"].detail == "the alerts name no target server"


def test_guard_refuses_path_like_agent_names():
    ops = [AddCidr(file=WEB01, key="block-cidrs", value="91.240.118.172/32")]
    report, _ = run(ops, targets=("../../.github",))
    assert not report.passed


def test_guard_refuses_set_key_outside_the_kinds_hardening_keys():
    report, checks = run([SetKey(file=WEB01, key="use-forwarded-headers", value="false")])
    assert not report.passed
    assert checks["only_named_keys"].detail == (
        f"{WEB01}: set_key may not change 'use-forwarded-headers': not a known hardening key for kind "
        "'ingress-nginx' (an inventory config's set_keys can allow more)"
    )
    report, _ = run([SetKey(file=WEB01, key="ssl-protocols", value="TLSv1.3")])
    assert report.passed


def test_inventory_set_keys_allow_more_but_never_sensitive_keys():
    servers = [
        s.model_copy(
            update={"configs": tuple(c.model_copy(update={"set_keys": ("use-forwarded-headers", "http-snippet")})
                                     for c in s.configs)}
        )
        if s.name == "web-01"
        else s
        for s in INVENTORY.servers
    ]  # fmt: skip
    inventory = INVENTORY.model_copy(update={"servers": tuple(servers)})
    ops = [SetKey(file=WEB01, key="use-forwarded-headers", value="false")]
    assert check_change(apply_operations(ops, READ), ops, inventory, ["web-01"]).passed
    ops = [SetKey(file=WEB01, key="http-snippet", value="return 200;")]
    report = check_change(apply_operations(ops, READ), ops, inventory, ["web-01"])
    assert "set_key may not change 'http-snippet'" in report.summary()

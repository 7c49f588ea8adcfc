"""``secops-bot check``: a person's hand-written operations through the same path as every other fix.

::

    secops-bot check --ops FIX.yaml --repo DIR --cmdb CMDB.yaml --targets web-01[,web-02] [--attacker IP] [--json]

The operations go through exactly :func:`bot.change.try_operations` (parse → apply in memory → guard), the
path that playbooks, the LLM fixer and thread revisions use, so a change that passes here passes there.
Nothing is written. Exit codes: 0 the guard passes (or the operations change nothing), 1 a check fails,
2 bad input (unreadable or invalid operations file, unknown target, bad inventory, operations that cannot
be applied exactly, an ``escalate`` operation).

``--attacker IP`` adds one check, ``covers_attacker``: every ``add_cidr`` must cover the address (an
operation list without ``add_cidr`` fails it). When the operations change nothing, the output names what is
already in place, e.g. "203.0.113.7/32 is already covered by 203.0.113.0/24 in ...".
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot import messages
from bot.clock import Clock
from bot.core.errors import InputError, SecopsError
from bot.setting_names import ENV_NAMES

if TYPE_CHECKING:  # the core's models are imported when the command runs, not for `--help`
    from bot.core.checks import Check

#: Terminal control characters (ANSI escapes among them) in file text are shown, never obeyed.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def register(sub: Any) -> None:
    """Add the ``check`` subcommand to the CLI's subparsers."""
    check = sub.add_parser(
        "check",
        help="guard hand-written operations: print the diff and every guard check (writes nothing)",
        description="Run hand-written edit operations (a YAML list, the format playbooks and the LLM fixer "
        "use) through the same parse, apply and guard path as every proposal, and print the diff and "
        "every guard check. Nothing is written. Exit 0 when the guard passes or nothing changes, 1 when "
        "a check fails, 2 on bad input (operations file, targets, inventory, operations that cannot be "
        "applied, an escalate operation).",
    )
    check.add_argument("--ops", required=True, metavar="FILE", help="YAML file holding a list of operations")
    check.add_argument("--repo", help=f"GitOps repository checkout (env {ENV_NAMES['repo']})")
    check.add_argument("--cmdb", help=f"inventory YAML (env {ENV_NAMES['cmdb']})")
    check.add_argument(
        "--targets",
        required=True,
        metavar="NAMES",
        help="servers the change is for, comma-separated (e.g. web-01,web-02); workloads (namespace/name) for set_image",
    )
    check.add_argument(
        "--attacker",
        metavar="IP",
        help="also check that every add_cidr covers this address (check covers_attacker)",
    )
    check.add_argument("--json", action="store_true", help="one JSON object on stdout, nothing else")
    check.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO, env: dict[str, str], clock: Clock) -> int:
    import orjson

    from agents.router import list_styles
    from bot.change import describe_unchanged, try_operations
    from bot.core.network import host_cidr
    from bot.core.sanitize import plain
    from bot.settings import load_settings
    from bot.yaml_edit import repo_reader
    from tools.cmdb import load_inventory

    settings = load_settings(
        env, {"data_dir": getattr(args, "data_dir", None), "repo": args.repo, "cmdb": args.cmdb}
    )
    settings.require("repo", "cmdb")
    assert settings.repo is not None and settings.cmdb is not None
    if not settings.repo.is_dir():
        raise SecopsError(f"{settings.repo}: GitOps repository directory not found")
    inventory = load_inventory(settings.cmdb)
    targets = tuple(dict.fromkeys(t.strip() for t in args.targets.split(",") if t.strip()))
    if not targets:
        raise InputError(messages.cli_check_no_targets())
    unknown = [t for t in targets if inventory.server(t) is None and inventory.workload(t) is None]
    if unknown:
        raise InputError(messages.cli_check_unknown_targets(unknown))
    attacker = None
    if args.attacker is not None:
        attacker = host_cidr(args.attacker.strip())
        if attacker is None:
            raise InputError(messages.cli_check_bad_attacker(args.attacker))
    data = _read_ops(Path(args.ops))
    read_file = repo_reader(settings.repo)
    tried = try_operations(
        data,
        read_file=read_file,
        inventory=inventory,
        targets=targets,
        policy=settings.guard_policy(),
        list_styles=list_styles(inventory, targets),
    )
    if tried.error is not None:
        raise InputError(messages.cli_check_bad_ops(args.ops, tried.error))
    if tried.escalation is not None:
        raise InputError(messages.cli_check_bad_ops(args.ops, messages.cli_check_escalate(tried.escalation)))
    checks = list(tried.report.checks) if tried.report is not None else []
    if attacker is not None:
        checks.append(_covers_attacker(tried.ops, attacker))
    passed = all(c.passed for c in checks)
    unchanged = describe_unchanged(tried.ops, read_file) if tried.nothing_to_do else []
    files = [c.path for c in tried.changed]
    if args.json:
        row = {
            "passed": passed,
            "checks": [c.model_dump() for c in checks],
            "diff": tried.diff,
            "files": files,
            "unchanged": tried.nothing_to_do,
            "notes": unchanged,
        }
        out.write(orjson.dumps(row).decode() + "\n")
        return 0 if passed else 1
    # Plain writes, no rich console: nothing in a value can be read as markup; control characters are
    # replaced so that file text cannot drive the terminal.
    if tried.nothing_to_do:
        out.write(messages.cli_check_unchanged([plain(u, 400) for u in unchanged]) + "\n")
    else:
        out.write(_CONTROL.sub("?", tried.diff).rstrip("\n") + "\n")
        out.write(messages.cli_check_files(files) + "\n")
    for c in checks:
        out.write(f"{'✓' if c.passed else '✗'} {c.name}: {plain(c.detail, 400)}\n")
    if checks:
        out.write(messages.cli_check_result(passed) + "\n")
    return 0 if passed else 1


def _read_ops(path: Path) -> Any:
    """The operations file as parsed YAML (try_operations validates the operations themselves)."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(messages.cli_check_bad_ops(str(path), "no such file")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            messages.cli_check_bad_ops(str(path), f"cannot read ({exc.__class__.__name__})")
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(
            messages.cli_check_bad_ops(str(path), f"not valid YAML ({str(exc).splitlines()[0]})")
        ) from None


def _covers_attacker(ops: Any, attacker: str) -> Check:
    """Every add_cidr must cover the attacker's address (a fix that blocks something else is a mistake)."""
    from bot.core.checks import Check
    from bot.core.edits import AddCidr
    from bot.core.network import canonical_cidr
    from bot.core.operations.blocklist import covering_entry

    adds = [o for o in ops if isinstance(o, AddCidr)]
    if not adds:
        return Check(name="covers_attacker", passed=False, detail=messages.check_no_add_cidr(attacker))
    missing = [
        f"{o.value} ({o.file})"
        for o in adds
        if covering_entry(attacker, [canonical_cidr(o.value) or o.value]) is None
    ]
    return Check(
        name="covers_attacker", passed=not missing, detail=messages.check_covers_attacker(attacker, missing)
    )

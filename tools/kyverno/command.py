"""``secops-bot policy apply|test``: the CLI face of the Kyverno evaluator.

``register(subparsers)`` adds the ``policy`` command to the bot's argparse tree; each sub-command sets
``func(args, out, err) -> exit code``.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from tools.kyverno import messages
from tools.kyverno.errors import InputError

# The evaluator (its CEL parser is built at import, ~0.25 s) and the binary runner are imported by the
# commands that use them: `secops-bot --help`, `scan` and `serve` never pay for them.

ENGINES = ("ours", "kyverno")


def register(subparsers: Any) -> Any:
    """Add ``policy apply`` and ``policy test`` to an argparse sub-parser collection; returns the ``policy``
    sub-parsers (the CLI adds ``policy preview`` there)."""
    policy = subparsers.add_parser(
        "policy",
        help="evaluate Kyverno validate policies (pure Python, or the kyverno CLI)",
        description="Evaluate Kyverno ClusterPolicy/Policy validate rules without a cluster.",
    )
    sub = policy.add_subparsers(dest="policy_command", metavar="SUBCOMMAND")
    sub.required = True

    apply = sub.add_parser(
        "apply",
        help="apply a policy to resources and print one result per rule and resource",
        description="Apply the policies in POLICY.yaml to the resources. Exit 1 on any fail or error, "
        "3 when nothing failed but some rules use features we do not evaluate.",
    )
    apply.add_argument("policy", type=Path, metavar="POLICY.yaml")
    apply.add_argument("--resource", type=Path, action="append", required=True, metavar="R.yaml")
    apply.add_argument("--values", type=Path, metavar="V.yaml", help="a kyverno CLI Values file")
    _common(apply)
    apply.set_defaults(func=run_apply)

    test = sub.add_parser(
        "test",
        help="run every kyverno-test.yaml under PATH and check each expected result",
        description="Run every kyverno-test.yaml under PATH like `kyverno test`. Exit 1 on any mismatch, "
        "3 when nothing mismatched but some results use features we do not evaluate.",
    )
    test.add_argument("path", type=Path, metavar="PATH")
    _common(test)
    test.set_defaults(func=run_test)
    return sub


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=ENGINES, default="ours", help="evaluator (default: ours)")
    parser.add_argument("--json", action="store_true", help="one JSON object per result line on stdout")


def _emit(out: TextIO, obj: dict[str, Any]) -> None:
    out.write(json.dumps(obj, sort_keys=False) + "\n")


def run_apply(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``policy apply``: evaluate and print; the exit code follows ``kyverno apply``."""
    from tools.kyverno.policy import is_policy, load_documents
    from tools.kyverno.testsuite import Session, ValuesFile

    if args.engine == "kyverno":
        return _apply_with_binary(args, out, err)
    try:
        policies = [d for d in load_documents(args.policy) if is_policy(d)]
        if not policies:
            raise InputError(f"{args.policy} holds no Kyverno policy")
        resources = [d for path in args.resource for d in load_documents(path)]
        values_docs = load_documents(args.values) if args.values else []
    except InputError as exc:
        err.write(messages.INPUT_ERROR.format(error=exc) + "\n")
        return messages.EXIT_USAGE
    session = Session(policies, resources, ValuesFile.parse(values_docs[0] if values_docs else None))
    counts: Counter[str] = Counter()
    for p_index in range(len(policies)):
        for r_index, resource in enumerate(session.resources):
            for result in session.results(p_index, r_index):
                counts[result.status] += 1
                name = _resource_label(resource)
                if args.json:
                    _emit(out, {"policy": result.policy, "rule": result.rule, "resource": name,
                                "result": result.status, "message": result.message})  # fmt: skip
                else:
                    line = messages.RESULT_LINE.format(
                        status=result.status.upper(), policy=result.policy, rule=result.rule,
                        resource=name, message=result.message,
                    )  # fmt: skip
                    out.write(line + "\n")
    if not args.json:
        if not counts:
            out.write(messages.NO_RESULTS + "\n")
        keys = ("pass", "fail", "warn", "error", "skip", "unsupported")
        out.write(messages.APPLY_SUMMARY.format(**{k: counts[k] for k in keys}) + "\n")
    if counts["fail"] or counts["error"]:
        return messages.EXIT_VIOLATIONS
    return messages.EXIT_UNVERIFIED if counts["unsupported"] else messages.EXIT_OK


def _resource_label(resource: dict[str, Any]) -> str:
    meta = resource.get("metadata") or {}
    parts = [str(resource.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name") or "")]
    return "/".join(p for p in parts if p)


def run_test(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``policy test``: run every suite under PATH and compare with the expected results."""
    from tools.kyverno.testsuite import ExpectedResult, find_test_files, run_suite

    if args.engine == "kyverno":
        return _test_with_binary(args, out, err)
    test_files = find_test_files(args.path)
    if not test_files:
        err.write(messages.NO_TEST_FILES.format(path=args.path) + "\n")
        return messages.EXIT_USAGE
    results: list[ExpectedResult] = []
    for test_file in test_files:
        try:
            results.extend(run_suite(test_file, str(test_file)))
        except InputError as exc:
            err.write(messages.INPUT_ERROR.format(error=exc) + "\n")
            return messages.EXIT_USAGE
    for r in results:
        if args.json:
            _emit(out, {k: v for k, v in r.as_dict().items() if k != "detail"} | {"detail": r.detail})
        elif r.actual == "unsupported":
            out.write(messages.TEST_UNSUPPORTED.format(**r.as_dict()) + "\n")
        elif r.wrong:
            out.write(messages.TEST_MISMATCH.format(**r.as_dict()) + "\n")
    wrong = sum(r.wrong for r in results)
    unsupported = sum(r.actual == "unsupported" for r in results)
    if not args.json:
        summary = messages.TEST_SUMMARY.format(
            suites=len(test_files), total=len(results), agree=sum(r.agrees for r in results),
            excluded=sum(r.excluded for r in results), wrong=wrong, unsupported=unsupported,
        )  # fmt: skip
        out.write(summary + "\n")
    if wrong:
        return messages.EXIT_VIOLATIONS
    return messages.EXIT_UNVERIFIED if unsupported else messages.EXIT_OK


def _apply_with_binary(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from tools.kyverno import binary

    exe = binary.find_binary()
    if exe is None:
        err.write(messages.NO_BINARY + "\n")
        return messages.EXIT_USAGE
    result, rows = binary.apply(exe, args.policy, args.resource, args.values)
    if result.returncode is None:
        err.write(messages.BINARY_FAILED.format(error=result.error) + "\n")
        return messages.EXIT_USAGE
    if args.json:
        for row in rows:
            _emit(out, {"policy": row.policy, "rule": row.rule, "resource": row.resource,
                        "result": row.status, "message": row.message})  # fmt: skip
    else:
        out.write(result.stdout)
        err.write(result.stderr)
    return messages.EXIT_VIOLATIONS if result.returncode else messages.EXIT_OK


def _test_with_binary(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from tools.kyverno import binary

    exe = binary.find_binary()
    if exe is None:
        err.write(messages.NO_BINARY + "\n")
        return messages.EXIT_USAGE
    result, rows = binary.test(exe, args.path)
    if result.returncode is None:
        err.write(messages.BINARY_FAILED.format(error=result.error) + "\n")
        return messages.EXIT_USAGE
    if args.json:
        for row in rows:
            agree = row.status == "agree"
            _emit(out, {"test_file": str(args.path), "policy": row.policy, "rule": row.rule,
                        "resource": row.resource, "expected": row.expected or None,
                        "actual": None if agree else row.status, "agrees": agree})  # fmt: skip
    else:
        out.write(result.stdout)
        err.write(result.stderr)
    return messages.EXIT_VIOLATIONS if result.returncode else messages.EXIT_OK

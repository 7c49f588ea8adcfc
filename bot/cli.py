"""The ``secops-bot`` command line: the one place where settings are read and real clients are built.

Commands::

    secops-bot scan --alerts PATH --repo GITOPS_DIR --cmdb CMDB.yaml [--json] [--since ...] [--window ...]
    secops-bot scan --trivy REPORT [--trivy REPORT ...] --repo GITOPS_DIR --cmdb CMDB.yaml [--json]
    secops-bot audit verify
    secops-bot policy apply|test ...
    secops-bot config show

Start-up is kept light (``secops-bot --help`` and ``scan`` in well under 0.2 s of imports): each command's
heavy modules are imported inside the command, never at the top of the modules ``build_parser`` needs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot import __version__, messages
from bot.clock import Clock, SystemClock
from bot.core.errors import SecopsError
from bot.disk import Disk
from bot.logs import configure as configure_logging
from bot.setting_names import CONFIG_ENV, ENV_NAMES, parse_duration

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger("secops_bot")


def _env_help(name: str) -> str:
    return f"(env {ENV_NAMES[name]})"


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    """The three inputs every pipeline command reads."""
    parser.add_argument("--alerts", help=f"Wazuh alerts.json (one JSON object a line) {_env_help('alerts')}")
    parser.add_argument(
        "--trivy",
        action="append",
        metavar="REPORT",
        help="a Trivy JSON report (trivy image/k8s/config/fs) or a file of trivy-operator reports; repeat for "
        f"several (a scan of a candidate tag is evidence for a bump) {_env_help('trivy_reports')}",
    )
    parser.add_argument("--repo", help=f"GitOps repository checkout {_env_help('repo')}")
    parser.add_argument("--cmdb", help=f"inventory YAML {_env_help('cmdb')}")


def _add_indexer(parser: argparse.ArgumentParser) -> None:
    """The Wazuh indexer instead of the alerts file (issue 15; docs/alerts.md, "Wazuh indexer")."""
    parser.add_argument(
        "--indexer",
        metavar="URL",
        help=f"pull alerts from the Wazuh indexer (OpenSearch) {_env_help('indexer')}",
    )
    parser.add_argument(
        "--index",
        metavar="PATTERN",
        help=f"indexer index pattern (default wazuh-alerts-4.x-*; 5.x: wazuh-findings-v5*) {_env_help('indexer_index')}",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="secops-bot",
        description="Turn security alerts into small, guarded, human-approved GitOps changes.",
    )
    parser.add_argument("--version", action="version", version=f"secops-bot {__version__}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"settings file (TOML or YAML, keys named like the environment variables) (env {CONFIG_ENV})",
    )
    parser.add_argument("--data-dir", help=f"state, audit log and caches {_env_help('data_dir')}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (to stderr)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    scan = sub.add_parser(
        "scan",
        help="read alerts and print one guarded proposal per attacker (writes nothing to the repo)",
        description="Read Wazuh alerts, group them by attacker, and print a guarded proposal for each "
        "group. Nothing is written to the GitOps repository.",
    )
    _add_inputs(scan)
    _add_indexer(scan)
    scan.add_argument("--json", action="store_true", help="one JSON object per group on stdout, nothing else")
    scan.add_argument(
        "--k8sgpt",
        action="append",
        metavar="REPORT",
        help="`k8sgpt analyze -o json` output or k8sgpt-operator Result objects; repeat for several",
    )
    scan.add_argument(
        "--policy-reports",
        action="append",
        metavar="FILE",
        help="PolicyReport/ClusterPolicyReport objects (kubectl get -o yaml): evidence for Audit -> Enforce",
    )
    scan.add_argument(
        "--promote-after", type=int, default=14, metavar="DAYS", help="days without failures before Enforce"
    )
    scan.add_argument(
        "--since",
        default="offset",
        help="where to start: 'offset' (after the last scan, default), 'all', a duration (2h, 7d) "
        "back from now, or an ISO-8601 time",
    )
    scan.add_argument("--window", help=f"attacker grouping window, e.g. 15m {_env_help('window')}")
    scan.add_argument("--min-level", type=int, help=f"drop groups below this level {_env_help('min_level')}")
    scan.add_argument(
        "--max-changed-lines", type=int, help=f"guard: largest diff allowed {_env_help('max_changed_lines')}"
    )
    from bot.dependency_cli import add_arguments as add_dependency_arguments

    add_dependency_arguments(scan)  # --deps REPORT --app-repo NAME (issue 18)
    scan.set_defaults(func=cmd_scan)

    serve = sub.add_parser(
        "serve",
        help="run the Slack app: post proposals, take approvals, poll alerts in the background",
        description="Run the Slack app. Socket Mode when SLACK_APP_TOKEN is set (no public endpoint; "
        "/healthz, /readyz and /metrics on SECOPS_HEALTH_PORT); --http serves Bolt's /slack/events "
        "(signed requests only), /healthz, /readyz and /metrics on --port.",
    )
    _add_inputs(serve)
    _add_indexer(serve)
    serve.add_argument("--http", action="store_true", help="HTTP mode instead of Socket Mode")
    serve.add_argument("--host", default="0.0.0.0", help="HTTP mode: address to bind (default 0.0.0.0)")  # noqa: S104
    serve.add_argument("--port", type=int, default=3000, help="HTTP mode: port (default 3000)")
    serve.add_argument("--channel", help=f"channel id for proposals {_env_help('slack_channel')}")
    serve.add_argument("--approvers", help=f"Slack user/group ids, comma-separated {_env_help('approvers')}")
    serve.add_argument("--poll-interval", help=f"seconds between alert polls {_env_help('poll_interval')}")
    serve.set_defaults(func=cmd_serve)

    audit = sub.add_parser("audit", help="inspect the hash-chained audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="SUBCOMMAND")
    audit_sub.required = True
    verify = audit_sub.add_parser("verify", help="check the chain; exit 1 and name the first bad line")
    verify.set_defaults(func=cmd_audit_verify)
    export = audit_sub.add_parser(
        "export", help="write the audit chain kept in SECOPS_DATABASE_URL as a JSON-lines file"
    )
    export.add_argument("--out", required=True, help="the file to create")
    export.set_defaults(func=cmd_audit_export)
    migrate = sub.add_parser(
        "migrate", help="apply the state database's schema migrations (also done at every start)"
    )
    migrate.set_defaults(func=cmd_migrate)

    from tools.kyverno.command import register as register_policy

    preview = register_policy(sub).add_parser(
        "preview",
        help="what a policy would flag among the GitOps repository's manifests (the impact preview)",
        description="Run POLICY.yaml with the pure-Python engine on every manifest of the repository and "
        "print how many resources it would flag, with the first few named.",
    )
    preview.add_argument("policy_file", type=Path, metavar="POLICY.yaml")
    preview.add_argument("--repo", required=True, help="GitOps repository checkout")
    preview.add_argument("--json", action="store_true", help="one JSON object on stdout")
    preview.set_defaults(func=cmd_policy_preview)
    from bot.dedup_command import register as register_dedup

    register_dedup(sub)
    from bot.sync_command import register as register_sync

    register_sync(sub)
    from bot.check_command import register as register_check

    register_check(sub)
    from bot.config_command import register as register_config

    register_config(sub)
    return parser


def _since(value: str, clock: Clock) -> Any:
    from bot.pipeline import Since

    if value == "offset":
        return Since("offset")
    if value == "all":
        return Since("all")
    try:
        return Since("time", clock.now() - parse_duration(value))
    except ValueError:
        pass
    try:
        return Since("time", datetime.fromisoformat(value).timestamp())
    except ValueError:
        raise SecopsError(messages.cli_bad_since(value)) from None


def _settings(args: argparse.Namespace, env: dict[str, str]) -> Settings:
    overrides = {
        "data_dir": getattr(args, "data_dir", None),
        "alerts": getattr(args, "alerts", None),
        "repo": getattr(args, "repo", None),
        "cmdb": getattr(args, "cmdb", None),
        "trivy_reports": getattr(args, "trivy", None),
        "window": getattr(args, "window", None),
        "min_level": getattr(args, "min_level", None),
        "max_changed_lines": getattr(args, "max_changed_lines", None),
        "slack_channel": getattr(args, "channel", None),
        "approvers": getattr(args, "approvers", None),
        "poll_interval": getattr(args, "poll_interval", None),
        "indexer": getattr(args, "indexer", None),
        "indexer_index": getattr(args, "index", None),
    }
    from bot.settings import load_settings

    return load_settings(env, overrides)


def cmd_scan(args: argparse.Namespace, out: TextIO, err: TextIO, env: dict[str, str], clock: Clock) -> int:
    from rich.console import Console

    from bot.render import json_line, print_proposals
    from bot.storage import open_audit, open_state

    settings = _settings(args, env)
    extra = [Path(p) for p in (getattr(args, "k8sgpt", None) or [])]
    policy_reports = [Path(p) for p in (getattr(args, "policy_reports", None) or [])]
    if extra or policy_reports:
        settings = settings.model_copy(update={"trivy_reports": (*settings.trivy_reports, *extra)})
    for path in policy_reports:
        if not path.is_file():
            raise SecopsError(f"{path}: report file not found")
    deps_reports = getattr(args, "deps", None) or []
    if settings.indexer and settings.alerts is not None:
        raise SecopsError(messages.cli_indexer_or_alerts())
    if settings.indexer and not settings.trivy_reports and not policy_reports and not deps_reports:
        return _scan_indexer(args, settings, out, err, clock)
    if settings.alerts is None and not settings.trivy_reports and not policy_reports and not deps_reports:
        raise SecopsError(messages.cli_need_input())
    settings.require("repo", "cmdb")
    assert settings.repo and settings.cmdb
    since = _since(args.since, clock)
    if settings.alerts is not None and not settings.alerts.is_file():
        raise SecopsError(f"{settings.alerts}: alerts file not found")
    for path in settings.trivy_reports:
        if not path.is_file():
            raise SecopsError(f"{path}: report file not found")
    state = open_state(settings, disk=args.disk, now=clock.now())
    audit = open_audit(settings, state, clock, disk=args.disk)
    report = findings = deps = None
    try:
        scanner = build_scanner(settings, state, audit, clock)
        err_console = Console(file=err, stderr=True)
        if settings.alerts is not None:
            size = settings.alerts.stat().st_size
            if not args.json and err.isatty() and size > 32 * 1024 * 1024:
                from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

                with Progress(
                    TextColumn("reading alerts"), BarColumn(), DownloadColumn(), console=err_console
                ) as bar:
                    task = bar.add_task("read", total=size)
                    report = scanner.scan_file(
                        settings.alerts, since, progress=lambda pos: bar.update(task, completed=pos)
                    )
            else:
                report = scanner.scan_file(settings.alerts, since)
        if settings.trivy_reports or policy_reports:
            findings = scanner.scan_reports(
                settings.trivy_reports,
                since,
                policy_reports=policy_reports,
                promote_after_days=args.promote_after,
            )
        if deps_reports:
            deps = _scan_deps(args, settings, scanner)
    finally:
        state.close()
    if report is not None:
        read = report.read
        if read.rotated:
            err.write(messages.cli_rotated(str(settings.alerts)) + "\n")
        if read.malformed_count:
            shown = [(m.line, m.reason) for m in read.malformed]
            err.write(messages.cli_malformed(str(settings.alerts), read.malformed_count, shown) + "\n")
    if findings is not None:
        if findings.policy_report_problems:
            err.write(messages.cli_policy_report_problems(findings.policy_report_problems) + "\n")
        for r in findings.reports:
            if r.malformed or r.problems:
                err.write(
                    messages.cli_findings_problems(r.source, max(r.malformed, len(r.problems)), r.problems)
                    + "\n"
                )
    if deps is not None:
        for r in deps.reports:
            if r.malformed or r.problems:
                err.write(
                    messages.cli_findings_problems(r.source, max(r.malformed, len(r.problems)), r.problems)
                    + "\n"
                )
            if r.not_audited:
                err.write(messages.cli_not_audited(r.source, r.not_audited) + "\n")
    proposals = (report.proposals if report else []) + (findings.proposals if findings else [])
    proposals += deps.proposals if deps else []
    if args.json:
        for p in proposals:
            out.write(json_line(p) + "\n")
        out.flush()
        return 0
    console = Console(
        file=out, highlight=False, markup=False, soft_wrap=False, width=max(100, Console(file=out).width)
    )
    if report is not None:
        read = report.read
        if not read.alert_count and args.since == "offset" and not read.rotated:
            console.print(messages.cli_no_new_alerts(str(settings.alerts)))
        print_proposals(console, report.proposals, report.new_ids)
        console.print(
            messages.cli_scan_summary(report.alerts, report.groups, report.counts(), read.malformed_count)
        )
    if findings is not None:
        for path in findings.unchanged:
            console.print(messages.cli_report_unchanged(path))
        for r in findings.reports:
            console.print(messages.cli_findings_read(r.source, len(r.findings), r.layout))
        print_proposals(console, findings.proposals, findings.new_ids)
        console.print(
            messages.cli_findings_summary(
                findings.findings, len(findings.reports), findings.groups, findings.counts()
            )
        )
    if deps is not None:
        for r in deps.reports:
            console.print(messages.cli_findings_read(r.source, len(r.findings), r.layout))
        print_proposals(console, deps.proposals, deps.new_ids)
        console.print(
            messages.cli_findings_summary(deps.findings, len(deps.reports), deps.groups, deps.counts())
        )
    console.print(messages.cli_repo_untouched())
    return 0


def _scan_indexer(
    args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO, clock: Clock
) -> int:
    """``scan --indexer URL``: the same as a file scan, pulled page by page from the Wazuh indexer."""
    from rich.console import Console

    from bot.render import json_line, print_proposals
    from bot.storage import open_audit, open_state
    from tools.sources.wazuh_indexer import reader_from_settings

    settings.require("repo", "cmdb")
    since = _since(args.since, clock)
    reader = reader_from_settings(settings)
    assert reader is not None
    state = open_state(settings, disk=args.disk, now=clock.now())
    try:
        scanner = build_scanner(settings, state, open_audit(settings, state, clock, disk=args.disk), clock)
        report = scanner.scan_indexer(reader, since)
    finally:
        state.close()
    where = reader.describe()
    for note in report.pull.notes:
        err.write(note + "\n")
    read = report.read
    if read.malformed_count:
        shown = [(m.line, m.reason) for m in read.malformed]
        err.write(messages.cli_indexer_malformed(where, read.malformed_count, shown) + "\n")
    if args.json:
        for p in report.proposals:
            out.write(json_line(p) + "\n")
        out.flush()
        return 0
    console = Console(
        file=out, highlight=False, markup=False, soft_wrap=False, width=max(100, Console(file=out).width)
    )
    if not read.alert_count and args.since == "offset":
        console.print(messages.cli_indexer_no_new_alerts(where))
    print_proposals(console, report.proposals, report.new_ids)
    console.print(
        messages.cli_scan_summary(report.alerts, report.groups, report.counts(), read.malformed_count)
    )
    console.print(messages.cli_repo_untouched())
    return 0


def cmd_policy_preview(
    args: argparse.Namespace, out: TextIO, err: TextIO, env: dict[str, str], clock: Clock
) -> int:
    """``policy preview POLICY.yaml --repo DIR``: the impact preview of every policy in the file."""
    import json

    from bot.core.sanitize import plain
    from bot.policy_proof import SHOWN_FLAGGED, impact, load_repository
    from tools.kyverno.policy import is_policy, load_documents

    repo_dir = Path(args.repo)
    if not repo_dir.is_dir():
        raise SecopsError(f"{repo_dir}: repository not found")
    from tools.kyverno.errors import InputError

    try:
        policies = [d for d in load_documents(Path(args.policy_file)) if is_policy(d)]
    except InputError as exc:
        raise SecopsError(str(exc)) from None
    if not policies:
        raise SecopsError(f"{args.policy_file}: holds no Kyverno policy")
    repo = load_repository(repo_dir)
    if repo.skipped:  # named, not counted only; the exit code stays that of the preview
        err.write(
            messages.cli_preview_skipped([(plain(p, 200), plain(w, 200)) for p, w in repo.skipped]) + "\n"
        )
    for policy in policies:
        flagged, namespaces, unsupported = impact(policy, repo.manifests)
        name = str((policy.get("metadata") or {}).get("name", ""))
        if args.json:
            row = {
                "policy": name,
                "manifests": len(repo.manifests),
                "flagged": [m.short for m in flagged],
                "namespaces": sorted(namespaces),
                "unsupported": unsupported,
            }
            out.write(json.dumps(row) + "\n")
        else:
            # names come from files (a policy, the repository): no terminal control sequences
            shown = [plain(m.short, 120) for m in flagged[:SHOWN_FLAGGED]]
            preview = messages.impact_preview(
                len(flagged), len(namespaces), shown, len(repo.manifests), unsupported
            )
            out.write(messages.cli_policy_preview(plain(name, 120), preview) + "\n")
    return 0


def _scan_deps(args: argparse.Namespace, settings: Settings, scanner: Any) -> Any:
    """``--deps REPORT --app-repo NAME``: bumps in application repositories (paths relative to the inventory)."""
    from bot.dependency_bump import DependencyBumper
    from bot.dependency_cli import report_pairs
    from bot.dependency_scan import scan_dependency_reports
    from tools.github_pulls import open_pulls_from_settings

    assert settings.cmdb is not None
    pairs = report_pairs(args.deps, args.app_repo, scanner.inventory)
    bumper = DependencyBumper(
        scanner.inventory,
        base_dir=settings.cmdb.resolve().parent,
        work_dir=settings.data_dir / "deps",
        osv_url=args.osv_url,
        pulls=open_pulls_from_settings(settings),  # None without GITHUB_TOKEN: no Dependabot/Renovate lookup
    )
    return scan_dependency_reports(scanner, bumper, pairs)


def cmd_serve(args: argparse.Namespace, out: TextIO, err: TextIO, env: dict[str, str], clock: Clock) -> int:
    import threading

    from bot.slack.runtime import build_runtime

    # SIGTERM and SIGINT only ask to stop; the main thread then stops everything in order (see _serve_until).
    stop = threading.Event()
    previous = _on_stop_signals(stop)
    try:
        settings = _settings(args, env)
        settings, refresh = scan_checkout(settings)
        runtime = build_runtime(
            settings,
            clock,
            scanner_factory=lambda state, audit: build_scanner(settings, state, audit, clock),
            publisher_factory=lambda state, audit: build_publisher(settings, state, audit, clock),
            http=args.http,
            before_scan=refresh,
        )
        return _serve_until(stop, runtime, settings, args, err, clock)
    finally:
        _restore_signals(previous)


def _on_stop_signals(stop: Any) -> dict[int, Any]:
    import signal

    previous: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, lambda *_: stop.set())
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    import signal

    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _serve_until(
    stop: Any, runtime: Any, settings: Settings, args: argparse.Namespace, err: TextIO, clock: Clock
) -> int:
    """Run ``serve`` until a stop signal, then: requests, loops, publications in flight, the store."""
    try:
        runtime.client.auth_test()
    except Exception as exc:
        runtime.stop(timeout=5)
        raise SecopsError(messages.serve_token_refused(str(exc))) from None
    from bot.sync import build_syncer

    # without GITHUB_REPOSITORY only application repositories' pull requests are synced (None: neither)
    syncer = build_syncer(
        settings, state=runtime.state, audit=runtime.service.audit, clock=clock, notifier=runtime.poster
    )
    handler = None
    try:
        runtime.start_loops(syncer, settings.sync_interval)
        if args.http:
            port = runtime.start_http(args.host, args.port, webhook=build_webhook(settings, runtime, clock))
            err.write(messages.serve_http(port) + "\n")
        else:
            handler = runtime.connect_socket_mode()
            err.write(messages.serve_socket() + "\n")
            if settings.health_port:
                port = runtime.start_health(args.host, settings.health_port)
                err.write(messages.serve_health_port(port) + "\n")
        report = runtime.ready()
        if not report["ok"]:  # keep running: /readyz stays failing until someone fixes it, then recovers
            failing = [(name, report["checks"][name]) for name in report["failing"]]
            err.write(messages.serve_not_ready(failing) + "\n")
        err.flush()
        # Once serving (not before: the import competes with start-up for the CPU): a proposal that needs
        # an embedding later then does not wait the model's ~6 s load.
        from tools.embedder import shared_embedder

        shared_embedder().load_in_background()
        while not stop.wait(1.0):
            pass
    finally:
        if handler is not None:
            handler.close()
        clean = runtime.stop()
    err.write(messages.serve_stopping(not clean) + "\n")
    return 0


def scan_checkout(settings: Settings) -> tuple[Settings, Any]:
    """Without SECOPS_REPO, `serve` scans its own clone of SECOPS_GIT_REMOTE_URL, refreshed before each scan.

    Proposals are then computed against the latest default branch, not a checkout someone forgot to pull.
    """
    if settings.repo is not None or not settings.git_remote_url:
        return settings, None
    from tools.git_repo import Author, GitRepo, Remote

    clone = GitRepo(
        settings.data_dir / "gitops-scan",
        Remote(settings.git_remote_url, settings.github_token),
        default_branch=settings.git_default_branch,
        author=Author(settings.git_author_name, settings.git_author_email),
    )

    def refresh() -> None:
        with clone.locked():
            clone.fetch()
            clone.reset_to_default()

    refresh()  # the first scan needs a checkout; a failure here stops start-up with the git error
    return settings.model_copy(update={"repo": clone.path}), refresh


def build_publisher(settings: Settings, state: Any, audit: Any, clock: Clock) -> Any:
    """The GitHub publisher when GITHUB_REPOSITORY is set, else a local git publisher (push a branch)."""
    from bot.publisher import build_publisher as make_publisher
    from tools.cmdb import load_inventory

    assert settings.cmdb is not None
    return make_publisher(
        settings, inventory=load_inventory(settings.cmdb), state=state, audit=audit, clock=clock
    )


def build_webhook(settings: Settings, runtime: Any, clock: Clock) -> Any:
    """The GitHub webhook handler for ``serve --http`` (None without a webhook secret: the path is 404)."""
    from bot.webhook import from_settings

    return from_settings(
        settings,
        runtime.state,
        clock,
        notifier=runtime.poster,
        audit=runtime.service.audit,
        lease=runtime.lease,  # several replicas: keeping open PRs fresh is the leader's (bot/webhook.py)
    )


def build_scanner(settings: Settings, state: Any, audit: Any, clock: Clock) -> Any:
    """The scan pipeline with every configured component (playbooks, LLM fixer/reviewer, dedup memory)."""
    from agents.playbooks import load_catalog
    from bot.dedup_command import build_dedup
    from bot.pipeline import Scanner
    from tools.cmdb import load_inventory

    assert settings.repo is not None and settings.cmdb is not None
    if not settings.repo.is_dir():
        raise SecopsError(f"{settings.repo}: GitOps repository directory not found")
    inventory = load_inventory(settings.cmdb)
    long_tail, reviewer = _llm_components(settings, clock, audit)
    return Scanner(
        inventory=inventory,
        repo_root=settings.repo,
        catalog=load_catalog(),
        state=state,
        audit=audit,
        clock=clock,
        policy=settings.guard_policy(),
        window_s=settings.window,
        min_level=settings.min_level,
        campaign_min_attackers=settings.campaign_min_attackers,
        long_tail=long_tail,
        reviewer=reviewer,
        dedup=build_dedup(settings, state, inventory, settings.repo, clock),
    )


def _llm_components(settings: Settings, clock: Clock, audit: Any) -> tuple[Any, Any]:
    """The LLM fixer and reviewer when their models are configured; a same-family pair is refused."""
    if not settings.fixer_model and not settings.reviewer_model:
        return None, None
    from agents.family import model_family, require_cross_family
    from agents.fixer import LlmFixer
    from agents.model import OllamaChat
    from agents.reviewer import LlmReviewer

    def chat(model: str) -> OllamaChat:
        return OllamaChat(
            model, host=settings.ollama_host, timeout=settings.llm_timeout, num_ctx=settings.num_ctx
        )

    fixer_model = chat(settings.fixer_model) if settings.fixer_model else None
    reviewer_model = chat(settings.reviewer_model) if settings.reviewer_model else None
    if fixer_model is not None and reviewer_model is not None:
        require_cross_family(
            model_family(fixer_model.name, fixer_model.show()),
            model_family(reviewer_model.name, reviewer_model.show()),
        )
    fixer = (
        LlmFixer(
            fixer_model,
            clock=clock,
            record=audit.append,
            max_steps=settings.max_steps,
            token_budget=settings.token_budget,
        )
        if fixer_model is not None
        else None
    )
    reviewer = LlmReviewer(reviewer_model, clock=clock, record=audit.append) if reviewer_model else None
    return fixer, reviewer


def cmd_audit_verify(
    args: argparse.Namespace, out: TextIO, err: TextIO, env: dict[str, str], clock: Clock
) -> int:
    from bot.audit_log import AuditLog

    settings = _settings(args, env)
    if settings.database_url is not None:
        return _audit_verify_database(settings, out, err, clock)
    audit = AuditLog(settings.audit_path, clock, disk=getattr(args, "disk", None))
    if not settings.audit_path.exists():
        out.write(messages.cli_audit_missing(str(settings.audit_path)) + "\n")
        return 0
    result, expected = audit.verify()
    if not result.ok:
        err.write(
            messages.cli_audit_bad(str(settings.audit_path), result.bad_line or 0, result.reason) + "\n"
        )
        return 1
    if expected is not None and result.head_seq < expected:
        err.write(messages.cli_audit_truncated(str(settings.audit_path), result.head_seq, expected) + "\n")
        return 1
    out.write(messages.cli_audit_ok(result.lines, result.head_hash) + "\n")
    return 0


def _audit_verify_database(settings: Settings, out: TextIO, err: TextIO, clock: Clock) -> int:
    """``audit verify`` of the chain in the shared database (any replica, or an operator's machine)."""
    from bot.audit_db import DatabaseAuditLog
    from bot.storage import open_state

    state = open_state(settings, now=clock.now())
    try:
        audit = DatabaseAuditLog(state, clock)
        if not audit.exists():
            out.write(messages.cli_audit_empty(state.database.name) + "\n")
            return 0
        result, _ = audit.verify()
    finally:
        state.close()
    if not result.ok:
        err.write(messages.cli_audit_bad(state.database.name, result.bad_line or 0, result.reason) + "\n")
        return 1
    out.write(messages.cli_audit_ok(result.lines, result.head_hash) + "\n")
    return 0


def cmd_audit_export(
    args: argparse.Namespace, out: TextIO, err: TextIO, env: dict[str, str], clock: Clock
) -> int:
    """Write the database's audit chain as a JSON-lines file (the format `audit verify` checks)."""
    from bot.audit_db import DatabaseAuditLog
    from bot.storage import open_state

    settings = _settings(args, env)
    if settings.database_url is None:
        raise SecopsError(
            f"audit export reads the chain in SECOPS_DATABASE_URL; the file {settings.audit_path} is already JSON lines"
        )
    target = Path(args.out)
    state = open_state(settings, now=clock.now())
    try:
        with target.open("x", encoding="utf-8") as f:
            lines = DatabaseAuditLog(state, clock).export(f)
    except FileExistsError:
        raise SecopsError(f"{target}: already exists (choose a new file)") from None
    finally:
        state.close()
    out.write(messages.cli_audit_exported(lines, str(target)) + "\n")
    return 0


def cmd_migrate(args: argparse.Namespace, out: TextIO, err: TextIO, env: dict[str, str], clock: Clock) -> int:
    """Apply the state database's missing migrations (serve and every command also apply them at start)."""
    from bot.database import check_schema, migrate, open_database

    settings = _settings(args, env)
    url = settings.database_url.get_secret_value() if settings.database_url else None
    database = open_database(path=settings.state_path, url=url, disk=getattr(args, "disk", None))
    try:
        applied = migrate(database, clock.now())
        version = check_schema(database)
    finally:
        database.close()
    out.write(messages.cli_migrated(applied, version, database.name) + "\n")
    return 0


def _log_options(env: dict[str, str]) -> tuple[str | None, str | None]:
    """SECOPS_LOG_LEVEL and SECOPS_LOG_FORMAT (environment or config file) for the log set-up.

    Read before the command runs so that its own logging follows them; a bad setting is reported by the
    command itself (with the variable's name), the logs then keep their defaults.
    """
    from bot.settings import load_settings

    try:
        settings = load_settings(env)
    except SecopsError:
        return None, None
    return settings.log_level, settings.log_format


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    env: dict[str, str] | None = None,
    clock: Clock | None = None,
    disk: Disk | None = None,
) -> int:
    """Entry point; returns the exit code (0 ok, 1 a check failed, 2 bad usage, input or storage).

    ``disk`` replaces the file-system calls of the audit log and state store (tests: a disk that fills up).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    env = dict(os.environ) if env is None else env
    clock = clock or SystemClock()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.config:
        env = {**env, CONFIG_ENV: args.config}
    configure_logging(err, args.verbose, *_log_options(env))
    args.disk = disk
    try:
        if args.func.__module__.startswith("tools.kyverno"):
            return int(args.func(args, out, err))
        return int(args.func(args, out, err, env, clock))
    except SecopsError as exc:
        err.write(messages.cli_error(str(exc)) + "\n")
        return 2
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a file the command reads or writes (a full disk): one line, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        err.write(messages.cli_error(f"{where}{exc.strerror or exc}") + "\n")
        return 2
    except sqlite3.OperationalError as exc:  # "database or disk is full" outside the state store's own paths
        err.write(messages.cli_error(str(exc)) + "\n")
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""One dependency group to one proposal (issue 18): the bump made by the ecosystem's tool, the tests run twice,
the scanner run again, the guard.

:class:`DependencyBumper` is what the :class:`bot.pipeline.Scanner` calls for groups of the ``dependency``
family after the router chose the version (:mod:`agents.dependency_bumps`). For one application repository
the inventory lists, at its head commit:

1. an open Dependabot or Renovate pull request bumping the package at least as far suppresses the proposal
   (its link in the reason);
2. worktree A: the test command on the base commit (the baseline);
3. worktree B: the tool makes the bump; every changed path and the listed files are read back; the scanner is
   run again on the result (pip-audit against ``osv_url``; ``npm audit``); the test command runs on the bump;
4. the guard (:func:`bot.core.operations.dependencies.check_bump`) judges it; the test outputs are kept under
   ``<work dir>/tests/<proposal>/`` and their summaries go into the operation's ``evidence`` (so the approval
   binds to them: they are part of the revision hash) and onto the card.

Nothing is written to the application repository; publishing happens only after a human approves.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.dependency_bumps import advisories_from
from agents.router import RouteDecision
from bot import messages
from bot.core.edits import BumpDependency
from bot.core.errors import SecopsError
from bot.core.grouping import AlertGroup
from bot.core.inventory import AppRepo, Inventory
from bot.core.operations.dependencies import (
    OpenPulls,
    ReAudit,
    check_bump,
    other_bot_bump,
    package_changes,
)
from bot.core.proposal import Proposal
from bot.core.redact import redact
from bot.core.sanitize import plain
from bot.core.suite_results import compare
from bot.dependency_candidates import fold_new_advisories
from bot.dependency_memory import BumpMemory
from bot.pipeline import Adopt
from tools import app_repos
from tools.lock_tools import LockTools, missing_tool

log = logging.getLogger(__name__)


Make = Callable[..., Proposal]


class DependencyBumper:
    """Bumps one package of one application repository in throwaway worktrees and guards the result."""

    def __init__(
        self,
        inventory: Inventory,
        *,
        base_dir: Path,
        work_dir: Path,
        osv_url: str | None = None,
        pulls: OpenPulls | None = None,
        reaudit: bool = True,
        lock_tools: LockTools | None = None,
        memory: BumpMemory | None = None,
    ) -> None:
        self.inventory = inventory
        self.base_dir = base_dir
        self.work_dir = work_dir
        self.osv_url = osv_url
        self.pulls = pulls
        self.reaudit = reaudit
        self.lock_tools = lock_tools or LockTools()
        #: merged and rejected bumps (bot/dependency_memory.py); set by the scan when not given
        self.memory = memory
        self._heads: dict[str, tuple[Path, str]] = {}

    # --- reading the repository's head -----------------------------------------------------------------

    def _head(self, app: AppRepo) -> tuple[Path, str]:
        known = self._heads.get(app.name)
        if known is None:
            repo = app_repos.checkout_path(app, self.base_dir, self.work_dir / "clones")
            known = self._heads[app.name] = (repo, app_repos.head(repo))
        return known

    def read_app_file(self, name: str, path: str) -> str:
        """A file of the application repository ``name`` at its head commit (what the router reads)."""
        app = self.inventory.app_repo(name)
        if app is None:
            raise app_repos.AppRepoError(f"{name}: not an application repository of the inventory")
        repo, commit = self._head(app)
        return app_repos.read_at(repo, commit, path)

    # --- one proposal ------------------------------------------------------------------------------------

    def build(self, group: AlertGroup, decision: RouteDecision, make: Make) -> Proposal:
        """The proposal for a routed dependency group (``make(action, **fields)`` builds it)."""
        notes = [n for n in decision.notes if n]
        if decision.escalation:
            return make("escalate", reason=" ".join([decision.escalation, *notes]).strip())
        if not decision.operations:
            return make("suppressed", reason=" ".join(notes) or messages.dep_nothing_to_do())
        op = BumpDependency.model_validate(decision.operations[0])
        app = self.inventory.app_repo(op.app_repo)
        if app is None:
            return make("escalate", reason=messages.dep_esc_no_app_repo(op.app_repo))
        past = self.memory.covering(group, app, op) if self.memory is not None else None
        if past is not None:  # a merged bump covers it, or people rejected this bump recently
            return make("suppressed", operations=(op.model_dump(mode="json"),), reason=past)
        other, unchecked = self._other_bot_pull(app, op)
        if other is not None:
            return make("suppressed", operations=(op.model_dump(mode="json"),), reason=other)
        missing = missing_tool(app, self.lock_tools)
        if missing:
            return make("escalate", reason=missing)
        try:
            return self._bump(group, app, op, notes, make, unchecked)
        except app_repos.AppRepoError as exc:
            return make("escalate", reason=messages.dep_esc_git(app.name, plain(redact(str(exc)), 300)))

    def candidate(self, proposal: Proposal, adopt: Adopt) -> Proposal:
        """A new advisory of a package whose card is undecided: that card's next revision (the group's own
        proposal is stored folded into it); otherwise ``proposal`` itself (bot/dependency_candidates.py)."""
        if self.memory is None:
            return proposal
        return fold_new_advisories(self.memory.state, proposal, adopt)

    def _other_bot_pull(self, app: AppRepo, op: BumpDependency) -> tuple[str | None, str]:
        """The suppression reason when an open Dependabot/Renovate pull request already bumps the package,
        and the note for the card when the lookup could not be done (a bump is then proposed anyway)."""
        if self.pulls is None:
            return None, ""
        try:
            pulls = self.pulls.open_pulls(app)
        except SecopsError as exc:  # GitHub down, slow or refusing: say so on the card, never stop the bump
            log.warning("app repo %s: open pull requests not read (%s)", app.name, exc.__class__.__name__)
            return None, messages.dep_pulls_not_checked(plain(redact(str(exc)), 300))
        except Exception as exc:  # a lookup that fails never stops the bump; the reason is logged by class
            log.warning("app repo %s: open pull requests not read (%s)", app.name, exc.__class__.__name__)
            return None, messages.dep_pulls_not_checked(exc.__class__.__name__)
        for pr in pulls:
            version = other_bot_bump(pr.title, pr.branch, op.ecosystem, op.package, op.to_version)
            if version is not None:
                bot = "Dependabot" if pr.branch.startswith("dependabot/") else "Renovate"
                return messages.dep_suppressed_bot_pull(
                    bot, pr.number, plain(pr.url, 300), op.package, version
                ), ""
        return None, ""

    def _bump(
        self,
        group: AlertGroup,
        app: AppRepo,
        op: BumpDependency,
        notes: list[str],
        make: Make,
        unchecked: str = "",
    ) -> Proposal:
        repo, base = self._head(app)
        before = {}
        for path in app.files:
            try:
                before[path] = app_repos.read_at(repo, base, path)
            except app_repos.AppRepoError:
                continue  # a lockfile the tool creates
        advisories = advisories_from(group.findings)
        logs = self.work_dir / "tests" / (group.id or "group")
        logs.mkdir(parents=True, exist_ok=True)
        home = Path(tempfile.mkdtemp(prefix="secops-home-"))
        try:
            with app_repos.worktree(repo, base) as tree:
                baseline = app_repos.run_tests(app, tree, home / "baseline")
            (logs / "baseline.log").write_text(baseline.output)
            reaudit: ReAudit | None = None
            bumped = None
            with app_repos.worktree(repo, base) as tree:
                error = app_repos.apply_bump(
                    app, tree, op.package, op.from_version, op.to_version, home / "tool", self.lock_tools
                )
                result = app_repos.bump_result(app, tree, before, error)
                if not error:
                    reaudit = self._reaudit(app, tree, op.package, home / "audit")
                    bumped = app_repos.run_tests(app, tree, home / "bump")
                    (logs / "bump.log").write_text(bumped.output)
        finally:
            shutil.rmtree(home, ignore_errors=True)
        tests = compare(baseline.run, bumped.run) if bumped is not None else None
        report = check_bump(op, app, result, advisories, reaudit, tests)
        transitive = package_changes(app, result.before, result.after)
        evidence: dict[str, Any] = {
            "base": base,
            "tests": tests.line if tests else messages.dep_tests_not_run(),
            "tests_before": baseline.run.summary(),
            "tests_after": bumped.run.summary() if bumped else "",
            "new_failures": list(tests.new_failures[:20]) if tests else [],
            "tests_regressed": tests.regressed if tests else True,  # re-checked at publish
            "audit": (
                messages.dep_reaudited()
                if reaudit is not None and reaudit.audited
                else messages.dep_not_reaudited(reaudit.detail if reaudit else "")
            ),
            "package_changes": transitive[:50],
            "logs": str(logs),
        }
        op_dict = {**op.model_dump(mode="json"), "evidence": evidence}
        lines = [evidence["tests"], evidence["audit"], *([unchecked] if unchecked else [])]
        if tests is not None and tests.regressed:
            lines.insert(0, messages.dep_tests_regressed(app.approve_failing_tests))
        reason = messages.dep_reason(op.package, op.from_version, op.to_version, app.name, len(advisories))
        if not report.passed:
            reason = messages.blocked_by_guard(report.summary())
        return make(
            "propose" if report.passed else "blocked",
            operations=(op_dict,),
            files=tuple(sorted(result.changed_paths)),
            diff=result.diff,
            guard=report,
            reason=" ".join([reason, *notes]).strip(),
            notes=tuple(plain(line, 300) for line in lines),
        )

    def _reaudit(self, app: AppRepo, tree: Path, package: str, home: Path) -> ReAudit | None:
        if not self.reaudit:
            return ReAudit(False, detail=messages.dep_reaudit_off())
        home.mkdir(parents=True, exist_ok=True)
        if app.ecosystem == "pip":
            return app_repos.reaudit_pip(app, tree, package, self.osv_url, home)
        return app_repos.reaudit_npm(app, tree, package, home)

"""Did a merged fix work? The pure rules of post-merge verification (bot/verification.py does the I/O).

- Deployed: every Argo CD Application that deploys the fix's files is ``Healthy`` and one of its synced
  revisions contains the merge commit (equal to it, or a descendant: later commits on the default branch
  still carry the fix).
- A block worked when no alert came from the blocked addresses to the targeted hosts during the watch
  period after deployment; otherwise it is still firing.
- An image bump or a policy worked when none of the findings it fixed is in the next report
  (:func:`findings_remaining`: the hook for the finding sources).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Literal

Outcome = Literal["verified", "still_firing"]


def is_deployed(
    health: str,
    revisions: Sequence[str],
    merge_commit: str,
    contains: Callable[[str, str], bool],
) -> bool:
    """True when the app is Healthy and a synced revision contains ``merge_commit`` (``contains(revision,
    commit)`` answers with git)."""
    if health != "Healthy" or not merge_commit:
        return False
    return any(rev == merge_commit or contains(rev, merge_commit) for rev in revisions)


def block_outcome(alerts_since_deployment: int) -> Outcome:
    """A block worked when its attacker sent no alert to its targets after it was deployed."""
    return "verified" if alerts_since_deployment == 0 else "still_firing"


def findings_remaining(fixed: Iterable[str], next_report: Iterable[str]) -> tuple[str, ...]:
    """The ids of the findings a fix addressed that the next report still has (sorted); empty: it worked."""
    present = set(next_report)
    return tuple(sorted({f for f in fixed if f in present}))


def finding_outcome(fixed: Iterable[str], next_report: Iterable[str]) -> Outcome:
    """An image bump or policy worked when none of its findings is in the next report."""
    return "still_firing" if findings_remaining(fixed, next_report) else "verified"

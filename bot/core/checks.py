"""The guard's vocabulary: its limits (:class:`GuardPolicy`), one named check and the whole report.

Kept apart from :mod:`bot.core.guard` so that each operation family's checks (:mod:`bot.core.operations.blocklist`,
:mod:`bot.core.operations.data_keys`, :mod:`bot.core.fidelity`) can build :class:`Check` results without importing the guard.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from bot.core.image_refs import DEFAULT_MUTABLE_TAGS
from bot.core.network import MAX_PREFIX_WIDTH


class GuardPolicy(BaseModel):
    """Limits the guard enforces (configurable, with safe defaults)."""

    model_config = ConfigDict(frozen=True)

    max_changed_lines: int = 20
    max_prefix_v4: int = MAX_PREFIX_WIDTH[4]
    max_prefix_v6: int = MAX_PREFIX_WIDTH[6]
    #: Address budget per proposal, whatever the split into entries.
    max_added_entries: int = 32
    max_total_v4: int = 256  # addresses
    max_total_v6_prefix: int = 48  # total IPv6 space at most one /48
    #: Block-list entries the bot itself added and recorded, as (file, key, entry): the only entries a
    #: ``remove_cidr`` may take out (expired blocks). Empty by default: no removal passes.
    removable: frozenset[tuple[str, str, str]] = frozenset()
    #: Image tags that name a moving target: a ``set_image`` never writes one (compared case-insensitively).
    mutable_tags: tuple[str, ...] = DEFAULT_MUTABLE_TAGS


class Check(BaseModel):
    """One named check and its outcome."""

    model_config = ConfigDict(frozen=True)

    name: str
    passed: bool
    detail: str


class GuardReport(BaseModel):
    """All checks; ``passed`` only when every one passed."""

    model_config = ConfigDict(frozen=True)

    passed: bool
    checks: tuple[Check, ...]

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.passed)

    def summary(self) -> str:
        """One line naming the failed checks, or ``all N checks passed``."""
        if self.passed:
            return f"all {len(self.checks)} checks passed"
        return "; ".join(f"{c.name}: {c.detail}" for c in self.failures)

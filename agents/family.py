"""Model families: the reviewer must come from another family than the fixer.

A model reviewing its own family's work approves nearly everything. The family is read from Ollama's
``/api/show`` details (``family``, e.g. ``qwen3moe``) when the server answers, otherwise from the model
name (``qwen3:30b-a3b`` → ``qwen``). Both are normalised the same way: the leading letters, lower case,
with known aliases folded (``codellama`` → ``llama``, ``qwq`` → ``qwen``, ``mixtral`` → ``mistral``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot import messages
from bot.core.errors import ConfigError

_ALIASES = {
    "codellama": "llama",
    "tinyllama": "llama",
    "vicuna": "llama",
    "qwq": "qwen",
    "codeqwen": "qwen",
    "codegemma": "gemma",
    "shieldgemma": "gemma",
    "mixtral": "mistral",
    "ministral": "mistral",
    "codestral": "mistral",
}
_LETTERS = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Family:
    """A model's family and how it was decided (``api/show`` or ``name``)."""

    model: str
    family: str
    source: str


def normalise(text: str) -> str:
    """``qwen2`` / ``Qwen3MoE`` / ``qwen2.5-coder`` → ``qwen``."""
    m = _LETTERS.match(text.strip().lower())
    word = m.group(0) if m else text.strip().lower()
    for suffix in ("moe", "vl", "bert"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            word = word[: -len(suffix)]
    return _ALIASES.get(word, word)


def family_from_name(model: str) -> str:
    """The family a model name implies: the repository part, without namespace or tag."""
    base = model.split(":", 1)[0].rsplit("/", 1)[-1]
    return normalise(base)


def model_family(model: str, details: Mapping[str, Any] | None) -> Family:
    """Decide a model's family from ``/api/show`` details when given, else from its name."""
    if details:
        raw = details.get("family") or next(iter(details.get("families") or ()), None)
        if isinstance(raw, str) and raw.strip():
            return Family(model=model, family=normalise(raw), source="api/show")
    return Family(model=model, family=family_from_name(model), source="name")


def require_cross_family(fixer: Family, reviewer: Family) -> None:
    """Refuse a reviewer of the fixer's own family, saying how each family was decided."""
    if fixer.family == reviewer.family:
        raise ConfigError(
            messages.llm_same_family(fixer.model, reviewer.model, fixer.family, fixer.source, reviewer.source)
        )

"""Prompt templates: YAML package data (``agents/prompts/*.yaml``) rendered with explicit inputs.

Templates use :class:`string.Template` (``${name}``) so that braces in examples or data need no escaping,
and rendering fails loudly when an input is missing. Values are inserted once and never re-rendered, so a
``${...}`` written by an attacker stays literal text.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template
from typing import Any

import yaml

from bot.core.errors import ConfigError


@cache
def load_prompts(name: str) -> dict[str, Any]:
    """The templates of one prompt file (``fixer`` or ``reviewer``)."""
    text = resources.files("agents").joinpath("prompts", f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ConfigError(f"agents/prompts/{name}.yaml: expected a mapping of templates")
    return data


def render(name: str, part: str, **inputs: str) -> str:
    """Render one template of a prompt file with exactly the given inputs."""
    template = load_prompts(name).get(part)
    if not isinstance(template, str):
        raise ConfigError(f"agents/prompts/{name}.yaml has no template {part!r}")
    try:
        return Template(template).substitute(inputs).rstrip("\n")
    except KeyError as exc:
        raise ConfigError(f"agents/prompts/{name}.yaml: {part} needs input {exc.args[0]!r}") from None

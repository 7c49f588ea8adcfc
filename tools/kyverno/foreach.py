"""``validate.foreach`` (docs/kyverno-semantics §10)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tools.kyverno.context import load_entries
from tools.kyverno.errors import EvalError, UnknownKey
from tools.kyverno.jmes import search
from tools.kyverno.variables import substitute

# (status, message); status None means "no response"
Outcome = tuple[str | None, str]
Body = Callable[[dict[str, Any], dict[str, Any], Any], Outcome]


def validate_foreach(
    entries: list[dict[str, Any]],
    ctx: dict[str, Any],
    resource: Any,
    body: Body,
    foreach_values: dict[str, list[Any]],
    depth: int = 0,
) -> Outcome:
    """Evaluate every foreach entry; the first fail or error decides, all-skipped means no response."""
    applied = 0
    list_error: str | None = None
    for entry in entries:
        expression = str(entry.get("list", ""))
        if ctx["request"].get("operation") == "DELETE":
            expression = expression.replace("request.object", "request.oldObject")
        try:
            elements = search(substitute(expression, ctx) if "{{" in expression else expression, ctx)
        except UnknownKey:
            continue
        except EvalError as exc:
            list_error = f"failed to evaluate list {expression}: {exc}"
            continue
        if not isinstance(elements, list):
            elements = [elements]
        for index, element in enumerate(elements):
            if element is None:
                continue
            status, message = _element(entry, ctx, resource, body, foreach_values, depth, index, element)
            if status in (None, "skip"):
                continue
            if status in ("fail", "error", "unsupported"):
                return status, message
            applied += 1
    if applied == 0:
        return ("error", list_error) if list_error else (None, "")
    return "pass", ""


def _element(
    entry: dict[str, Any],
    ctx: dict[str, Any],
    resource: Any,
    body: Body,
    foreach_values: dict[str, list[Any]],
    depth: int,
    index: int,
    element: Any,
) -> Outcome:
    scoped = dict(ctx)
    scoped["element"] = element
    scoped["elementIndex"] = index
    scoped[f"element{depth}"] = element
    scoped[f"elementIndex{depth}"] = index
    scope = entry.get("elementScope")
    if scope is True and not isinstance(element, dict):
        return (
            "error",
            f"cannot use elementScope=true foreach rules for elements that are not maps, got {element!r}",
        )
    target = element if (isinstance(element, dict) and scope is not False) else resource
    mocks = {k: v[index] for k, v in foreach_values.items() if isinstance(v, list) and index < len(v)}
    try:
        load_entries(entry.get("context"), scoped, mocks)
        from tools.kyverno.conditions import evaluate_conditions

        if not evaluate_conditions(entry.get("preconditions"), scoped):
            return "skip", "preconditions not met"
    except EvalError:
        return "skip", "preconditions could not be evaluated"
    if entry.get("foreach"):
        return validate_foreach(entry["foreach"], scoped, target, body, foreach_values, depth + 1)
    return body(entry, scoped, target)

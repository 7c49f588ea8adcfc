"""Applying policy operations in memory: ``add_policy`` renders one new file; ``set_policy_mode`` changes
one scalar (the failure action) in place, every other byte kept."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from bot.core.edits import AddPolicy, FileChange, PolicyOp, SetPolicyMode
from bot.core.errors import DocumentError
from bot.yaml_edit import ReadFile
from tools.kyverno.policy import safe_load_unique

HEADER = "# Created by secops-bot in Audit; proven by the Kyverno engine before the PR (see the PR body).\n"


def render_policy(policy: dict[str, Any]) -> str:
    """The file text of a new policy: a header line and the document, keys in their given order."""
    return HEADER + yaml.safe_dump(policy, sort_keys=False, default_flow_style=False, allow_unicode=False)


def _exists(path: str, read_file: ReadFile) -> bool:
    try:
        read_file(path)
    except DocumentError as exc:
        if "no such file" in str(exc):
            return False
        raise
    return True


def apply_policy_operations(ops: Sequence[PolicyOp], read_file: ReadFile) -> list[FileChange]:
    """One :class:`FileChange` per operation; raises :class:`DocumentError` naming the file when it cannot."""
    out: list[FileChange] = []
    for op in ops:
        if isinstance(op, AddPolicy):
            if _exists(op.file, read_file):
                raise DocumentError(f"{op.file}: already exists; add_policy only creates a new file")
            text = render_policy(op.policy)
            out.append(
                FileChange(
                    path=op.file, before="", after=text, before_doc=None, after_doc=yaml.safe_load(text)
                )
            )
        elif isinstance(op, SetPolicyMode):
            before = read_file(op.file)
            after = set_mode(before, op)
            out.append(
                FileChange(
                    path=op.file,
                    before=before,
                    after=after,
                    before_doc=_load(before, op.file),
                    after_doc=_load(after, op.file),
                )
            )
    return out


def _load(text: str, path: str) -> Any:
    """The document of a policy file; a key given twice is refused (the editor and the reader could otherwise
    disagree on which ``validationFailureAction`` is the policy's)."""
    try:
        return safe_load_unique(text)
    except yaml.constructor.ConstructorError as exc:
        raise DocumentError(f"{path}: refused: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise DocumentError(f"{path}: not valid YAML ({exc.__class__.__name__})") from None


def set_mode(text: str, op: SetPolicyMode) -> str:
    """``text`` with the one failure-action scalar changed from ``op.expect`` to ``op.value``."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        raise DocumentError(f"{op.file}: not valid YAML, or several documents") from None
    node = _field(root, op)
    value = node.value
    if value != op.expect:
        raise DocumentError(f"{op.file}: the failure action is {value!r}, not {op.expect!r}")
    start, end = node.start_mark.index, node.end_mark.index
    quote = text[start] if text[start] in "'\"" else ""
    return text[:start] + f"{quote}{op.value}{quote}" + text[end:]


def _get(node: Any, key: str) -> Any:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


def _field(root: Any, op: SetPolicyMode) -> yaml.ScalarNode:
    meta = _get(root, "metadata")
    name = _get(meta, "name")
    if not isinstance(name, yaml.ScalarNode) or name.value != op.policy:
        raise DocumentError(f"{op.file}: holds no policy named {op.policy!r}")
    spec = _get(root, "spec")
    found = []
    top = _get(spec, "validationFailureAction")
    if isinstance(top, yaml.ScalarNode):
        found.append(top)
    rules = _get(spec, "rules")
    for rule in rules.value if isinstance(rules, yaml.SequenceNode) else []:
        action = _get(_get(rule, "validate"), "failureAction")
        if isinstance(action, yaml.ScalarNode):
            found.append(action)
    if len(found) != 1:
        raise DocumentError(
            f"{op.file}: sets the failure action in {len(found)} places; set_policy_mode changes exactly one field"
        )
    return found[0]

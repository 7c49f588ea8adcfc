"""The fixer's answer: the JSON schema it must match for one workspace, and reading a reply.

The schema is :func:`bot.core.edits.operations_schema` of exactly the operations a Wazuh alert group may
use (``add_cidr``, ``set_key``, ``escalate``: never ``set_image`` or ``remove_cidr``), narrowed with the
workspace's facts: one ``add_cidr`` variant per allowed config with a block list (its path and key as
constants; none when the alerts name no attacker) and one ``set_key`` variant per config with the keys
``set_key`` may write there; an escalation's reason is cut to what the message shows (400 characters).
The narrowing only adds ``const``/``enum`` and a shorter limit to the models' own schemas; the guard
still judges every answer.

A reply is read as that JSON first. Servers without structured outputs answer in free text, so a fenced
block (```` ```json ```` or ```` ```yaml ````) is the fallback; :class:`Parsed` says which was used.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from agents.workspace import Workspace
from bot.core.edits import AddCidr, AddPolicy, Escalate, SetKey, answer_schema, operations_schema
from bot.core.inventory import ConfigRef
from bot.core.operations.data_keys import GRAMMARS, grammar_for
from tools.kyverno.policy import safe_load_unique

#: The operations the fixer of a Wazuh alert group may use, in the order the prompt lists them.
WAZUH_OPERATIONS: tuple[type[BaseModel], ...] = (AddCidr, SetKey, Escalate)

MAX_BLOCK_CHARS = 8000
#: The escalation reason the fixer shows (longer ones are cut there), so the longest a model may write.
MAX_REASON_CHARS = 400
AnswerFormat = Literal["schema", "fenced"]

_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


@dataclass(frozen=True)
class Parsed:
    """The operations of a reply, or why there are none; ``format`` says how they were read."""

    operations: list[Any] | None
    error: str | None
    format: AnswerFormat | None = None


def settable_keys(cfg: ConfigRef) -> list[str]:
    """The data keys ``set_key`` may write in this config (its kind's grammars and its ``set_keys``)."""
    keys = [*GRAMMARS.get(cfg.kind, {}), *cfg.set_keys]
    return [k for k in dict.fromkeys(keys) if grammar_for(k, cfg) is not None]


def fixer_schema(workspace: Workspace) -> dict[str, Any]:
    """The answer schema for one group: the allowed operations, pinned to the allowed files and keys."""
    schema = operations_schema(WAZUH_OPERATIONS)
    base = {m: answer_schema(m) for m in (AddCidr, SetKey)}
    variants: list[dict[str, Any]] = []
    for _server, cfg in workspace.configs():
        if cfg.block_key and workspace.attacker:
            variants.append(_pinned(base[AddCidr], file=cfg.path, key={"const": cfg.block_key}))
        keys = settable_keys(cfg)
        if keys:
            variants.append(_pinned(base[SetKey], file=cfg.path, key={"enum": keys}))
    choices = schema["properties"]["operations"]["anyOf"]
    choices[1]["items"]["properties"]["reason"]["maxLength"] = MAX_REASON_CHARS
    if variants:
        choices[0]["items"] = variants[0] if len(variants) == 1 else {"anyOf": variants}
    else:  # nothing to edit: only an escalation fits
        schema["properties"]["operations"] = choices[1]
    return schema


#: The operations the fixer of a misconfiguration without a vetted template may use (docs/policies.md).
POLICY_OPERATIONS: tuple[type[BaseModel], ...] = (AddPolicy, Escalate)
#: Fixtures a fixer's policy may carry of each kind (AddPolicy allows 20; a reviewable proposal needs fewer).
MAX_FIXTURES = 6


def policy_schema(
    directories: list[str], namespace: str = "", namespace_directories: list[str] | None = None
) -> dict[str, Any]:
    """The answer schema for a misconfiguration no template answers: one ``add_policy`` (a new file in a listed
    policy directory, no template, a kyverno.io ClusterPolicy, one to six must-pass and must-fail fixtures) or
    one escalation. With ``namespace`` (the one namespace the finding's resources are in, which
    ``namespace_directories`` list for policies) a namespaced ``Policy`` there is offered too, its file in one
    of those directories. The evidence is not the model's to write (the bot fills in the group's findings), so
    it is left out. The guard still judges every answer (docs/policies.md)."""
    schema = operations_schema(POLICY_OPERATIONS, max_items=1)
    choices = schema["properties"]["operations"]["anyOf"]
    choices[1]["items"]["properties"]["reason"]["maxLength"] = MAX_REASON_CHARS
    item = choices[0]["items"]
    props = item["properties"]
    del props["evidence"]
    item["required"] = list(props)
    props["file"] = _policy_file(directories)
    props["template"] = {"type": "string", "const": ""}
    props["policy"] = _policy_document("ClusterPolicy", {"type": "object"})
    for key in ("must_pass", "must_fail"):
        props[key] = {**props[key], "minItems": 1, "maxItems": MAX_FIXTURES}
    if namespace and namespace_directories:
        namespaced = copy.deepcopy(item)
        namespaced["properties"]["file"] = _policy_file(namespace_directories)
        meta = {
            "type": "object",
            "properties": {"name": {"type": "string"}, "namespace": {"type": "string", "const": namespace}},
            "required": ["name", "namespace"],
        }
        namespaced["properties"]["policy"] = _policy_document("Policy", meta)
        choices[0]["items"] = {"anyOf": [item, namespaced]}
    return schema


def _policy_file(directories: list[str]) -> dict[str, Any]:
    folders = "|".join(re.escape(d.rstrip("/")) for d in directories) or "(?!)"
    return {"type": "string", "pattern": f"^({folders})/[a-z0-9][-a-z0-9]{{0,62}}\\.yaml$"}


def _policy_document(kind: str, metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string", "const": "kyverno.io/v1"},
            "kind": {"type": "string", "const": kind},
            "metadata": metadata,
            "spec": {"type": "object"},
        },
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
    }


def _pinned(variant: dict[str, Any], *, file: str, key: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(variant)
    out["properties"]["file"] = {"type": "string", "const": file}
    out["properties"]["key"] = {"type": "string", **key}
    return out


def parse_answer(text: str) -> Parsed:
    """The operations in a reply: the JSON answer, else one fenced block; or the precise reason for neither."""
    text = _THINK.sub("", text).strip()
    if text.startswith("{"):
        try:
            data = json.loads(text, object_pairs_hook=_unique_pairs)
        except _DuplicateKey as exc:
            return Parsed(
                None, f"the answer gives the key {exc.key!r} twice in one object; give each key once"
            )
        except ValueError as exc:
            return Parsed(None, f"the answer is not valid JSON ({exc}); answer with one JSON object")
        ops, error = _from_json(data)
        return Parsed(ops, error, "schema" if ops is not None else None)
    ops, error = _fenced(text)
    return Parsed(ops, error, "fenced" if ops is not None else None)


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key[:40]


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (``json`` keeps the last, another reader the first): a
    policy with two ``validationFailureAction`` keys is no one policy."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _from_json(data: Any) -> tuple[list[Any] | None, str | None]:
    if isinstance(data, dict) and isinstance(data.get("operations"), list) and data["operations"]:
        # JSON keeps true/false and numbers typed; ConfigMap data values are strings (a policy's are typed, and
        # _strings only touches an operation's own top-level fields, none of which is a policy's).
        return [_strings(o) for o in data["operations"]], None
    return None, 'expected {"operations": [...]}, a non-empty list of operations'


def _strings(op: Any) -> Any:
    if not isinstance(op, dict):
        return op
    out = {}
    for k, v in op.items():
        out[k] = ("true" if v else "false") if isinstance(v, bool) else v
    return out


def _fenced(text: str) -> tuple[list[Any] | None, str | None]:
    blocks = [body for _lang, body in _FENCE.findall(text)]
    if not blocks:
        return None, 'no JSON object and no fenced block in the answer; answer with {"operations": [...]}'
    results: list[tuple[Any, str | None]] = []
    for body in blocks:
        if len(body) > MAX_BLOCK_CHARS:
            results.append((None, f"the block is {len(body)} characters long, limit {MAX_BLOCK_CHARS}"))
            continue
        try:
            # BaseLoader: every scalar stays a string, as ConfigMap data is (`value: no` means "no",
            # not False); it builds only str, list and dict, never objects. JSON is YAML too.
            data = yaml.load(body, Loader=yaml.BaseLoader)  # noqa: S506
        except yaml.YAMLError as exc:
            results.append((None, f"the block is not valid YAML or JSON ({str(exc).splitlines()[0]})"))
            continue
        if isinstance(data, dict) and "operations" in data:
            data = data["operations"]
        if _has_policy(data):
            # A policy is typed YAML (``privileged: false`` is a boolean the engine compares), unlike ConfigMap
            # data: read again with the safe loader (plain types only), and without aliases (no expansion bomb
            # reaches the engine or the digest).
            if any(isinstance(ev, yaml.AliasEvent) for ev in yaml.parse(body, Loader=yaml.SafeLoader)):
                results.append((None, "the block uses YAML aliases (*name); write the policy out in full"))
                continue
            try:
                data = safe_load_unique(body)
            except yaml.constructor.ConstructorError as exc:
                results.append((None, f"the block is refused: {exc.problem}; give each key once"))
                continue
            except yaml.YAMLError as exc:
                results.append((None, f"the block is not valid YAML ({str(exc).splitlines()[0]})"))
                continue
            if isinstance(data, dict) and "operations" in data:
                data = data["operations"]
        results.append(_as_operation_list(data))
    usable = [r for r in results if r[1] is None]
    if len(results) == 1 or len(usable) == 1:
        return usable[0] if usable else results[0]
    if not usable:
        return results[0]
    return None, f"found {len(usable)} blocks of operations; answer with exactly one"


def _has_policy(data: Any) -> bool:
    items = data if isinstance(data, list) else [data]
    return any(isinstance(o, dict) and o.get("op") == "add_policy" for o in items)


def _as_operation_list(data: Any) -> tuple[Any, str | None]:
    if isinstance(data, dict) and "op" in data:
        return [data], None
    if isinstance(data, dict) and ("kind" in data or "apiVersion" in data or "data" in data):
        return None, "that is a whole file; file rewrites are not accepted, only edit operations"
    if not isinstance(data, list) or not data:
        return None, "expected a list of operations, each a mapping with 'op'"
    return data, None

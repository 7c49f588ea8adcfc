"""Fixes as semantic edit operations: the small YAML format playbooks, the LLM fixer and humans share.

::

    - op: add_cidr      # add to a CIDR list held in a ConfigMap data key
      file: clusters/prod/web-01/ingress-nginx-controller.yaml
      key: block-cidrs
      value: 203.0.113.7/32
    - op: set_key       # set a ConfigMap data key to a string value
      file: clusters/prod/web-01/ingress-nginx-controller.yaml
      key: server-tokens
      value: "false"
    - op: remove_cidr   # remove one entry the bot added (the guard allows only recorded entries)
      file: clusters/prod/web-01/ingress-nginx-controller.yaml
      key: block-cidrs
      value: 203.0.113.7/32
    - op: set_image     # change one image reference (compare-and-set), with its evidence
      file: apps/shop/deployment.yaml
      workload: shop/shop-web
      target: container:web        # container:<name> | values:<dotted path> | kustomize:<images[].name>
      expect: nginx:1.16           # the reference the file holds now; anything else refuses the edit
      value: nginx:1.16.1
      evidence:
        findings: [CVE-2019-20367]
        report: reports/shop.json
        reason: "1.16.1 is the primary package's fixed version in the repository's tag style"
    - op: add_policy    # create one Kyverno policy file (Audit) in a listed kyverno-policies directory
      file: clusters/prod/policies/require-ingress-class.yaml
      template: require-ingress-class
      policy: {apiVersion: kyverno.io/v1, kind: ClusterPolicy, ...}
      must_pass: [...]               # resources the engine must admit
      must_fail: [...]               # resources the engine must flag
      evidence: {findings: [K8SGPT-INGRESS-NO-CLASS], resources: [shop/Ingress/web]}
    - op: set_policy_mode  # one policy's action Audit -> Enforce, with evidence of zero violations
      file: clusters/prod/policies/require-ingress-class.yaml
      policy: require-ingress-class
    - op: bump_dependency   # one package of an application repository (not the GitOps repository)
      app_repo: orders-web
      ecosystem: npm
      package: lodash
      from: 4.17.11
      to: 4.17.12
      files: [package.json, package-lock.json]
      advisories: [GHSA-jf85-cpcp-j695]
    - op: escalate      # no safe fix: tell humans why
      reason: "..."

Unknown operations or fields are errors that say what is allowed. The engine that applies operations to
files lives in :mod:`bot.yaml_edit`; this module only defines and validates them.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from bot.core.errors import OperationError
from bot.core.paths import normalise_repo_path

_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")


class _FileOp(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    key: str

    @field_validator("file")
    @classmethod
    def _file_is_repo_path(cls, value: str) -> str:
        return normalise_repo_path(value)

    @field_validator("key")
    @classmethod
    def _key_is_configmap_key(cls, value: str) -> str:
        if not _KEY.match(value):
            raise ValueError(f"key {value!r} is not a valid ConfigMap data key")
        return value


class _CidrOp(_FileOp):
    """An operation on one entry of a block list: ``value`` is one address or CIDR."""

    value: str

    @field_validator("value")
    @classmethod
    def _value_is_one_entry(cls, value: str) -> str:
        value = str(value).strip()
        if not value or any(c in value for c in ",\n #"):
            raise ValueError(f"value {value!r} must be one address or CIDR")
        return value


class AddCidr(_CidrOp):
    """Add an address or CIDR to a block list held in a ConfigMap data key (idempotent)."""

    op: Literal["add_cidr"] = "add_cidr"


class RemoveCidr(_CidrOp):
    """Remove one entry from a block list held in a ConfigMap data key.

    The guard allows it only for an entry the bot itself added and recorded (an expired block); an entry
    people wrote is never removed.
    """

    op: Literal["remove_cidr"] = "remove_cidr"


class SetKey(_FileOp):
    """Set a ConfigMap data key to a string value: one line of printable text, at most 512 characters.

    Whether the value fits its key is the guard's decision (:mod:`bot.core.operations.data_keys`); this only refuses
    what no key accepts, so a bad value is named at parse time.
    """

    op: Literal["set_key"] = "set_key"
    value: str = Field(max_length=512)

    @field_validator("value", mode="before")
    @classmethod
    def _scalar(cls, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | str):
            return str(value)
        raise ValueError("value must be a string (ConfigMap data values are strings)")

    @field_validator("value")
    @classmethod
    def _one_printable_line(cls, value: str) -> str:
        for ch in value:
            # Cc: newline, tab, NUL...; Cf: bidi overrides and zero-width; Zl/Zp: line/paragraph separators.
            if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
                raise ValueError(
                    f"value contains the control character U+{ord(ch):04X}: "
                    "a set_key value is one line of printable text"
                )
        return value


_TARGET = re.compile(r"^(container|values|kustomize):[A-Za-z0-9][-._/A-Za-z0-9]{0,252}$")


class ImageEvidence(BaseModel):
    """Why a bump: the finding ids it fixes, the report they came from, and how the version was chosen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    findings: tuple[str, ...] = Field(min_length=1, max_length=500)
    report: str = Field(default="", max_length=1000)
    reason: str = Field(default="", max_length=1000)


class SetImage(BaseModel):
    """Change exactly one image reference in a file the inventory lists for the workload.

    ``target`` says which reference: ``container:<name>`` (a container or initContainer's ``image``),
    ``values:<dotted path>`` (a Helm values mapping with ``repository``/``tag``/``digest``) or
    ``kustomize:<name>`` (the ``images:`` entry with that ``name``). ``expect`` is the reference the file
    holds now (compare-and-set: a file that moved on refuses the edit) and ``value`` the new one, both full
    references (``nginx:1.16`` → ``nginx:1.16.1``). Whether the bump is allowed is the guard's decision.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: Literal["set_image"] = "set_image"
    file: str
    workload: str = Field(min_length=1, max_length=507)
    target: str
    expect: str = Field(min_length=1, max_length=512)
    value: str = Field(min_length=1, max_length=512)
    evidence: ImageEvidence

    @field_validator("file")
    @classmethod
    def _file_is_repo_path(cls, value: str) -> str:
        return normalise_repo_path(value)

    @field_validator("target")
    @classmethod
    def _target_form(cls, value: str) -> str:
        if not _TARGET.match(value):
            raise ValueError(
                f"target {value!r} must be container:<name>, values:<dotted path> or kustomize:<image name>"
            )
        return value

    @property
    def key(self) -> str:
        """The edited place, for messages that name a key."""
        return self.target


class PolicyEvidence(BaseModel):
    """Why a policy: the finding ids it answers and the resources they were found on (``ns/Kind/name`` or a
    repository path), which the proof must show failing; for a promotion, the evidence period."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    findings: tuple[str, ...] = Field(default=(), max_length=500)
    resources: tuple[str, ...] = Field(default=(), max_length=500)
    reason: str = Field(default="", max_length=1000)
    #: set_policy_mode only: which evidence the proposal carried ("policy-reports" or "engine"), and the digest
    #: of the Audit document it was gathered for; publishing re-checks the same kind (docs/policies.md).
    #: For "policy-reports", ``resources`` are the repository manifests the engine did not admit at the scan.
    basis: Literal["", "policy-reports", "engine"] = ""
    policy_sha: str = Field(default="", max_length=64)


class AddPolicy(BaseModel):
    """Create one new Kyverno policy file in a directory the inventory lists (``kind: kyverno-policies``).

    ``policy`` is the document (a mapping); ``must_pass``/``must_fail`` are the resources the engine must
    admit and flag (a template's own fixtures, or the fixer's); ``template`` names the vetted template
    ("" for a policy the fixer wrote). The proof, the Audit mode and the rest are the guard's decision.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: Literal["add_policy"] = "add_policy"
    file: str
    policy: dict[str, Any]
    template: str = Field(default="", max_length=100)
    must_pass: tuple[dict[str, Any], ...] = Field(default=(), max_length=20)
    must_fail: tuple[dict[str, Any], ...] = Field(default=(), max_length=20)
    evidence: PolicyEvidence = PolicyEvidence()

    @field_validator("file")
    @classmethod
    def _file_is_repo_path(cls, value: str) -> str:
        value = normalise_repo_path(value)
        if not value.endswith((".yaml", ".yml")):
            raise ValueError(f"file {value!r} must be a .yaml file")
        return value

    @property
    def key(self) -> str:
        return (
            str((self.policy.get("metadata") or {}).get("name", "")) if isinstance(self.policy, dict) else ""
        )


class SetPolicyMode(BaseModel):
    """Change one policy's failure action from ``expect`` (Audit) to ``value`` (Enforce), in place."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: Literal["set_policy_mode"] = "set_policy_mode"
    file: str
    policy: str = Field(min_length=1, max_length=253)
    expect: Literal["Audit"] = "Audit"
    value: Literal["Enforce"] = "Enforce"
    evidence: PolicyEvidence = PolicyEvidence()

    @field_validator("file")
    @classmethod
    def _file_is_repo_path(cls, value: str) -> str:
        return normalise_repo_path(value)

    @property
    def key(self) -> str:
        return self.policy


_PACKAGE = re.compile(
    r"^(?:@[a-z0-9][a-z0-9._~-]{0,100}/)?[A-Za-z0-9](?:[A-Za-z0-9._~-]{0,200}[A-Za-z0-9])?$"
)
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+!_-]{0,99}$")


class BumpDependency(BaseModel):
    """Bump one package of an application repository the inventory lists (``app_repos``), made by the
    ecosystem's own tool; ``files`` are the manifest and lockfiles it may change, ``advisories`` the ids it
    removes. Whether the result is allowed is the guard's decision (:mod:`bot.core.operations.dependencies`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True)

    op: Literal["bump_dependency"] = "bump_dependency"
    app_repo: str = Field(min_length=1, max_length=100)
    ecosystem: Literal["pip", "npm"]
    package: str = Field(pattern=_PACKAGE.pattern)
    from_version: str = Field(alias="from", pattern=_VERSION.pattern)
    to_version: str = Field(alias="to", pattern=_VERSION.pattern)
    files: tuple[str, ...] = Field(min_length=1, max_length=10)
    advisories: tuple[str, ...] = Field(min_length=1, max_length=200)
    evidence: dict[str, Any] = Field(default_factory=dict)

    @field_validator("files")
    @classmethod
    def _files_are_repo_paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(normalise_repo_path(v) for v in value)

    @property
    def file(self) -> str:
        """The manifest (the first file), for messages that name one file."""
        return self.files[0]

    @property
    def key(self) -> str:
        """The changed place, for messages that name a key (it never reaches the GitOps guard)."""
        return f"package:{self.package}"


class Escalate(BaseModel):
    """No safe fix exists: hand the case to humans with a reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: Literal["escalate"] = "escalate"
    reason: str = Field(min_length=1, max_length=2000)


EditOp = Annotated[
    AddCidr | RemoveCidr | SetKey | SetImage | AddPolicy | SetPolicyMode | BumpDependency | Escalate,
    Field(discriminator="op"),
]
OP_NAMES = (
    "add_cidr", "remove_cidr", "set_key", "set_image", "add_policy", "set_policy_mode", "bump_dependency", "escalate",
)  # fmt: skip
#: Any operation, and the ones that edit a file (of the GitOps repository).
AnyOp = AddCidr | RemoveCidr | SetKey | SetImage | AddPolicy | SetPolicyMode | BumpDependency | Escalate
FileOp = AddCidr | RemoveCidr | SetKey | SetImage  # the text edits of bot/yaml_edit.py
#: The policy family (bot/core/operations/policies.py).
PolicyOp = AddPolicy | SetPolicyMode
#: The operations that edit a ConfigMap data key (the network and data-key families).
DataOp = AddCidr | RemoveCidr | SetKey
_ADAPTER: TypeAdapter[EditOp] = TypeAdapter(EditOp)


def parse_operations(data: Any) -> list[AnyOp]:
    """Validate a list of operations, raising :class:`OperationError` that names the bad entry."""
    if not isinstance(data, list) or not data:
        raise OperationError("expected a non-empty YAML list of operations (each with 'op:')")
    ops: list[AnyOp] = []
    for i, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise OperationError(f"operation {i}: expected a mapping with 'op:', got {type(item).__name__}")
        name = item.get("op")
        if name not in OP_NAMES:
            raise OperationError(f"operation {i}: unknown op {name!r}; known ops: {', '.join(OP_NAMES)}")
        try:
            ops.append(_ADAPTER.validate_python(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"][1:]) or "?"
            if err["type"] == "extra_forbidden":
                raise OperationError(f"operation {i} ({name}): unknown field {field!r}") from None
            if err["type"] == "missing":
                raise OperationError(f"operation {i} ({name}): missing field {field!r}") from None
            raise OperationError(f"operation {i} ({name}): {field}: {err['msg']}") from None
    if any(isinstance(o, Escalate) for o in ops) and len(ops) > 1:
        raise OperationError("'escalate' must be the only operation when present")
    return ops


def answer_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of one pydantic model, shaped for constrained decoding (Ollama's ``format``).

    Derived from the model itself, never written by hand: nested models are inlined (no ``$ref``), titles
    and defaults are dropped, every field is required (a default such as ``op``'s must still be written)
    and ``op`` comes first so that a model decides what it does before where. The model's validators still
    run on the answer; the schema only keeps a language model inside the format.
    """
    schema = model.model_json_schema()
    constrained: dict[str, Any] = _constrain(schema, schema.pop("$defs", {}))
    return constrained


def _constrain(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_constrain(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _constrain(defs[str(node["$ref"]).rsplit("/", 1)[-1]], defs)
    out = {
        k: _constrain(v, defs)
        for k, v in node.items()
        if k not in ("title", "default", "description", "properties")
    }
    props = node.get("properties")
    if isinstance(props, dict):  # field names are kept as they are, whatever they are called
        ordered = {"op": _constrain(props["op"], defs)} if "op" in props else {}
        ordered.update((k, _constrain(v, defs)) for k, v in props.items() if k != "op")
        out["properties"] = ordered
        out["required"] = list(ordered)
        out["additionalProperties"] = False
    return out


def operations_schema(models: Sequence[type[BaseModel]], max_items: int = 8) -> dict[str, Any]:
    """The answer ``{"operations": [...]}`` using only ``models`` (e.g. AddCidr, SetKey, Escalate).

    ``Escalate`` is the only operation when present, as :func:`parse_operations` demands, so the list is
    either 1..``max_items`` edits or exactly one escalation.
    """
    edits = [answer_schema(m) for m in models if m is not Escalate]
    choices: list[dict[str, Any]] = []
    if edits:
        items = edits[0] if len(edits) == 1 else {"anyOf": edits}
        choices.append({"type": "array", "items": items, "minItems": 1, "maxItems": max_items})
    if Escalate in models:
        choices.append({"type": "array", "items": answer_schema(Escalate), "minItems": 1, "maxItems": 1})
    operations = choices[0] if len(choices) == 1 else {"anyOf": choices}
    return {
        "type": "object",
        "properties": {"operations": operations},
        "required": ["operations"],
        "additionalProperties": False,
    }


def dump_operations(ops: Sequence[AnyOp]) -> list[dict[str, Any]]:
    """Operations as plain dicts (for YAML, JSON and the state store)."""
    return [o.model_dump(mode="json") for o in ops]


class FileChange(BaseModel):
    """One file before and after the operations, with the documents parsed by the caller.

    ``spans`` are the edited entries as (key, first line, end line exclusive), 0-based lines of ``before``:
    the ``key: value`` line and its continuation lines (a new key has none in ``before``). The editor fills
    them for display; the guard's ``only_edited_lines`` recomputes them from both texts and trusts neither.
    """

    model_config = ConfigDict(frozen=True)

    path: str
    before: str
    after: str
    before_doc: Any = None
    after_doc: Any = None
    parse_error: str | None = None  # why ``after`` did not parse, if it did not
    spans: tuple[tuple[str, int, int], ...] = ()

    @property
    def changed(self) -> bool:
        return self.before != self.after


def unified_diff(changes: Sequence[FileChange], context: int = 2) -> str:
    """A minimal unified diff of all changed files, ``a/`` and ``b/`` prefixed like git."""
    return "".join(_file_diff(ch.path, ch.before, ch.after, context) for ch in changes if ch.changed)


@lru_cache(maxsize=1024)
def _file_diff(path: str, before: str, after: str, context: int) -> str:
    # Cached: the guard counts the diff's lines and the caller shows the same diff.
    parts = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
        n=context,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in parts)


def changed_line_count(diff: str) -> int:
    """Lines added or removed in a unified diff (headers excluded)."""
    return sum(
        1
        for line in diff.splitlines()
        if (line.startswith(("+", "-")) and not line.startswith(("+++", "---")))
    )

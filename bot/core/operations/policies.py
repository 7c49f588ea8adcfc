"""The policy family: ``add_policy`` (one new Kyverno policy file, created in Audit) and ``set_policy_mode``
(one policy's action Audit → Enforce), with their guard checks.

Both operations only ever touch a directory the inventory lists as ``kind: kyverno-policies``. The proof that
a new policy does what it says is computed outside the core (the Kyverno engine in ``tools/kyverno``, run by
``bot/policy_proof.py`` on the trusted path, never by the fixer) and handed to the guard as a
:class:`PolicyProof`; the guard checks it is about this exact document and that it passed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.core.checks import Check
from bot.core.edits import AnyOp, FileChange
from bot.core.inventory import Inventory
from bot.core.paths import forbidden_path_reason

#: The operations of this family (by name, to keep this module free of the union's import cycle).
OP_NAMES = ("add_policy", "set_policy_mode")
RULE_KINDS_REFUSED = ("mutate", "generate", "verifyImages")
#: A policy file the bot writes stays reviewable.
MAX_POLICY_LINES = 200


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class ProofRow(BaseModel):
    """One resource the policy was run on: what it must do and what the engine answered."""

    model_config = ConfigDict(frozen=True)

    source: str  # "must-fail" | "must-pass" | "repository" (the finding's own resource)
    resource: str  # "default/Ingress/no-class" or "apps/shop/ingress.yaml: shop/Ingress/web"
    expected: str  # "fail" | "pass"
    actual: str  # "fail" | "pass" | "skip" | "not applicable" | "unsupported" | "error"

    @property
    def ok(self) -> bool:
        return self.actual == self.expected


class PolicyProof(BaseModel):
    """What the engine showed for one policy, and what it would flag in the repository (the impact preview)."""

    model_config = ConfigDict(frozen=True)

    file: str
    policy_sha: str  # policy_digest() of the document the proof is about
    rows: tuple[ProofRow, ...] = ()
    missing: tuple[str, ...] = ()  # the finding's resources not found in the repository
    manifests: int = 0  # repository manifests evaluated for the impact preview
    flagged: tuple[str, ...] = ()  # the first few flagged resources, "namespace/name"
    flagged_count: int = 0
    namespaces: int = 0
    unsupported: int = 0  # repository manifests the engine could not evaluate
    #: set_policy_mode only: why the promotion is allowed ("" when it is not), or why not
    promotion: str = ""
    promotion_refused: str = ""

    @property
    def passed(self) -> bool:
        """Every must-fail fails, every must-pass passes, the finding's resources fail; none unsupported."""
        kinds = {r.source for r in self.rows}
        return {"must-fail", "must-pass", "repository"} <= kinds and all(r.ok for r in self.rows)

    def failures(self) -> list[str]:
        out = [
            f"{r.source} {r.resource}: expected {r.expected}, engine says {r.actual}"
            for r in self.rows
            if not r.ok
        ]
        for source in ("must-fail", "must-pass"):
            if not any(r.source == source for r in self.rows):
                out.append(f"no {source} fixture")
        if not any(r.source == "repository" for r in self.rows):
            missing = ", ".join(self.missing[:3]) or "none named"
            out.append(f"the finding's resource is not in the repository ({missing})")
        return out

    def proof_checks(self) -> list[Check]:
        """The proof as four named checks, so a refusal names what is wrong: fixtures of both kinds exist, the
        engine could evaluate every resource, the fixtures behave, and the finding's own resources fail."""
        fixtures = [r for r in self.rows if r.source != "repository"]
        own = [r for r in self.rows if r.source == "repository"]
        absent = [s for s in ("must-pass", "must-fail") if not any(r.source == s for r in fixtures)]
        opaque = [r for r in self.rows if r.actual in NOT_EVALUATED]
        wrong = [r for r in fixtures if not r.ok and r.actual not in NOT_EVALUATED]
        own_wrong = [r for r in own if not r.ok and r.actual not in NOT_EVALUATED]
        every = ": every must-fail fails, every must-pass passes, the finding's resource fails"
        return [
            Check(
                name="policy_fixtures",
                passed=not absent,
                detail=f"no {' and no '.join(absent)} fixture: a policy comes with resources the engine must "
                "admit (must_pass) and resources it must flag (must_fail)"
                if absent
                else f"{len(fixtures)} fixtures: must-pass and must-fail",
            ),
            Check(
                name="policy_evaluable",
                passed=not opaque,
                detail="the engine cannot evaluate "
                + "; ".join(f"{r.source} {r.resource} ({r.actual})" for r in opaque[:3])
                + ": a policy the engine cannot evaluate is never proposed"
                if opaque
                else f"the engine evaluated all {len(self.rows)} resources",
            ),
            Check(
                name="policy_proven",
                passed=bool(fixtures) and not wrong,
                detail="; ".join(
                    f"{r.source} {r.resource}: expected {r.expected}, engine says {r.actual}"
                    for r in wrong[:4]
                )
                or ("no fixture to prove the policy on" if not fixtures else "")
                or (f"{len(self.rows)} resources{every}" if self.passed else "the evaluated fixtures behave"),
            ),
            Check(
                name="finding_resource_flagged",
                passed=bool(own) and not own_wrong and all(r.ok for r in own),
                detail="the policy does not flag the finding's own resource: "
                + "; ".join(f"{r.resource} (engine says {r.actual})" for r in own_wrong[:3])
                if own_wrong
                else f"the finding's resource is not in the repository ({', '.join(self.missing[:3]) or 'none named'})"
                if not own
                else f"flags the finding's {len(own)} resource(s) in the repository",
            ),
        ]


#: Verdicts that say the engine did not decide.
NOT_EVALUATED = ("unsupported", "error")


def policy_digest(policy: Any) -> str:
    """A digest of a policy document's content (key order does not matter)."""
    return hashlib.sha256(json.dumps(policy, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def is_policy_change(ops: Sequence[AnyOp]) -> bool:
    """True when any operation belongs to this family."""
    return any(getattr(o, "op", "") in OP_NAMES for o in ops)


def policy_directory(inventory: Inventory, path: str) -> str | None:
    """The listed policy directory that holds ``path`` directly, if any."""
    folder, _, name = path.rpartition("/")
    for d in inventory.policy_directories:
        if d.path.rstrip("/") == folder and name:
            return d.path
    return None


def check_policy_change(
    changes: Sequence[FileChange],
    ops: Sequence[AnyOp],
    inventory: Inventory,
    proofs: Mapping[str, PolicyProof] | None,
) -> list[Check]:
    """Every check of a proposal made of policy operations (the generic data checks do not apply)."""
    changed = [c for c in changes if c.changed]
    proofs = proofs or {}
    names = sorted({getattr(o, "op", "?") for o in ops})
    checks = [
        Check(
            name="has_change",
            passed=bool(changed),
            detail=f"{len(changed)} file(s) changed" if changed else "the operations change nothing",
        ),
        Check(
            name="one_operation_family",
            passed=len(ops) == 1 and names[0] in OP_NAMES,
            detail=f"one {names[0]}"
            if len(ops) == 1
            else f"a policy proposal is one operation, got {', '.join(names)}",
        ),
        _check_files(changed, ops, inventory),
    ]
    for o in ops:
        name = getattr(o, "op", "")
        change = next((c for c in changed if c.path == getattr(o, "file", None)), None)
        if name == "add_policy":
            checks.extend(_add_policy_checks(o, change, inventory, proofs.get(getattr(o, "file", ""))))
        elif name == "set_policy_mode":
            checks.extend(_set_mode_checks(o, change, proofs.get(getattr(o, "file", ""))))
    return checks


def _check_files(changed: Sequence[FileChange], ops: Sequence[AnyOp], inventory: Inventory) -> Check:
    named = {getattr(o, "file", "") for o in ops}
    problems = []
    for c in changed:
        if c.path not in named:
            problems.append(f"{c.path}: changed but no operation names it")
        reason = forbidden_path_reason(c.path)
        if reason:
            problems.append(f"{c.path}: {reason}")
        if policy_directory(inventory, c.path) is None:
            listed = ", ".join(d.path for d in inventory.policy_directories) or "none listed"
            problems.append(f"{c.path}: not in a listed kyverno-policies directory ({listed})")
    if problems:
        return Check(name="policy_directory", passed=False, detail="; ".join(problems))
    return Check(
        name="policy_directory", passed=True, detail="only files in a listed kyverno-policies directory"
    )


def _docs(change: FileChange | None) -> list[Any]:
    doc = change.after_doc if change is not None else None
    return doc if isinstance(doc, list) else [doc] if doc is not None else []


def document_problems(doc: Any, inventory: Inventory, file: str = "") -> list[str]:
    """Why a document is not a validate-only kyverno.io ClusterPolicy (or Policy in a listed namespace: with
    ``file``, one the policy directory holding that file lists)."""
    if not isinstance(doc, dict):
        return ["not a YAML mapping"]
    problems = []
    kind, api = doc.get("kind"), str(doc.get("apiVersion", ""))
    meta = _map(doc.get("metadata"))
    if not api.startswith("kyverno.io/"):
        problems.append(f"apiVersion {api!r} is not kyverno.io")
    if kind == "Policy":
        ns = str(meta.get("namespace", ""))
        home = policy_directory(inventory, file) if file else None
        dirs = [d for d in inventory.policy_directories if home is None or d.path == home]
        if ns not in {n for d in dirs for n in d.namespaces}:
            where = f"the policy directory {home} does not list" if home else "no policy directory lists"
            problems.append(f"a Policy in namespace {ns!r}, which {where}")
    elif kind != "ClusterPolicy":
        problems.append(f"kind {kind!r} is not ClusterPolicy or Policy")
    spec = _map(doc.get("spec"))
    if spec.get("background") is False:
        problems.append("background: false (the policy would not report existing resources)")
    if spec.get("admission") is False:
        problems.append("admission: false (the policy would never be applied at admission, Enforce included)")
    for key in (
        "validationFailureActionOverrides",
        "webhookConfiguration",
        "useServerSideApply",
        "mutateExistingOnPolicyUpdate",
        "generateExisting",
    ):
        if key in spec:
            problems.append(f"spec.{key} is not allowed")
    rules = spec.get("rules")
    if not isinstance(rules, list) or not rules:
        problems.append("no rules")
        rules = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            problems.append(f"rule {i} is not a mapping")
            continue
        for feature in RULE_KINDS_REFUSED:
            if feature in rule:
                problems.append(f"rule {rule.get('name', i)!r} has {feature} (only validate rules)")
        if not isinstance(rule.get("validate"), dict):
            problems.append(f"rule {rule.get('name', i)!r} has no validate block")
        if _wildcard_exclude(rule.get("exclude")):
            problems.append(f"rule {rule.get('name', i)!r} excludes everything with a wildcard")
    return problems


#: Groups every user (or every workload's service account) is in: excluding one exempts everyone at admission,
#: which the engine's proof (no admission user) cannot see.
ALL_USER_GROUPS = frozenset({"system:authenticated", "system:unauthenticated", "system:serviceaccounts"})


def _matches_all(value: Any) -> bool:
    """A Kyverno wildcard that matches every name (``*``, ``?*``, ``**``, ``*/*``)."""
    text = str(value).strip()
    return "*" in text and set(text) <= {"*", "?", "/"}


def _wildcard_exclude(exclude: Any) -> bool:
    if not isinstance(exclude, dict):
        return False
    nested = [b for key in ("any", "all") for b in _list(exclude.get(key))]
    for block in [exclude, *nested]:
        if not isinstance(block, dict):
            continue
        res = _map(block.get("resources"))
        for key in ("kinds", "namespaces", "names"):
            if any(_matches_all(v) for v in _list(res.get(key))):
                return True
        if "name" in res and _matches_all(res.get("name")):
            return True
        for key in ("selector", "namespaceSelector"):  # an empty label selector selects everything
            if key in res and res[key] in ({}, None):
                return True
        if any(_matches_all(k) for k in _map(res.get("annotations"))):
            return True
        for key in ("subjects", "clusterRoles", "roles"):
            for s in _list(block.get(key)):
                name = str(s.get("name", "") if isinstance(s, dict) else s)
                if "*" in name or "?" in name or name in ALL_USER_GROUPS:
                    return True
    return False


#: The request fields the proof knows (each resource is evaluated as a CREATE of that object, no user).
VISIBLE_REQUEST_FIELDS = frozenset({"object", "operation", "namespace"})
_REQUEST_FIELD = re.compile(r"(?<![\w.$])request\s*\.\s*([A-Za-z_]\w*)")
_SERVICE_ACCOUNT = re.compile(r"(?<![\w.$])(serviceAccountName|serviceAccountNamespace)(?!\w)")


def request_field_problems(doc: Any) -> list[str]:
    """Where a policy's rules read request fields the proof cannot see (``request.userInfo``, ``request.roles``,
    ``request.clusterRoles``, ``serviceAccountName``, ``request.oldObject``, ...), each rule and place once:
    ``rule 'x' reads request.userInfo in its preconditions``. Such a rule is no verdict on the resource alone."""
    spec = _map(doc.get("spec") if isinstance(doc, dict) else None)
    out: list[str] = []
    for i, rule in enumerate(_list(spec.get("rules"))):
        if not isinstance(rule, dict):
            continue
        for place in ("match", "exclude"):
            users = _user_keys(rule.get(place))
            if users:
                verb = "matches" if place == "match" else "excludes"
                out.append(
                    f"rule {str(rule.get('name', i))[:60]!r} {verb} by {', '.join(users)} in its {place}"
                )
        for place, value in rule.items():
            if place in ("name", "match", "exclude"):
                continue
            found: dict[str, None] = {}
            for text in _strings(value):
                for m in _REQUEST_FIELD.finditer(text):
                    if m.group(1) not in VISIBLE_REQUEST_FIELDS:
                        found[f"request.{m.group(1)}"] = None
                if "{{" in text:  # JMESPath variables; in CEL these names are no variables
                    for m in _SERVICE_ACCOUNT.finditer(text):
                        found[m.group(1)] = None
            if found:
                where = "its preconditions" if place == "preconditions" else f"its {place}"
                out.append(f"rule {str(rule.get('name', i))[:60]!r} reads {', '.join(found)} in {where}")
    return out


def _user_keys(block: Any) -> list[str]:
    """Which of ``subjects``/``roles``/``clusterRoles`` a match or exclude block (or its any/all parts) uses:
    who makes the request, which the proof cannot see, so an exemption by user passes every fixture."""
    if not isinstance(block, dict):
        return []
    parts = [block, *(b for key in ("any", "all") for b in _list(block.get(key)))]
    return [
        k
        for k in ("subjects", "roles", "clusterRoles")
        if any(isinstance(b, dict) and b.get(k) for b in parts)
    ]


def _strings(value: Any) -> list[str]:
    """Every string value (not key) nested in ``value``."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def actions(doc: Any) -> list[str]:
    """Every failure action a policy document sets (spec.validationFailureAction and rules' failureAction)."""
    spec = _map(doc.get("spec") if isinstance(doc, dict) else None)
    out = []
    if "validationFailureAction" in spec:
        out.append(str(spec["validationFailureAction"]))
    for rule in spec.get("rules") or []:
        validate = rule.get("validate") if isinstance(rule, dict) else None
        if isinstance(validate, dict) and "failureAction" in validate:
            out.append(str(validate["failureAction"]))
    return out


def _add_policy_checks(
    op: Any, change: FileChange | None, inventory: Inventory, proof: PolicyProof | None
) -> list[Check]:
    docs = _docs(change)
    new_file = change is not None and change.before == ""
    checks = [
        Check(
            name="new_policy_file",
            passed=new_file
            and len(docs) == 1
            and change is not None
            and change.after.count("\n") <= MAX_POLICY_LINES,
            detail=(
                f"creates {op.file} ({change.after.count(chr(10))} lines)"
                if new_file and change is not None
                else f"{op.file} exists already: add_policy only creates a file"
            ),
        )
    ]
    problems = (
        document_problems(docs[0] if docs else None, inventory, op.file)
        if len(docs) == 1
        else ["not one document"]
    )
    checks.append(
        Check(
            name="validate_only_policy",
            passed=not problems,
            detail="; ".join(problems) or f"a kyverno.io {docs[0].get('kind')} with validate rules only",
        )
    )
    unseen = request_field_problems(docs[0]) if len(docs) == 1 else []
    checks.append(
        Check(
            name="request_fields_visible",
            passed=not unseen,
            detail="; ".join(unseen[:4]) + ": the proof evaluates each resource as a CREATE with no user, "
            "so who makes the request (userInfo, roles, service account), the old object and the request's "
            "other fields are unknown to it; write the rule on the resource (request.object)"
            if unseen
            else "the rules read only the resource and the request's operation and namespace",
        )
    )
    acts = actions(docs[0]) if docs else []
    audit = bool(acts) and all(a == "Audit" for a in acts)
    checks.append(
        Check(
            name="created_in_audit",
            passed=audit,
            detail="Audit"
            if audit
            else f"a new policy is created in Audit, not {', '.join(acts) or 'no action (Kyverno defaults may differ)'}",
        )
    )
    if proof is None:
        checks.append(Check(name="policy_proven", passed=False, detail="the proof did not run"))
    elif proof.policy_sha != policy_digest(op.policy):
        checks.append(Check(name="policy_proven", passed=False, detail="the proof is about another document"))
    else:
        checks.extend(proof.proof_checks())
    return checks


def _set_mode_checks(op: Any, change: FileChange | None, proof: PolicyProof | None) -> list[Check]:
    checks = []
    if change is None or change.before == "":
        return [
            Check(name="one_field_changed", passed=False, detail=f"{op.file}: no existing policy changed")
        ]
    before = change.before.splitlines()
    after = change.after.splitlines()
    moved = [i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b]
    same_shape = len(before) == len(after) and len(moved) == 1
    docs_b, docs_a = change.before_doc, change.after_doc
    only = (
        same_shape
        and _without_action(docs_b) == _without_action(docs_a)
        and actions(docs_a) == ["Enforce"]
        and actions(docs_b) == ["Audit"]
    )
    checks.append(
        Check(
            name="one_field_changed",
            passed=only,
            detail=f"{op.file}: only the failure action changed, Audit → Enforce"
            if only
            else f"{op.file}: more than the one failure action changed",
        )
    )
    ok = proof is not None and bool(proof.promotion)
    checks.append(
        Check(
            name="promotion_evidence",
            passed=ok,
            detail=proof.promotion
            if ok and proof is not None
            else (proof.promotion_refused if proof is not None else "")
            or "no evidence of zero violations (reports or engine)",
        )
    )
    return checks


def _without_action(doc: Any) -> Any:
    if not isinstance(doc, dict):
        return doc
    text = json.dumps(doc, sort_keys=True)
    copy = json.loads(text)
    spec = copy.get("spec") or {}
    spec.pop("validationFailureAction", None)
    for rule in spec.get("rules") or []:
        if isinstance(rule, dict) and isinstance(rule.get("validate"), dict):
            rule["validate"].pop("failureAction", None)
    return copy

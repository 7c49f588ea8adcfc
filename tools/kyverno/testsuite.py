"""``kyverno test`` suites: load a ``kyverno-test.yaml`` with its files and score every expected result.

Scoring mirrors the CLI (docs/kyverno-semantics §3.3): resources are found by name (``ns/name`` also checks
the namespace), a row's rule matches ``rule``, ``autogen-rule`` and ``autogen-cronjob-rule``, and a
resource the rule produced no response for is "excluded", which the CLI counts as satisfied.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.kyverno.context import Values
from tools.kyverno.engine import RuleResult, evaluate_policy
from tools.kyverno.errors import InputError, Unsupported
from tools.kyverno.match import Admission, RequestInfo
from tools.kyverno.policy import is_policy, load_documents, parse_documents
from tools.kyverno.units import to_go_floats
from tools.kyverno.vpol import evaluate_validating_policy, is_validating_policy

TEST_FILE_NAMES = ("kyverno-test.yaml", "kyverno-test.yml")
CLUSTER_SCOPED = frozenset(
    {
        "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "StorageClass",
        "CustomResourceDefinition", "ClusterPolicy", "PriorityClass", "IngressClass", "RuntimeClass",
        "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService", "CSIDriver",
        "CSINode", "VolumeAttachment", "ClusterIssuer", "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding", "CertificateSigningRequest", "PodSecurityPolicy",
    }
)  # fmt: skip


@dataclass(frozen=True)
class ExpectedResult:
    """One expectation of a suite and what we computed for it."""

    test_file: str
    policy: str
    rule: str
    resource: str
    expected: str
    actual: str  # pass/fail/skip/error/warn, "unsupported", or "skip" with excluded=True (no response)
    excluded: bool = False
    detail: str = ""

    @property
    def agrees(self) -> bool:
        """What ``kyverno test`` would call a success (an excluded resource satisfies any expectation)."""
        return self.actual != "unsupported" and (self.excluded or self.actual == self.expected)

    @property
    def wrong(self) -> bool:
        """A concrete answer that differs from the expectation (never the case for ``unsupported``)."""
        return self.actual != "unsupported" and not self.agrees

    def as_dict(self) -> dict[str, Any]:
        return {
            "test_file": self.test_file,
            "policy": self.policy,
            "rule": self.rule,
            "resource": self.resource,
            "expected": self.expected,
            "actual": self.actual,
            "excluded": self.excluded,
            "detail": self.detail,
        }


@dataclass
class ValuesFile:
    """A parsed ``Values`` document."""

    global_values: dict[str, Any] = field(default_factory=dict)
    resource_values: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    rule_values: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    foreach_values: dict[str, dict[str, dict[str, list[Any]]]] = field(default_factory=dict)
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    subresources: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, doc: dict[str, Any] | None) -> ValuesFile:
        out = cls()
        if not doc:
            return out
        out.global_values = dict(doc.get("globalValues") or {})
        for pol in doc.get("policies") or []:
            pname = str(pol.get("name", ""))
            for res in pol.get("resources") or []:
                out.resource_values[(pname, str(res.get("name", "")))] = dict(res.get("values") or {})
            for rule in pol.get("rules") or []:
                rname = str(rule.get("name", ""))
                out.rule_values.setdefault(pname, {})[rname] = dict(rule.get("values") or {})
                out.foreach_values.setdefault(pname, {})[rname] = dict(rule.get("foreachValues") or {})
        for ns in doc.get("namespaceSelector") or []:
            out.namespace_labels[str(ns.get("name", ""))] = dict(ns.get("labels") or {})
        for entry in doc.get("subresources") or []:
            parent = (entry.get("parentResource") or {}).get("kind")
            sub = entry.get("subresource") or {}
            if parent and sub.get("kind") and "/" in str(sub.get("name", "")):
                out.subresources[str(sub["kind"])] = (str(parent), str(sub["name"]).split("/", 1)[1])
        return out

    def for_pair(self, policy: str, resource_name: str) -> Values:
        variables = dict(self.global_values)
        variables.update(self.resource_values.get((policy, resource_name), {}))
        rule_values = self.rule_values.get(policy, {})
        foreach_values = self.foreach_values.get(policy, {})
        keys: list[str] = [*self.global_values]
        keys += [k for (p, _), v in self.resource_values.items() if p == policy for k in v]
        keys += [k for v in (*rule_values.values(), *foreach_values.values()) for k in v]
        return Values(
            variables=variables,
            rule_values=rule_values,
            foreach_values=foreach_values,
            mocked_names={k.split(".")[0] for k in keys},
            subresources=self.subresources,
        )


def parse_userinfo(doc: dict[str, Any] | None) -> RequestInfo | None:
    """A ``UserInfo`` document as :class:`RequestInfo` (None when there is no file)."""
    if not doc:
        return None
    info = doc.get("userInfo") or {}
    return RequestInfo(
        roles=tuple(doc.get("roles") or ()),
        cluster_roles=tuple(doc.get("clusterRoles") or ()),
        username=str(info.get("username", "")),
        groups=tuple(info.get("groups") or ()),
    )


def prepare_resource(doc: dict[str, Any]) -> dict[str, Any]:
    """As the CLI loads it: numbers become float64, namespaced objects default to ``default``."""
    resource: dict[str, Any] = to_go_floats(copy.deepcopy(doc))
    meta = resource.setdefault("metadata", {})
    if isinstance(meta, dict) and not meta.get("namespace") and resource.get("kind") not in CLUSTER_SCOPED:
        meta["namespace"] = "default"
    return resource


class Session:
    """Evaluates policies on resources with one values file and userinfo, caching per operation."""

    def __init__(
        self,
        policies: list[dict[str, Any]],
        resources: list[dict[str, Any]],
        values: ValuesFile | None = None,
        userinfo: RequestInfo | None = None,
    ) -> None:
        self.policies = policies
        self.resources = [prepare_resource(r) for r in resources]
        self.values = values or ValuesFile()
        self.userinfo = userinfo
        self._cache: dict[tuple[int, int, str | None], list[RuleResult]] = {}

    def results(
        self, policy_index: int, resource_index: int, operation: str | None = None
    ) -> list[RuleResult]:
        key = (policy_index, resource_index, operation)
        if key not in self._cache:
            policy = self.policies[policy_index]
            resource = self.resources[resource_index]
            pname = str((policy.get("metadata") or {}).get("name", ""))
            rname = str((resource.get("metadata") or {}).get("name", ""))
            values = self.values.for_pair(pname, rname)
            op = operation or str(values.variables.get("request.operation") or "CREATE")
            namespace = str((resource.get("metadata") or {}).get("namespace", ""))
            policy_ns = ""
            if policy.get("kind") == "Policy":
                policy_ns = str((policy.get("metadata") or {}).get("namespace") or "default")
            admission = Admission(
                op, self.userinfo, self.values.namespace_labels.get(namespace, {}), policy_ns
            )
            self._cache[key] = evaluate_policy(policy, resource, admission, values)
        return self._cache[key]


@dataclass
class Suite:
    """A loaded ``kyverno-test.yaml``."""

    path: Path
    doc: dict[str, Any]
    session: Session

    @classmethod
    def load(cls, test_file: Path) -> Suite:
        docs = load_documents(test_file)
        if not docs:
            raise InputError(f"{test_file} holds no test document")
        doc = docs[0]
        base = test_file.parent
        policies = [d for p in doc.get("policies") or [] for d in load_documents(base / p) if is_policy(d)]
        resources = [d for r in doc.get("resources") or [] for d in load_documents(base / r)]
        values_doc: dict[str, Any] | None = doc.get("values") if isinstance(doc.get("values"), dict) else None
        if doc.get("variables"):
            loaded = load_documents(base / str(doc["variables"]))
            values_doc = loaded[0] if loaded else None
        user_doc = None
        if doc.get("userinfo"):
            loaded = load_documents(base / str(doc["userinfo"]))
            user_doc = loaded[0] if loaded else None
        session = Session(policies, resources, ValuesFile.parse(values_doc), parse_userinfo(user_doc))
        return cls(test_file, doc, session)

    def check(self, display: str | None = None) -> list[ExpectedResult]:
        """Score every expected result of the suite."""
        name = display or str(self.path)
        out: list[ExpectedResult] = []
        for row in self.doc.get("results") or []:
            for resource in row.get("resources") or []:
                out.append(self._check_one(name, row, str(resource)))
        return out

    def _check_one(self, test_file: str, row: dict[str, Any], resource_ref: str) -> ExpectedResult:
        policy_ref = str(row.get("policy", ""))
        rule = str(row.get("rule") or "")
        expected = str(row.get("result", row.get("status", "")))

        def result(actual: str, excluded: bool = False, detail: str = "") -> ExpectedResult:
            return ExpectedResult(
                test_file, policy_ref, rule, resource_ref, expected, actual, excluded, detail
            )

        policy_index = self._find_policy(policy_ref)
        if policy_index is None:
            return result(
                "unsupported", detail=f"policy {policy_ref} is not a kyverno.io/v1 ClusterPolicy/Policy"
            )
        policy = self.session.policies[policy_index]
        if not rule and is_validating_policy(policy):
            return self._check_validating_policy(row, policy, resource_ref, result)
        if not rule:
            return result("unsupported", detail="rows without a rule name test CEL policy kinds")
        rule_names = {str(r.get("name")) for r in (policy.get("spec") or {}).get("rules") or []}
        base = rule.removeprefix("autogen-cronjob-").removeprefix("autogen-")
        if base not in rule_names:
            return result("unsupported", detail=f"policy {policy_ref} has no rule {base}")
        wanted = {rule, f"autogen-{base}", f"autogen-cronjob-{base}", base}
        statuses: list[tuple[str, str]] = []
        for resource_index in self._find_resources(resource_ref):
            for res in self.session.results(policy_index, resource_index, row.get("operation")):
                if res.rule in wanted:
                    statuses.append((res.status, res.message))
        if not statuses:
            return result("skip", excluded=True, detail="the rule does not apply to this resource")
        for status, message in statuses:
            if status == "unsupported":
                return result("unsupported", detail=message)
        for status, message in statuses:
            if status != expected:
                return result(status, detail=message)
        return result(statuses[0][0], detail=statuses[0][1])

    def _check_validating_policy(
        self,
        row: dict[str, Any],
        policy: dict[str, Any],
        resource_ref: str,
        result: Callable[..., ExpectedResult],
    ) -> ExpectedResult:
        if any(self.doc.get(k) for k in ("variables", "values", "userinfo", "context")):
            return result("unsupported", detail="CEL policy kinds with values, userinfo or context files")
        statuses = []
        for resource_index in self._find_resources(resource_ref):
            try:
                status = evaluate_validating_policy(
                    policy, self.session.resources[resource_index], str(row.get("operation") or "CREATE")
                )
            except Unsupported as exc:
                return result("unsupported", detail=f"CEL policy kinds: {exc}")
            if status is not None:
                statuses.append(status)
        if not statuses:
            return result("skip", excluded=True, detail="the policy does not apply to this resource")
        expected = str(row.get("result", row.get("status", "")))
        wrong = [s for s in statuses if s != expected]
        return result(wrong[0] if wrong else statuses[0])

    def _find_policy(self, ref: str) -> int | None:
        namespace, _, name = ref.rpartition("/")
        for i, policy in enumerate(self.session.policies):
            meta = policy.get("metadata") or {}
            if meta.get("name") == name and (not namespace or meta.get("namespace", "default") == namespace):
                return i
        return None

    def _find_resources(self, ref: str) -> Iterator[int]:
        namespace, _, name = ref.rpartition("/")
        for i, resource in enumerate(self.session.resources):
            meta = resource.get("metadata") or {}
            if meta.get("name") == name and (not namespace or meta.get("namespace") == namespace):
                yield i


def find_test_files(root: Path) -> list[Path]:
    """Every ``kyverno-test.yaml`` under ``root`` (or ``root`` itself), sorted."""
    if root.is_file():
        return [root]
    return sorted(p for name in TEST_FILE_NAMES for p in root.rglob(name))


def run_suite(test_file: Path, display: str | None = None) -> list[ExpectedResult]:
    """Load and score one suite."""
    return Suite.load(test_file).check(display)


__all__ = [
    "ExpectedResult",
    "Session",
    "Suite",
    "ValuesFile",
    "find_test_files",
    "parse_documents",
    "run_suite",
]

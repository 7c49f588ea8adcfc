"""Reading trivy-operator reports (``aquasecurity.github.io/v1alpha1``) into findings.

The operator writes one object per scanned resource (``kubectl get vulnerabilityreports -A -o yaml`` lists
them; real samples in ``fixtures/trivy/operator/``):

- ``VulnerabilityReport``: ``report.registry.server`` + ``report.artifact.{repository, tag, digest}`` name the
  image, ``report.vulnerabilities[]`` the CVEs (camelCase keys: ``vulnerabilityID``, ``resource`` = the
  package, ``installedVersion``, ``fixedVersion`` with ``''`` for no fix);
- ``ConfigAuditReport`` (and the cluster, RBAC and infra assessment reports, of the same shape):
  ``report.checks[]`` with ``checkID``, ``success``, ``remediation``, an optional ``scope`` naming the container.

The scanned resource is named by the labels ``trivy-operator.resource.{kind,name,namespace}`` and
``trivy-operator.container.name`` (else the controlling owner reference); it is the ReplicaSet, not its
Deployment, exactly as the report says (grouping maps owners with the inventory). The ``target`` of a
vulnerability is not trusted for the image: the operator's docs sample disagrees with its own artifact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.core.findings import MISCONFIGURATION, VULNERABILITY, Finding, misconfiguration_subject
from tools.sources.trivy import (
    MAX_RESOLUTION,
    MAX_TEXT,
    Refused,
    finding_id,
    ident,
    image_subject,
    parse_image,
    parse_time,
    severity,
    shown,
    text,
    title_of,
    workload_from_message,
)

if TYPE_CHECKING:
    from tools.sources.findings_file import FindingsRead

LAYOUT = SOURCE = "trivy-operator"
GROUP = "aquasecurity.github.io/"
VULNERABILITY_KINDS = frozenset({"VulnerabilityReport", "ClusterVulnerabilityReport"})
CHECK_KINDS = frozenset(
    {
        "ConfigAuditReport",
        "ClusterConfigAuditReport",
        "RbacAssessmentReport",
        "ClusterRbacAssessmentReport",
        "InfraAssessmentReport",
        "ClusterInfraAssessmentReport",
    }
)
_LABEL = "trivy-operator."
_TITLE = ("title", "description")


def is_operator_document(doc: Any) -> bool:
    """A trivy-operator object, or a ``List`` (``kubectl get -o``) whose first item is one (or empty)."""
    if not isinstance(doc, dict):
        return False
    kind, api = doc.get("kind"), doc.get("apiVersion")
    if type(api) is str and api.startswith(GROUP):
        return True
    if type(kind) is str and kind.endswith("List") and "items" in doc:
        items = doc.get("items")
        if items == [] or items is None:
            return True
        return isinstance(items, list) and any(is_operator_document(i) for i in items[:1])
    return type(kind) is str and (kind in VULNERABILITY_KINDS or kind in CHECK_KINDS)


def read_objects(objects: list[tuple[str, Any]], read: FindingsRead) -> None:
    """Every finding of the given objects, each with its place (``""``, ``documents[2]``, ``items[5]``)."""
    for where, obj in objects:
        _object(obj, where, read, 0)


def _place(read: FindingsRead, where: str, path: str) -> str:
    inner = f"{where}.{path}" if where and path else where or path
    return f"{read.name}: {inner}" if inner else read.name


def _object(obj: Any, where: str, read: FindingsRead, depth: int) -> None:
    if type(obj) is not dict:
        read.refuse(_place(read, where, ""), "is not an object")
        return
    kind = obj.get("kind")
    if type(kind) is str and kind.endswith("List") and "items" in obj and depth == 0:
        items = obj.get("items")
        if items is None:
            return
        if type(items) is not list:
            read.refuse(_place(read, where, "items"), "is not a list")
            return
        for i, item in enumerate(items):
            _object(item, f"{where}.items[{i}]" if where else f"items[{i}]", read, depth + 1)
        return
    if type(kind) is not str or (kind not in VULNERABILITY_KINDS and kind not in CHECK_KINDS):
        read.problem(
            f"{_place(read, where, '')}: kind {shown(kind)} is not a trivy-operator report; not read"
        )
        return
    try:
        namespace, w_kind, w_name, container = _resource(obj)
    except Refused as exc:
        read.refuse(_place(read, where, "metadata"), str(exc), _entry_count(obj))
        return
    report = obj.get("report")
    if type(report) is not dict:
        read.refuse(_place(read, where, "report"), "is missing or not an object")
        return
    ts = parse_time(report.get("updateTimestamp"))
    scope = (namespace, w_kind, w_name, container, ts)
    if kind in VULNERABILITY_KINDS:
        _vulnerabilities(report, where, read, scope)
    else:
        _checks(report, where, read, scope)


def _entry_count(obj: dict[str, Any]) -> int:
    """How many findings an object that cannot be read holds (each is lost, so each is counted)."""
    report = obj.get("report")
    if type(report) is dict:
        for key in ("vulnerabilities", "checks"):
            entries = report.get(key)
            if type(entries) is list and entries:
                return len(entries)
    return 1


def _resource(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    """(namespace, kind, name, container) of the scanned resource."""
    meta = obj.get("metadata")
    if meta is None:
        meta = {}
    if type(meta) is not dict:
        raise Refused("is not an object")
    labels = meta.get("labels")
    if labels is None:
        labels = {}
    if type(labels) is not dict:
        raise Refused("labels is not an object")
    kind = ident(labels.get(_LABEL + "resource.kind"), "label trivy-operator.resource.kind")
    name = ident(labels.get(_LABEL + "resource.name"), "label trivy-operator.resource.name")
    namespace = ident(labels.get(_LABEL + "resource.namespace"), "label trivy-operator.resource.namespace")
    container = ident(labels.get(_LABEL + "container.name"), "label trivy-operator.container.name")
    if not namespace:
        namespace = ident(meta.get("namespace"), "namespace")
    if not (kind and name):
        owners = meta.get("ownerReferences")
        if type(owners) is list:
            owned = [o for o in owners if type(o) is dict]
            owner = next((o for o in owned if o.get("controller") is True), owned[0] if owned else None)
            if owner is not None:
                kind = ident(owner.get("kind"), "ownerReferences kind")
                name = ident(owner.get("name"), "ownerReferences name")
    return namespace, kind, name, container


def _image(report: dict[str, Any]) -> tuple[str, str] | str:
    """(reference, subject) of a VulnerabilityReport's image, or why it is not known."""
    registry = report.get("registry")
    artifact = report.get("artifact")
    if type(artifact) is not dict:
        return "report.artifact is missing or not an object"
    server = registry.get("server") if type(registry) is dict else None
    repository, tag, digest = artifact.get("repository"), artifact.get("tag"), artifact.get("digest")
    for name, value in (("registry.server", server), ("artifact.tag", tag), ("artifact.digest", digest)):
        if value is not None and type(value) is not str:
            return f"report.{name} {shown(value)} is not a string"
    if type(repository) is not str or not repository:
        return f"report.artifact.repository {shown(repository)} is not a repository"
    reference = f"{server}/{repository}" if server else repository
    if tag:
        reference += ":" + tag
    if digest:
        reference += "@" + digest
    ref = parse_image(reference)
    if ref is None:
        return f"the image {shown(reference)} is not an image reference"
    return reference, image_subject(ref)


def _vulnerabilities(
    report: dict[str, Any], where: str, read: FindingsRead, scope: tuple[str, str, str, str, float | None]
) -> None:
    namespace, w_kind, w_name, container, ts = scope
    vulns = report.get("vulnerabilities")
    if vulns is None:
        return
    place = _place(read, where, "report.vulnerabilities")
    if type(vulns) is not list:
        read.refuse(place, "is not a list")
        return
    if not vulns:
        return
    image = _image(report)
    if isinstance(image, str):
        read.refuse(place, image, len(vulns))
        return
    reference, subject = image
    out = read.findings
    for j, v in enumerate(vulns):
        try:
            if type(v) is not dict:
                raise Refused("is not an object")
            raw = v.get("vulnerabilityID")
            vid = finding_id(raw)
            if vid is None:
                raise Refused(f"vulnerabilityID {shown(raw)} is not an id")
            out.append(
                Finding(
                    SOURCE,
                    VULNERABILITY,
                    vid,
                    subject,
                    severity(v.get("severity")),
                    title_of(v.get("title"), v.get("description"), read, _TITLE),
                    ident(v.get("resource"), "resource"),
                    ident(v.get("installedVersion"), "installedVersion"),
                    ident(v.get("fixedVersion"), "fixedVersion"),
                    reference,
                    namespace,
                    w_kind,
                    w_name,
                    container,
                    "",
                    ts,
                    f"{place}[{j}]",
                    text(v.get("target"), "target", MAX_TEXT, read),
                    ident(v.get("packageType"), "packageType"),
                    text(v.get("packagePath"), "packagePath", MAX_TEXT, read),
                )
            )
        except Refused as exc:
            read.refuse(f"{place}[{j}]", str(exc))


def _checks(
    report: dict[str, Any], where: str, read: FindingsRead, scope: tuple[str, str, str, str, float | None]
) -> None:
    namespace, w_kind, w_name, label_container, ts = scope
    checks = report.get("checks")
    if checks is None:
        return
    place = _place(read, where, "report.checks")
    if type(checks) is not list:
        read.refuse(place, "is not a list")
        return
    out = read.findings
    for j, c in enumerate(checks):
        try:
            if type(c) is not dict:
                raise Refused("is not an object")
            success = c.get("success")
            if type(success) is not bool:
                raise Refused(f"success {shown(success)} is not true or false")
            if success:
                continue
            raw = c.get("checkID")
            cid = finding_id(raw)
            if cid is None:
                raise Refused(f"checkID {shown(raw)} is not a check id")
            container = label_container or _scoped_container(c.get("scope"))
            if not container:
                messages = c.get("messages")
                if type(messages) is list and messages:
                    container = workload_from_message(messages[0])[0]
            out.append(
                Finding(
                    SOURCE,
                    MISCONFIGURATION,
                    cid,
                    misconfiguration_subject(cid, namespace, w_kind, w_name),
                    severity(c.get("severity")),
                    title_of(c.get("title"), c.get("description"), read, _TITLE),
                    "",
                    "",
                    "",
                    "",
                    namespace,
                    w_kind,
                    w_name,
                    container,
                    text(c.get("remediation"), "remediation", MAX_RESOLUTION, read),
                    ts,
                    f"{place}[{j}]",
                    "",
                    "",
                    "",
                )
            )
        except Refused as exc:
            read.refuse(f"{place}[{j}]", str(exc))


def _scoped_container(scope: Any) -> str:
    if type(scope) is dict and scope.get("type") == "Container":
        return ident(scope.get("value"), "scope.value")
    return ""

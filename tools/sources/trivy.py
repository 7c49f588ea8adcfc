"""Reading Trivy JSON reports into :class:`bot.core.findings.Finding` values.

Layouts (real samples in ``fixtures/trivy/``, see its PROVENANCE.md):

- ``trivy image -f json``: ``{"ArtifactName", "ArtifactType": "container_image", "Metadata": {"RepoTags",
  "RepoDigests"}, "Results": [{"Target", "Class", "Type", "Vulnerabilities", "Misconfigurations"}]}``;
- ``trivy k8s -f json``: ``{"ClusterName", "Resources": [{"Namespace", "Kind", "Name", "Metadata", "Results",
  "Error"}]}`` (``Metadata`` is one object since 0.5x, a list of them before); ``--report summary`` writes the
  same resources under ``"Findings"``; before 0.3x they sat under top-level ``"Vulnerabilities"`` and
  ``"Misconfigurations"`` lists;
- ``trivy config`` / ``trivy fs`` / ``trivy repo``: the image layout with files as targets
  (``ArtifactType`` filesystem or repository).

Which image a vulnerability is in: an image report's ``ArtifactName`` (a tarball's name gives way to
``RepoTags[0]``); in a cluster report the result's ``Target`` before `` (`` for OS packages (what the pod spec
names), the resource's ``Metadata`` image for the language packages after it. Language packages of a file
scan have the package as subject: ``pkg:<Type>/<name>`` (Python names as PEP 503 writes them).

Everything is hostile: a value of the wrong type makes its finding malformed (counted, with its place);
identifiers are never cut (a cut name names something else), free text is cut at its limit and counted.
Misconfigurations are read only when they failed (``Status`` FAIL).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.core.findings import (
    MISCONFIGURATION,
    SEVERITIES,
    VULNERABILITY,
    Finding,
    misconfiguration_subject,
    normalise_id,
    normalise_severity,
)
from bot.core.image_refs import ImageRef
from bot.core.image_refs import parse_image as _parse_image
from bot.core.sanitize import plain

if TYPE_CHECKING:
    from tools.sources.findings_file import FindingsRead

MAX_TITLE = 500
MAX_RESOLUTION = 1000
MAX_TEXT = 512  # Target, PkgPath: informational text, cut at the limit
MAX_IDENT = 256  # package names, versions, Kubernetes names: refused past the limit, never cut
MAX_ERROR = 300  # a resource's scan error, as shown
MIN_TS = 0.0
MAX_TS = 253_370_764_800.0  # 9999-01-01T00:00:00Z, as the Wazuh reader

IMAGE, K8S, K8S_SUMMARY, K8S_LEGACY, CONFIG, FS = (
    "trivy-image",
    "trivy-k8s",
    "trivy-k8s-summary",
    "trivy-k8s-legacy",
    "trivy-config",
    "trivy-fs",
)
_ARCHIVE = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".oci")
_PEP503 = re.compile(r"[-_.]+")
_PYTHON_TYPES = frozenset({"pip", "pipenv", "poetry", "uv", "python-pkg"})
_CASELESS_TYPES = frozenset(
    {"npm", "yarn", "pnpm", "bun", "node-pkg", "nuget", "dotnet-core", "packages-props", "composer"}
)
# "Container 'web' of Deployment 'web' should ..." (Trivy's Kubernetes checks): names checked as Kubernetes does
_MESSAGE = re.compile(
    r"^Container '([a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)' of ([A-Z][A-Za-z]{1,62}) "
    r"'([a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?)'"
)
_SEVERITY = {s: s for s in SEVERITIES}
_ID_CACHE: dict[str, str | None] = {}
_IMAGE_CACHE: dict[str, ImageRef | None] = {}
_CACHE_MAX = 1 << 16


class Refused(Exception):
    """A value that does not fit: the message is the malformed reason."""


def shown(value: Any) -> str:
    """A short, safe rendering of a refused value for a message (never the whole of it)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def parse_image(value: Any) -> ImageRef | None:
    """:func:`bot.core.image_refs.parse_image`, cached (every resource of one image repeats its reference)."""
    if type(value) is not str:
        return None
    try:
        return _IMAGE_CACHE[value]
    except KeyError:
        ref = _parse_image(value)
        if len(_IMAGE_CACHE) < _CACHE_MAX:
            _IMAGE_CACHE[value] = ref
        return ref


def finding_id(value: Any) -> str | None:
    """:func:`normalise_id`, cached (a cluster report repeats the same ids thousands of times)."""
    if type(value) is not str:
        return None
    try:
        return _ID_CACHE[value]
    except KeyError:
        nid = normalise_id(value)
        if len(_ID_CACHE) < _CACHE_MAX:
            _ID_CACHE[value] = nid
        return nid


def severity(value: Any) -> str:
    return _SEVERITY.get(value) or normalise_severity(value) if type(value) is str else "UNKNOWN"


def ident(value: Any, name: str) -> str:
    """An identifier (package, version, Kubernetes name): absent is ``""``; never cut."""
    if value is None:
        return ""
    if type(value) is not str:
        if isinstance(value, (dict, list)):
            raise Refused(f"{name} is {shown(value)}, not a string")
        raise Refused(f"{name} {shown(value)} is not a string")
    if len(value) > MAX_IDENT:
        raise Refused(f"{name} is longer than {MAX_IDENT} characters")
    if not value.isprintable():
        raise Refused(f"{name} {shown(value)} holds control characters")
    return value


def text(value: Any, name: str, limit: int, read: FindingsRead) -> str:
    """Free text: absent is ``""``, past ``limit`` it is cut (and counted)."""
    if value is None:
        return ""
    if type(value) is not str:
        raise Refused(f"{name} is not a string")
    if len(value) > limit:
        read.truncated += 1
        return value[:limit]
    return value


def title_of(
    title: Any, description: Any, read: FindingsRead, names: tuple[str, str] = ("Title", "Description")
) -> str:
    """The title, else the first line of the description (an excerpt: cut without counting)."""
    if title:
        return text(title, names[0], MAX_TITLE, read)
    if description is None or description == "":
        return ""
    if type(description) is not str:
        raise Refused(f"{names[1]} is not a string")
    return description.partition("\n")[0].strip()[:MAX_TITLE]


def parse_time(value: Any) -> float | None:
    """ISO 8601 text (or a YAML timestamp) as epoch seconds; None when absent, bad or out of range."""
    when: datetime | None = None
    if isinstance(value, datetime):
        when = value
    elif type(value) is str and 0 < len(value) <= 64:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # no zone: UTC, never the host's zone
    try:
        ts = when.timestamp()
    except (OverflowError, OSError, ValueError):
        return None
    return ts if MIN_TS <= ts < MAX_TS else None


def image_subject(ref: ImageRef) -> str:
    """``registry/repository:tag``, else ``registry/repository@digest``, else ``registry/repository``."""
    if ref.tag:
        return f"{ref.name}:{ref.tag}"
    if ref.digest:
        return f"{ref.name}@{ref.digest}"
    return ref.name


def package_subject(package_type: str, name: str) -> str:
    """``pkg:<Type>/<name>`` for a file scan's language package; names compared the way the ecosystem does."""
    if package_type in _PYTHON_TYPES:
        name = _PEP503.sub("-", name).lower()
    elif package_type in _CASELESS_TYPES:
        name = name.lower()
    return f"pkg:{package_type}/{name}"


def scan_error(value: str) -> str:
    """A resource's scan error as one safe line (Trivy's text already starts with ``scan error:``)."""
    line = plain(" ".join(value.split()), MAX_ERROR)  # tabs and newlines too, then control characters
    return line if line.startswith("scan error") else "scan error: " + line


def workload_from_message(message: Any) -> tuple[str, str, str]:
    """(container, kind, name) from a Kubernetes check's message, when it has Trivy's form."""
    if type(message) is str:
        m = _MESSAGE.match(message)
        if m:
            return m.group(1), m.group(2), m.group(3)
    return "", "", ""


# --- layouts -------------------------------------------------------------------------------------------------


def layout_of(doc: Any) -> str | None:
    """The layout of a decoded Trivy report, or None when it is not one."""
    if not isinstance(doc, dict):
        return None
    if "Resources" in doc:
        return K8S
    if "Findings" in doc and ("ClusterName" in doc or "Results" not in doc):
        return K8S_SUMMARY
    if ("Vulnerabilities" in doc or "Misconfigurations" in doc) and "Results" not in doc:
        return K8S_LEGACY
    if "ClusterName" in doc and "Results" not in doc and "ArtifactName" not in doc:
        return K8S  # a cluster report with nothing to say (Resources is omitted when empty)
    if "Results" in doc or "ArtifactName" in doc or ("SchemaVersion" in doc and "ArtifactType" in doc):
        if _is_image_report(doc):
            return IMAGE
        results = doc.get("Results")
        classes = (
            {r.get("Class") for r in results if isinstance(r, dict) and isinstance(r.get("Class"), str)}
            if isinstance(results, list)
            else set()
        )
        if "config" in classes and not classes & {"lang-pkgs", "os-pkgs"}:
            return CONFIG
        return FS
    return None


def _is_image_report(doc: dict[str, Any]) -> bool:
    kind = doc.get("ArtifactType")
    if kind is not None:
        return kind in ("container_image", "vm") if type(kind) is str else False
    meta = doc.get("Metadata")
    return isinstance(meta, dict) and ("ImageID" in meta or "RepoTags" in meta)


def read_report(doc: Any, layout: str, read: FindingsRead) -> None:
    """Every finding of a decoded report of ``layout`` (from :func:`layout_of`) into ``read``."""
    name = read.name
    if layout in (K8S, K8S_SUMMARY, K8S_LEGACY):
        keys = {K8S: ("Resources",), K8S_SUMMARY: ("Findings",)}.get(
            layout, ("Vulnerabilities", "Misconfigurations")
        )
        for key in keys:
            resources = doc.get(key)
            if resources is None:
                continue
            if type(resources) is not list:
                read.refuse(f"{name}: {key}", "is not a list")
                continue
            for i, resource in enumerate(resources):
                _resource(resource, f"{name}: {key}[{i}]", read)
        return
    _file_report(doc, layout, read)


def _file_report(doc: dict[str, Any], layout: str, read: FindingsRead) -> None:
    """An image, config or file-system report: one artifact, results by target."""
    name = read.name
    ts = parse_time(doc.get("CreatedAt"))
    results = doc.get("Results")
    if results is None:
        return
    if type(results) is not list:
        read.refuse(f"{name}: Results", "is not a list")
        return
    image: tuple[str, ImageRef] | str = ""
    if layout == IMAGE:
        image = _artifact_image(doc)
        if isinstance(image, tuple):
            read.artifact = image[0]
    for k, result in enumerate(results):
        where = f"{name}: Results[{k}]"
        if type(result) is not dict:
            read.refuse(where, "is not an object")
            continue
        try:
            target = text(result.get("Target"), "Target", MAX_TEXT, read)
            ptype = ident(result.get("Type"), "Type")
        except Refused as exc:
            read.refuse(where, str(exc))
            continue
        vulns = _entries(result, "Vulnerabilities", where, read)
        if vulns:
            if layout == IMAGE:
                if isinstance(image, str):
                    read.refuse(f"{where}.Vulnerabilities", image, len(vulns))
                else:
                    _vulnerabilities(vulns, where, read, IMAGE, image, "", "", "", target, ptype, ts)
            elif not ptype:
                read.refuse(f"{where}.Vulnerabilities", "the result has no Type", len(vulns))
            else:
                _vulnerabilities(vulns, where, read, FS, None, "", "", "", target, ptype, ts)
        misconfigs = _entries(result, "Misconfigurations", where, read)
        if misconfigs:
            source = IMAGE if layout == IMAGE else CONFIG
            _misconfigurations(misconfigs, where, read, source, "", "", "", target, ptype, ts)
        _unread_kinds(result, where, read)


def _artifact_image(doc: dict[str, Any]) -> tuple[str, ImageRef] | str:
    """The image of an image report, or why it is not known."""
    artifact = doc.get("ArtifactName")
    own = None
    if type(artifact) is str and not artifact.endswith(_ARCHIVE):
        own = parse_image(artifact)
        if own is not None and (own.tag or own.digest):
            return artifact, own
    meta = doc.get("Metadata")
    for candidate in _metadata_images(meta):
        return candidate
    if own is not None and type(artifact) is str:
        return artifact, own
    return f"the image is not known (ArtifactName {shown(artifact)} is no image reference and no RepoTags)"


def _metadata_images(meta: Any) -> list[tuple[str, ImageRef]]:
    """The image each ``Metadata`` entry names: ``RepoTags[0]``, else ``RepoDigests[0]``."""
    entries = meta if type(meta) is list else [meta] if type(meta) is dict else []
    out: list[tuple[str, ImageRef]] = []
    for entry in entries:
        if type(entry) is not dict:
            continue
        for key in ("RepoTags", "RepoDigests"):
            refs = entry.get(key)
            found = None
            if type(refs) is list:
                for ref_text in refs:
                    ref = parse_image(ref_text)
                    if ref is not None:
                        found = (ref_text, ref)
                        break
            if found:
                if found not in out:
                    out.append(found)
                break
    return out


def _resource(resource: Any, where: str, read: FindingsRead) -> None:
    """One resource of a cluster report: its results, and its scan error as a problem."""
    if type(resource) is not dict:
        read.refuse(where, "is not an object")
        return
    try:
        namespace = ident(resource.get("Namespace"), "Namespace")
        kind = ident(resource.get("Kind"), "Kind")
        name = ident(resource.get("Name"), "Name")
    except Refused as exc:
        read.refuse(where, str(exc))
        return
    error = resource.get("Error")
    if error is not None and error != "":
        label = "/".join(p for p in (namespace, kind, name) if p) or where
        if type(error) is str:
            read.problem(f"{read.name}: {label}: {scan_error(error)}")
        else:
            read.problem(f"{where}: Error is not a string")
    results = resource.get("Results")
    if results is None:
        return  # nothing scanned (the empty {"Kind": "", "Name": ""} entries, error-only resources)
    if type(results) is not list:
        read.refuse(where, "Results is not a list")
        return
    images = _metadata_images(resource.get("Metadata"))
    current: tuple[str, ImageRef] | None = None
    for k, result in enumerate(results):
        rwhere = f"{where}.Results[{k}]"
        if type(result) is not dict:
            read.refuse(rwhere, "is not an object")
            continue
        try:
            target = text(result.get("Target"), "Target", MAX_TEXT, read)
            cls = ident(result.get("Class"), "Class")
            ptype = ident(result.get("Type"), "Type")
        except Refused as exc:
            read.refuse(rwhere, str(exc))
            continue
        vulns = _entries(result, "Vulnerabilities", rwhere, read)
        if vulns:
            image = _result_image(target, cls, images, current)
            if isinstance(image, str):
                read.refuse(f"{rwhere}.Vulnerabilities", image, len(vulns))
            else:
                if cls == "os-pkgs":
                    current = image
                _vulnerabilities(vulns, rwhere, read, K8S, image, namespace, kind, name, target, ptype, None)
        misconfigs = _entries(result, "Misconfigurations", rwhere, read)
        if misconfigs:
            _misconfigurations(misconfigs, rwhere, read, K8S, namespace, kind, name, target, ptype, None)
        _unread_kinds(result, rwhere, read)


def _result_image(
    target: str, cls: str, images: list[tuple[str, ImageRef]], current: tuple[str, ImageRef] | None
) -> tuple[str, ImageRef] | str:
    """The image a cluster report's result is in, or why it is not known."""
    if cls == "os-pkgs" or " (" in target:
        head = target.split(" (", 1)[0]
        own = parse_image(head)
        if own is None:
            if cls == "os-pkgs":
                return f"Target {shown(head)} is not an image reference"
        elif own.tag:
            return head, own
        else:
            for candidate in images:  # named by digest: the report's tag for it says more
                if candidate[1].name == own.name and candidate[1].tag:
                    return candidate
            return head, own
    if current is not None:
        return current
    if len(images) == 1:
        return images[0]
    if not images:
        return f"which image {shown(target)} is in is not known (no image in the resource's Metadata)"
    return f"which image {shown(target)} is in is not known ({len(images)} images in the resource)"


def _entries(result: dict[str, Any], key: str, where: str, read: FindingsRead) -> list[Any]:
    items = result.get(key)
    if items is None:
        return []
    if type(items) is not list:
        read.refuse(where, f"{key} is not a list")
        return []
    return items


def _unread_kinds(result: dict[str, Any], where: str, read: FindingsRead) -> None:
    """Say that secrets and licences were not read (the bot takes vulnerabilities and misconfigurations)."""
    for key, what in (("Secrets", "secret"), ("Licenses", "licence")):
        items = result.get(key)
        if type(items) is list and items:
            read.problem(
                f"{where}: {len(items)} {what} finding(s) not read (only vulnerabilities and "
                "misconfigurations are)"
            )


def _vulnerabilities(
    vulns: list[Any],
    where: str,
    read: FindingsRead,
    source: str,
    image: tuple[str, ImageRef] | None,
    namespace: str,
    kind: str,
    name: str,
    target: str,
    ptype: str,
    ts: float | None,
) -> None:
    """One finding per vulnerability; ``image`` None means a file scan (the package is the subject)."""
    out = read.findings
    prefix = f"{where}.Vulnerabilities["
    image_text, subject = (image[0], image_subject(image[1])) if image is not None else ("", "")
    for j, v in enumerate(vulns):
        try:
            if type(v) is not dict:
                raise Refused("is not an object")
            raw = v.get("VulnerabilityID")
            vid = finding_id(raw)
            if vid is None:
                raise Refused(f"VulnerabilityID {shown(raw)} is not an id")
            package = ident(v.get("PkgName"), "PkgName")
            if image is None:
                if not package:
                    raise Refused("no PkgName")
                subject = package_subject(ptype, package)
            out.append(
                Finding(
                    source,
                    VULNERABILITY,
                    vid,
                    subject,
                    severity(v.get("Severity")),
                    title_of(v.get("Title"), v.get("Description"), read),
                    package,
                    ident(v.get("InstalledVersion"), "InstalledVersion"),
                    ident(v.get("FixedVersion"), "FixedVersion"),
                    image_text,
                    namespace,
                    kind,
                    name,
                    "",
                    "",
                    ts,
                    prefix + str(j) + "]",
                    target,
                    ptype,
                    text(v.get("PkgPath"), "PkgPath", MAX_TEXT, read),
                )
            )
        except Refused as exc:
            read.refuse(prefix + str(j) + "]", str(exc))


def _misconfigurations(
    items: list[Any],
    where: str,
    read: FindingsRead,
    source: str,
    namespace: str,
    kind: str,
    name: str,
    target: str,
    ptype: str,
    ts: float | None,
) -> None:
    """One finding per failed check; a file's check (no resource) has the file as its subject."""
    out = read.findings
    prefix = f"{where}.Misconfigurations["
    for j, m in enumerate(items):
        try:
            if type(m) is not dict:
                raise Refused("is not an object")
            status = m.get("Status")
            if status is not None and status != "FAIL":
                if type(status) is not str:
                    raise Refused(f"Status {shown(status)} is not a status")
                continue  # PASS, EXCEPTION: nothing to do
            raw = m.get("ID")
            mid = finding_id(raw) or finding_id(m.get("AVDID"))
            if mid is None:
                raise Refused(f"ID {shown(raw)} is not a check id")
            container, w_kind, w_name = workload_from_message(m.get("Message"))
            if kind or name:
                subject = misconfiguration_subject(mid, namespace, kind, name)
                w_kind, w_name = kind, name
            else:
                subject = misconfiguration_subject(mid, "", "file", target)
            out.append(
                Finding(
                    source,
                    MISCONFIGURATION,
                    mid,
                    subject,
                    severity(m.get("Severity")),
                    title_of(m.get("Title"), m.get("Description"), read),
                    "",
                    "",
                    "",
                    "",
                    namespace,
                    w_kind,
                    w_name,
                    container,
                    text(m.get("Resolution"), "Resolution", MAX_RESOLUTION, read),
                    ts,
                    prefix + str(j) + "]",
                    target,
                    ptype,
                    "",
                )
            )
        except Refused as exc:
            read.refuse(prefix + str(j) + "]", str(exc))

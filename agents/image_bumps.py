"""The image-bump playbook: which version fixes an image's CVEs, and the ``set_image`` operations for a group.

Deterministic, 0 tokens, no I/O (files are read through the ``read_file`` the caller passes). A CVE's
``FixedVersion`` names the fixed version of a *package*, not of the image, so a bump is proposed only with
evidence (:func:`choose_bump`):

(a) **primary package**: the vulnerable package is the target's ``primary_package`` (the image's own
    application: names compared without case and ``_``/``-``/``.`` differences, a Go module path matching the
    binary name Trivy reports) and its fixed version maps to a tag in the image's own style (``v`` prefix,
    suffix such as ``-alpine`` and the number of components kept);
(b) **candidate scan**: a second Trivy report of a newer tag of the same registry and repository
    (:class:`CandidateScan`) that lacks the CVEs.

Otherwise it escalates with a sentence a human can act on. Never a mutable tag (``latest``…), never a
downgrade, a major bump only with ``allow_major``, never another repository, never a digest-only guess; a
reference pinned by digest (``tag@sha256:…``) moves only to a candidate scan that gives the new digest.
Findings without a FixedVersion cannot be fixed by a bump: they are counted as not fixed.

:func:`route_image_group` turns one image group into one ``set_image`` per listed image target that holds
the image now (the router calls it for groups of the ``image`` family). Whether an operation is allowed stays
the guard's decision (:mod:`bot.core.operations.images`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from pydantic import ValidationError

from agents.image_locate import Located, locate, rewritten
from agents.image_locate import current_reference as current_reference  # the router's callers read it here
from agents.router import RouteDecision
from bot import messages
from bot.core.edits import SetImage
from bot.core.findings import VULNERABILITY, Finding, normalise_id, severity_rank
from bot.core.grouping import AlertGroup
from bot.core.image_refs import (
    DEFAULT_MUTABLE_TAGS,
    ImageRef,
    TagVersion,
    compare_tags,
    is_sha256_digest,
    parse_image,
    tag_version,
    valid_tag,
)
from bot.core.inventory import ImageTarget, Inventory, Workload
from bot.core.proposal import UnfixedTarget
from bot.core.sanitize import plain

FIXER = "playbook:image-bump"
#: The severities a partial fix is judged by (the candidate lacking most of these wins).
SERIOUS = frozenset({"CRITICAL", "HIGH"})
#: ``ImageEvidence.findings`` holds at most this many ids (most severe first).
MAX_EVIDENCE_IDS = 500
_MAX_DETAILS = 3

ReadFile = Callable[[str], str]


class CandidateScan(NamedTuple):
    """A Trivy scan of another tag of an image: the vulnerability ids it still has, and the report it came from."""

    reference: ImageRef
    ids: frozenset[str]
    report: str = ""


@dataclass(frozen=True)
class Bump:
    """The new reference for one image and its evidence.

    ``new`` keeps the current registry and repository; it has the new tag, and a digest only when the current
    reference is pinned by digest. ``fixes`` are the CVE ids the evidence proves fixed (most severe first),
    ``not_fixed`` the others; ``report`` the report(s) the findings came from; ``reason`` the one-line why.
    """

    new: ImageRef
    fixes: tuple[str, ...]
    not_fixed: tuple[str, ...]
    report: str
    reason: str


@dataclass(frozen=True)
class Escalation:
    """No bump has evidence: what a human should do."""

    reason: str


# --- which version ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cve:
    id: str
    severity: str  # the most severe of its findings
    findings: tuple[Finding, ...]

    @property
    def fixable(self) -> bool:
        # A bump fixes a CVE only when every package it is in has a fixed version.
        return all(f.fixed.strip() for f in self.findings)


@dataclass(frozen=True)
class _Option:
    tag: str
    digest: str
    fixes: frozenset[str]
    order: tuple[int, ...]  # the tag's numbers, for "smallest first"
    candidate: CandidateScan | None = None  # None: the primary-package rule
    package: str = ""


def choose_bump(
    image: ImageRef,
    findings: Sequence[Finding],
    target: ImageTarget,
    candidates: Sequence[CandidateScan] = (),
    *,
    mutable_tags: Collection[str] = DEFAULT_MUTABLE_TAGS,
) -> Bump | Escalation:
    """The new reference for ``image`` (the reference the file holds now) given its vulnerability findings.

    Every option with evidence is weighed: first one that fixes every fixable CVE, else the one fixing most
    HIGH/CRITICAL CVEs, then most CVEs; then the smallest tag; a candidate scan before the primary-package
    rule at the same tag (a scan of the tag is stronger evidence, and gives its digest).
    """
    mutable = {t.lower() for t in mutable_tags}
    cves = _cves(findings)
    shown = image.display()
    if not cves:
        return Escalation(messages.image_esc_no_findings(shown))
    fixable = [c for c in cves if c.fixable]
    no_fix = [c for c in cves if not c.fixable]
    if not fixable:
        return Escalation(messages.image_esc_no_fixed_version(shown, len(cves)))
    current = tag_version(image.tag) if image.tag and image.tag.lower() not in mutable else None
    if current is None:
        return Escalation(messages.image_esc_no_version_tag(shown, bool(image.tag)))
    details: list[str] = []
    options: list[_Option] = []
    primary = _primary_option(image, current, fixable, target, mutable, details)
    if primary is not None:
        options.append(primary)
    options.extend(_candidate_options(image, current, fixable, target, candidates, mutable, details))
    if not options:
        worst = fixable[0]
        f = worst.findings[0]
        versions = _fixed_versions(f.fixed)
        return Escalation(
            messages.image_esc_no_evidence(
                worst.id,
                _package_label(f.package),
                ", ".join(".".join(map(str, v)) for v in versions) if versions else plain(f.fixed, 60),
                _repository_label(image),
                len(fixable) - 1,
                len(no_fix),
                _capped(details),
            )
        )
    all_ids = {c.id for c in fixable}
    severity = {c.id: c.severity for c in cves}
    best = min(
        enumerate(options),
        key=lambda io: (
            io[1].fixes != all_ids,
            -sum(1 for i in io[1].fixes if severity[i] in SERIOUS),
            -len(io[1].fixes),
            io[1].order,
            io[1].candidate is None,
            io[0],
        ),
    )[1]
    fixes = tuple(c.id for c in fixable if c.id in best.fixes)
    unproven = [c.id for c in fixable if c.id not in best.fixes]
    new = ImageRef(image.registry, image.repository, best.tag, best.digest)
    if best.candidate is None:
        reason = messages.image_reason_primary(best.tag, plain(best.package, 120))
    else:
        reason = messages.image_reason_candidate(
            _display_with(image, best.tag, best.digest),
            plain(best.candidate.report, 300),
            len(fixes),
            len(fixable),
        )
    if unproven or no_fix:
        reason += messages.image_not_fixed(unproven, len(no_fix))
    return Bump(
        new=new,
        fixes=fixes,
        not_fixed=(*unproven, *(c.id for c in no_fix)),
        report=_reports(c for c in fixable if c.id in best.fixes),
        reason=plain(reason, 1000),
    )


def _cves(findings: Sequence[Finding]) -> list[_Cve]:
    """Vulnerability findings by id, most severe first (then by id, so the order is the input's own)."""
    by_id: dict[str, list[Finding]] = {}
    for f in findings:
        if f.kind == VULNERABILITY and f.id:
            by_id.setdefault(f.id, []).append(f)
    out = [_Cve(i, min((f.severity for f in fs), key=severity_rank), tuple(fs)) for i, fs in by_id.items()]
    out.sort(key=lambda c: severity_rank(c.severity))
    return out


def _primary_option(
    image: ImageRef,
    current: TagVersion,
    fixable: Sequence[_Cve],
    target: ImageTarget,
    mutable: Collection[str],
    details: list[str],
) -> _Option | None:
    """Rule (a): the smallest fixed version of the primary package, as a tag, that fixes its CVEs."""
    primary = target.primary_package
    if not primary:
        return None
    mine = [c for c in fixable if all(same_package(primary, f.package) for f in c.findings)]
    if not mine:
        return None
    package = plain(mine[0].findings[0].package, 120)
    if image.digest:
        details.append(messages.image_detail_primary_pinned(package, image.display()))
        return None
    fixes: dict[str, list[tuple[int, ...]]] = {}
    why: dict[str, str] = {}  # one example per reason a fixed version was not usable
    tags: dict[tuple[int, ...], str] = {}
    for cve in mine:
        versions = sorted({v for f in cve.findings for v in _fixed_versions(f.fixed)})
        if not versions:
            why.setdefault("style", cve.findings[0].fixed)
        fixes[cve.id] = versions
        for v in versions:
            tag = _as_tag(v, current)
            text = ".".join(map(str, v))
            if tag is None or not valid_tag(tag) or tag.lower() in mutable:
                why.setdefault("style", text)
            elif compare_tags(image.tag, tag) != -1:  # -1: the new tag is the greater
                why.setdefault("older", text)
            elif v[0] > current.major and not target.allow_major:
                why.setdefault("major", text)
            else:
                tags.setdefault(_pad(v, len(current.numbers)), tag)
    best: tuple[tuple[int, ...], frozenset[str]] | None = None
    # Ascending: the current major line comes first, and the first version fixing everything wins.
    for numbers in sorted(tags):
        fixed = frozenset(i for i, vs in fixes.items() if _fixed_by(numbers, vs))
        if best is None or len(fixed) > len(best[1]):
            best = (numbers, fixed)
        if len(fixed) == len(fixes):
            break
    if best is None or not best[1]:
        for kind, text in why.items():
            details.append(messages.image_detail_primary(package, plain(text, 40), kind, image.tag))
        return None
    return _Option(tags[best[0]], "", best[1], best[0], None, primary)


def _candidate_options(
    image: ImageRef,
    current: TagVersion,
    fixable: Sequence[_Cve],
    target: ImageTarget,
    candidates: Sequence[CandidateScan],
    mutable: Collection[str],
    details: list[str],
) -> list[_Option]:
    """Rule (b): each candidate scan of a newer tag of the same repository that lacks some of the CVEs."""
    wanted = {c.id for c in fixable}
    out: list[_Option] = []
    for cand in candidates:
        ref = cand.reference
        label = plain(ref.display(), 200)
        problem: str | None = None
        if ref.name != image.name:
            problem = "another"
        elif not ref.tag:
            problem = "untagged"
        elif ref.tag.lower() in mutable:
            problem = "mutable"
        else:
            order = compare_tags(image.tag, ref.tag)
            version = tag_version(ref.tag)
            if order == 0:
                continue  # the scan of the current tag itself: no evidence either way
            if order is None or version is None:
                problem = "style"
            elif order > 0:  # compare_tags(old, new) is 1 when the old tag is the greater
                problem = "older"
            elif version.major > current.major and not target.allow_major:
                problem = "major"
            elif image.digest and not is_sha256_digest(ref.digest):
                problem = "no-digest"
        if problem is not None:
            details.append(messages.image_detail_candidate(label, problem, image.display()))
            continue
        still = {normalise_id(i) or i for i in cand.ids}
        fixes = frozenset(wanted - still)
        if not fixes:
            details.append(messages.image_detail_candidate(label, "still", image.display()))
            continue
        version = tag_version(ref.tag)
        assert version is not None  # compare_tags compared it
        out.append(
            _Option(
                ref.tag,
                ref.digest if image.digest else "",
                fixes,
                _pad(version.numbers, len(current.numbers)),
                cand,
            )
        )
    return out


# --- versions -----------------------------------------------------------------------------------------

_FIXED = re.compile(r"^v?([0-9]{1,9}(?:\.[0-9]{1,9}){0,5})$")


def _fixed_versions(text: str) -> list[tuple[int, ...]]:
    """The release versions a FixedVersion lists (``"1.2.3, 1.3.1"``); anything else in it is ignored."""
    if not isinstance(text, str) or len(text) > 200:
        return []
    out = []
    for part in text.split(","):
        m = _FIXED.match(part.strip())
        if m:
            out.append(tuple(int(n) for n in m.group(1).split(".")))
    return out


def _pad(numbers: tuple[int, ...], width: int) -> tuple[int, ...]:
    return numbers + (0,) * (width - len(numbers))


def _as_tag(version: tuple[int, ...], style: TagVersion) -> str | None:
    """A package version written as a tag of ``style`` (its prefix, suffix and number of components), or None
    when it needs more components than the style has (``1.16.1`` for ``1.16``: a different tag)."""
    width = len(style.numbers)
    if len(version) > width and any(version[width:]):
        return None
    numbers = _pad(version, width)[:width]
    return style.prefix + ".".join(map(str, numbers)) + style.suffix


def _fixed_by(version: tuple[int, ...], fixes: Sequence[tuple[int, ...]]) -> bool:
    """Whether ``version`` is fixed when the fixes are ``fixes`` (ascending): each fix covers its own line
    (``1.2.3`` covers ``1.2.x`` from 1.2.3), the last one every later version; ``1.3.0`` is not fixed by
    ``1.2.3, 1.3.1``."""
    width = max([len(version), *(len(f) for f in fixes)])
    v = _pad(version, width)
    below = [i for i, f in enumerate(fixes) if _pad(f, width) <= v]
    if not below:
        return False
    i = below[-1]
    if i == len(fixes) - 1:
        return True
    following = fixes[i + 1]
    line = len(following) - 1
    return v[:line] != _pad(following, width)[:line]


# --- names ----------------------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[-_.]+")
_GO_MAJOR = re.compile(r"^v[0-9]+$")


def _norm(name: str) -> str:
    return _SEPARATORS.sub("-", name.strip().lower())


def _tail(name: str) -> str:
    """The last component of a module path or Maven coordinate (a Go ``/v2`` suffix skipped)."""
    parts = [p for p in re.split(r"[/:]", name) if p]
    if len(parts) > 1 and _GO_MAJOR.match(parts[-1]):
        parts = parts[:-1]
    return parts[-1] if parts else ""


def same_package(primary: str, package: str) -> bool:
    """Whether a finding's package is the image's primary package.

    Names compare without case and ``_``/``-``/``.`` differences; two paths (Go modules, Maven coordinates)
    must be equal; a bare name (a binary, as Trivy names some) equals the other's last component
    (``coredns`` is ``github.com/coredns/coredns``; ``github.com/evil/coredns`` is not that module).
    """
    if not primary.strip() or not package.strip():
        return False
    a, b = _norm(primary), _norm(package)
    if a == b:
        return True
    a_path, b_path = bool(re.search(r"[/:]", a)), bool(re.search(r"[/:]", b))
    if a_path == b_path:
        return False
    return _norm(_tail(a if a_path else b)) == (b if a_path else a)


def _package_label(package: str) -> str:
    """A package as people say it: ``go-restful`` for ``github.com/emicklei/go-restful``."""
    name = _tail(package) if "/" in package else package
    return plain(name or package, 120)


def _repository_label(image: ImageRef) -> str:
    return image.repository.rsplit("/", 1)[-1]


def _display_with(image: ImageRef, tag: str, digest: str) -> str:
    return ImageRef(image.registry, image.repository, tag, digest).display()


def _reports(cves: Any) -> str:
    """The report(s) the findings were read from (``where`` is ``<report>: <place in it>``)."""
    seen: dict[str, None] = {}
    for cve in cves:
        for f in cve.findings:
            report = f.where.partition(": ")[0].strip() if f.where else ""
            if report:
                seen.setdefault(report, None)
    return plain(", ".join(seen), 1000)


def _capped(details: Sequence[str]) -> list[str]:
    unique = list(dict.fromkeys(details))
    if len(unique) <= _MAX_DETAILS:
        return unique
    return [*unique[:_MAX_DETAILS], messages.image_detail_more(len(unique) - _MAX_DETAILS)]


# --- the router branch -------------------------------------------------------------------------------


def route_image_group(
    group: AlertGroup,
    inventory: Inventory,
    findings: Sequence[Finding],
    read_file: ReadFile,
    candidates: Sequence[CandidateScan] = (),
    *,
    mutable_tags: Collection[str] = DEFAULT_MUTABLE_TAGS,
) -> RouteDecision:
    """One ``set_image`` per image target of the group's workloads that holds the group's image now.

    ``group.targets`` are workload refs (``namespace/name``); ``findings`` the group's vulnerability findings
    (one image: the subject of the first one; findings of other images are ignored); ``read_file`` reads a
    repository file (``bot.yaml_edit.repo_reader``); ``candidates`` the scans of other tags of the image's
    repository. A workload not in the inventory, without a target holding this image, or without a bump with
    evidence is listed in ``unfixed`` with the reason; the group escalates only when no workload is fixable.
    ``per_target`` maps each fixed workload to its operations.
    """
    image = _group_image(findings)
    if image is None:
        return RouteDecision(
            fixer=FIXER, escalation=messages.image_esc_no_findings(plain(group.subject, 200))
        )
    vulns = [f for f in findings if f.kind == VULNERABILITY and _image_of(f, image.name) is not None]
    refs = list(dict.fromkeys(group.targets))
    if not refs:
        return RouteDecision(fixer=FIXER, escalation=messages.esc_image_no_workload(image.display()))
    per_target: dict[str, list[dict[str, Any]]] = {}
    unfixed: list[UnfixedTarget] = []
    for ref in refs:
        workload = inventory.workload(ref)
        if workload is None:
            unfixed.append(UnfixedTarget(target=ref, reason=messages.image_unfixed_not_listed()))
            continue
        ops, problems = _bump_workload(workload, image, vulns, read_file, candidates, mutable_tags)
        reason = "; ".join(dict.fromkeys(problems))
        if ops:
            per_target[workload.ref] = ops
            if reason:
                unfixed.append(UnfixedTarget(target=ref, reason=messages.image_partly(reason)))
        else:
            unfixed.append(UnfixedTarget(target=ref, reason=reason))
    if not per_target and unfixed and all(u.reason.startswith(messages.IMAGE_ALREADY_NEWER) for u in unfixed):
        return RouteDecision(fixer=FIXER, suppressed=unfixed[0].reason)
    if not per_target:
        reasons = list(dict.fromkeys(u.reason for u in unfixed))
        if len(reasons) == 1 and reasons[0] != messages.image_unfixed_not_listed():
            escalation = reasons[0]
        else:
            escalation = messages.image_esc_no_fixable_workload(
                image.display(), [(u.target, u.reason) for u in unfixed]
            )
        return RouteDecision(fixer=FIXER, escalation=escalation, unfixed=unfixed)
    operations: list[dict[str, Any]] = []
    for ops in per_target.values():
        operations.extend(op for op in ops if op not in operations)
    return RouteDecision(fixer=FIXER, operations=operations, unfixed=unfixed, per_target=per_target)


def _group_image(findings: Sequence[Finding]) -> ImageRef | None:
    for f in findings:
        if f.kind == VULNERABILITY:
            ref = parse_image(f.subject) or parse_image(f.image)
            if ref is not None:
                return ref
    return None


def _image_of(finding: Finding, name: str) -> ImageRef | None:
    """The scanned reference of a finding of image ``name`` (the report's own name, else its subject)."""
    for text in (finding.image, finding.subject):
        ref = parse_image(text)
        if ref is not None and ref.name == name:
            return ref
    return None


def _same_version(a: ImageRef, b: ImageRef) -> bool:
    if a.digest and b.digest:
        return a.digest == b.digest
    return bool(a.tag and b.tag and a.tag == b.tag)


def _bump_workload(
    workload: Workload,
    image: ImageRef,
    findings: Sequence[Finding],
    read_file: ReadFile,
    candidates: Sequence[CandidateScan],
    mutable_tags: Collection[str],
) -> tuple[list[dict[str, Any]], list[str]]:
    """The operations for one workload's targets holding ``image``, and why the others are not bumped."""
    ops: list[dict[str, Any]] = []
    problems: list[str] = []
    holding = 0
    for target in workload.images:
        try:
            text = read_file(target.path)
        except Exception as exc:  # a file that cannot be read leaves this target unfixed, never the group
            problems.append(messages.image_file_unreadable(target.path, plain(str(exc), 200)))
            continue
        found = locate(text, target, workload.name)
        if isinstance(found, str):
            problems.append(found)
            continue
        if found.ref.name != image.name:
            continue  # another image of the workload (a sidecar)
        holding += 1
        scanned = [f for f in findings if _same_version(_image_of(f, image.name) or image, found.ref)]
        if not scanned and _newer_than_scanned(found.ref, findings, image):
            # a bump was merged since the report was written: the file already holds a newer tag
            problems.append(
                messages.image_already_newer(
                    target.path, found.ref.display(), _scanned_label(findings, image)
                )
            )
            continue
        if not scanned:
            problems.append(
                messages.image_file_moved_on(
                    target.path, found.ref.display(), _scanned_label(findings, image)
                )
            )
            continue
        choice = choose_bump(found.ref, scanned, target, candidates, mutable_tags=mutable_tags)
        if isinstance(choice, Escalation):
            problems.append(choice.reason)
            continue
        op = _operation(workload, target, found, choice)
        if isinstance(op, str):
            problems.append(op)
        elif op not in ops:
            ops.append(op)
    if not holding:
        problems.append(messages.image_unfixed_no_target(image.short_name))
    return ops, problems


def _newer_than_scanned(current: ImageRef, findings: Sequence[Finding], image: ImageRef) -> bool:
    """The file holds a newer tag (same style) than every version the report scanned."""
    scanned = {(_image_of(f, image.name) or image).tag for f in findings}
    return (
        bool(current.tag) and bool(scanned) and all(t and compare_tags(t, current.tag) == -1 for t in scanned)
    )


def _scanned_label(findings: Sequence[Finding], image: ImageRef) -> str:
    seen = dict.fromkeys((_image_of(f, image.name) or image).display() for f in findings)
    return ", ".join(list(seen)[:3]) or image.display()


def _operation(workload: Workload, target: ImageTarget, found: Located, bump: Bump) -> dict[str, Any] | str:
    op: dict[str, Any] = {
        "op": "set_image",
        "file": target.path,
        "workload": workload.ref,
        "target": found.target,
        "expect": found.written,
        "value": rewritten(found.written, bump.new.tag, bump.new.digest),
        "evidence": {
            "findings": list(bump.fixes[:MAX_EVIDENCE_IDS]),
            "report": bump.report,
            "reason": bump.reason,
        },
    }
    try:
        SetImage.model_validate(op)
    except ValidationError as exc:
        return messages.image_file_problem(target.path, plain(exc.errors()[0]["msg"], 200))
    return op

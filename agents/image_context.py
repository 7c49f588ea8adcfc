"""What routing image groups needs from one scan: candidate scans of other tags, and who runs an image.

- :func:`candidate_scans`: every image a report of this scan scanned (``trivy image`` reports, and the images
  of cluster reports), with the vulnerability ids it still has, per repository (``registry/repository``). A scan
  of ``nginx:1.16.1`` lacking the CVEs of ``nginx:1.16`` is the evidence a bump needs (issue: "which version").
- :func:`image_users`: the listed workloads whose files hold an image now (a ``trivy image`` report names no
  workload); read through the repository reader, so the same path checks apply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from agents.image_bumps import CandidateScan
from agents.image_locate import current_reference
from bot.core.findings import VULNERABILITY
from bot.core.image_refs import ImageRef, parse_image
from bot.core.inventory import Inventory

if TYPE_CHECKING:
    from tools.sources.findings_file import FindingsRead


def candidate_scans(reads: Sequence[FindingsRead]) -> dict[str, list[CandidateScan]]:
    """Per repository, each scanned image reference with the vulnerability ids found in it."""
    ids: dict[tuple[str, str], set[str]] = {}
    refs: dict[tuple[str, str], tuple[ImageRef, str]] = {}
    for read in reads:
        if read.artifact:
            ref = parse_image(read.artifact)
            if ref is not None:
                key = (ref.name, _version(ref))
                ids.setdefault(key, set())
                refs.setdefault(key, (ref, read.source))
        for f in read.findings:
            if f.kind != VULNERABILITY or not f.image:
                continue
            ref = parse_image(f.image)
            if ref is None:
                continue
            key = (ref.name, _version(ref))
            ids.setdefault(key, set()).add(f.id)
            refs.setdefault(key, (ref, read.source))
    out: dict[str, list[CandidateScan]] = {}
    for key, found in ids.items():
        ref, source = refs[key]
        out.setdefault(ref.name, []).append(CandidateScan(reference=ref, ids=frozenset(found), report=source))
    return out


def _version(ref: ImageRef) -> str:
    return ref.tag or ref.digest


def image_users(subject: str, inventory: Inventory, read_file: Callable[[str], str]) -> list[str]:
    """The workloads (``namespace/name``) whose listed image file holds ``subject`` now."""
    wanted = parse_image(subject)
    if wanted is None:
        return []
    users: list[str] = []
    for workload in inventory.workloads:
        for target in workload.images:
            try:
                text = read_file(target.path)
            except Exception:  # noqa: S112  # an unreadable file runs nothing we can bump; the router says why
                continue
            current = current_reference(text, target, workload.name)
            if current is not None and _same_image(current, wanted) and workload.ref not in users:
                users.append(workload.ref)
    return users


def _same_image(a: ImageRef, b: ImageRef) -> bool:
    if a.name != b.name:
        return False
    if a.tag and b.tag:
        return a.tag == b.tag
    if a.digest and b.digest:
        return a.digest == b.digest
    return False

"""Findings: what scanners report (a CVE in an image, a misconfiguration of a resource), next to alerts.

A :class:`Finding` is lean (a ``NamedTuple``, like :class:`bot.core.alert.Alert`) because a cluster report
holds tens of thousands of them. Its **subject** decides grouping: one subject = one proposal.

- image vulnerabilities: the image with its version (``docker.io/library/nginx:1.16``; ``…@sha256:…`` when the
  report names it by digest only), so every CVE of one running image is one card (``nginx:1.14`` and ``nginx:1.16``
  have different CVEs and different fixes: two cards);
- misconfigurations: ``<check id> <namespace>/<kind>/<name>``, so one check on one resource is one card.

Every text field is hostile (scanners pass through package metadata and Kubernetes messages): render it through
:mod:`bot.core.sanitize`, never as markup or instructions.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from bot.core.alert import LEVEL_WORDS

FindingKind = str  # "vulnerability" | "misconfiguration"
VULNERABILITY = "vulnerability"
MISCONFIGURATION = "misconfiguration"

#: Scanner severities, highest first.
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")


class Finding(NamedTuple):
    """One scanner finding, as any source reader produces it."""

    source: str  # "trivy-image" | "trivy-k8s" | "trivy-config" | "trivy-operator" | ...
    kind: FindingKind  # VULNERABILITY | MISCONFIGURATION
    id: str  # normalised: "CVE-2019-20367", "GHSA-…", "KSV-0001", "DS-0002"
    subject: str  # what the finding is about (see the module docstring)
    severity: str = "UNKNOWN"  # one of SEVERITIES
    title: str = ""  # evidence text (hostile)
    package: str = ""
    installed: str = ""
    fixed: str = ""  # the scanner's FixedVersion of the *package* ("" when none is known)
    image: str = ""  # the image reference as the report names it ("" for a misconfiguration)
    namespace: str = ""
    workload_kind: str = ""  # the owning workload as normalised by the reader: "Deployment", ...
    workload: str = ""
    container: str = ""
    resolution: str = ""  # a misconfiguration's resolution text (hostile)
    ts: float | None = None  # when the report was written (epoch seconds), if it says
    where: str = ""  # where it was read: "report.json: Resources[3].Results[0].Vulnerabilities[2]"
    target: str = ""  # the scanned target inside the artifact (a file, "nginx:1.16 (debian 10.3)")
    package_type: str = ""  # Trivy's Result.Type: "debian", "gobinary", "jar", "pip", ...
    package_path: str = ""  # PkgPath when the report gives one (a jar inside a war...)
    # Dependency advisories (issue 18): the OSV ranges as bot.core.versions.format_ranges writes them, and the
    # advisory's other ids (space-separated), so a re-audit that names it differently still finds it.
    affected: str = ""
    aliases: str = ""

    @property
    def level(self) -> int:
        """The severity on the alert level scale (0-15), so one ``min_level`` applies to both."""
        return severity_level(self.severity)

    @property
    def workload_ref(self) -> str:
        """``namespace/name`` of the owning workload, as the inventory lists workloads ("" when unknown)."""
        if not self.workload:
            return ""
        return f"{self.namespace}/{self.workload}" if self.namespace else self.workload


def severity_level(severity: str) -> int:
    """CRITICAL 15, HIGH 12, MEDIUM 7, LOW 4, anything else 0 (the Wazuh 5.x word scale)."""
    return LEVEL_WORDS.get(severity.strip().lower(), 0) if isinstance(severity, str) else 0


def normalise_severity(value: object) -> str:
    """A scanner's severity as one of :data:`SEVERITIES` (``UNKNOWN`` for anything else)."""
    if isinstance(value, str):
        text = value.strip().upper()
        if text in SEVERITIES:
            return text
        if text in ("INFO", "INFORMATIONAL", "NEGLIGIBLE", "NONE"):
            return "UNKNOWN"
    return "UNKNOWN"


_CHECK_ID = re.compile(r"^(?:AVD-)?([A-Z]{2,8})-?([0-9]{1,6})$")
_CVE = re.compile(r"^CVE-([0-9]{4})-([0-9]{4,})$")
_GHSA = re.compile(r"^GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}$")
_OTHER = re.compile(r"^[A-Z][A-Z0-9]{1,15}-[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$")


def normalise_id(value: object) -> str | None:
    """A finding id in one spelling, or None when it is not an id.

    ``KSV001``, ``KSV-001``, ``KSV-0001`` and ``AVD-KSV-0001`` are all ``KSV-0001`` (Trivy's current style);
    CVE ids are upper-cased (``cve-2019-20367`` is ``CVE-2019-20367``); GHSA ids keep their lower-case body;
    other scanner ids (``DLA-2023-1``, ``RUSTSEC-2021-0001``, ``OSV-…``) are kept when they look like ids.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 80 or not text.isascii():
        return None
    upper = text.upper()
    m = _CVE.match(upper)
    if m:
        return upper
    if upper.startswith("GHSA-"):
        ghsa = "GHSA-" + text[5:].lower()
        return ghsa if _GHSA.match(ghsa) else None
    m = _CHECK_ID.match(upper)
    if m:
        return f"{m.group(1)}-{int(m.group(2)):04d}"
    if _OTHER.match(text):
        return text
    return None


def misconfiguration_subject(check_id: str, namespace: str, kind: str, name: str) -> str:
    """The subject of a misconfiguration: one check on one resource."""
    return f"{check_id} {namespace or '-'}/{kind or '-'}/{name or '-'}"


def severity_rank(severity: str) -> int:
    """0 for CRITICAL up to 4 for UNKNOWN (for sorting, most severe first)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)

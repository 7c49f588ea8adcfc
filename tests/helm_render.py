"""A small renderer for the subset of Helm's Go templates that deploy/helm/secops-bot uses (tests only).

Helm itself is not installable from the registries this project uses, and Trivy (which embeds Helm's real
engine) does not print the manifests it renders. So the tests render the chart with this renderer, validate
the manifests (Kubernetes schemas, the Pod Security policies), and separately run Trivy on the chart, which
renders it with Helm's engine: a template this renderer and Helm read differently would show up there as a
render error or as a missing target. Anything outside the subset raises :class:`Unsupported`, never renders
silently wrong.

Supported: text with ``{{ }}`` / ``{{- -}}`` trimming, comments, ``if``/``else``/``end``, ``with`` (sets ``.``
and skips when empty), pipelines, parentheses, fields of ``.Values``/``.Release``/``.Chart`` and ``.``, string
and integer literals, and the functions ``quote``, ``toYaml``, ``nindent``, ``indent``, ``default``,
``required``, ``fail``, ``int``, ``printf`` (``%s``/``%d``), ``eq``, ``ne``, ``gt``, ``lt``, ``not``, ``and``,
``or``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)


class Unsupported(Exception):
    """The template uses something outside the subset."""


class RequiredMissing(Exception):
    """``required`` met an empty value (Helm fails the render with the message)."""


class RenderFailed(Exception):
    """``fail`` was called (Helm stops the render with the message)."""


@dataclass
class Node:
    kind: str  # text | expr | if | with
    text: str = ""
    body: list[Node] = field(default_factory=list)
    orelse: list[Node] = field(default_factory=list)


def _tokens(source: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    trim_next = False
    for m in _ACTION.finditer(source):
        text = source[pos : m.start()]
        if trim_next:
            text = text.lstrip()
        if m.group(1):
            text = text.rstrip()
        out.append(("text", text))
        out.append(("action", m.group(2).strip()))
        trim_next = bool(m.group(3))
        pos = m.end()
    tail = source[pos:]
    out.append(("text", tail.lstrip() if trim_next else tail))
    return out


def _parse(tokens: list[tuple[str, str]]) -> list[Node]:
    root: list[Node] = []
    stack: list[tuple[Node | None, list[Node]]] = [(None, root)]
    for kind, text in tokens:
        current = stack[-1][1]
        if kind == "text":
            if text:
                current.append(Node("text", text))
            continue
        if text.startswith("/*"):
            continue
        word = text.split(None, 1)[0] if text else ""
        if word in ("if", "with"):
            node = Node(word, text[len(word) :].strip())
            current.append(node)
            stack.append((node, node.body))
        elif word == "else":
            node = stack[-1][0]
            if node is None or text != "else":
                raise Unsupported(f"{{{{ {text} }}}}")
            stack[-1] = (node, node.orelse)
        elif word == "end":
            stack.pop()
        elif word in ("range", "define", "template", "include", "block", "tpl"):
            raise Unsupported(f"{{{{ {text} }}}}")
        else:
            current.append(Node("expr", text))
    if len(stack) != 1:
        raise Unsupported("unclosed block")
    return root


def _empty(value: Any) -> bool:
    return value is None or value is False or value == 0 or value == "" or value == [] or value == {}


def _to_yaml(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=True).rstrip("\n")


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        raise Unsupported("printing a map or list without toYaml")
    return str(value)


class _Eval:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def field(self, path: str, dot: Any) -> Any:
        parts = [p for p in path.split(".") if p]
        value = self.root if path.startswith(".") and parts and parts[0] in self.root else dot
        for part in parts:
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def term(self, token: str, dot: Any) -> Any:
        if token == ".":
            return dot
        if token.startswith("."):
            return self.field(token, dot)
        if token.startswith('"'):
            return token[1:-1]
        if re.fullmatch(r"-?\d+", token):
            return int(token)
        if token in ("true", "false"):
            return token == "true"
        if token.startswith("("):
            return self.pipeline(token[1:-1], dot)
        return ("func", token)

    def call(self, name: str, args: list[Any]) -> Any:
        if name == "quote":
            return '"' + _show(args[0]).replace("\\", "\\\\").replace('"', '\\"') + '"'
        if name == "toYaml":
            return _to_yaml(args[0])
        if name in ("nindent", "indent"):
            pad = " " * int(args[0])
            text = "\n".join(pad + line if line else line for line in str(args[1]).split("\n"))
            return "\n" + text if name == "nindent" else text
        if name == "default":
            return args[0] if _empty(args[1]) else args[1]
        if name == "required":
            if _empty(args[1]):
                raise RequiredMissing(args[0])
            return args[1]
        if name == "printf":
            return args[0] % tuple(args[1:]) if re.fullmatch(r"([^%]|%[sd])*", args[0]) else _bad(name)
        if name == "fail":
            raise RenderFailed(args[0])
        if name == "int":  # sprig's int: numbers and numeric strings; anything else is 0
            value = args[0]
            if isinstance(value, bool) or value is None:
                return 0
            try:
                return int(float(value))
            except ValueError:
                return 0
        if name in ("gt", "lt"):
            if type(args[0]) is not type(args[1]):  # Go's templates refuse to compare int and float
                raise Unsupported(f"{name} of {type(args[0]).__name__} and {type(args[1]).__name__}")
            return args[0] > args[1] if name == "gt" else args[0] < args[1]
        if name == "eq":
            return args[0] == args[1]
        if name == "ne":
            return args[0] != args[1]
        if name == "not":
            return _empty(args[0])
        if name == "and":
            return next((a for a in args if _empty(a)), args[-1])
        if name == "or":
            return next((a for a in args if not _empty(a)), args[-1])
        return _bad(name)

    def command(self, text: str, dot: Any, piped: list[Any]) -> Any:
        words = _split(text)
        values = [self.term(w, dot) for w in words]
        head = values[0]
        if isinstance(head, tuple) and head[0] == "func":
            args = [v for v in values[1:]]
            if any(isinstance(a, tuple) for a in args):
                raise Unsupported(f"function as an argument: {text}")
            return self.call(head[1], args + piped)
        if len(values) > 1 or piped:
            raise Unsupported(f"not a function: {text}")
        return head

    def pipeline(self, text: str, dot: Any) -> Any:
        value: list[Any] = []
        for part in _split_pipes(text):
            value = [self.command(part, dot, value)]
        return value[0]


def _bad(name: str) -> Any:
    raise Unsupported(f"function {name}")


def _split(text: str) -> list[str]:
    """Words of one command: a "string" or a parenthesised group is one word."""
    words: list[str] = []
    buf, depth, quoted = "", 0, False
    for ch in text:
        if ch == '"' and depth == 0:
            quoted = not quoted
        elif not quoted and ch in "()":
            depth += 1 if ch == "(" else -1
        if ch.isspace() and not quoted and depth == 0:
            if buf:
                words.append(buf)
            buf = ""
        else:
            buf += ch
    if buf:
        words.append(buf)
    return words


def _split_pipes(text: str) -> list[str]:
    parts, depth, quoted, buf = [], 0, False, ""
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "()":
            depth += 1 if ch == "(" else -1
        if ch == "|" and not quoted and depth == 0:
            parts.append(buf.strip())
            buf = ""
        else:
            buf += ch
    parts.append(buf.strip())
    return parts


def _render(nodes: list[Node], ev: _Eval, dot: Any) -> str:
    out = []
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
        elif node.kind == "expr":
            out.append(_show(ev.pipeline(node.text, dot)))
        elif node.kind == "if":
            branch = node.orelse if _empty(ev.pipeline(node.text, dot)) else node.body
            out.append(_render(branch, ev, dot))
        elif node.kind == "with":
            value = ev.pipeline(node.text, dot)
            out.append(_render(node.orelse, ev, dot) if _empty(value) else _render(node.body, ev, value))
    return "".join(out)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def render_chart(
    chart: Path, values: dict[str, Any] | None = None, release: str = "secops-bot", namespace: str = "secops"
) -> dict[str, list[dict[str, Any]]]:
    """Template file name → the manifests it renders (documents that render empty are left out)."""
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    root = {
        "Values": _merge(yaml.safe_load((chart / "values.yaml").read_text()) or {}, values or {}),
        "Release": {"Name": release, "Namespace": namespace, "Service": "Helm"},
        "Chart": {"Name": meta["name"], "Version": meta["version"], "AppVersion": meta.get("appVersion")},
    }
    ev = _Eval(root)
    out: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((chart / "templates").glob("*.yaml")):
        text = _render(_parse(_tokens(path.read_text())), ev, root)
        docs = [d for d in yaml.safe_load_all(text) if d]
        if docs:
            out[path.name] = docs
    return out

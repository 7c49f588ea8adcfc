"""Sweep of `secops-bot policy preview POLICY.yaml --repo DIR`: hostile policy files and repositories give one
clear line and exit 2 (or the preview), never a traceback, a hang or terminal control sequences."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
REPO = ROOT / "fixtures" / "policy-repo"
POLICY = """apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: NAME}
spec:
  validationFailureAction: Audit
  rules:
  - name: r
    match: {any: [{resources: {kinds: [Deployment]}}]}
    validate: {message: m, pattern: {metadata: {name: "zzz"}}}
"""


def _bomb(tail: str) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\n" + tail


def preview(policy: Path, repo: Path = REPO) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["policy", "preview", str(policy), "--repo", str(repo)], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _file(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_preview_policy_not_utf8_one_line_exit_2(tmp_path):
    code, _out, err = preview(
        _file(tmp_path, "latin1.yaml", POLICY.replace("NAME", "caf\xe9").encode("latin-1"))
    )
    assert code == 2
    assert err.startswith("error: ") and "latin1.yaml is not UTF-8 text" in err


def test_preview_policy_truncated_yaml_exit_2(tmp_path):
    code, _out, err = preview(_file(tmp_path, "trunc.yaml", POLICY[:60] + "\n  name: [x\n"))
    assert code == 2
    assert "trunc.yaml is not valid YAML" in err and "Traceback" not in err


def test_preview_list_with_items_not_a_list_exit_2(tmp_path):
    code, _out, err = preview(_file(tmp_path, "items.yaml", "apiVersion: v1\nkind: List\nitems: 5\n"))
    assert code == 2
    assert "items.yaml: holds no Kyverno policy" in err


def test_preview_policy_alias_bomb_refused_unexpanded(tmp_path):
    code, _out, err = preview(_file(tmp_path, "bomb.yaml", _bomb(POLICY.replace("NAME", "bomb"))))
    assert code == 2
    assert "bomb.yaml is refused: its aliases expand to more than 10000 values" in err


def test_preview_repository_alias_bomb_manifest_skipped(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo)
    bomb = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bomb, namespace: x}\nspec: *a8\n"
    (repo / "apps" / "bomb.yaml").write_text(_bomb(bomb))
    code, out, _err = preview(_file(tmp_path, "p.yaml", POLICY.replace("NAME", "p")), repo)
    assert code == 0
    assert "Would flag 12 resources in 3 namespaces" in out


def test_preview_hostile_policy_name_no_terminal_control(tmp_path):
    name = '"x\\u001b[31mRED\\u009b2J\\u001b]8;;http://evil\\u0007click"'
    code, out, _err = preview(_file(tmp_path, "ansi.yaml", POLICY.replace("NAME", name)))
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert out.startswith("x [31mRED 2J ]8;;http://evil click: Would flag 12 resources")

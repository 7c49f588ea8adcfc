"""pip-compile's and uv's ``# via`` annotations as the lockfile's dependency graph (what the guard calls transitive)."""

from __future__ import annotations

from bot.core.lockfiles import pip_requirements

SPLIT = """\
flask==2.2.5
    # via -r requirements.in
jinja2==3.1.4 \\
    --hash=sha256:00
    # via flask
markupsafe==2.1.5
    # via
    #   jinja2
    #   werkzeug
werkzeug==2.3.8
    # via flask

# The following packages are considered to be unsafe in a requirements file:
setuptools==70.0.0
    # via -r requirements.in
"""


def _requires(text: str) -> dict[str, tuple[str, ...]]:
    return {k: p.requires for k, p in pip_requirements(text).packages.items()}


def test_split_annotations_become_requirements():
    assert _requires(SPLIT) == {
        "flask": ("jinja2", "werkzeug"),
        "jinja2": ("markupsafe",),
        "markupsafe": (),
        "werkzeug": ("markupsafe",),
        "setuptools": (),
    }


def test_line_annotations_become_requirements():
    text = "flask==2.2.5  # via -r requirements.in\nwerkzeug==2.3.8  # via flask, -r requirements.in\n"
    assert _requires(text) == {"flask": ("werkzeug",), "werkzeug": ()}


def test_file_without_annotations_has_no_graph():
    assert _requires("flask==2.2.5\nwerkzeug==2.3.8\n") == {"flask": (), "werkzeug": ()}

"""Pictures of the messages: headless Chromium through the one subprocess runner, skipped without it."""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from tools.runner import run_command
from tools.slack_preview.layout import WIDTH, Message, message_html, page
from tools.slack_preview.samples import build_samples

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_TIMEOUT_S = 60.0


# --- Chromium ---------------------------------------------------------------------------------------------


def find_chromium(names: Sequence[str] = CHROMIUM_NAMES) -> str | None:
    """The first Chromium on PATH, or None."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def _chromium_argv(chromium: str, profile: Path) -> list[str]:
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--disable-lcd-text",  # grey anti-aliasing: PNGs a fraction of the size
        "--force-color-profile=srgb",
        f"--user-data-dir={profile}",
    ]


_MEASURE = (
    "document.querySelectorAll('.shot').forEach(function(e, i) {"
    "document.body.setAttribute('data-h' + i, Math.ceil(e.getBoundingClientRect().height)); });"
)


def measure(chromium: str, bodies: Sequence[str], work: Path) -> list[int]:
    """Each body's rendered height, from one Chromium run (the same CSS and width as the screenshots)."""
    path = work / "measure.html"
    path.write_text(page(bodies, _MEASURE))
    argv = [*_chromium_argv(chromium, work / "profile"), "--dump-dom", path.as_uri()]
    result = run_command(argv, timeout=CHROMIUM_TIMEOUT_S, env_extra={"HOME": str(work)})
    if not result.ok:
        raise RuntimeError(result.error)
    found = dict(re.findall(r'data-h(\d+)="(\d+)"', result.stdout))
    return [int(found.get(str(i), 600)) for i in range(len(bodies))]


def screenshot(chromium: str, body: str, height: int, png: Path, work: Path) -> None:
    """One body to one PNG, the window exactly as tall as the content."""
    path = work / f"{png.stem}.html"
    path.write_text(page([body]))
    argv = [
        *_chromium_argv(chromium, work / "profile"),
        f"--screenshot={png}",
        f"--window-size={WIDTH},{max(height, 40)}",
        path.as_uri(),
    ]
    result = run_command(argv, timeout=CHROMIUM_TIMEOUT_S, env_extra={"HOME": str(work)})
    if not result.ok or not png.exists():
        raise RuntimeError(result.error or f"{png}: no screenshot written")


def shrink(png: Path, pngquant: str | None) -> None:
    """32 colours are plenty for text on white: a quarter of the bytes. Without pngquant the PNG stays."""
    if pngquant is None:
        return
    argv = [pngquant, "--force", "--strip", "--speed", "1", "--output", str(png), "32", str(png)]
    result = run_command(argv, timeout=CHROMIUM_TIMEOUT_S)
    if not result.ok and result.returncode not in (98, 99):  # 98/99: not smaller / quality: keep as is
        raise RuntimeError(result.error)


def render(
    messages: Sequence[Message],
    out: Path,
    *,
    chromium: str | None,
    say: Callable[[str], None] = print,
    keep_html: bool = False,
) -> int:
    """Write ``<name>.png`` for each message (and ``<name>.html`` with ``keep_html``); returns an exit code."""
    out.mkdir(parents=True, exist_ok=True)
    bodies = [message_html(m) for m in messages]
    if keep_html:
        for m, body in zip(messages, bodies, strict=True):
            (out / f"{m.name}.html").write_text(page([body]))
    if chromium is None:
        say("chromium not found: skipped")
        return 0
    with tempfile.TemporaryDirectory(prefix="slack-preview-") as tmp:
        work = Path(tmp)
        try:
            heights = measure(chromium, bodies, work)
            for m, body, height in zip(messages, bodies, heights, strict=True):
                screenshot(chromium, body, height, out / f"{m.name}.png", work)
                shrink(out / f"{m.name}.png", shutil.which("pngquant"))
                say(f"wrote {out / m.name}.png")
        except RuntimeError as exc:
            say(f"slack-preview failed: {exc}")
            return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.slack_preview", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/slack-preview"), help="where the PNGs go")
    parser.add_argument("--keep-html", action="store_true", help="also write the HTML of each picture")
    parser.add_argument("--chromium", help="the Chromium binary (default: chromium on PATH)")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory(prefix="slack-preview-data-") as tmp:
        messages = build_samples(root, Path(tmp))
    return render(
        messages,
        args.out,
        chromium=find_chromium((args.chromium,) if args.chromium else CHROMIUM_NAMES),
        keep_html=args.keep_html,
    )

"""Every ```python block of README.md and docs/**/*.md runs, against the emulator.

The blocks of one file run in order, in one namespace and one asyncio event loop, with
top-level `await` allowed, as a reader would paste them into `python -m asyncio`. The setup
a reader would have is made here instead: `RONGCLOUD_APP_KEY` / `RONGCLOUD_APP_SECRET` name
an app of an emulator served on loopback (real quotas), every region's hosts point at it,
`REDIS_URL` names a throwaway redis-server, and the working directory is a temporary one.
A block preceded by `<!-- docs-test: pytest -->` is a test module: it is written to a file
and run by pytest in a subprocess, where it must pass. A block preceded by
`<!-- docs-test: skip -->` is not run (see docs/contributing.md for when that is allowed).
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rongpub._constants import REGIONS
from rongpub.emulator import Emulator, Server, run_in_thread

from .redis.conftest import redis_url

__all__ = ["redis_url"]  # the fixture, for files whose examples use Redis

ROOT = Path(__file__).resolve().parent.parent
MARKDOWN = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
SKIP = "<!-- docs-test: skip -->"
PYTEST = "<!-- docs-test: pytest -->"
_FENCE = re.compile(
    r"^(?:<!-- docs-test: (?P<mark>skip|pytest) -->\n)?```python\n(?P<code>.*?)^```$", re.S | re.M
)
KEY, SECRET = "docs-app-key", "docs-app-secret"


def blocks(text: str) -> list[tuple[int, str, str]]:
    """(line number, code, mark: "", "skip" or "pytest") of each ```python block of `text`."""
    return [
        (text.count("\n", 0, m.start("code")) + 1, m["code"], m["mark"] or "")
        for m in _FENCE.finditer(text)
    ]


def test_blocks_are_found_with_their_lines_and_marks() -> None:
    text = (
        f"# t\n\n```python\na = 1\n```\n\n{SKIP}\n```python\nb\n```\n\n```sh\nc\n```\n"
        f"{PYTEST}\n```python\nd\n```\n"
    )
    assert blocks(text) == [(4, "a = 1\n", ""), (9, "b\n", "skip"), (17, "d\n", "pytest")]


FILES = [path for path in MARKDOWN if blocks(path.read_text())]


def test_the_readme_and_the_guides_have_examples() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in FILES}
    assert {"README.md", "docs/guides/publishing.md", "docs/guides/fanout.md"} <= names


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with run_in_thread(Emulator({KEY: SECRET})) as running:
        yield running


def _pytest(path: Path, line: int, code: str, tmp_path: Path) -> None:
    """Run a test-module block with pytest in a subprocess; every test in it must pass."""
    module = tmp_path / f"test_docs_block_{line}.py"
    module.write_text(code)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"]
    run = subprocess.run(
        [*command, module.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, f"{path}:{line}\n{run.stdout}\n{run.stderr}"
    assert " passed" in run.stdout and "skipped" not in run.stdout, run.stdout


async def _run(path: Path, text: str, namespace: dict[str, Any], tmp_path: Path) -> None:
    for line, code, mark in blocks(text):
        if mark == "skip":
            continue
        if mark == "pytest":
            _pytest(path, line, code, tmp_path)
            continue
        source = "\n" * (line - 1) + code  # tracebacks name the Markdown line
        compiled = compile(source, str(path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(compiled, namespace)
        if inspect.iscoroutine(result):
            await result


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(ROOT).as_posix() for p in FILES])
def test_python_blocks_run(
    path: Path,
    server: Server,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    text = path.read_text()
    if "rongpub.redis" in text:
        monkeypatch.setenv("REDIS_URL", request.getfixturevalue("redis_url"))
    monkeypatch.setenv("RONGCLOUD_APP_KEY", KEY)
    monkeypatch.setenv("RONGCLOUD_APP_SECRET", SECRET)
    hosts = (server.url, server.url)
    monkeypatch.setattr("rongpub._client.REGIONS", dict.fromkeys(REGIONS, hosts))
    monkeypatch.chdir(tmp_path)
    server.emulator.reset()
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    asyncio.run(_run(path, text, namespace, tmp_path))

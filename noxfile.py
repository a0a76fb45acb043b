"""Developer tasks. `python -m nox` runs tests, lint, typing and docs; `-s demo`, `-s bench` too."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typing", "docs"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite on asyncio and trio, with branch coverage of rongpub/ >= 90%."""
    session.install("-e", ".[test]")
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", *session.posargs)
    session.run("coverage", "combine", success_codes=[0, 1])
    session.run("coverage", "report")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typing(session: nox.Session) -> None:
    """mypy --strict on the package and the tests."""
    session.install("-e", ".[test]", "mypy>=1.11")
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs-material + mkdocstrings), built with --strict into site/."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: fan a message out through the embedded emulator."""
    session.install("-e", ".[all]")
    session.run("rongpub", "demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark suite (`-- --quick` for a short run)."""
    session.install("-e", ".[test]", "aiohttp", "matplotlib")
    session.run("python", "benchmarks/run.py", *session.posargs)

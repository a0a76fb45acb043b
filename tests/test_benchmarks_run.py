"""benchmarks/run.py: a partial run merges into the results, keeping the other suites."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

_SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("bench_run", _SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


run = _load()


def _header(command: str) -> dict[str, Any]:
    return {"generated": command, "command": command, "quick": False, "seconds": 1.0,
            "machine": {"cores": 2}}  # fmt: skip


def _entry(value: int, command: str) -> dict[str, Any]:
    return {"status": "ok", "result": {"value": value}, "measured": {"command": command}}


def test_partial_run_replaces_its_suites_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "latest.json"
    full = {"quota_fidelity": _entry(1, "full"), "overhead": _entry(2, "full"),
            "fanout": _entry(3, "full")}  # fmt: skip
    path.write_text(json.dumps({**_header("full"), "suites": full}))
    merged = run.merge(path, _header("only"), {"overhead": _entry(20, "only")})
    assert list(merged["suites"]) == ["quota_fidelity", "overhead", "fanout"]
    assert merged["suites"]["overhead"] == _entry(20, "only")
    assert merged["suites"]["fanout"] == _entry(3, "full")
    assert merged["command"] == "full"  # the header stays the full run's
    assert merged["updates"] == [{**_header("only"), "suites": ["overhead"]}]


def test_a_missing_or_unreadable_file_starts_a_new_report(tmp_path: Path) -> None:
    suites = {"overhead": _entry(2, "only")}
    assert run.merge(tmp_path / "none.json", _header("only"), suites) == {
        **_header("only"),
        "suites": suites,
    }
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert run.merge(broken, _header("only"), suites)["suites"] == suites


def test_a_new_suite_is_placed_in_suite_order(tmp_path: Path) -> None:
    path = tmp_path / "latest.json"
    path.write_text(json.dumps({**_header("full"), "suites": {"fanout": _entry(3, "full")}}))
    merged = run.merge(path, _header("only"), {"overhead": _entry(2, "only")})
    assert list(merged["suites"]) == ["overhead", "fanout"]

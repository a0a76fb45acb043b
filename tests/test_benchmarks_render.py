"""benchmarks/render_readme.py touches only its marked regions, and never invents a figure."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

_SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "render_readme.py"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("render_readme", _SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render_readme = _load()

DOCS = "# x\n\n## Fan-out\n\nfan text\n\n## Results\n\nprose\n\n## Dependencies\n\ndeps\n"


def test_first_render_adds_the_region_under_the_heading_only() -> None:
    out = render_readme.replace_region(DOCS, "TABLE\n")
    head, _, rest = out.partition("## Results")
    assert head == "# x\n\n## Fan-out\n\nfan text\n\n"
    assert rest.startswith(f"\n\n{render_readme.BEGIN}\nTABLE\n{render_readme.END}")
    assert out.endswith("\n\nprose\n\n## Dependencies\n\ndeps\n")


def test_rerender_replaces_the_region_and_nothing_else() -> None:
    once = render_readme.replace_region(DOCS, "OLD\n")
    twice = render_readme.replace_region(once, "NEW\n")
    assert "OLD" not in twice
    assert twice == once.replace("OLD", "NEW")
    assert render_readme.replace_region(twice, "NEW\n") == twice


def test_a_readme_without_the_section_is_refused() -> None:
    with pytest.raises(SystemExit):
        render_readme.replace_region("# x\n\n## Usage\n", "T\n")


def test_the_readme_headline_is_the_quota_fidelity_table_alone() -> None:
    rows = [{"api": "group", "path": "rongpub", "us": 40.0, "ratio": 1.0}]
    other = {"title": "3. request building", "script": "benchmarks/request_building.py",
             "status": "ok", "result": {"rows": rows}}  # fmt: skip
    missing = {"title": "1. quota fidelity", "script": "benchmarks/quota_fidelity.py",
               "status": "error", "error": "boom"}  # fmt: skip
    text = render_readme.headline(_report({"request_building": other, "quota_fidelity": missing}))
    assert text == "Quota fidelity was not measured in this run (error: boom).\n"
    readme = "# r\n\n## Against the alternatives\n\nprose\n"
    region = dict(heading="## Against the alternatives", begin=render_readme.HEADLINE_BEGIN,
                  end=render_readme.HEADLINE_END)  # fmt: skip
    out = render_readme.replace_region(readme, text, **region)
    assert render_readme.BEGIN not in out and render_readme.HEADLINE_BEGIN in out
    assert render_readme.replace_region(out, "NEW\n", **region).count("NEW") == 1


def _report(suites: dict[str, Any]) -> dict[str, Any]:
    machine = {"cpu": "cpu", "cores": 2, "python": "3.11", "packages": {"rongpub": "0.1.0"}}
    return {"command": "python benchmarks/run.py", "generated": "2026-01-01T00:00:00+00:00",
            "machine": machine, "suites": suites}  # fmt: skip


def test_a_suite_that_did_not_run_says_so_without_figures() -> None:
    missing = {"title": "4. fan-out", "script": "benchmarks/fanout.py", "status": "missing",
               "error": "benchmarks/fanout.py does not exist yet"}  # fmt: skip
    text = render_readme.render(_report({"fanout": missing}), chart=False)
    assert "Not measured in this run (missing: benchmarks/fanout.py does not exist yet)" in text
    assert "|" not in text  # no table
    assert "rate_over_time.png" not in text


def test_request_building_figures_come_from_the_results() -> None:
    rows = [
        {"api": "group", "path": "stdlib", "us": 50.0, "ratio": 1.0},
        {"api": "group", "path": "rongpub", "us": 40.0, "ratio": 0.8},
    ]
    entry = {"title": "3. request building", "script": "benchmarks/request_building.py",
             "status": "ok", "result": {"rows": rows}}  # fmt: skip
    text = render_readme.render(_report({"request_building": entry}), chart=True)
    assert "| group | 50 µs (1.00×) | 40 µs (0.80×) |" in text
    assert "![Targets accepted per second](images/rate_over_time.png)" in text


def test_a_suite_measured_by_a_later_run_names_that_run() -> None:
    rows = [{"api": "group", "path": "rongpub", "us": 40.0, "ratio": 1.0}]
    measured = {"generated": "2026-02-03T00:00:00+00:00", "quick": True,
                "command": "python benchmarks/run.py --quick --only request_building"}  # fmt: skip
    entry = {"title": "3. request building", "script": "benchmarks/request_building.py",
             "status": "ok", "result": {"rows": rows}, "measured": measured}  # fmt: skip
    text = render_readme.render(_report({"request_building": entry}), chart=False)
    assert (
        "Re-measured by `python benchmarks/run.py --quick --only request_building` (quick) "
        "on 2026-02-03." in text
    )
    entry["measured"] = {**measured, "generated": "2026-01-01T00:00:00+00:00"}
    assert "Re-measured" not in render_readme.render(_report({"request_building": entry}), False)


def test_overhead_instruction_counts_come_from_the_results() -> None:
    rows = [
        {"client": c, "concurrency": 1, "rate": 100.0, "cpu_us": 1000.0, "rate_ratio": 1.0,
         "cpu_ratio": 1.0} for c in ("httpx (bare)", "rongpub")
    ]  # fmt: skip
    counted = [
        {"client": "httpx (bare)", "concurrency": 1, "instructions_per_send": 2_850_000.0,
         "ratio": 1.0, "ratio_min": 1.0, "ratio_max": 1.0},
        {"client": "rongpub", "concurrency": 1, "instructions_per_send": 2_900_000.0,
         "ratio": 1.02, "ratio_min": 1.01, "ratio_max": 1.03},
    ]  # fmt: skip
    instructions = {"status": "ok", "rounds": 5, "sends_per_block": 100, "rows": counted}
    entry = {"title": "2. overhead", "script": "benchmarks/overhead.py", "status": "ok",
             "result": {"rows": rows, "instructions": instructions}}  # fmt: skip
    text = render_readme.render(_report({"overhead": entry}), chart=False)
    assert "| rongpub | 2,900,000 (1.02×, 1.01×-1.03×) |" in text
    instructions.update(status="unavailable", error="valgrind is not installed")
    text = render_readme.render(_report({"overhead": entry}), chart=False)
    assert "not counted (unavailable: valgrind is not installed)" in text

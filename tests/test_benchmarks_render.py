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


def test_the_lanes_table_pairs_lanes_on_with_off_from_the_results() -> None:
    def row(processes: int, lanes: str, p50: float, p99: float) -> dict[str, Any]:
        return {"processes": processes, "api": "group", "lanes": lanes, "wait_p50_ms": p50,
                "wait_p99_ms": p99, "api_sends": 40, "fanout_per_s": 18.1,
                "used_percent": 99.2, "rate_limited": 0, "lost": 0, "limit": 20}  # fmt: skip

    rows = [row(1, "on", 21.5, 47.25), row(1, "off", 450.0, 770.0), row(2, "on", 55.0, 83.5),
            row(2, "off", 570.0, 769.0)]  # fmt: skip
    probe = {"queue_requests": 200, "probes": 20, "refused": 20, "answer_p50_ms": 1.5,
             "answer_max_ms": 2.5}  # fmt: skip
    entry = {"title": "lanes", "script": "benchmarks/lanes.py", "status": "ok",
             "result": {"rows": rows, "max_wait": probe}}  # fmt: skip
    report = _report({"lanes": entry})
    readme = render_readme.lanes(report)
    assert "| group 20/s | one | 21.5 / 47.2 ms | 450 / 770 ms | 99.2% | 0 |" in readme
    assert "| group 20/s | two (Redis) | 55 / 83.5 ms | 570 / 769 ms | 99.2% | 0 |" in readme
    assert "20 of 20 refused" in render_readme.render(report, chart=False)
    missing = render_readme.lanes(_report({}))
    assert "not measured" in missing

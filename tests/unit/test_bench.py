"""The benchmark harness's pure parts: percentiles, the table, the results document. No timings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.__main__ import parse_args
from bench.report import Row, Summary, cpu_model, format_table, machine_info, percentile, results_document


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = list(range(1, 101))  # 1..100
    assert percentile(values, 0) == 1
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 100) == 100


def test_percentile_ignores_input_order_and_handles_one_value() -> None:
    assert percentile([30.0, 10.0, 20.0], 50) == 20.0
    assert percentile([7.0], 99) == 7.0


@pytest.mark.parametrize("bad", [-1, 100.5])
def test_percentile_rejects_out_of_range(bad: float) -> None:
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile([1.0], bad)


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_summary() -> None:
    summary = Summary.of([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (summary.n, summary.p50, summary.max) == (5, 3.0, 5.0)
    assert summary.p95 == pytest.approx(4.8)


def test_row_values_are_shown_with_sensible_precision() -> None:
    assert Row("s", "m", 1234.5678, "ms").shown_value() == "1235 ms"
    assert Row("s", "m", 12.345, "ms").shown_value() == "12.3 ms"
    assert Row("s", "m", 1.2345, "ms").shown_value() == "1.23 ms"
    assert Row("s", "m", 4).shown_value() == "4"
    assert Row("s", "m", "30/30").shown_value() == "30/30"


def test_table_aligns_columns_and_right_aligns_values() -> None:
    table = format_table(
        [
            Row("slack ack", "p50", 12.3, "ms", "< 3000 ms"),
            Row("github calls", "new request", 4, "", "min 4", "counted by the stub"),
        ]
    )
    lines = table.splitlines()
    assert lines[0].split() == ["section", "metric", "value", "limit", "note"]
    assert set(lines[1]) <= {"-", " "}
    assert len(lines) == 4
    value_ends = {
        line.index(value) + len(value) for line, value in zip(lines[2:], ["12.3 ms", "4"], strict=True)
    }
    assert len(value_ends) == 1  # right-aligned: both values end in the same column
    assert lines[3].endswith("counted by the stub")


def test_cpu_model_from_proc_cpuinfo() -> None:
    text = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\nprocessor\t: 1\n"
    assert cpu_model(text) == "AMD EPYC 7B13"
    assert cpu_model("processor\t: 0\n") == "unknown"


def test_results_document_is_json_with_machine_rows_and_details(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("model name\t: Test CPU\n")
    machine = machine_info(cpuinfo_path=cpuinfo, now=datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    assert machine["cpu_model"] == "Test CPU"
    assert machine["cores"] >= 1
    assert machine["python"].startswith("3.")
    assert machine["date"] == "2026-11-24T12:00:00+00:00"

    document = results_document(
        machine=machine,
        options={"quick": True},
        rows=[Row("github calls", "new request", 4, "", "min 4")],
        details={"github": {"counts": {"new request": 4}}},
    )
    decoded = json.loads(json.dumps(document))
    assert decoded["schema_version"] == 1
    assert decoded["rows"] == [
        {
            "section": "github calls",
            "metric": "new request",
            "value": 4,
            "unit": "",
            "limit": "min 4",
            "note": "",
        }
    ]
    assert decoded["details"]["github"]["counts"]["new request"] == 4


def test_quick_and_explicit_sizes() -> None:
    quick = parse_args(["--quick"])
    assert (quick.requests, quick.samples, quick.cold_runs) == (30, 30, 3)
    full = parse_args(["--requests", "50", "--only", "e2e", "--only", "github", "--skip-build"])
    assert (full.requests, full.samples, full.cold_runs) == (50, 200, 7)
    assert full.only == ["e2e", "github"]
    assert full.skip_build
    with pytest.raises(SystemExit):
        parse_args(["--only", "nonsense"])


def test_every_cold_start_target_is_a_module_that_exists():
    # A renamed handler must not leave `make bench` measuring a module that is gone.
    import importlib.util

    from bench._cold_child import FIRST_REQUEST_TARGETS, TARGETS

    modules = {target: module for target, (module, _init) in TARGETS.items()} | FIRST_REQUEST_TARGETS
    for target, module in modules.items():
        assert importlib.util.find_spec(module) is not None, f"{target}: no module {module}"


def test_the_cold_start_child_loads_nothing_of_the_project_before_its_clock_starts():
    # A module the child imports before timing is left out of every handler's figure (pydantic was).
    import subprocess
    import sys

    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, bench._cold_child; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout
    for module in ("pydantic", "backend", "bot", "boto3", "slack_bolt", "aws_lambda_powertools"):
        assert f"'{module}'" not in loaded, f"the cold-start child imports {module} before measuring"

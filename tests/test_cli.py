"""The ``triangle`` command, run in-process through ``sim.apps.cli.main`` (and once as the installed executable)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_cli

import sim
from sim.apps.cli import main
from sim.params.loading import load_scenario
from sim.results.metrics import GROUPS, METRICS

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SMALL = ["--set", "population.size=5000", "--set", "days=30"]
TINY = ["--set", "population.size=2000", "--set", "days=10"]
OUTPUT_FILES = {"summary.json", "daily.parquet", "facilities.parquet", "runs.parquet", "scenario.yaml",
                "provenance.json"}
# A metric may be undefined (no interval) only when a tiny county can have no case in its denominator.
MAY_BE_UNDEFINED = {"critical_minutes_to_treatment", "dip_point_value", "dip_points_per_capita",
                    "referral_down_acceptance", "platform_acceptance", "chest_pain_minutes_to_treatment",
                    "stroke_minutes_to_treatment", "critical_deaths_per_1000"}


def leftovers(folder: Path, name: str) -> list[str]:
    """Temporary siblings ``.name.*`` that write_outputs may have left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}."))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> tuple[Path, str]:
    """One run with --out, shared by the tests that read its folder: (folder, table printed)."""
    out = tmp_path_factory.mktemp("cli") / "out"
    status, stdout, stderr = run_cli(["run", BASELINE, *SMALL, "--replicates", "2", "--workers", "1", "--quiet",
                                      "--out", out])
    assert status == 0, stderr
    return out, stdout


# --------------------------------------------------------------------------------------------- run
def test_run_json_prints_only_the_summary(capsys):
    status = main(["run", str(BASELINE), *SMALL, "--replicates", "2", "--workers", "1", "--json", "--quiet"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    doc = json.loads(captured.out)  # fails if anything but the JSON document is on stdout
    assert set(doc) == {"scenario", "replicates", "metrics", "parameters"}
    assert doc["parameters"] == {"source": "fixed"}  # no --posterior or --priors
    assert doc["scenario"] == "baseline"
    assert doc["replicates"] == 2
    assert set(doc["metrics"]) == set(METRICS)
    for name, entry in doc["metrics"].items():
        if entry["mean"] is None:  # n/a in this run: it says why
            assert name in MAY_BE_UNDEFINED and set(entry) == {"mean", "ci95", "n/a"}, (name, entry)
            assert entry["n/a"] == METRICS[name].na, name
            continue
        assert set(entry) == {"mean", "ci95"}, name
        if entry["ci95"] is None and name in MAY_BE_UNDEFINED:
            continue
        assert isinstance(entry["mean"], float | int), (name, entry)
        ci = entry["ci95"]
        assert isinstance(ci, list) and len(ci) == 2, (name, entry)
        assert all(math.isfinite(v) for v in ci), (name, entry)
        assert ci[0] <= entry["mean"] <= ci[1], (name, entry)


def test_run_table_groups_metrics_by_corner_of_the_triangle(outputs):
    _, table = outputs
    lines = table.splitlines()
    headers = [g.upper() for g in GROUPS]
    assert headers == ["COST", "ACCESS", "QUALITY", "PROVIDERS", "PAYMENT"]
    positions = [lines.index(h) for h in headers]  # each group is a line of its own, in this order
    assert positions == sorted(positions)
    bounds = [*positions, len(lines)]
    for k, group in enumerate(GROUPS):
        section = "\n".join(lines[bounds[k] + 1:bounds[k + 1]])
        for metric in METRICS.values():
            assert (f"  {metric.name} " in section) == (metric.group == group), (group, metric.name)
    assert lines[-1].startswith("outputs written to")


def test_run_out_writes_every_output(outputs):
    out, _ = outputs
    assert {p.name for p in out.iterdir()} == OUTPUT_FILES
    assert leftovers(out.parent, out.name) == []

    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == {"scenario", "replicates", "metrics", "parameters"} and summary["replicates"] == 2

    daily = pd.read_parquet(out / "daily.parquet")
    assert {"day", "level", "arrivals", "served", "queue_length", "wait_days_mean"} <= set(daily.columns)
    assert set(daily["replicate"]) == {0, 1}
    assert len(daily) == 2 * 30 * 4  # replicates x days x levels
    assert (daily["queue_length"] >= 0).all()

    facilities = pd.read_parquet(out / "facilities.parquet")
    assert {"facility", "level", "revenue", "surplus"} <= set(facilities.columns)
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 2 and set(METRICS) <= set(runs.columns)

    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["version"] == sim.__version__
    assert provenance["seed"] == load_scenario(BASELINE).seed
    assert provenance["replicate_seeds"] == runs["seed"].tolist()


def test_run_out_scenario_yaml_loads_back_to_the_same_scenario(outputs):
    out, _ = outputs
    expected = load_scenario(BASELINE, ["population.size=5000", "days=30", "replicates=2"])
    assert load_scenario(out / "scenario.yaml") == expected


def test_run_out_refuses_a_non_empty_folder_without_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    status, stdout, stderr = run_cli(["run", BASELINE, *TINY, "--replicates", "1", "--workers", "1", "--quiet",
                                      "--out", out])
    assert status == 2
    assert "--force" in stderr and "Traceback" not in stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "keep me"
    assert leftovers(tmp_path, "out") == []

    status, _, stderr = run_cli(["run", BASELINE, *TINY, "--replicates", "1", "--workers", "1", "--quiet",
                                 "--out", out, "--force"])
    assert status == 0, stderr
    assert {p.name for p in out.iterdir()} == OUTPUT_FILES
    assert leftovers(tmp_path, "out") == []


def test_failed_run_leaves_no_partial_output_folder(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="disk full"):
        main(["run", str(BASELINE), *TINY, "--replicates", "1", "--workers", "1", "--quiet", "--out", str(out)])
    assert not out.exists()
    assert leftovers(tmp_path, "out") == []
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------- user errors
def test_misspelt_key_exits_2_with_a_message_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\npopulaton:\n  size: 5000\n")
    status, stdout, stderr = run_cli(["run", bad, "--quiet"])
    assert status == 2
    assert stdout == ""
    assert "populaton" in stderr and "population" in stderr
    assert "line 2" in stderr
    assert "Traceback" not in stderr


def test_misspelt_override_exits_2(capsys):
    status = main(["run", str(BASELINE), "--set", "population.sise=5000", "--quiet"])
    captured = capsys.readouterr()
    assert status == 2
    assert "population.sise" in captured.err
    assert "did you mean 'size'" in captured.err
    assert "Traceback" not in captured.err


def test_unknown_payment_model_exits_2(capsys):
    status = main(["run", str(BASELINE), *TINY, "--set", "payment.model=pay_for_performance", "--quiet"])
    captured = capsys.readouterr()
    assert status == 2
    assert "payment.model" in captured.err and "pay_for_performance" in captured.err
    assert "'drg'" in captured.err  # what is allowed
    assert captured.out == ""


# --------------------------------------------------------------------------------------------- other commands
def test_check_accepts_every_shipped_scenario(capsys):
    files = sorted((ROOT / "scenarios").glob("*.yaml"))
    assert files
    status = main(["check", *map(str, files)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert len([line for line in captured.out.splitlines() if ": ok (" in line]) == len(files)


def test_check_fails_on_a_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("days: -3\n")
    assert main(["check", str(BASELINE), str(bad)]) == 2
    captured = capsys.readouterr()
    assert "days" in captured.err
    assert ": ok (" in captured.out  # the good file is still reported


@pytest.mark.parametrize(("kind", "keys"), [("sweep", {"base", "parameters", "design"}),
                                           ("facts", {"facts"}), ("calibration", {"facts", "parameters"})])
def test_schema_of_other_files(capsys, kind, keys):
    """Sweep, facts and calibration files have their schemas too, for editors."""
    assert main(["schema", kind]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == f"triangle {kind} file"
    assert keys <= set(schema["properties"])


def test_schema_prints_json_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "population" in schema["properties"]
    assert "payment" in schema["properties"]


def test_metrics_lists_every_metric(capsys):
    assert main(["metrics", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert set(listed) == set(METRICS)
    assert {v["group"] for v in listed.values()} == set(GROUPS)


# --------------------------------------------------------------------------------------------- the executable
def test_installed_executable_runs_from_any_folder(tmp_path):
    exe = Path(sys.executable).parent / "triangle"
    assert exe.exists(), f"no console script at {exe}"
    proc = subprocess.run(
        [str(exe), "run", str(BASELINE), "--set", "population.size=3000", "--set", "days=20", "--replicates", "1",
         "--workers", "1", "--json", "--quiet"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["replicates"] == 1 and set(doc["metrics"]) == set(METRICS)


def test_a_county_too_big_for_memory_is_refused_before_running(tmp_path, monkeypatch):
    import sim.results.runner

    monkeypatch.setattr(sim.results.runner, "available_memory_bytes", lambda: 50e6)
    out = tmp_path / "out"
    status, stdout, stderr = run_cli(["run", BASELINE, *SMALL, "--workers", "1", "--quiet", "--out", out])
    assert status == 2
    assert "GiB" in stderr and "population.size" in stderr
    assert "Traceback" not in stderr
    assert not out.exists()


def test_a_first_run_on_a_machine_says_it_compiles_the_loops_and_a_later_one_says_nothing(monkeypatch, capsys):
    from sim import kernels
    from sim.engine import warmup

    loaded = []
    monkeypatch.setattr(warmup, "load", lambda: loaded.append(True))
    for cached in (False, True):
        monkeypatch.setattr(kernels, "compiled", lambda cached=cached: cached)
        assert main(["check", str(BASELINE)]) == 0  # a command that runs no model never compiles
        assert main(["run", str(BASELINE), *TINY, "--replicates", "1", "--quiet", "--json"]) == 0
    err = capsys.readouterr().err
    assert err.count("compiling the model's loops") == 1 and loaded == [True]


def test_the_loops_report_whether_they_are_compiled_for_this_source(monkeypatch):
    from sim import kernels
    from sim.engine import warmup

    warmup.load()
    assert kernels.compiled()
    # a cache written for another version of the source does not count
    monkeypatch.setattr(kernels.finish_treatments._cache._cache_file, "_source_stamp", b"another source")
    assert not kernels.compiled()


def test_check_and_help_load_no_part_of_the_model():
    """Start-up: `triangle check` and `triangle --help` import only the schema and the readers, never the model,
    its compiled loops or the plotting stack (what a quick check would otherwise wait for)."""
    heavy = ("numba", "mesa", "scipy", "pandas", "matplotlib", "sim.engine.model", "sim.kernels")
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
    code = (f"import sys\nfrom sim.apps.cli import main\nfor argv in (['check', {str(scenario)!r}], ['--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout

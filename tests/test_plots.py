"""Pictures (sim.results.plots): what they compute is checked on hand-made results; what they write, on real runs."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cli import BASELINE, ROOT, TINY, run_cli

from sim.results import plots
from sim.results.metrics import METRICS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def summary(**means) -> dict:
    """A summary with the given means and a +-10% interval for every other metric absent."""
    return {name: {"mean": m, "ci95": [0.9 * m, 1.1 * m]} for name, m in means.items()}


BASE = summary(spending_per_capita=2000.0, wait_days_mean=0.5, health_loss_per_1000=80.0,
               fund_spending_per_capita=1100.0, oop_per_capita=900.0)
REFORM = summary(spending_per_capita=1500.0, wait_days_mean=1.0, health_loss_per_1000=80.0,
                 fund_spending_per_capita=900.0, oop_per_capita=600.0)


def test_triangle_points_are_ratios_to_the_reference_with_their_intervals():
    points = plots.triangle_points({"base": BASE, "reform": REFORM}).set_index(["scenario", "corner"])
    assert points.loc[("base", "cost"), "mean"] == pytest.approx(1.0)
    assert points.loc[("reform", "cost"), "mean"] == pytest.approx(0.75)
    assert points.loc[("reform", "wait"), "mean"] == pytest.approx(2.0)
    assert points.loc[("reform", "wait"), ["lo", "hi"]].tolist() == pytest.approx([1.8, 2.2])
    assert points.loc[("reform", "quality"), "value"] == 80.0
    # another reference scales the other way round
    other = plots.triangle_points({"base": BASE, "reform": REFORM}, reference="reform").set_index(
        ["scenario", "corner"])
    assert other.loc[("base", "wait"), "mean"] == pytest.approx(0.5)


def test_triangle_points_leave_undefined_corners_undefined():
    points = plots.triangle_points({"base": {"spending_per_capita": {"mean": None, "ci95": None}}})
    assert points["mean"].isna().all()
    with pytest.raises(ValueError, match="reference"):
        plots.triangle_points({"base": BASE}, reference="missing")


def test_pareto_mask_keeps_runs_no_other_run_beats_on_both():
    runs = pd.DataFrame({"spending_per_capita": [1.0, 2.0, 3.0, 2.5, np.nan],
                         "health_loss_per_1000": [5.0, 3.0, 1.0, 3.5, 0.0]})
    assert plots.pareto_mask(runs, "spending_per_capita", "health_loss_per_1000").tolist() == [
        True, True, True, False, False]


def test_pareto_mask_follows_a_higher_is_better_metric():
    runs = pd.DataFrame({"spending_per_capita": [1.0, 2.0], "in_county_rate": [0.6, 0.8]})
    assert plots.pareto_mask(runs, "spending_per_capita", "in_county_rate").tolist() == [True, False]
    assert plots.pareto_mask(runs, "spending_per_capita", "in_county_rate",
                             higher_is_better=["in_county_rate"]).tolist() == [True, True]


def test_pareto_front_draws_the_front_through_the_non_dominated_runs():
    runs = pd.DataFrame({"spending_per_capita": [1.0, 2.0, 3.0, 2.5], "health_loss_per_1000": [5.0, 3.0, 1.0, 3.5],
                         "profit_weight": [0.0, 0.3, 0.6, 0.9]})
    fig = plots.pareto_front(runs, colour_by="profit_weight")
    front = [line for line in fig.axes[0].lines if line.get_label() == "Pareto front"][0]
    assert front.get_xdata().tolist() == [1.0, 2.0, 3.0]


def test_lever_table_gives_the_mean_and_interval_at_each_value_and_bins_many_values():
    runs = pd.DataFrame({"profit_weight": [0, 0, 0, 1, 1, 1], "los_mean": [8.0, 9.0, 10.0, 10.0, 11.0, 12.0]})
    table = plots.lever_table(runs, "profit_weight", "los_mean").set_index("profit_weight")
    assert table.loc[0, "mean"] == pytest.approx(9.0) and table.loc[1, "mean"] == pytest.approx(11.0)
    assert table.loc[0, "lo"] < 9.0 < table.loc[0, "hi"]
    assert table["runs"].tolist() == [3, 3]
    many = pd.DataFrame({"gap": np.linspace(0, 1, 60), "los_mean": np.linspace(5, 11, 60)})
    binned = plots.lever_table(many, "gap", "los_mean", max_bins=4)
    assert len(binned) == 4 and binned["runs"].sum() == 60
    assert binned["mean"].is_monotonic_increasing


def test_time_series_marks_each_reform_day():
    days = np.repeat(np.arange(20), 4)
    daily = pd.DataFrame({"day": days, "level": np.tile(["village", "township", "county", "out_of_county"], 20),
                          "queue_length": np.arange(80.0), "treated": 1.0, "wait_days_mean": 0.5})
    fig = plots.time_series(daily, ["queue_length", "wait_days_mean"], reform_days=[7, 12])
    for ax in fig.axes:
        verticals = sorted(line.get_xdata()[0] for line in ax.lines if len(set(line.get_xdata())) == 1)
        assert verticals == [7, 12]
        assert len(ax.lines) == 4 + 2  # one line per level and one per reform


def test_daily_series_weights_mean_columns_by_their_count():
    daily = pd.DataFrame({"day": [0, 0], "level": ["village", "county"], "wait_days_mean": [1.0, 4.0],
                          "treated": [3.0, 1.0]})
    pooled = plots.daily_series(daily, "wait_days_mean", by=None)
    assert pooled["wait_days_mean"].iloc[0] == pytest.approx((1 * 3 + 4 * 1) / 4)


def test_county_map_colours_facilities_by_load():
    facilities = pd.DataFrame({"x_km": [0.0, 5.0, 60.0], "y_km": [0.0, 3.0, 0.0],
                               "level": ["village", "township", "out_of_county"], "load": [0.0, 0.7, 3.0]})
    fig = plots.county_map(facilities, load_max=1.5)
    colours = [c.get_array().tolist() for c in fig.axes[0].collections]
    assert colours == [[0.0], [0.7], [1.5]]  # clipped at load_max


def test_write_report_embeds_every_picture_in_one_self_contained_page(tmp_path):
    page = plots.write_report(tmp_path / "report", {"base": BASE, "reform": REFORM},
                              periods={"reform": [{"start_day": 0, "end_day": 10, "metrics": BASE},
                                                  {"start_day": 10, "end_day": 20, "metrics": REFORM}]})
    text = page.read_text()
    pngs = sorted(p.name for p in page.parent.glob("*.png"))
    assert pngs == ["before_after_reform.png", "spending_by_payer.png", "triangle.png"]
    sources = re.findall(r"src='([^']*)'", text)
    assert len(sources) == len(pngs) and all(s.startswith("data:image/png;base64,") for s in sources)
    assert all(base64.b64decode(s.split(",", 1)[1]).startswith(PNG_MAGIC) for s in sources)
    assert "http" not in text  # nothing fetched from elsewhere
    assert all(name in text for name in METRICS)


def test_run_plot_writes_pictures_of_a_run_with_its_reform(tmp_path):
    folder = tmp_path / "pictures"
    status, stdout, stderr = run_cli(["run", ROOT / "scenarios" / "xiangtan_drg.yaml", *TINY,
                                      "--set", "timeline[0].day=5", "--replicates", "2", "--workers", "1",
                                      "--quiet", "--plot", folder])
    assert status == 0, stderr
    names = {p.name for p in folder.iterdir()}
    assert {"report.html", "triangle.png", "daily_wait_days_mean.png", "before_after_xiangtan_drg.png"} <= names
    assert all((folder / n).read_bytes().startswith(PNG_MAGIC) for n in names if n.endswith(".png"))
    assert "pictures written to" in stdout


def test_compare_report_shows_every_arm_and_the_paired_difference(tmp_path):
    folder = tmp_path / "report"
    status, stdout, stderr = run_cli(["compare", BASELINE, ROOT / "scenarios" / "drg.yaml", *TINY,
                                      "--replicates", "2", "--workers", "1", "--quiet", "--json",
                                      "--report", folder])
    assert status == 0, stderr
    text = (folder / "report.html").read_text()
    assert "<th>baseline</th><th>drg</th><th>drg - baseline</th>" in text
    assert stdout.lstrip().startswith("{") and "pictures written" in stderr  # --json keeps stdout clean


def test_plots_do_not_import_pyplot():
    source = Path(plots.__file__).read_text()
    assert "pyplot" not in source.replace("without pyplot", "")

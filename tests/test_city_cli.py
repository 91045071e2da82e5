"""``triangle run`` and ``triangle compare`` of cities: --out, --plot, parameter draws (one draw for every county of
a replicate), and comparisons of two cities paired by replicate and county; bad requests said clearly."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from sim.apps.cli import main
from sim.params.city import load_city
from sim.results import city as C
from sim.results import draws as D
from sim.results.metrics import METRICS
from sim.results.runner import interval

ROOT = Path(__file__).resolve().parents[1]
CITY = """
    days: 70
    replicates: 2
    population: {{size: 2000}}
    payment: {{model: {model}}}
    city:
      name: {name}
      counties:
        - {{name: east, timeline: [{{day: 35, set: {{payment.model: drg}}}}]}}
        - {{name: west}}
    """
RUN = ["--workers", "1", "--quiet"]


def write(folder: Path, name: str, model: str = "fee_for_service", text: str = CITY) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(textwrap.dedent(text.format(name=name, model=model)).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> Path:
    """The module's folder: the cities and the runs' folders that several tests read."""
    return tmp_path_factory.mktemp("city_cli")


def cli(argv, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def city_a(place) -> Path:
    return write(place, "alpha")


@pytest.fixture(scope="module")
def city_b(place) -> Path:
    return write(place, "beta", model="dip")


@pytest.fixture(scope="module")
def written(city_a, place):
    """One run of city A with --json, --out and --plot: (stdout doc, out folder, plot folder)."""
    import contextlib
    import io

    out, plot = place / "out_a", place / "plot_a"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(io.StringIO()):
        code = main(["run", str(city_a), *RUN, "--json", "--out", str(out), "--plot", str(plot)])
    assert code == 0
    return json.loads(buffer.getvalue()), out, plot


# ------------------------------------------------------------------------------------------- --out
def test_out_holds_the_json_doc_tables_by_county_the_city_and_its_seeds(written, city_a):
    doc, out, _ = written
    assert {p.name for p in out.iterdir()} == {"summary.json", "scenario.yaml", "daily.parquet",
                                               "facilities.parquet", "runs.parquet", "provenance.json"}
    assert json.loads((out / "summary.json").read_text()) == doc
    assert doc["did"]["reformed"] == ["east"] and set(doc["counties"]) == {"east", "west"}
    runs = pd.read_parquet(out / "runs.parquet")
    assert sorted(zip(runs.replicate, runs.county, strict=True)) == [(0, "east"), (0, "west"), (1, "east"),
                                                                     (1, "west")]
    assert set(METRICS) <= set(runs.columns)
    # the county rows' metrics are the counties' in the summary
    for name in ("east", "west"):
        mean = runs.loc[runs.county == name, "spending_per_capita"].mean()
        assert mean == pytest.approx(doc["counties"][name]["metrics"]["spending_per_capita"]["mean"])
    daily = pd.read_parquet(out / "daily.parquet")
    assert len(daily) == 2 * 2 * 70 * daily["level"].nunique()  # replicates x counties x days x levels
    assert set(daily.county) == {"east", "west"} and set(daily.replicate) == {0, 1}
    assert daily["arrivals"].sum() > 0
    assert set(pd.read_parquet(out / "facilities.parquet").county) == {"east", "west"}
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["parameters"] == {"source": "fixed"}
    assert [sorted(s) for s in provenance["replicate_seeds"]] == [["east", "west"]] * 2
    assert {(r.replicate, r.county): r.seed for r in runs.itertuples()} == {
        (i, n): s for i, seeds in enumerate(provenance["replicate_seeds"]) for n, s in seeds.items()}
    # scenario.yaml is the city as loaded: it reads back as the same city
    again, first = load_city(out / "scenario.yaml"), load_city(city_a)
    assert again.counties == first.counties and again.reformed == first.reformed
    assert again.reform_day == first.reform_day == 35


def test_out_is_refused_when_it_exists_unless_forced_and_leaves_nothing_on_error(place, written, city_a, capsys,
                                                                                 monkeypatch):
    _, out, _ = written
    code, _, err = cli(["run", city_a, *RUN, "--out", out], capsys)
    assert code == 2 and "exists and is not empty" in err and "--force" in err

    def broken(self, *args, **kwargs):
        raise OSError(28, "No space left on device", "daily.parquet")

    fresh = place / "fresh"
    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken)
    code, _, err = cli(["run", city_a, *RUN, "--set", "days=40", "--out", fresh], capsys)
    assert code == 2 and "No space left on device" in err
    assert not fresh.exists()
    assert not [p for p in place.iterdir() if p.name.startswith(".fresh.")]
    monkeypatch.undo()
    code, _, err = cli(["run", city_a, *RUN, "--set", "days=40", "--out", out, "--force"], capsys)
    assert code == 0, err
    assert json.loads((out / "summary.json").read_text())["replicates"] == 2


# ------------------------------------------------------------------------------------------- --plot
def test_plot_draws_the_city_the_counties_side_by_side_and_the_did(written):
    _, _, plot = written
    names = {p.name for p in plot.iterdir()}
    assert {"triangle.png", "daily_wait_days_mean.png", "counties.png", "did.png", "did_groups.png",
            "report.html"} <= names
    assert all((plot / n).stat().st_size > 5000 for n in names if n.endswith(".png"))
    page = (plot / "report.html").read_text()
    assert "Difference-in-differences at day 35" in page and "<th>east</th>" in page and "<th>west</th>" in page


def test_a_city_without_a_reform_date_has_no_did_picture(tmp_path, capsys):
    path = write(tmp_path, "plain", text=CITY.replace(", timeline: [{{day: 35, set: {{payment.model: drg}}}}]", ""))
    code, _, err = cli(["run", path, *RUN, "--set", "days=30", "--replicates", "1", "--plot", tmp_path / "p"],
                       capsys)
    assert code == 0, err
    names = {p.name for p in (tmp_path / "p").iterdir()}
    assert "counties.png" in names and "did.png" not in names


# ------------------------------------------------------------------------------------------- draws
def test_priors_draw_once_per_replicate_for_every_county(place, city_a, capsys):
    code, out, err = cli(["run", city_a, *RUN, "--set", "days=40", "--priors", "2", "--json", "--out",
                          place / "out_priors"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    parameters = doc["parameters"]
    assert parameters["source"] == "priors" and doc["replicates"] == 2
    first, second = (d["values"] for d in parameters["draws"])
    assert first.keys() == second.keys() == set(parameters["keys"]) and first != second
    assert doc["metrics"]["spending_per_capita"]["ui95"] is not None  # intervals hold the draws' spread
    runs = pd.read_parquet(place / "out_priors" / "runs.parquet")
    for r, values in enumerate((first, second)):
        rows = runs[runs.replicate == r]
        for key, value in values.items():
            assert list(rows[key]) == [pytest.approx(value)] * 2, key
    # and the counties' scenarios of a replicate hold its draw, every county alike
    scenario = load_city(city_a, ["days=40"])
    draws = D.draw("priors", 2, scenario.seed)
    cities = C.drawn_cities(city_a, ["days=40"], draws, 2, scenario)
    from sim.params import register

    for r, city in enumerate(cities):
        for county in city.counties.values():
            values = {e.key: e.value for e in register.entries(county) if e.key in draws.keys}
            assert values == pytest.approx(draws.values[r])


def test_posterior_draws_name_their_file(city_a, capsys):
    code, out, err = cli(["run", city_a, *RUN, "--set", "days=40", "--posterior", "2", "--posterior-file",
                          ROOT / "seeds" / "posterior.yaml", "--json"], capsys)
    assert code == 0, err
    parameters = json.loads(out)["parameters"]
    assert parameters["source"] == "posterior" and parameters["file"].endswith("posterior.yaml")
    assert len(parameters["draws"]) == 2


def test_bad_draw_requests_are_refused_clearly(city_a, tmp_path, capsys):
    code, _, err = cli(["run", city_a, *RUN, "--priors", "2", "--replicates", "3"], capsys)
    assert code == 2 and "--replicates with --priors" in err
    code, _, err = cli(["run", city_a, *RUN, "--posterior-file", tmp_path / "none.yaml"], capsys)
    assert code == 2 and "--posterior-file: only with --posterior N" in err
    code, _, err = cli(["run", city_a, *RUN, "--posterior", "2", "--posterior-file", tmp_path / "none.yaml"], capsys)
    assert code == 2 and "none.yaml: no such file" in err
    key = next(iter(D.prior_ranges()))
    own = write(tmp_path, "own", text=CITY.replace("{{name: west}}", f"{{{{name: west, set: {{{{{key}: 0.5}}}}}}}}"))
    code, _, err = cli(["run", own, *RUN, "--priors", "2"], capsys)
    assert code == 2 and f"city.counties[1].set (west) sets {key}" in err and "own.yaml" in err


# ------------------------------------------------------------------------------------------- compare
def test_compare_of_cities_is_b_minus_a_replicate_by_replicate_city_and_counties(place, city_a, city_b, capsys):
    outs = {}
    for name, path in (("a", city_a), ("b", city_b)):
        code, _, err = cli(["run", path, *RUN, "--out", place / f"cmp_{name}"], capsys)
        assert code == 0, err
        outs[name] = (json.loads((place / f"cmp_{name}" / "summary.json").read_text()),
                      pd.read_parquet(place / f"cmp_{name}" / "runs.parquet"))
    code, out, err = cli(["compare", city_a, city_b, *RUN, "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["scenarios"] == ["alpha", "beta"] and doc["replicates"] == 2
    diff = doc["differences"]["beta - alpha"]
    (a, runs_a), (b, runs_b) = outs["a"], outs["b"]
    for metric in ("spending_per_capita", "admissions_per_1000", "los_mean", "visits_per_capita"):
        assert diff["metrics"][metric]["mean"] == pytest.approx(
            b["metrics"][metric]["mean"] - a["metrics"][metric]["mean"])
        for county in ("east", "west"):
            per_replicate = (runs_b[runs_b.county == county].sort_values("replicate")[metric].to_numpy()
                             - runs_a[runs_a.county == county].sort_values("replicate")[metric].to_numpy())
            expected = interval(per_replicate)
            assert diff["counties"][county][metric]["mean"] == pytest.approx(expected["mean"])
            assert diff["counties"][county][metric]["ci95"] == pytest.approx(expected["ci95"])
    assert diff["did"]["los_mean"]["mean"] == pytest.approx(
        b["did"]["metrics"]["los_mean"]["mean"] - a["did"]["metrics"]["los_mean"]["mean"])
    assert doc["metrics"]["alpha"] == a["metrics"]
    assert doc["counties"]["beta"]["west"] == b["counties"]["west"]["metrics"]
    assert diff["metrics"]["dip_point_value"]["mean"] is None and "n/a" in diff["metrics"]["dip_point_value"]
    code, out, err = cli(["compare", city_a, city_b, *RUN, "--report", place / "cmp_report"], capsys)
    assert code == 0, err
    assert "COUNTIES: beta - alpha" in out and "DiD" in out
    assert (place / "cmp_report" / "report.html").is_file()


def test_compare_of_a_city_with_a_county_names_the_files(city_a, capsys):
    baseline = ROOT / "scenarios" / "baseline.yaml"
    code, _, err = cli(["compare", city_a, baseline], capsys)
    assert code == 2 and "baseline.yaml: is a county scenario" in err and "alpha.yaml is a city" in err


def test_compare_of_cities_explains_the_effect_with_a_tornado(city_a, city_b, capsys):
    code, out, err = cli(["compare", city_a, city_b, *RUN, "--json", "--tornado", "cost_per_admission",
                          "--tornado-params", "behaviour.provider.profit_weight", "--tornado-replicates", "2"],
                         capsys)
    assert code == 0, err
    doc = json.loads(out)
    tornado = doc["tornado"]["differences"]["beta - alpha"]
    # at the arms' own values, on the same seeds and replicates, the tornado's effect is compare's difference
    assert tornado["base"]["mean"] == pytest.approx(
        doc["differences"]["beta - alpha"]["metrics"]["cost_per_admission"]["mean"])
    (row,) = tornado["parameters"]
    assert row["key"] == "behaviour.provider.profit_weight"
    assert row["swing"] > 0 and row["effect_low"]["mean"] != row["effect_high"]["mean"]
    code, _, err = cli(["compare", city_a, city_b, *RUN, "--tornado", "no_such_metric"], capsys)
    assert code == 2 and "no_such_metric" in err

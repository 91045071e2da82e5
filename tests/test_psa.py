"""Parameter uncertainty: replicates on drawn behavioural parameters (``--posterior N``, ``--priors N``) and the
tornado of a comparison (``compare --tornado METRIC``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import run_cli

from sim.params import register
from sim.params.keys import ScenarioError
from sim.results import draws as D

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
DRG = ROOT / "scenarios" / "drg.yaml"
TINY = ["--set", "population.size=2000", "--set", "days=20"]
SEED = 7


# --------------------------------------------------------------------------------------------- draws
def test_posterior_draws_are_reproducible_differ_by_replicate_and_do_not_depend_on_their_number():
    five = D.draw("posterior", 5, SEED)
    assert five == D.draw("posterior", 5, SEED)
    assert D.draw("posterior", 3, SEED).values == five.values[:3]
    assert len({tuple(v.values()) for v in D.draw("posterior", 20, SEED).values}) > 1
    assert D.draw("posterior", 5, SEED + 1).values != five.values
    # Each draw is one of the stored particles (its correlations kept).
    particles = {tuple(sorted(p["values"].items())) for p in yaml.safe_load(D.POSTERIOR_FILE.read_text())["particles"]}
    assert all(tuple(sorted(v.items())) in particles for v in five.values)


def test_posterior_draws_follow_the_particles_weights():
    post = D.read_posterior()
    heaviest = int(np.argmax(post.weights))
    drawn = [D.posterior_values(post, SEED, r) for r in range(2000)]
    share = np.mean([v == dict(zip(post.keys, post.values[heaviest], strict=True)) for v in drawn])
    assert abs(share - post.weights[heaviest]) < 0.03


def test_prior_draws_lie_within_the_register_ranges_of_the_calibrated_parameters():
    calibrated = {e.key: e.range for e in register.entries() if e.kind == "calibrated" and e.range is not None}
    draws = D.draw("priors", 200, SEED)
    assert set(draws.keys) == set(calibrated)
    values = np.array([[v[k] for k in draws.keys] for v in draws.values])
    low = np.array([calibrated[k][0] for k in draws.keys])
    high = np.array([calibrated[k][1] for k in draws.keys])
    assert np.all(values >= low) and np.all(values <= high)
    # Spread over the range, not stuck at a value: each key's draws span most of it.
    assert np.all(values.max(axis=0) - values.min(axis=0) > 0.8 * (high - low))


def test_a_key_set_on_the_command_line_is_held_and_not_drawn():
    draws = D.draw("posterior", 4, SEED, overrides=["behaviour.provider.profit_weight=0.5"])
    assert "behaviour.provider.profit_weight" not in draws.keys
    assert all("behaviour.provider.profit_weight" not in v for v in draws.values)
    assert draws.held == {"behaviour.provider.profit_weight": "behaviour.provider.profit_weight=0.5"}


@pytest.mark.parametrize("n", [0, -3, D.MAX_DRAWS + 1])
def test_a_number_of_draws_out_of_bounds_is_refused(n):
    with pytest.raises(ScenarioError, match=f"--priors {n}: the number of draws must be 1"):
        D.draw("priors", n, SEED)


def _posterior_copy(tmp_path: Path, change) -> Path:
    doc = yaml.safe_load(D.POSTERIOR_FILE.read_text())
    change(doc)
    path = tmp_path / "posterior.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_missing_or_stale_posterior_is_refused_naming_the_file_and_what_changed(tmp_path):
    with pytest.raises(ScenarioError, match="nowhere.yaml: no such file"):
        D.read_posterior(tmp_path / "nowhere.yaml")

    def other_prior(doc):
        doc["parameters"]["behaviour.provider.profit_weight"]["prior"] = [0.1, 1.0]

    with pytest.raises(ScenarioError, match=r"parameters.behaviour.provider.profit_weight.prior = \[0.1, 1.0\]: "
                                            r"the register's range is now \[0.2, 1.0\].*calibrate` again"):
        D.read_posterior(_posterior_copy(tmp_path, other_prior))

    def gone(doc):
        doc["parameters"]["behaviour.provider.no_such_thing"] = {"prior": [0, 1], "mean": 0.5}

    with pytest.raises(ScenarioError, match="no_such_thing: the register declares no calibrated parameter"):
        D.read_posterior(_posterior_copy(tmp_path, gone))

    def outside(doc):
        doc["particles"][0]["values"]["behaviour.provider.profit_weight"] = 3.0

    with pytest.raises(ScenarioError, match=r"particles\[0\].values.behaviour.provider.profit_weight = 3.0: outside"):
        D.read_posterior(_posterior_copy(tmp_path, outside))

    (tmp_path / "empty.yaml").write_text("calibration: x\n")
    with pytest.raises(ScenarioError, match="empty.yaml: parameters: missing"):
        D.read_posterior(tmp_path / "empty.yaml")


@pytest.mark.parametrize("argv, message", [
    (["--posterior", "0"], "--posterior 0: the number of draws must be 1"),
    (["--priors", "3", "--replicates", "3"], "--replicates with --priors"),
    (["--posterior", "2", "--posterior-file", "nowhere.yaml"], "nowhere.yaml: no such file"),
    (["--posterior-file", "seeds/posterior.yaml"], "--posterior-file: only with --posterior N"),
])
def test_the_command_refuses_bad_draws_before_running(argv, message):
    status, _, err = run_cli(["run", BASELINE, *TINY, "--quiet", *argv])
    assert status == 2 and message in err and "Traceback" not in err


def test_posterior_and_priors_exclude_each_other():
    status, _, err = run_cli(["run", BASELINE, *TINY, "--posterior", "2", "--priors", "2"])
    assert status == 2 and "not allowed with argument" in err


# --------------------------------------------------------------------------------------------- run and compare
@pytest.fixture(scope="module")
def posterior_run(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("posterior") / "out"
    status, out, err = run_cli(["run", BASELINE, *TINY, "--posterior", "3", "--seed", SEED, "--workers", "1",
                                "--quiet", "--json", "--out", folder])
    assert status == 0, err
    assert "note:" not in err  # the bundled scenarios hold the calibrated values: nothing of their own is replaced
    return {**json.loads(out), "out": str(folder)}


def test_run_json_says_where_each_replicates_parameters_came_from(posterior_run):
    p = posterior_run["parameters"]
    assert p["source"] == "posterior" and p["file"].endswith("posterior.yaml")
    assert [d["replicate"] for d in p["draws"]] == [0, 1, 2]
    assert p["draws"] and [d["values"] for d in p["draws"]] == list(D.draw("posterior", 3, SEED).values)
    assert posterior_run["replicates"] == 3
    assert set(posterior_run["metrics"]["los_mean"]) >= {"mean", "ci95", "ui95"}
    runs = pd.read_parquet(Path(posterior_run["out"]) / "runs.parquet")  # each run beside its parameters
    assert runs["behaviour.provider.profit_weight"].tolist() == [
        d["values"]["behaviour.provider.profit_weight"] for d in p["draws"]]


def test_the_same_command_gives_the_same_numbers_on_any_number_of_workers(posterior_run):
    status, out, err = run_cli(["run", BASELINE, *TINY, "--posterior", "3", "--seed", SEED, "--workers", "2",
                                "--quiet", "--json"])
    assert status == 0, err
    assert json.loads(out) == {k: v for k, v in posterior_run.items() if k != "out"}


def test_fixed_parameters_are_said_in_json_and_text():
    status, out, err = run_cli(["run", BASELINE, "--set", "population.size=2000", "--set", "days=5",
                                "--replicates", "1", "--workers", "1", "--quiet"])
    assert status == 0, err
    assert "parameters: fixed at the scenario's values; intervals hold chance only" in out


def test_a_scenario_that_sets_a_drawn_parameter_has_it_replaced_and_is_told(tmp_path):
    own = tmp_path / "own.yaml"
    own.write_text(f"extends: {BASELINE}\nname: own\nbehaviour:\n  provider:\n    profit_weight: 0.9\n")
    status, out, err = run_cli(["run", own, "--set", "population.size=2000", "--set", "days=5", "--posterior", "2",
                                "--workers", "1", "--quiet", "--json"])
    assert status == 0, err
    assert json.loads(out)["parameters"]["replaced"] == {"own": {"behaviour.provider.profit_weight": 0.9}}
    assert "the scenario sets behaviour.provider.profit_weight = 0.9; the draws replace it" in err


def _difference(doc: dict, metric: str) -> dict:
    return doc["differences"]["drg - baseline"][metric]


@pytest.mark.slow
def test_drawn_parameters_widen_the_interval_of_an_effect_on_the_same_seeds():
    """DRG shortens stays by how far providers weigh profit against harm (profit_weight, understay_harm: both
    drawn); on the same seeds, the paired effect's spread over replicates then holds that uncertainty too, more
    from the priors than from the posterior the facts narrowed them to."""
    common = ["compare", BASELINE, DRG, "--set", "population.size=3000", "--set", "days=90", "--seed", SEED,
              "--workers", "2", "--quiet", "--json"]
    width = {}
    for name, how in (("fixed", "--replicates"), ("posterior", "--posterior"), ("priors", "--priors")):
        status, out, err = run_cli([*common, how, "8"])
        assert status == 0, err
        doc = json.loads(out)
        assert doc["parameters"]["source"] == name
        width[name] = np.diff(_difference(doc, "los_mean")["ci95"])[0]
    assert width["fixed"] * 1.5 < width["posterior"] < width["priors"], width


# --------------------------------------------------------------------------------------------- tornado
@pytest.fixture(scope="module")
def tornado(tmp_path_factory) -> tuple[dict, Path]:
    report = tmp_path_factory.mktemp("tornado") / "report"
    status, out, err = run_cli(["compare", BASELINE, DRG, "--set", "population.size=2000", "--set", "days=40",
                                "--replicates", "1", "--seed", SEED, "--workers", "1", "--quiet", "--json",
                                "--tornado", "los_mean", "--tornado-params",
                                "behaviour.staff.moving_cost_yuan,behaviour.provider.profit_weight",
                                "--report", report])
    assert status == 0, err
    return json.loads(out), report


def test_a_parameter_that_acts_in_neither_arm_has_no_swing_and_one_that_drives_the_policy_has(tornado):
    """Staff do not move in the baseline county (mobility_rate 0), so what moving costs them changes nothing in
    either arm; how far providers weigh profit is what DRG acts through."""
    doc, _ = tornado
    rows = {r["key"]: r for r in doc["tornado"]["differences"]["drg - baseline"]["parameters"]}
    assert rows["behaviour.staff.moving_cost_yuan"]["swing"] == 0.0
    assert rows["behaviour.provider.profit_weight"]["swing"] > 0.3
    assert [r["key"] for r in doc["tornado"]["differences"]["drg - baseline"]["parameters"]][0] == \
        "behaviour.provider.profit_weight"  # sorted by swing
    base = doc["tornado"]["differences"]["drg - baseline"]["base"]["mean"]
    assert base == pytest.approx(_difference(doc, "los_mean")["mean"])  # the same seeds as the comparison


def test_the_tornado_is_written_into_the_report(tornado):
    _, report = tornado
    assert (report / "tornado.png").stat().st_size > 1000
    table = (report / "tornado.csv").read_text()
    assert "behaviour.provider.profit_weight" in table and "swing" in table
    page = (report / "report.html").read_text()
    assert "What drives drg - baseline: los_mean" in page and "effect at high" in page


@pytest.mark.parametrize("argv, message", [
    (["--tornado", "los_meen"], "--tornado los_meen: no such metric; did you mean los_mean"),
    (["--tornado", "los_mean", "--tornado-params", "behaviour.provider.nothing"], "nothing: no such parameter"),
    (["--tornado", "los_mean", "--tornado-params", "payment.model"], "payment.model: has no range"),
    (["--tornado-top", "3"], "--tornado-top: only with --tornado METRIC"),
    (["--tornado", "los_mean", "--tornado-top", "0"], "--tornado-top 0: must be at least 1"),
])
def test_bad_tornado_requests_are_refused_before_running(argv, message):
    status, _, err = run_cli(["compare", BASELINE, DRG, *TINY, "--quiet", *argv])
    assert status == 2 and message in err, err


def test_by_default_the_tornado_varies_the_calibrated_parameters_and_optionally_the_assumed_behavioural_ones():
    from sim.experiments.sensitivity import tornado_parameters

    entries = register.entries()
    calibrated = {e.key for e in entries if e.kind == "calibrated"}
    assert {e.key for e in tornado_parameters(entries)} == calibrated
    more = {e.key for e in tornado_parameters(entries, assumed=True)} - calibrated
    assert more and all(k.startswith(("behaviour.", "outcomes.")) for k in more)
    assert "behaviour.resident.patience_days" in more

"""Extreme but valid scenarios run, and every metric of theirs is a finite number or a documented n/a.

The smallest county (100 residents), one day, (almost) no doctors, no beds, reimbursement 0 and 1, every payment
model: each runs without error, and each metric is finite or NaN with the reason ``triangle metrics`` gives
(``Metric.na``), never infinite, never an unexplained null. ``triangle run --json`` says why each null is
null, and the table lists each n/a with its reason.
"""

from __future__ import annotations

import json
import math

import pytest
from test_hostile_input import run_cli, write

from sim.engine.model import HealthSystemModel
from sim.params.loading import load_scenario_text
from sim.params.scenario import IMPLEMENTED_PAYMENT_MODELS
from sim.results import metrics as M
from sim.results.periods import period_metrics

TINY = "population: {size: 100}\n"
CASES = {
    "one day": "days: 1\n" + TINY,
    "one day, a county of 3,000": "days: 1\npopulation: {size: 3000}\n",
    "smallest county": "days: 20\n" + TINY,
    "almost no doctors": "days: 20\npopulation: {size: 1000}\nfacilities:\n" + "".join(
        f"  {level}: {{doctors: 0.001}}\n" for level in ("village", "township", "county", "out_of_county")),
    "no beds": "days: 20\npopulation: {size: 1000}\nfacilities:\n" + "".join(
        f"  {level}: {{beds: 0}}\n" for level in ("township", "county", "out_of_county")),
    "reimbursement 0": "days: 10\n" + TINY + "insurance:\n  reimbursement: {village: 0, township: 0, county: 0, "
                       "out_of_county: 0}\n",
    "reimbursement 1": "days: 10\n" + TINY + "insurance:\n  reimbursement: {village: 1, township: 1, county: 1, "
                       "out_of_county: 1}\n",
    "a reform on the last day": "days: 5\n" + TINY + "timeline: [{day: 4, set: {payment.model: drg}}]\n",
    **{f"{model}, one day": f"days: 1\n{TINY}payment: {{model: {model}}}\n" for model in IMPLEMENTED_PAYMENT_MODELS
       if model != "global_budget"},
    "global_budget": "days: 10\n" + TINY + "payment:\n  model: global_budget\n  global_budget: "
                     "{budget_per_resident_year_yuan: 900}\n",
}


def assert_defined(values: dict[str, float], where: str) -> None:
    for name, value in values.items():
        assert not math.isinf(value), f"{where}: {name} = {value}"
        if math.isnan(value):
            assert M.METRICS[name].na, f"{where}: {name} is n/a, and `triangle metrics` does not say when"


@pytest.mark.parametrize("case", list(CASES))
def test_every_metric_of_an_extreme_run_is_a_number_or_a_documented_na(case):
    scenario = load_scenario_text(CASES[case], name=case)
    model = HealthSystemModel(scenario, seed=3).run()
    assert_defined(M.compute(model), case)
    if scenario.timeline:
        for period in period_metrics(model):
            assert_defined(period["metrics"], f"{case}, days {period['start_day']}-{period['end_day']}")


def test_the_metrics_that_can_be_na_say_when_and_the_others_never_are():
    documented = {name for name, m in M.METRICS.items() if m.na}
    assert {"cost_per_admission", "los_mean", "referral_down_acceptance", "dip_point_value",
            "critical_minutes_to_treatment", "bed_occupancy"} <= documented
    # per resident-year and per day: person-years and days are never zero
    assert not {"spending_per_capita", "health_loss_per_1000", "visits_per_capita", "admissions_per_1000",
                "township_capability_mean"} & documented
    status, out, _ = run_cli(["metrics"])
    assert status == 0 and "cost_per_admission [yuan/admission]" in out and "(n/a when no inpatient was discharged)" \
        in out
    status, out, _ = run_cli(["metrics", "--json"])
    assert json.loads(out)["cost_per_admission"]["n/a"] == "no inpatient was discharged"


def test_run_says_why_each_metric_it_cannot_give_is_na(tmp_path):
    path = write(tmp_path, "name: a day\ndays: 1\npopulation: {size: 100}\n")
    status, out, err = run_cli(["run", path, "--replicates", "2", "--workers", "1", "--quiet", "--json"],
                               seconds=300)
    assert status == 0, err
    doc = json.loads(out)
    missing = {name: entry for name, entry in doc["metrics"].items() if entry["mean"] is None}
    assert missing, "a one-day county of 100 leaves some metric undefined (no discharge on the first day)"
    for name, entry in doc["metrics"].items():
        if entry["mean"] is None:
            assert entry["n/a"] == M.METRICS[name].na, name
        else:
            assert math.isfinite(entry["mean"]) and "n/a" not in entry
    status, out, err = run_cli(["run", path, "--replicates", "1", "--workers", "1", "--quiet"], seconds=300)
    assert status == 0, err
    for name in missing:
        assert f"\nn/a: {name}: {M.METRICS[name].na}\n" in out

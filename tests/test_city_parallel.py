"""A city's counties stepped on threads (``city.threads``): the same numbers on any number of threads, and the
numbers of the counties stepped one after another."""

from __future__ import annotations

import tempfile
import textwrap
import threading
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from sim.engine.city import City
from sim.engine.model import HealthSystemModel
from sim.params.city import load_city
from sim.results import metrics as M

DAYS = 90

# counties that differ in size, payment and reforms, so that a county's numbers cannot stand in for another's
COUNTIES = """
    - {name: a, size: 2500, set: {case_mix.incidence_scale: 2.0},
       timeline: [{day: 30, set: {payment.model: global_budget, policies.integration.level: tight}}]}
    - {name: b, size: 2000, set: {payment.model: dip, payment.dip.settlement_days: 30}}
    - {name: c, size: 1500, set: {payment.model: drg, payment.drg.rebase_days: 30}}
    - {name: d, size: 2000, set: {payment.model: dip, payment.dip.settlement_days: 30}}
"""


def city_scenario(beds: str, fund: str, threads: int):
    text = f"days: {DAYS}\ncity:\n  tertiary_beds: {beds}\n  fund: {fund}\n  threads: {threads}\n  counties:\n"
    text += textwrap.indent(textwrap.dedent(COUNTIES).strip("\n"), "    ") + "\n"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "city.yaml"
        path.write_text(text, encoding="utf-8")
        return load_city(path)


@cache
def numbers(beds: str, fund: str, threads: int):
    """Each county's daily table and metrics (its DIP point value and DRG base rate among them) and the fund's
    outlays by county."""
    city = City(city_scenario(beds, fund, threads))
    assert city.threads == (1 if beds == "shared" else min(threads, 4))
    city.run()
    out = {}
    for name, m in city.models.items():
        out[name] = (m.tally.daily.copy(), M.compute(m))
    return out, city.fund_outlays()


def assert_same(one, other):
    (counties, fund), (counties_2, fund_2) = one, other
    assert fund == fund_2
    for name, (daily, metrics) in counties.items():
        daily_2, metrics_2 = counties_2[name]
        assert np.array_equal(daily, daily_2), name
        assert metrics.keys() == metrics_2.keys()
        assert all(metrics[k] == metrics_2[k] or (np.isnan(metrics[k]) and np.isnan(metrics_2[k]))
                   for k in metrics), name


@pytest.mark.parametrize("threads", [2, 4])
def test_counties_apart_give_the_same_numbers_on_any_number_of_threads(threads):
    # one fund (DIP values and DRG rates over every county's cases) and beds apart: care halves on threads
    assert_same(numbers("separate", "city", 1), numbers("separate", "city", threads))


def test_shared_beds_give_the_same_numbers_on_threads():
    # the counties stay one after another (the bed rule needs it)
    assert_same(numbers("shared", "city", 1), numbers("shared", "city", 2))


def test_the_numbers_differ_between_cities_that_differ():
    # the comparison above can fail: shared beds change the counties' numbers
    shared, apart = numbers("shared", "city", 1)[0], numbers("separate", "city", 1)[0]
    assert any(not np.array_equal(shared[n][0], apart[n][0]) for n in shared)


def test_counties_on_threads_each_give_their_own_county_run():
    # with beds and funds apart the counties do not meet: each is its county run alone, step by step
    cs = city_scenario("separate", "county", 4)
    city = City(cs).run()
    for name, spec in cs.counties.items():
        alone = HealthSystemModel(spec, seed=spec.seed).run()
        assert np.array_equal(city.models[name].tally.daily, alone.tally.daily), name


def test_a_city_of_one_county_on_threads_is_its_county():
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "city.yaml"
        path.write_text(f"days: {DAYS}\ncity:\n  threads: 4\n  counties: [{{name: only, size: 2000, "
                        "set: {payment.model: dip, payment.dip.settlement_days: 30}}]\n", encoding="utf-8")
        cs = load_city(path)
    city = City(cs)
    assert city.threads == 1  # no more threads than counties
    city.run()
    alone = HealthSystemModel(cs.counties["only"], seed=cs.counties["only"].seed).run()
    assert np.array_equal(city.models["only"].tally.daily, alone.tally.daily)
    assert M.compute(city.models["only"])["dip_point_value"] == M.compute(alone)["dip_point_value"]


def _where_halves_run(beds: str, monkeypatch) -> dict[str, set[str]]:
    city = City(city_scenario(beds, "city", 2))
    ran: dict[str, set[str]] = {"step_care": set(), "step_settle": set()}
    def noted(half, step):
        def wrapped():
            ran[half].add(threading.current_thread().name.split("_")[0])
            step()
        return wrapped

    for model in city.models.values():
        for half in ran:
            monkeypatch.setattr(model, half, noted(half, getattr(model, half)))
    for _ in range(3):
        city.step()
    city.close()
    return ran


def test_counties_run_on_threads_only_when_they_do_not_meet(monkeypatch):
    apart = _where_halves_run("separate", monkeypatch)
    assert apart == {"step_care": {"county"}, "step_settle": {"county"}}
    shared = _where_halves_run("shared", monkeypatch)
    assert shared == {"step_care": {"MainThread"}, "step_settle": {"MainThread"}}


def test_an_error_in_a_county_on_a_thread_is_raised(monkeypatch):
    city = City(city_scenario("separate", "city", 2))

    def broken():
        raise RuntimeError("county b broke")

    monkeypatch.setattr(city.models["b"], "step_care", broken)
    with pytest.raises(RuntimeError, match="county b broke"):
        city.run()
    assert city._pool is None  # its threads are stopped

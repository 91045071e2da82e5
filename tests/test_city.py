"""A city of several counties under one fund: loading, a county as a city of one, shared tertiary beds, the city's
DIP point value and DRG base rate, difference-in-differences, and determinism."""

from __future__ import annotations

import tempfile
import textwrap
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from sim.core.levels import OUT_OF_COUNTY
from sim.engine.city import City, split
from sim.engine.model import HealthSystemModel
from sim.params.city import load_city
from sim.params.loading import ScenarioError, load_scenario
from sim.results import city as C
from sim.results import metrics as M

ROOT = Path(__file__).resolve().parents[1]
DAYS = 60


def write(tmp_path: Path, text: str, name: str = "city.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def city_of(tmp_path: Path, text: str, overrides=()):
    return load_city(write(tmp_path, text), overrides)


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        city_of(tmp_path, text)
    return str(info.value)


def same(a: dict, b: dict) -> bool:
    return all(a[k] == b[k] or (np.isnan(a[k]) and np.isnan(b[k])) for k in a)


# ------------------------------------------------------------------------------------------- loading
def test_errors_in_the_city_block_name_line_key_value_and_what_is_allowed(tmp_path):
    text = error_of(tmp_path, f"""
        days: {DAYS}
        city:
          tertiary_beds: pooled
          counties:
            - {{name: a, size: -3}}
            - {{name: b, sise: 3}}
        """)
    assert "city.yaml: 3 problems" in text
    assert "line 3: city.tertiary_beds = 'pooled': Input should be 'shared' or 'separate'" in text
    assert "line 5: city.counties[0].size = -3: Input should be greater than or equal to 1" in text
    assert "line 6: city.counties[1].sise = 3: unknown key; did you mean 'size'?" in text


def test_a_county_override_that_breaks_the_county_is_placed_at_its_line(tmp_path):
    text = error_of(tmp_path, """
        city:
          counties:
            - name: a
            - name: b
              set:
                payment.model: dgr
        """)
    assert "line 6: county b (city.counties[1]): payment.model = 'dgr'" in text
    assert "'drg'" in text  # what is allowed


def test_duplicate_county_names_and_reform_day_outside_the_run_are_refused(tmp_path):
    text = error_of(tmp_path, """
        city:
          counties: [{name: a}, {name: a}]
        """)
    assert "counties[1].name = 'a': another county has this name" in text
    text = error_of(tmp_path, """
        days: 30
        city:
          reform_day: 40
          counties: [{name: a}, {name: b}]
        """)
    assert "city.reform_day = 40: is not within the run's 30 days" in text


def test_counties_are_copies_of_the_base_with_their_own_size_seed_and_reforms(tmp_path):
    cs = city_of(tmp_path, """
        population: {size: 5000}
        payment: {model: dip}
        city:
          size_scale: 0.5
          counties:
            - {name: a, timeline: [{day: 10, set: {payment.model: drg}}]}
            - {name: b, size: 2000, seed: 9, set: {payment.model: fee_for_service}}
            - {name: c}
        """)
    a, b, c = cs.counties.values()
    assert (a.population.size, b.population.size, c.population.size) == (2500, 1000, 2500)
    assert a.seed == cs.base.seed and b.seed == 9 and c.seed not in (a.seed, 9)
    assert (a.payment.model, b.payment.model, c.payment.model) == ("dip", "fee_for_service", "dip")
    assert cs.reformed == ("a",) and cs.comparators == ("b", "c") and cs.reform_day == 10


# ------------------------------------------------------------------------------------------- a city of one
@pytest.mark.parametrize("payment", ["fee_for_service", "dip", "global_budget"])
def test_a_county_is_a_city_of_one_county_with_the_same_numbers(payment):
    overrides = ["population.size=3000", f"days={DAYS}", f"payment.model={payment}"]
    path = ROOT / "scenarios" / "baseline.yaml"
    county = M.compute(HealthSystemModel(load_scenario(path, overrides)).run())
    cs = load_city(path, overrides)
    assert list(cs.counties) == ["baseline"]
    city = City(cs).run()
    assert same(C.city_result(city, cs.seed).metrics, county)


def test_a_city_block_of_one_county_gives_the_county_numbers(tmp_path):
    path = write(tmp_path, f"""
        days: {DAYS}
        population: {{size: 3000}}
        payment: {{model: dip}}
        """, "county.yaml")
    cs = city_of(tmp_path, f"""
        days: {DAYS}
        payment: {{model: dip}}
        city:
          counties: [{{name: only, size: 3000}}]
        """)
    county = HealthSystemModel(load_scenario(path)).run()
    city = City(cs).run()
    assert same(M.compute(city.models["only"]), M.compute(county))
    assert np.array_equal(city.models["only"].tally.daily, county.tally.daily)


# ------------------------------------------------------------------------------------------- shared beds
def test_split_keeps_the_total_and_the_proportions():
    assert split(7, np.array([1.0, 1.0, 2.0])).tolist() == [2, 2, 3]
    assert split(0, np.array([1.0, 3.0])).tolist() == [0, 0]
    assert split(5, np.array([0.0, 0.0])).sum() == 5


def loaded(text: str):
    """The city of a scenario text (written to a file of its own for the loader, then removed)."""
    with tempfile.TemporaryDirectory() as folder:
        return load_city(write(Path(folder), text))


@cache
def _beds_run(beds: str, scale: float):
    city = City(loaded(f"""
        days: {DAYS}
        city:
          tertiary_beds: {beds}
          counties:
            - {{name: a, size: 3000, set: {{case_mix.incidence_scale: {scale}}}}}
            - {{name: b, size: 3000}}
        """)).run()
    return {n: (m.tally.admissions[OUT_OF_COUNTY], m.tally.waiting_list_days) for n, m in city.models.items()}


def test_shared_tertiary_beds_filled_by_one_county_are_lacking_to_the_other():
    calm, busy = _beds_run("shared", 1.0), _beds_run("shared", 3.0)
    assert busy["a"][0] > calm["a"][0]          # the busy county's patients take the city's beds
    assert busy["b"][0] < 0.6 * calm["b"][0]    # and the other county's patients find fewer
    # with each county's slice kept apart, the other county does not notice
    assert _beds_run("separate", 1.0)["b"] == _beds_run("separate", 3.0)["b"]


def test_a_county_without_beds_of_its_own_uses_the_pool(tmp_path):
    text = f"""
        days: {DAYS}
        city:
          tertiary_beds: {{beds}}
          counties:
            - {{name: a, size: 3000}}
            - {{name: b, size: 3000, set: {{facilities.out_of_county.beds: 0}}}}
        """
    apart = City(city_of(tmp_path, text.replace("{beds}", "separate"))).run()
    shared = City(city_of(tmp_path, text.replace("{beds}", "shared"))).run()
    assert apart.models["b"].tally.admissions[OUT_OF_COUNTY] == 0
    assert shared.models["b"].tally.admissions[OUT_OF_COUNTY] > 0
    # the record counts the pool's beds once: every day the counties' beds add up to it
    beds = sum(m.tally.daily[:, OUT_OF_COUNTY, 9] for m in shared.models.values())
    assert set(beds.tolist()) == {float(shared.pool.sum())}


# ------------------------------------------------------------------------------------------- the city's fund
def _dip_city(tmp_path, fund: str, scale: float):
    return City(city_of(tmp_path, f"""
        days: {DAYS}
        payment: {{model: dip}}
        city:
          fund: {fund}
          tertiary_beds: separate
          counties:
            - {{name: a, size: 3000, set: {{case_mix.incidence_scale: {scale}}}}}
            - {{name: b, size: 3000}}
        """)).run()


def test_the_city_dip_point_value_answers_another_countys_volume(tmp_path):
    value = {}
    for fund in ("city", "county"):
        for scale in (1.0, 2.0):
            m = _dip_city(tmp_path, fund, scale).models["b"]
            value[fund, scale] = M.compute(m)["dip_point_value"]
    assert value["county", 1.0] == value["county", 2.0]  # its own fund: its own volume only
    assert value["city", 2.0] < 0.97 * value["city", 1.0]  # the city's: a's extra points lower b's price
    # both counties settle at the city's one value
    city = _dip_city(tmp_path, "city", 2.0)
    a, b = (m.payment.ctx.books["dip"].history for m in city.models.values())
    assert [v for _, v, _ in a] == [v for _, v, _ in b]


def test_drg_base_rate_is_rebased_over_the_citys_cases(tmp_path):
    text = f"""
        days: {DAYS}
        payment: {{model: drg, drg: {{rebase_days: 30}}}}
        city:
          fund: {{fund}}
          tertiary_beds: separate
          counties:
            - {{name: a, size: 3000, set: {{case_mix.incidence_scale: 2.0}}}}
            - {{name: b, size: 3000}}
        """
    pooled = City(city_of(tmp_path, text.replace("{fund}", "city"))).run()
    own = City(city_of(tmp_path, text.replace("{fund}", "county"))).run()
    rates = {k: [m.payment.ctx.books["drg"].history for m in c.models.values()]
             for k, c in (("city", pooled), ("county", own))}
    assert rates["city"][0] == rates["city"][1] and len(rates["city"][0]) == 2
    assert rates["county"][0] != rates["county"][1]
    # b's rate is lowered by a's extra cases under one fund
    assert rates["city"][1][0][1] < rates["county"][1][0][1]


# ------------------------------------------------------------------------------------------- DiD
REFORM = """
    days: {days}
    replicates: 3
    city:
      tertiary_beds: shared
      counties:
        - {{name: r1, size: 2500, timeline: [{{day: 30, set: {{payment.model: {model}}}}}]}}
        - {{name: r2, size: 2500, timeline: [{{day: 30, set: {{payment.model: {model}}}}}]}}
        - {{name: c1, size: 2500}}
        - {{name: c2, size: 2500}}
    """


@cache
def _did(model: str, workers: int = 1):
    results = C.run_city_replicates(loaded(REFORM.format(days=DAYS, model=model)), workers=workers, progress=False)
    return results, C.summarise(results)


def _covers_zero(entry) -> bool:
    low, high = entry["ci95"]
    return low <= 0 <= high


def test_did_finds_the_reform_and_none_when_it_is_switched_off():
    _, reformed = _did("drg")
    did = reformed["did"]["metrics"]
    assert did["upcoding_rate"]["ci95"][0] > 0       # coding up begins with DRG, in the reformed counties only
    assert did["los_mean"]["ci95"][1] < 0            # and stays shorten
    _, off = _did("fee_for_service")                 # the reformed counties' reform switched off
    did = off["did"]["metrics"]
    for name in ("los_mean", "spending_per_capita", "admissions_per_1000", "upcoding_rate"):
        assert _covers_zero(did[name]), name


def test_the_same_seed_gives_the_same_numbers_on_any_number_of_workers():
    one, _ = _did("drg")
    two, _ = _did("drg", workers=2)
    for a, b in zip(one, two, strict=True):
        assert same(a.metrics, b.metrics) and same(a.did, b.did)
        assert all(same(a.counties[n], b.counties[n]) for n in a.counties)


def test_the_city_metrics_are_the_sums_of_the_counties():
    results, _ = _did("drg")
    r = results[0]
    # visits per resident-year of the city lies between the counties' and is their person-weighted mean
    values = [r.counties[n]["visits_per_capita"] for n in r.counties]
    assert min(values) <= r.metrics["visits_per_capita"] <= max(values)
    assert r.metrics["spending_per_capita"] == pytest.approx(np.mean(
        [r.counties[n]["spending_per_capita"] for n in r.counties]), rel=0.05)


# ------------------------------------------------------------------------------------------- the bundled cities
def test_the_bundled_cities_load_and_sanming_reports_counties_and_did(capsys):
    import json

    from sim.apps.cli import main

    xiangtan = load_city(ROOT / "scenarios" / "xiangtan_city.yaml")
    assert len(xiangtan.counties) > 1 and not xiangtan.reformed
    assert {s.payment.drg.rebase_days for s in xiangtan.counties.values()} == {91}
    code = main(["run", str(ROOT / "scenarios" / "sanming_city.yaml"), "--set", "city.size_scale=0.004",
                 "--replicates", "1", "--json", "--quiet"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["counties"]) == {"youxi", "jiangle", "ninghua", "datian"}
    assert "spending_per_capita" in doc["counties"]["youxi"]["metrics"]
    assert doc["did"]["reform_day"] == 365 and doc["did"]["reformed"] == ["youxi", "jiangle"]
    assert "fund_spending_per_capita" in doc["did"]["metrics"]


def test_commands_that_read_one_county_say_so_of_a_city(tmp_path):
    path = write(tmp_path, """
        city:
          counties: [{name: a}, {name: b}]
        """)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "line 1: city: a city of several counties; `triangle run` and `triangle check` read it" in str(info.value)


def test_every_county_of_a_city_keeps_its_queues_beds_and_money():
    import conftest

    city = City(loaded(f"""
        days: {DAYS}
        city:
          tertiary_beds: shared
          counties:
            - {{name: a, size: 3000, set: {{case_mix.incidence_scale: 2.0}},
               timeline: [{{day: 20, set: {{payment.model: global_budget, policies.integration.level: tight}}}}]}}
            - {{name: b, size: 3000, set: {{payment.model: dip}}}}
            - {{name: c, size: 2000, set: {{payment.model: drg, payment.drg.rebase_days: 20}}}}
        """))
    for day in range(DAYS):
        city.step()
        if day % 10 == 9:  # each county's tertiary beds hold its own patients between days
            for model in city.models.values():
                conftest.check_queues(model)
    for model in city.models.values():
        conftest.check_money(model)


# ------------------------------------------------------------------------------- the city pays its hospitals
def _tertiary_stays(pays: str, profit_weight: float = 0.5) -> dict[str, float]:
    """Mean bed-days per admission at the city's tertiary hospitals, by county, when the city pays them by ``pays``
    and both counties pay their own hospitals fee-for-service."""
    city = City(loaded(f"""
        days: 150
        behaviour: {{provider: {{profit_weight: {profit_weight}}}}}
        city:
          tertiary_payment: {pays}
          counties:
            - {{name: a, size: 6000}}
            - {{name: b, size: 6000}}
        """)).run()
    return {n: m.tally.bed_days[OUT_OF_COUNTY] / m.tally.admissions[OUT_OF_COUNTY] for n, m in city.models.items()}


def test_the_city_paying_its_hospitals_by_drg_shortens_their_stays_through_their_margin():
    spec = loaded("""
        city: {tertiary_payment: drg, counties: [{name: a, size: 2000}, {name: b, size: 2000}]}
        """)
    assert {s.payment.claim_model("out_of_county") for s in spec.counties.values()} == {"drg"}
    assert {s.payment.claim_model("county") for s in spec.counties.values()} == {"fee_for_service"}
    own, drg = _tertiary_stays("county"), _tertiary_stays("drg")
    for name in own:
        assert drg[name] < 0.95 * own[name], (name, own[name], drg[name])
    # a provider that weighs no margin keeps the same stays whoever pays
    assert _tertiary_stays("county", 0.0) == _tertiary_stays("drg", 0.0)


def test_a_county_may_not_change_how_the_city_pays_its_hospitals(tmp_path):
    text = error_of(tmp_path, """
        city:
          tertiary_payment: drg
          counties:
            - {name: a, size: 2000}
            - name: b
              size: 2000
              timeline: [{day: 30, set: {payment.by_level.out_of_county: dip}}]
        """)
    assert "city.counties[1].timeline[0].set.payment.by_level.out_of_county = 'dip'" in text
    assert "city.tertiary_payment = drg" in text and "county b" in text
    text = error_of(tmp_path, """
        timeline: [{day: 30, set: {payment.by_level.out_of_county: fee_for_service}}]
        city: {tertiary_payment: dip, counties: [{name: a, size: 2000}]}
        """)
    assert "timeline[0].set.payment.by_level.out_of_county = 'fee_for_service'" in text and "county a" in text


# ------------------------------------------------------------------------------------------- shared clinics
@cache
def _clinics_run(clinics: str, scale: float):
    """Hours county b's patients waited per consultation at the city's tertiary clinics, and a's consultations there,
    when county a falls ill ``scale`` times as often."""
    city = City(loaded(f"""
        days: {DAYS}
        city:
          tertiary_beds: separate
          tertiary_clinics: {clinics}
          counties:
            - {{name: a, size: 4000, set: {{case_mix.incidence_scale: {scale}}}}}
            - {{name: b, size: 4000}}
        """)).run()
    t = {n: m.tally for n, m in city.models.items()}
    return (t["b"].clinic_wait_hours_sum[OUT_OF_COUNTY] / t["b"].consultations[OUT_OF_COUNTY],
            t["a"].consultations[OUT_OF_COUNTY])


def test_shared_tertiary_clinics_make_one_countys_demand_the_others_wait():
    calm, busy = _clinics_run("shared", 1.0), _clinics_run("shared", 3.0)
    assert busy[1] > 2 * calm[1]          # the busy county's patients take the city's clinic minutes
    assert busy[0] > 1.2 * calm[0]        # and the other county's patients wait longer behind them
    # with each county's slice of the doctors kept apart, the other county's waits do not notice
    assert _clinics_run("separate", 1.0)[0] == _clinics_run("separate", 3.0)[0]


def test_shared_clinics_step_counties_one_after_another_and_keep_every_countys_books():
    spec = loaded("""
        days: 30
        city: {tertiary_clinics: shared, tertiary_beds: separate, threads: 2,
                counties: [{name: a, size: 3000}, {name: b, size: 3000}]}
        """)
    city = City(spec)
    assert city.threads == 1
    doctors = {n: m.facilities.doctors.copy() for n, m in city.models.items()}
    city.run()
    for n, m in city.models.items():  # lent doctors and minutes go back every day
        assert not m.city_lends and not m.lent_doctors.any() and not m.clinic_taken.any()
        np.testing.assert_array_equal(m.facilities.doctors, doctors[n])


def test_a_countys_timeline_that_changes_its_tertiary_beds_changes_its_slice_of_the_pool():
    def run(timeline: str):
        city = City(loaded(f"""
            days: {DAYS}
            city:
              counties:
                - {{name: a, size: 3000{timeline}}}
                - {{name: b, size: 3000}}
            """))
        before = city.pool.copy()
        city.run()
        return before, city

    before, kept = run("")
    _, grown = run(", timeline: [{day: 20, set: {facilities.out_of_county.beds: 400}}]")
    np.testing.assert_array_equal(kept.pool, before)
    assert (grown.pool > before).all()
    np.testing.assert_array_equal(grown.pool, grown.own_beds.sum(axis=0))
    assert grown.own_beds[0].sum() > kept.own_beds[0].sum() and (grown.own_beds[1] == kept.own_beds[1]).all()

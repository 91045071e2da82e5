"""A city (prefecture): several county models under one insurance fund, sharing the city's tertiary hospitals,
stepped together one day at a time.

Each day, in order:

1. every county's care half (``HealthSystemModel.step_care``: onsets, choices, service, beds, billing, outcomes),
   one county after another, in an order that turns with the day (county ``day mod n`` first), so that no county
   is always first to the shared beds. With ``city.tertiary_beds: shared``, county k's out-of-county hospitals are
   lent the whole pool while it runs: they hold every county's beds, and every county's patients in them, so
   what is free and how full the hospital is are the city's; what k's step changed (its admissions, discharges)
   is then taken back as k's own;
2. the city's fund acts (``city.fund: city``): a DIP settlement falling due today is settled at the city's one
   point value, (the counties' budgets + their patients' payments) / every county's points, and a DRG re-basing
   falling due sets the city's base rate over every county's DRG cases;
3. every county's settlement half (``HealthSystemModel.step_settle``: periodic payments, including its medical
   community's budget from the fund, learning, the day's record), its tertiary beds for the record being its own
   patients' beds and its share of the free ones.

A city of one county steps its county exactly as ``HealthSystemModel.step`` does: the same numbers.

With ``city.tertiary_clinics: shared``, county k's tertiary clinics are likewise lent every county's doctors
there while it runs, less the clinic minutes the counties before it took that day.

With ``city.threads`` above 1 and counties that do not meet during their care halves (``tertiary_beds`` and
``tertiary_clinics`` separate), the counties' halves run on a pool of threads: the care halves, then (after the
city's rates) the settlement halves. A county's day reads and writes only its own model (its own random streams,
arrays and books; the condition catalogue it shares is read-only), so each county's numbers, and so the city's, are
the same on any number of threads. Shared beds or clinics keep the counties one after another, as their rules
need (their settlement halves alone on threads were measured no faster).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from sim.core.conditions import load_catalogue
from sim.core.levels import OUT_OF_COUNTY
from sim.engine.model import HealthSystemModel
from sim.engine.snapshot import snapshot
from sim.params.city import CityScenario
from sim.payment.interface import period_budget


def split(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` units split in proportion to ``weights`` (integers, largest remainders first, ties by place)."""
    weights = np.asarray(weights, dtype=float)
    if total <= 0 or weights.sum() <= 0:
        out = np.zeros(len(weights), np.int64)
        if total > 0 and len(weights):
            out[0] = total
        return out
    exact = total * weights / weights.sum()
    out = np.floor(exact).astype(np.int64)
    rest = total - int(out.sum())
    order = np.argsort(-(exact - out), kind="stable")
    out[order[:rest]] += 1
    return out


class City:
    """``City(city_scenario, seeds).run()`` simulates every county of the city for ``days`` days.

    ``seeds``: each county's model seed, in the counties' order (default: each county scenario's seed)."""

    # the counties' tertiary beds and the patients in them, lent as one pool and taken back (shared beds)
    writes = ("facilities.beds", "facilities.occupied")

    def __init__(self, scenario: CityScenario, seeds: list[int] | None = None) -> None:
        self.spec = scenario
        specs = list(scenario.counties.values())
        seeds = seeds if seeds is not None else [s.seed for s in specs]
        catalogues: dict = {}
        self.models: dict[str, HealthSystemModel] = {}
        for (name, spec), seed in zip(scenario.counties.items(), seeds, strict=True):
            key = spec.case_mix.catalogue
            if key not in catalogues:
                catalogues[key] = load_catalogue(key)
            self.models[name] = HealthSystemModel(spec, seed=seed, catalogue=catalogues[key])
        self.names = list(self.models)
        self.day = 0
        self.days = scenario.days
        many = len(self.models) > 1
        self.pooled_fund = many and scenario.city.fund == "city"
        self.shared_beds = many and scenario.city.tertiary_beds == "shared"
        # the city's tertiary hospitals: hospital j of every county's out-of-county level is the city's hospital j
        self.tertiary = {n: np.flatnonzero(m.facilities.level == OUT_OF_COUNTY) for n, m in self.models.items()}
        self.shared_clinics = many and scenario.city.tertiary_clinics == "shared"
        for shared, key in ((self.shared_beds, "tertiary_beds"), (self.shared_clinics, "tertiary_clinics")):
            if shared and len({len(rows) for rows in self.tertiary.values()}) > 1:
                raise ValueError(f"city.{key} = 'shared': every county must name the same number of "
                                 "geography.out_of_county_hospitals (the city's hospitals)")
        # each county's own beds there (its slice), by hospital: the pool is their sum
        self.own_beds = np.array([m.facilities.beds[self.tertiary[n]] for n, m in self.models.items()])
        self.pool = self.own_beds.sum(axis=0) if self.shared_beds else None
        # counties stepped at once (their halves on threads), no more than there are counties; one when they meet
        # during their care halves (shared beds or clinics)
        self.meet = self.shared_beds or self.shared_clinics
        self.threads = 1 if self.meet else min(scenario.city.threads, len(self.models))
        self._pool: ThreadPoolExecutor | None = None
        # the difference-in-differences' marks: each county's totals at the start and at the reform date
        self.marks: dict[int, dict] = {}

    # ------------------------------------------------------------------------------------------- running
    def run(self, progress=None) -> City:
        try:
            for _ in range(self.days):
                self.step()
                if progress is not None:
                    progress(1)
        finally:
            self.close()
        return self

    def close(self) -> None:
        """Stop the counties' threads (a later step starts them again)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _each(self, half: str, names: list[str]) -> None:
        """Every county of ``names`` steps its ``half`` (``step_care`` or ``step_settle``): on the threads, or one
        after another. Each touches only its own model, so the order does not matter; errors are raised here."""
        if self.threads > 1 and len(names) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="county")
            for future in [self._pool.submit(getattr(self.models[n], half)) for n in names]:
                future.result()
        else:
            for name in names:
                getattr(self.models[name], half)()

    def step(self) -> None:
        if self.day == 0 or self.day == self.spec.reform_day:
            self.marks[self.day] = {n: snapshot(m) for n, m in self.models.items()}
        n = len(self.names)
        order = [self.names[(self.day + i) % n] for i in range(n)] if n > 1 else self.names
        if self.meet:  # one after another: each county sees the beds and clinic minutes the ones before it took
            taken = np.zeros(len(self.tertiary[self.names[0]]))  # clinic minutes taken today, by hospital
            for name in order:
                if self.shared_beds:
                    self._lend_pool(name)
                if self.shared_clinics:
                    self._lend_clinics(name, taken)
                self.models[name].step_care()
                if self.shared_clinics:
                    taken += self._clinics_back(name)
                if self.shared_beds:
                    self._take_back(name)
            if self.shared_beds:
                self._beds_for_the_record()
        else:
            self._each("step_care", order)
        if self.pooled_fund:
            self._city_rates()
        self._each("step_settle", self.names)
        self.day += 1

    # ------------------------------------------------------------------------------------------- shared clinics
    @property
    def pool_doctors(self) -> np.ndarray:
        """[hospital] the doctors of the city's tertiary clinics today: every county's slice together."""
        return np.sum([m.facilities.doctors[self.tertiary[n]] for n, m in self.models.items()], axis=0)

    def _lend_clinics(self, name: str, taken: np.ndarray) -> None:
        """County ``name``'s tertiary clinics have every county's doctors, less the minutes the counties before it
        took today (its patients queue behind theirs)."""
        m, rows = self.models[name], self.tertiary[name]
        m.lent_doctors[rows] = self.pool_doctors - m.facilities.doctors[rows]
        m.clinic_taken[rows] = taken
        m.city_lends = True

    def _clinics_back(self, name: str) -> np.ndarray:
        """The minutes county ``name``'s day took of the city's tertiary clinics; its clinics are its own again."""
        m, rows = self.models[name], self.tertiary[name]
        m.lent_doctors[rows] = 0.0
        m.clinic_taken[rows] = 0.0
        m.city_lends = False
        return m.clinic_used[rows]

    # ------------------------------------------------------------------------------------------- shared beds
    def _occupied(self) -> np.ndarray:
        """[county, hospital] the city's tertiary beds each county's patients hold."""
        return np.array([m.facilities.occupied[self.tertiary[n]] for n, m in self.models.items()])

    def _lend_pool(self, name: str) -> None:
        """County ``name``'s tertiary hospitals hold the whole pool and every county's patients in it."""
        fac, rows = self.models[name].facilities, self.tertiary[name]
        total = self._occupied().sum(axis=0)
        self._others = total - fac.occupied[rows]
        fac.beds[rows] = self.pool
        fac.occupied[rows] = total

    def _take_back(self, name: str) -> None:
        """What the county's day changed in the pool (admissions, discharges) is its own; its beds are its slice."""
        m, rows, k = self.models[name], self.tertiary[name], self.names.index(name)
        fac = m.facilities
        fac.occupied[rows] = fac.occupied[rows] - self._others
        day, levels = m.rebuilt
        if day == self.day and OUT_OF_COUNTY in levels:  # its timeline changed its beds there today: a new slice
            self.own_beds[k] = fac.beds[rows]
            self.pool = self.own_beds.sum(axis=0)
        fac.beds[rows] = self.own_beds[k]

    def _beds_for_the_record(self) -> None:
        """Each county's tertiary beds for the day's record: its patients' beds and a share of the free ones (by
        its own beds), or, when the pool overflows into corridor beds, its share of the pool by its patients."""
        occupied = self._occupied()
        total = occupied.sum(axis=0)
        for j, beds in enumerate(self.pool):
            if total[j] <= beds:
                counted = occupied[:, j] + split(int(beds - total[j]), self.own_beds[:, j])
            else:
                counted = split(int(beds), occupied[:, j])
            for k, name in enumerate(self.names):
                self.models[name].facilities.beds[self.tertiary[name][j]] = counted[k]

    # ------------------------------------------------------------------------------------------- the city's fund
    def _models_with(self, payment: str) -> list[tuple[HealthSystemModel, object]]:
        out = []
        for m in self.models.values():
            for claim_model in m.payment.claim_models:
                if claim_model.name == payment:
                    out.append((m, claim_model))
        return out

    def _city_rates(self) -> None:
        """DIP point values and DRG base rates due today, set over the cases of every county due today."""
        due = [(m, p) for m, p in self._models_with("dip") if p.books.days + 1 >= p.rules.settlement_days]
        if len(due) > 1:
            budget = sum(period_budget(p.rules, m.alive_count, p.books.days + 1) for m, p in due)
            oop = sum(p.books.oop for _, p in due)
            points = sum(float(p.books.points.sum()) for _, p in due)
            if points > 0:
                for _, p in due:
                    p.books.pooled_value = (budget + oop) / points
        due = [(m, p) for m, p in self._models_with("drg")
               if p.books is not None and p.books.days + 1 >= p.rules.rebase_days]
        if len(due) > 1:
            budget = sum(period_budget(p.rules, m.alive_count, p.books.days + 1) for m, p in due)
            oop = sum(p.books.oop for _, p in due)
            weights = sum(p.books.weights for _, p in due)
            if weights > 0:
                for _, p in due:
                    p.books.pooled_rate = (budget + oop) / weights

    # ------------------------------------------------------------------------------------------- the city's books
    def fund_outlays(self) -> dict[str, dict[str, float]]:
        """By county: what the city fund paid (claims, and the medical community's budget under a global budget)."""
        out = {}
        for name, m in self.models.items():
            out[name] = {"claims": float(m.fund.spending.sum()), "to_community": float(m.fund.to_community)}
        return out

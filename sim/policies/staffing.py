"""Where the doctors are: senior county doctors posted to township centres (resource sinking, 资源下沉) and
doctors moving between township centres and county hospitals as pay and prestige pull them (the siphon, 虹吸).

The scenario's facility columns are the *base*; each day the effective columns are

    doctors    = base doctors + siphon moves + posted doctors present (hosts) - posted doctors away (senders)
    capability = base capability + lasting training gain
                 + capability_gain_per_doctor x posted doctors present        (hosts, capped at county level)
    capability = base capability + county gain                                (county hospitals)

The county gain is a medical community's investment in its county hospitals (``sim.payment.instruments``:
departments, recruited specialists, equipment); the cap on the township centres is the county hospitals'
capability with it, so posted doctors from a stronger county hospital bring more.

so a timeline change of ``facilities.<level>`` (which rewrites the base) and the policies never fight.

Sinking (``policies.sinking``): from ``start_day`` for ``duration_days`` (null: to the end), ``doctors`` senior
doctors leave the county hospitals (in proportion to their doctors) for township centres on the first
``days_per_week`` weekdays of each week (day 0 is a Monday). A present doctor adds one doctor's outpatient
slots to the host and takes them from the home hospital, and raises the host's capability, so cases there
have better outcomes and are referred up less (``sim.behaviour.provider`` reads the facility's capability). Every
doctor-day present also leaves ``training_gain_per_doctor_year / 365`` levels of lasting capability.
Residents are not told: they see better outcomes, and their trust follows (``sim.behaviour.learning``).

Siphon (``behaviour.staff``): at the end of every month a doctor compares the county hospitals' income per
doctor over the month plus their prestige premium with the township centres' income
(``sim.core.pay.staff_income``: base salary plus surplus bonus, or the annual salary under salary reform).
With net pull = |gap| - moving cost (zero if negative), a share
``min(mobility_rate x net pull / gap_scale, 1)`` of the losing level's doctors moves to the other level,
spread in proportion to the receiving facilities' doctors; no facility falls below ``min_doctors_share`` of
its base doctors.
"""

from __future__ import annotations

import numpy as np

from sim.core.levels import COUNTY, LEVELS, TOWNSHIP
from sim.core.pay import staff_income
from sim.params.scenario import Scenario
from sim.policies.base import Policy

MONTH_DAYS = 30
DAYS_PER_WEEK = 7


class Staffing(Policy):
    """Base facility columns, the policies' additions to them, and the daily update of the effective ones."""

    name = "staffing"
    counters = ("sinking_doctor_days", "doctors_moved_to_county", "township_capability_days", "township_doctors_now",
                "township_capability_lasting")
    writes = ("facilities.doctors", "facilities.capability")  # the effective ones: base + the policies' additions

    def __init__(self, model) -> None:
        super().__init__(model)
        fac = model.facilities
        self.base_doctors = fac.doctors.copy()
        self.base_capability = fac.capability.copy()
        self.trained = np.zeros(fac.n)           # lasting capability gained by training (levels)
        self.moved = np.zeros(fac.n)             # doctors gained (+) or lost (-) through the siphon
        self.hosted = np.zeros(fac.n)            # posted doctors each facility hosts while present
        self.sent = np.zeros(fac.n)              # posted doctors each facility sends
        self.allocated_for = None                # the sinking rules the allocation was made for
        self.community_rules = None              # the sinking rules with a medical community's own posted
        #                                          doctors (sim.payment.instruments), None while it posts none
        self.county_gain = 0.0                   # capability a community's investment adds to county hospitals
        self.county_gain_applied = 0.0           # the part in force (none while no community pays for it)
        self.changed = False                     # whether any effective column differs from its base
        self.month_start = self._books_mark(model)
        self.township = fac.level == TOWNSHIP
        self.county = fac.level == COUNTY
        self._record_stocks(model.tally)

    # ------------------------------------------------------------------------------------------ configuration
    def configure(self, before: Scenario) -> None:
        """After the engine rebuilt the columns of levels whose facilities changed: take them as the new
        base, and allocate the posted doctors afresh when the sinking rules changed."""
        spec, fac, tally = self.model.spec, self.model.facilities, self.model.tally
        for level, name in enumerate(LEVELS):
            if getattr(before.facilities, name) != getattr(spec.facilities, name):
                at = fac.level == level
                self.base_doctors[at] = fac.doctors[at]
                self.base_capability[at] = fac.capability[at]
                self.changed = True   # re-apply today's additions on top of the new base
        if before.policies.sinking != spec.policies.sinking:
            self.allocated_for = None
        self._record_stocks(tally)

    # ------------------------------------------------------------------------------------------ the day
    def start_of_day(self) -> None:
        """Post (or bring home) the doctors, add training, move staff at a month's turn; then write the
        effective columns. While both policies are off (and nothing is left of them) the facility columns are
        not touched, so a run without them has the numbers it had before they existed."""
        model = self.model
        rules, staff = model.spec.policies.sinking, model.spec.behaviour.staff
        if self.community_rules is not None and model.payment.community is not None:
            rules = self.community_rules  # a community under a global budget posts doctors of its own
        present = self._present_today(model.day, rules)
        gain = self.county_gain if model.payment.community is not None else 0.0
        if gain != self.county_gain_applied:
            self.county_gain_applied, self.changed = gain, True
        if present and self.allocated_for != rules:
            self._allocate(model, rules)
        hosted = self.hosted if present else 0.0
        if present:
            self.trained += rules.training_gain_per_doctor_year * self.hosted / 365.0
            model.tally.sinking_doctor_days += float(self.hosted.sum())
        if model.day > 0 and model.day % MONTH_DAYS == 0:
            if staff.mobility_rate > 0:
                self._siphon(model, staff)
            self.month_start = self._books_mark(model)
        if present or self.changed:
            self._apply(model.facilities, rules, hosted, self.sent if present else 0.0)
            self.changed = present or bool(self.trained.any() or self.moved.any() or self.county_gain_applied)
            self._record_stocks(model.tally)
        if self.township.any():
            model.tally.township_capability_days += float(model.facilities.capability[self.township].mean())

    def _record_stocks(self, tally) -> None:
        """The township centres' own doctors and lasting capability, for the metrics."""
        tally.township_doctors_now = float((self.base_doctors + self.moved)[self.township].sum())
        lasting = (self.base_capability + self.trained)[self.township]
        tally.township_capability_lasting = float(lasting.mean()) if len(lasting) else float("nan")

    @staticmethod
    def _present_today(day: int, rules) -> bool:
        if rules.doctors == 0 or day < rules.start_day:
            return False
        if rules.duration_days is not None and day >= rules.start_day + rules.duration_days:
            return False
        return day % DAYS_PER_WEEK < rules.days_per_week

    def _allocate(self, model, rules) -> None:
        """How many posted doctors each township centre hosts and each county hospital sends."""
        fac = model.facilities
        home = (self.base_doctors + self.moved) * self.county
        posted = min(float(rules.doctors), rules.max_county_share * float(home.sum()))
        self.sent = posted * home / max(home.sum(), 1e-9)
        hosts = np.flatnonzero(self.township)
        self.hosted = np.zeros(fac.n)
        if len(hosts) == 0:
            self.sent[:] = 0.0
        elif rules.hosts == "all":
            self.hosted[hosts] = posted / len(hosts)
        else:
            books = fac.books
            referred = books["referrals_out"][hosts] / np.maximum(books["visits"][hosts], 1.0)
            order = hosts[np.lexsort((hosts, self.base_capability[hosts] + self.trained[hosts], -referred))]
            each = np.minimum(np.maximum(posted - rules.doctors_per_host * np.arange(len(order)), 0.0),
                              rules.doctors_per_host)
            self.hosted[order] = each
            self.hosted[hosts] += (posted - each.sum()) / len(hosts)
        self.allocated_for = rules

    def _apply(self, facilities, rules, hosted, sent) -> None:
        """Effective doctors and capability = base + the policies' additions."""
        doctors = self.base_doctors + self.moved
        if rules.adds_outpatient_slots:
            doctors = doctors + hosted - sent
        facilities.doctors[:] = doctors
        county = self.base_capability + self.county_gain_applied * self.county
        ceiling = county[self.county].min() if self.county.any() else np.inf
        raised = self.base_capability + self.trained + rules.capability_gain_per_doctor * hosted
        capped = np.maximum(np.minimum(raised, ceiling), self.base_capability)
        facilities.capability[:] = np.where(self.township, capped, county)
        self.trained = np.where(self.township, np.minimum(self.trained, np.maximum(ceiling - self.base_capability,
                                                                                   0.0)), 0.0)

    def set_county_gain(self, gain: float) -> None:
        """A community's investment raises (or, ended, no longer raises) every county hospital's capability by
        ``gain`` levels from the next day on, while a community under a global budget pays for it."""
        self.county_gain = float(gain)

    # ------------------------------------------------------------------------------------------ the siphon
    @staticmethod
    def _books_mark(model) -> tuple[int, dict, float]:
        return (model.day, {k: v.copy() for k, v in model.facilities.books.items()}, model.tally.community_net)

    def level_incomes(self, model) -> tuple[float, float]:
        """Income per doctor-year at township centres and at county hospitals over the month just ended."""
        day, books, net = self.month_start
        fac = model.facilities
        month = {k: fac.books[k] - books[k] for k in books}
        days, net = model.day - day, model.tally.community_net - net
        return (staff_income(fac, month, days, model.spec, net, [TOWNSHIP]),
                staff_income(fac, month, days, model.spec, net, [COUNTY]))

    def _siphon(self, model, staff) -> None:
        township_income, county_income = self.level_incomes(model)
        gap = county_income + staff.prestige_premium_yuan - township_income
        pull = max(abs(gap) - staff.moving_cost_yuan, 0.0)
        share = min(staff.mobility_rate * pull / staff.gap_scale_yuan, 1.0)
        if share == 0 or not np.isfinite(share):
            return
        source, sink = (self.township, self.county) if gap > 0 else (self.county, self.township)
        stock = self.base_doctors + self.moved
        floor = staff.min_doctors_share * self.base_doctors
        leaving = np.where(source, np.minimum(share * stock, np.maximum(stock - floor, 0.0)), 0.0)
        weight = np.where(sink, stock, 0.0)
        arriving = leaving.sum() * weight / max(weight.sum(), 1e-9)
        self.moved += arriving - leaving
        model.tally.doctors_moved_to_county += float(leaving.sum() if gap > 0 else -leaving.sum())
        self.changed = True

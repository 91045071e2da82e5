"""Running totals of a run: what the metrics are computed from. Metrics read these; nothing writes back.

Everything is an aggregate (sums, counts, histograms), so memory does not grow with the number of episodes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields

import numpy as np

from sim.core.episodes import END_STATES
from sim.core.levels import N_LEVELS

MAX_WAIT_DAYS = 400
WAIT_BINS_PER_DAY = 24  # the wait histogram counts hours
CRITICAL_KINDS = ("chest_pain", "stroke", "major_trauma")  # time-critical conditions reported one by one
DAILY_COLUMNS = ("arrivals", "served", "admissions", "discharges", "queue_length", "waiting_list",
                 "wait_days_sum", "treated", "occupied_beds", "beds", "spending", "fund", "oop", "consultations",
                 "outpatient_wait_hours_sum", "corridor_beds")


def _levels() -> np.ndarray:
    return np.zeros(N_LEVELS)


@dataclass
class Tally:
    days: int
    person_days: float = 0.0
    episodes_started: int = 0
    ended: np.ndarray = field(default_factory=lambda: np.zeros(len(END_STATES), np.int64))
    visits: np.ndarray = field(default_factory=_levels)
    admissions: np.ndarray = field(default_factory=_levels)
    discharges: np.ndarray = field(default_factory=_levels)
    bed_days: np.ndarray = field(default_factory=_levels)
    occupied_bed_days: np.ndarray = field(default_factory=_levels)
    available_bed_days: np.ndarray = field(default_factory=_levels)
    treated: np.ndarray = field(default_factory=_levels)
    outpatient_episodes: np.ndarray = field(default_factory=_levels)
    appropriate: np.ndarray = field(default_factory=_levels)
    referrals_up: np.ndarray = field(default_factory=_levels)
    referrals_down: np.ndarray = field(default_factory=_levels)     # downward transfers, by the sending level
    unreferred_visits: np.ndarray = field(default_factory=_levels)  # hospital visits under first contact rules
    referred_visits: np.ndarray = field(default_factory=_levels)    # visits of non-critical referred episodes
    charges: np.ndarray = field(default_factory=lambda: np.zeros((N_LEVELS, 3)))  # services, drugs, consumables
    inpatient_charges: np.ndarray = field(default_factory=_levels)
    outpatient_charges: np.ndarray = field(default_factory=_levels)
    fund: np.ndarray = field(default_factory=_levels)
    oop: np.ndarray = field(default_factory=_levels)
    provider_revenue: np.ndarray = field(default_factory=_levels)
    provider_cost: np.ndarray = field(default_factory=_levels)
    intensity_sum: np.ndarray = field(default_factory=_levels)
    deaths: int = 0
    complications: int = 0
    readmissions: int = 0
    health_loss_daly: float = 0.0
    self_care_spending: float = 0.0    # yuan residents spent on self-care (pharmacy purchases), outside the fund
    wait_hist: np.ndarray = field(  # treated episodes by hours waited (bins of 1 / WAIT_BINS_PER_DAY day)
        default_factory=lambda: np.zeros(MAX_WAIT_DAYS * WAIT_BINS_PER_DAY + 1, np.int64))
    wait_days_total: float = 0.0       # days from seeking care to treatment, summed over treated episodes
    consultations: np.ndarray = field(default_factory=_levels)           # patients seen in clinics
    capacity_cost: float = 0.0                                           # yuan, sim.core.pay.capacity_cost_per_day
    returns_asked: np.ndarray = field(default_factory=_levels)           # return visits asked of outpatients
    return_visits: np.ndarray = field(default_factory=_levels)           # return visits made (booked, no queue)
    consultation_minutes_sum: np.ndarray = field(default_factory=_levels)
    clinic_wait_hours_sum: np.ndarray = field(default_factory=_levels)   # hours waited on the day seen
    elective_wait_hist: np.ndarray = field(  # elective admissions by days on the waiting list
        default_factory=lambda: np.zeros(MAX_WAIT_DAYS + 1, np.int64))
    waiting_list_days: float = 0.0     # elective waiting list summed over days (patient-days on the list)
    corridor_bed_days: np.ndarray = field(default_factory=_levels)       # occupied beds above the beds there are
    travel_minutes_sum: float = 0.0
    critical_minutes_sum: float = 0.0
    critical_treated: int = 0
    kind_critical_minutes_sum: np.ndarray = field(default_factory=lambda: np.zeros(len(CRITICAL_KINDS)))
    kind_critical_treated: np.ndarray = field(default_factory=lambda: np.zeros(len(CRITICAL_KINDS)))
    critical_ended: int = 0            # time-critical episodes ended, treated or not
    critical_deaths: int = 0           # deaths among them
    exacerbation_admissions: int = 0   # admissions for exacerbations of chronic disease (sim.policies.family_doctor)
    clinical_bed_days: float = 0.0
    coded_weight_sum: float = 0.0      # DRG relative weights of discharges as coded
    upcoded: int = 0                   # discharges coded one severity up
    audit_recovered: float = 0.0       # yuan recovered and fined by DRG audits
    admissions_refused: int = 0        # DRG admissions the fund refused after review
    dip_settled_points: float = 0.0    # DIP points settled
    dip_settled_value: float = 0.0     # sum of points x point value at each settlement
    assessment_deductions: float = 0.0  # yuan withheld from township centres after assessment
    directors_replaced: int = 0        # township directors replaced after assessment
    centres_merged: int = 0            # township centres merged into another after assessment
    sinking_doctor_days: float = 0.0   # posted senior doctors x days present at township centres
    doctors_moved_to_county: float = 0.0  # net doctors the siphon moved from township centres to county hospitals
    township_capability_days: float = 0.0  # sum over days of the township centres' mean capability
    referred_leaks: int = 0            # referred visits out of county though the county could meet the need
    platform_offers: int = 0           # referred patients offered a booking by the referral platform
    platform_placed: int = 0           # referred patients who accepted the platform's booking (booked)
    platform_keepable: int = 0         # referred patients who would leave the county but take a booking (counted
                                       # while a medical community weighs running the platform)
    down_proposals: int = 0            # inpatients offered a downward transfer (each counted once)
    down_bed_days: float = 0.0         # bed-days moved to township centres by downward transfers
    # Stocks (a period's value is the change, or the value at its end)
    community_net: float = 0.0         # money the medical community holds beyond the claims it paid
    community_instruments: float = 0.0  # what the community paid for its instruments (sim.payment.instruments)
    alive_now: int = 0
    waiting_now: int = 0
    township_doctors_now: float = 0.0  # township centres' own doctors (posted county doctors not counted)
    township_capability_lasting: float = 0.0  # their mean capability without posted doctors (base + training)
    daily: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.daily = np.zeros((self.days, N_LEVELS, len(DAILY_COLUMNS)))

    # a period's value is its end value, not a difference
    STOCKS = ("alive_now", "waiting_now", "township_doctors_now", "township_capability_lasting")

    def totals(self) -> Tally:
        """A copy of the running totals (the daily table left out), to subtract at a period's end."""
        daily, self.daily = self.daily, np.zeros((0, N_LEVELS, len(DAILY_COLUMNS)))
        try:
            return copy.deepcopy(self)
        finally:
            self.daily = daily

    def since(self, start: Tally) -> Tally:
        """The totals accumulated since ``start`` (a copy made by ``totals``)."""
        out = self.totals()
        for f in fields(self):
            if f.name in ("days", "daily") or f.name in self.STOCKS:
                continue
            setattr(out, f.name, getattr(self, f.name) - getattr(start, f.name))
        return out

    def day_row(self, day: int, column: str) -> np.ndarray:
        """The day's row of one column by level (a view to add into). A model stepped past ``days`` (by hand,
        or in the web view) grows the table."""
        if day >= len(self.daily):
            self.daily = np.concatenate([self.daily, np.zeros_like(self.daily[: max(day + 1 - len(self.daily), 30)])])
        return self.daily[day, :, DAILY_COLUMNS.index(column)]


# Every counter of the tally by name, the daily table's columns as "daily.<column>": each is owned by one module of
# the model, which declares it (``counters``; tests/test_architecture.py).
COUNTERS = (*(f.name for f in fields(Tally) if f.name not in ("days", "daily")),
            *(f"daily.{column}" for column in DAILY_COLUMNS))

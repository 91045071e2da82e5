"""Where a sick resident goes: a multinomial logit over going without care, treating oneself and the facilities
open to them.

Utility of option j (a facility of level L) for an episode of resident r:

    trust_initial[L] + trust[r, L] + village_opinion[village(r), L]
    - capability_preference x max(0, need level - perceived capability[L])
    - price(expected out-of-pocket)
    - travel_sensitivity x travel hours - wait_sensitivity x expected wait days
    + the episode's own Gumbel taste for j

of self-care (home remedies, a pharmacy; for conditions the catalogue marks ``self_care``, never time-critical):
self_care_utility - self_care_severity_penalty x severity step - price(pharmacy cost) (+ Gumbel); and of
going without: forgo_utility - forgo_severity_penalty x severity step (+ Gumbel). The episode picks the largest,
so choice probabilities are logit. How much a price weighs is one function for every option:

    price(x) = price_sensitivity x (p0 / 100) x ln(1 + x / p0),     p0 = price_reference_yuan

yuan for yuan (price_sensitivity per 100 yuan) at small sums, in proportion above p0 (relative thinking). So
demand answers price only through this choice: dearer care sends episodes home or to a pharmacy, or leaves
them untreated, and with price_sensitivity 0 prices change no one's choice.

Residents perceive each facility's capability from the outcomes they have seen there
(``sim.behaviour.perception``), not its current capability: better care at a township is noticed as fast as
outcomes and word of mouth allow, not at once. With ``behaviour.resident.capability_memory_days = 0`` they judge
by level, from the scenario in force.

Expected out-of-pocket cost uses what residents have seen bills come to: running means of outpatient and
inpatient bills and admission rates by condition, severity and level (``CostBeliefs``), passed through the
insurance rules of the resident's scheme. Self-care's cost is the catalogue's pharmacy spending of the case
(``self_care_cost_yuan``), paid in full by the resident.
"""

from __future__ import annotations

import numpy as np

from sim.behaviour.provider import guideline_charges
from sim.core.conditions import Catalogue
from sim.core.levels import COUNTY, LEVELS, N_LEVELS, TOWNSHIP
from sim.kernels import ChoiceColumns, ChoiceTerms, choose_options, learn_cost_beliefs
from sim.params.scenario import Scenario
from sim.payment.fund import InsuranceFund


def price_disutility(oop_yuan, resident) -> np.ndarray:
    """Utility an out-of-pocket cost takes away: ``price_sensitivity`` for each doubling of the cost above
    ``price_reference_yuan`` (``resident``: the scenario's ``behaviour.resident``)."""
    return resident.price_sensitivity * np.log2(1.0 + np.asarray(oop_yuan) / resident.price_reference_yuan)


class CostBeliefs:
    """What residents expect a visit to cost, by [condition, severity, level]."""

    def __init__(self, cat: Catalogue, price_level_by_level: np.ndarray, learning_rate: float) -> None:
        self.learning_rate = learning_rate  # behaviour.resident.cost_belief_learning_rate
        c = np.repeat(np.arange(cat.n), 3 * N_LEVELS)
        s = np.tile(np.repeat(np.arange(3), N_LEVELS), cat.n)
        lv = np.tile(np.arange(N_LEVELS), 3 * cat.n)
        out, per_case, daily = guideline_charges(cat, c, s, price_level_by_level[lv])
        shape = (cat.n, 3, N_LEVELS)
        self.outpatient_bill = out.sum(1).reshape(shape)
        self.inpatient_bill = (per_case.sum(1) + daily).reshape(shape)
        self.admission_rate = np.broadcast_to(cat.admission_need[:, :, None], shape).copy()
        self.admission_rate[:, :, 0] = 0.0  # village clinics have no beds

    def learn(self, c, s, level, bill, admitted) -> None:
        """Move beliefs toward today's mean bills and admission rates where cases were seen."""
        key = np.ravel_multi_index((c, s, level), self.outpatient_bill.shape)
        learn_cost_beliefs(key, bill, admitted, self.outpatient_bill.reshape(-1), self.inpatient_bill.reshape(-1),
                           self.admission_rate.reshape(-1), self.learning_rate)

    def expected_oop(self, fund: InsuranceFund, rate_cut_by_level: np.ndarray | None = None) -> np.ndarray:
        """Expected out-of-pocket cost [condition, severity, level, scheme] under today's insurance rules
        (with ``rate_cut_by_level`` points off the reimbursement rates: unreferred care, ``sim.policies.referral``).
        Village clinics have no beds: residents expect a case that needs one to be sent to a township centre and
        to pay its bill there, so a clinic does not look cheap for a case it cannot keep."""
        out = np.empty(self.outpatient_bill.shape + (2,))
        level = np.broadcast_to(np.arange(N_LEVELS), self.outpatient_bill.shape)
        admitted_at = np.maximum(level, TOWNSHIP)
        inpatient_bill = np.take_along_axis(self.inpatient_bill, admitted_at, axis=2)
        admission_rate = np.take_along_axis(self.admission_rate, admitted_at, axis=2)
        cut = None if rate_cut_by_level is None else rate_cut_by_level[level]
        cut_in = None if rate_cut_by_level is None else rate_cut_by_level[admitted_at]
        for scheme in (0, 1):
            emp = np.full(level.shape, bool(scheme))
            oop_out = self.outpatient_bill - fund.fund_share(self.outpatient_bill, level, emp, np.zeros_like(emp),
                                                             cut)
            oop_in = inpatient_bill - fund.fund_share(inpatient_bill, admitted_at, emp, np.ones_like(emp), cut_in)
            out[..., scheme] = (1 - admission_rate) * oop_out + admission_rate * oop_in
        return out


class CareSeeking:
    """The choice model. Every village has the same kinds of option in the same columns (own clinic, own
    township centre, each county hospital, each out-of-county hospital), so option levels are one row
    (``option_level``) and the terms shared by a village, or by a kind of case, are computed once a day."""

    def __init__(self, scenario: Scenario, cat: Catalogue, option_level: np.ndarray) -> None:
        self.r = scenario.behaviour.resident
        self.cat = cat
        self.option_level = option_level
        self.trust_initial = np.array([getattr(self.r.trust_initial, n) for n in LEVELS])
        self.perceived_capability = np.array([getattr(scenario.facilities, n).capability for n in LEVELS])
        # learned per facility instead (sim.behaviour.perception), and charged per episode in choose()
        self.by_facility = self.r.capability_memory_days > 0
        # [condition x 3 + severity] utility of self-care before the episode's taste; -inf where it is no option
        steps = np.arange(3)[None, :] + cat.need_level
        open_to = cat.self_care & ~cat.time_critical
        self.self_care_term = np.where(
            open_to[:, None],
            self.r.self_care_utility - self.r.self_care_severity_penalty * steps
            - price_disutility(cat.self_care_cost, self.r), -np.inf).ravel()

    def village_terms(self, option_minutes: np.ndarray, option_wait: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[village, option] utility shared by every episode of a village: initial trust and travel; and the
        expected-wait term, kept apart because time-critical cases ignore it."""
        r, lvl = self.r, self.option_level
        return (self.trust_initial[lvl] - r.travel_sensitivity * option_minutes / 60.0,
                -r.wait_sensitivity * option_wait)

    def case_terms(self, expected_oop: np.ndarray) -> np.ndarray:
        """[condition, severity, scheme, option] utility of the case's needs and expected out-of-pocket cost."""
        r, lvl = self.r, self.option_level
        oop = np.moveaxis(expected_oop, 3, 2)[..., lvl]  # [c, s, scheme, option]
        if self.by_facility:
            return -price_disutility(oop, r)
        need = self.cat.need_level[:, :, None, None]
        shortfall = np.maximum(need - self.perceived_capability[lvl], 0.0)
        return -r.capability_preference * shortfall - price_disutility(oop, r)

    def choose(self, *, rows, episodes, residence, time_critical, scheme, personal_trust, village_opinion,
               village_term, wait_term, case_term, open_village, closed_above, perception=None,
               options=None, favoured=None, bonus=0.0) -> tuple[np.ndarray, np.ndarray]:
        """Each choosing episode's village and the index of its chosen option (0 = forgo; -1 = self-care; j >= 1 =
        option j - 1).

        ``rows`` are the choosing episodes' rows of the table ``episodes`` (``sim.core.episodes``: their condition,
        severity, the level a referral sent them to, the facility a re-choice leaves, and their [row, 2 +
        option] Gumbel shocks, forgo first and self-care last, are read there); ``residence`` is each resident's
        village.
        personal_trust is [m, level]; village_opinion, village_term, wait_term and open_village (a facility
        with slots today) are [village, level-or-option] tables; case_term is the [c, s, scheme, option]
        table, whose scheme axis may also carry the referral status (``sim.policies.referral``: 2 x unreferred +
        scheme). An option is open if its facility has slots, its level is at least the episode's
        ``min_level`` (after a referral up), it is not the facility a re-choice leaves and, for the episodes
        in ``closed_above`` (hard first contact, or None), it is not a hospital. With ``perception``
        (``sim.behaviour.perception``, learning) residents judge each facility (``options``: the [village, option]
        facility table) by what they have seen of it; otherwise case_term carries the capability term by
        level. ``favoured`` (or None) is the option each episode is offered a booking at, -1 for none, worth
        ``bonus`` more utility (the referral platform's booking, ``sim.policies.referral``)."""
        r = self.r
        learning = perception is not None and perception.learning
        terms = tuple(ChoiceTerms(  # as the loops take a record (sim.kernels.records)
            residence=residence, option_level=self.option_level, options=options, open_village=open_village,
            village_term=village_term, wait_term=wait_term, village_opinion=village_opinion,
            case_term=case_term.reshape(-1, len(self.option_level)), n_schemes=case_term.shape[2],
            time_critical=time_critical, need_level=self.cat.need_level, hospital_level=COUNTY, by_facility=learning,
            perceived=perception.perceived if learning else np.zeros(0),
            prior=perception.prior if learning else np.zeros(0), self_care_term=self.self_care_term,
            capability_preference=r.capability_preference, capability_gain_preference=r.capability_gain_preference,
            forgo_utility=r.forgo_utility, forgo_severity_penalty=r.forgo_severity_penalty,
            forgo_need_penalty=r.forgo_need_penalty))
        closed = np.zeros(len(rows), bool) if closed_above is None else closed_above
        favoured = np.zeros(0, np.int64) if favoured is None else np.asarray(favoured, np.int64)
        return choose_options(rows, scheme, personal_trust, closed, episodes.record(ChoiceColumns), terms, favoured,
                              float(bonus))

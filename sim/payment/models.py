"""How the fund pays providers, and so what an extra item, bed-day or admission earns them.

Every facility level values its claims by one of four claim models (``Payment.claim_model``):

==================  ===================================================  =========================
claim model         what a finished case earns the facility               an extra yuan of charges
==================  ===================================================  =========================
fee_for_service     the bill                                             1 yuan
drg (inpatient)     base rate x group weight x level coefficient          0
dip (inpatient)     points x the point value of the settlement           0
capitation          the patient's copayment (the fund paid per head)      the copayment share
==================  ===================================================  =========================

so a case's revenue is linear in its charges: ``revenue = fixed + marginal x bill``. Outpatient care under
drg and dip stays fee-for-service; capitation covers only enrolled residents' outpatient care at their own
village clinic and township centre (the rest is fee-for-service).

Under a global budget the in-county facilities form a medical community (``sim.payment.community``) that pays every
claim of its residents out of its budget and keeps (or bears) a share ``k`` of the difference. A member
weighs the community's margin, so it sees ``revenue - k x (fund part of the claim)``: the fund part of every
yuan it bills now costs the community ``k``. That single change is what makes members ration, admit less and
keep patients in the county; nothing else in the model knows the payment model.

The provider's objective (``sim.behaviour.provider``) reads ``Terms``; billing (``settle``) pays each finished case and
books fund, out-of-pocket and revenue; ``end_of_day`` runs periodic settlements (DIP point value, capitation
instalments).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

import numpy as np

from sim.core.conditions import Catalogue
from sim.core.levels import LEVELS, TOWNSHIP, VILLAGE
from sim.params.scenario import ClaimModel, Scenario
from sim.payment.grouper import POINTS_PER_WEIGHT, TOP_SEVERITY, Grouper, upcode

CLAIM_MODELS = get_args(ClaimModel)
FFS, DRG, DIP, CAPITATION = range(4)
CAPITATION_INSTALMENT_DAYS = 30


@dataclass
class Terms:
    """What each case would earn its facility (in the facility's own view), as outpatient or inpatient:
    revenue = fixed + marginal x bill."""

    fixed_out: np.ndarray
    marginal_out: np.ndarray
    fixed_in: np.ndarray
    marginal_in: np.ndarray
    code_up: np.ndarray           # admitted, the case would be coded one severity up
    referral_cost_out: np.ndarray  # what sending the case out of the county costs the community (outpatient)
    referral_cost_in: np.ndarray   # ... (a case that needs admission)


@dataclass
class Claims:
    revenue: np.ndarray
    fund: np.ndarray
    oop: np.ndarray
    coded_weight: np.ndarray      # relative weight of the coded group (inpatients; 0 for outpatients)
    upcoded: np.ndarray
    recovered: np.ndarray         # overpayment recovered plus fine, by audit (yuan)
    refused: np.ndarray           # admissions the fund refused to pay after review


class PaymentSystem:
    """The payment rules in force: claim models by level, DRG/DIP pricing, capitation, and the community."""

    def __init__(self, spec: Scenario, cat: Catalogue, community=None, dip_state: dict | None = None) -> None:
        pay = spec.payment
        self.spec = spec
        self.claim_model = np.array([CLAIM_MODELS.index(pay.claim_model(name)) for name in LEVELS])
        fs = pay.fee_schedule
        self.item_margin = np.array([fs.services_margin, fs.drugs_margin, fs.consumables_margin])
        self.bed_day_margin = fs.bed_day_margin
        self.grouper = Grouper(cat, spec.outcomes.complication_cost_share)
        self.drg = pay.drg
        self.base_rate = pay.drg.base_rate_yuan or self.grouper.base_bill
        self.community = community
        # DIP: the point value expected until the first settlement, then the last settled one.
        initial = pay.dip.initial_point_value_yuan or self.base_rate / POINTS_PER_WEIGHT
        self.dip = dip_state if dip_state is not None else {
            "point_value": initial, "points": np.zeros(0), "oop": 0.0, "provisional": np.zeros(0),
            "days": 0, "history": []}
        self.uses_dip = bool((self.claim_model == DIP).any())
        self.uses_drg = bool((self.claim_model == DRG).any())
        self.uses_case_payment = self.uses_dip or self.uses_drg
        self.uses_capitation = bool((self.claim_model == CAPITATION).any())

    # ----------------------------------------------------------------------------------- the provider's view
    def case_payment(self, c, coded_s, cc, level, price_level) -> np.ndarray:
        """What a DRG or DIP case earns, by its coded group (before outliers and audits)."""
        w = self.grouper.case_weight(c, coded_s, cc) * price_level
        model = self.claim_model[level]
        return np.where(model == DIP, w * POINTS_PER_WEIGHT * self.dip["point_value"], w * self.base_rate)

    def terms(self, cases, bill_out: np.ndarray, bill_in: np.ndarray, profit_weight: float) -> Terms:
        """Revenue terms of each case for the provider's objective (``sim.behaviour.provider``)."""
        level = cases.level
        fund_rate_out, fund_rate_in = cases.fund_rate_out, cases.fund_rate_in
        model = self.claim_model[level]
        n = len(level)
        c, s = cases.condition, cases.severity
        # k: what a yuan of fund money spent costs a member of a medical community (0 for everyone else)
        k = 0.0
        if self.community is not None:
            k = np.where(self.community.is_member_level[level], self.community.margin_weight(), 0.0)
        no_cc = np.zeros(n, bool)
        fixed_in, marginal_in = np.zeros(n), np.ones(n)
        if self.uses_case_payment:
            case_based = (model == DRG) | (model == DIP)
            fixed_in = np.where(case_based, self.case_payment(c, s, no_cc, level, cases.price_level), 0.0)
            marginal_in = np.where(case_based, 0.0, 1.0)

        # Coding up (DRG only): the heavier group's payment, less what audits recover and fine.
        code_up = np.zeros(n, bool)
        drg = (model == DRG) & (s < TOP_SEVERITY) if self.uses_drg else code_up
        if drg.any():
            up = np.minimum(s + 1, TOP_SEVERITY)
            gain = np.where(drg, self.case_payment(c, up, no_cc, level, cases.price_level) - fixed_in, 0.0)
            # a member keeps 1 - k of the extra payment (the community transform below applies it to fixed_in)
            code_up, expected = upcode(gain, self.drg.audit_rate, self.drg.penalty_multiple, profit_weight,
                                       cases.scruple, kept_share=1.0 - k)
            fixed_in = fixed_in + expected
        # Admission review (DRG): an admission that was not needed loses the fund's part of its payment.
        if self.uses_drg and self.drg.admission_review_rate > 0:
            refused = (model == DRG) & (cases.admission_benefit < 0)
            fund_part = np.maximum(fixed_in - (1.0 - fund_rate_in) * bill_in, 0.0)
            fixed_in = fixed_in - np.where(refused, self.drg.admission_review_rate * fund_part, 0.0)

        fixed_out = np.zeros(n)
        marginal_out = np.ones(n)
        if self.uses_capitation:
            marginal_out = np.where((model == CAPITATION) & cases.capitated, 1.0 - fund_rate_out, 1.0)

        referral_cost_out, referral_cost_in = np.zeros(n), np.zeros(n)
        if self.community is not None:
            # revenue - k x (revenue - copayment): the fund's part costs the community k per yuan.
            fixed_in = (1.0 - k) * fixed_in
            marginal_in = (1.0 - k) * marginal_in + k * (1.0 - fund_rate_in)
            fixed_out = (1.0 - k) * fixed_out
            marginal_out = (1.0 - k) * marginal_out + k * (1.0 - fund_rate_out)
            # A case referred up is paid for elsewhere, and the community pays the fund's part of that bill too
            # (a member's, or the out-of-county hospital's).
            away = k * cases.price_ratio_up
            referral_cost_out = away * cases.fund_rate_up_out * bill_out
            referral_cost_in = away * cases.fund_rate_up_in * bill_in
        return Terms(fixed_out, marginal_out, fixed_in, marginal_in, code_up, referral_cost_out, referral_cost_in)

    # ----------------------------------------------------------------------------------- billing
    def settle(self, fund_agent, facilities, *, fac, level, c, s, coded_s, cc, inpatient, bill, employee,
               capitated, admission_benefit, u_review, rate_cut=None, deductible=None) -> Claims:
        """Pay every case finished today: returns revenue, fund and out-of-pocket per case, books the fund
        (and the community's purse under a global budget). ``rate_cut`` and ``deductible``: per-case
        departures from the listed insurance rules (``sim.policies.referral``), None for none."""
        oop = bill - fund_agent.fund_share(bill, level, employee, inpatient, rate_cut, deductible)
        model = self.claim_model[level]
        price = facilities.price_level[fac]
        revenue = bill.copy()
        n = len(bill)
        coded_weight = np.zeros(n)
        coded_weight[inpatient] = self.grouper.case_weight(c[inpatient], coded_s[inpatient], cc[inpatient])
        upcoded = inpatient & (coded_s > s)
        recovered = np.zeros(n)
        nobody = refused = np.zeros(n, bool)

        drg = inpatient & (model == DRG) if self.uses_drg else nobody
        if drg.any():
            pay = self.grouper.case_weight(c, coded_s, cc) * price * self.base_rate
            threshold = self.drg.outlier_threshold * pay
            pay = pay + self.drg.outlier_share * np.maximum(bill - threshold, 0.0)
            audited = upcoded & (u_review < self.drg.audit_rate)
            overpaid = (self.grouper.case_weight(c, coded_s, cc) - self.grouper.case_weight(c, s, cc)) \
                * price * self.base_rate
            recovered = np.where(drg & audited, (1.0 + self.drg.penalty_multiple) * overpaid, 0.0)
            refused = drg & (admission_benefit < 0) & (u_review < self.drg.admission_review_rate)
            revenue = np.where(drg, np.where(refused, oop, pay - recovered), revenue)

        dip = inpatient & (model == DIP) if self.uses_dip else nobody
        if dip.any():
            points = self.grouper.case_weight(c, s, cc) * price * POINTS_PER_WEIGHT * dip
            revenue = np.where(dip, points * self.dip["point_value"], revenue)
            self._dip_accrue(fac, points, np.where(dip, oop, 0.0), facilities.n)

        if self.uses_capitation:
            revenue = np.where(~inpatient & (model == CAPITATION) & capitated, oop, revenue)
        fund = revenue - oop
        fund_agent.book(fund, oop, level)
        if self.community is not None:
            self.community.pay_claims(float(fund.sum()))
        return Claims(revenue, fund, oop, coded_weight, upcoded, recovered, refused)

    # ----------------------------------------------------------------------------------- settlements
    def _dip_accrue(self, fac, points, oop, n_facilities) -> None:
        d = self.dip
        if len(d["points"]) != n_facilities:
            d["points"], d["provisional"] = np.zeros(n_facilities), np.zeros(n_facilities)
        d["points"] += np.bincount(fac, points, minlength=n_facilities)
        d["provisional"] += np.bincount(fac, points * d["point_value"], minlength=n_facilities)
        d["oop"] += float(oop.sum())

    def end_of_day(self, model) -> np.ndarray:
        """Periodic payments due at the end of this day, by facility (fund money to providers)."""
        paid = np.zeros(model.facilities.n)
        if self.uses_dip:
            self.dip["days"] += 1
            if self.dip["days"] >= self.spec.payment.dip.settlement_days:
                paid += self._dip_settle(model)
        if self.uses_capitation and (model.day + 1) % CAPITATION_INSTALMENT_DAYS == 0:
            paid += self._capitation_instalment(model)
        return paid

    def _dip_settle(self, model) -> np.ndarray:
        """The point value = (budget + patients' payments) / points; each hospital is paid the difference
        between points x that value and what it was paid provisionally."""
        d, rules = self.dip, self.spec.payment.dip
        budget = rules.fund_budget_per_resident_year_yuan * model.alive_count * d["days"] / 365.0
        total = float(d["points"].sum()) if len(d["points"]) else 0.0
        adjustment = np.zeros(model.facilities.n)
        if total > 0:
            value = (budget + d["oop"]) / total
            adjustment = d["points"] * value - d["provisional"]
            d["point_value"] = value
            d["history"].append((model.day, value, total))
        d["points"], d["provisional"] = np.zeros(model.facilities.n), np.zeros(model.facilities.n)
        d["oop"], d["days"] = 0.0, 0
        return adjustment

    def _capitation_instalment(self, model) -> np.ndarray:
        cap = self.spec.payment.capitation
        pop, geo = model.pop, model.geo
        enrolled = pop.alive & model.enrolled
        per_head = cap.yuan_per_enrolled_year * CAPITATION_INSTALMENT_DAYS / 365.0
        heads = np.bincount(pop.village[enrolled], minlength=geo.n_villages).astype(float)
        paid = np.zeros(model.facilities.n)
        shares = {VILLAGE: 1.0 - cap.township_share, TOWNSHIP: cap.township_share}
        for column, level in ((0, VILLAGE), (1, TOWNSHIP)):
            if self.claim_model[level] == CAPITATION:
                paid += np.bincount(geo.options[:, column], heads * per_head * shares[level],
                                    minlength=model.facilities.n)
        return paid


def effective_profit_weight(spec: Scenario) -> float:
    """The provider's weight on its margin: lower under salary reform, where doctors' pay no longer moves
    with revenue (``policies.salary_reform``)."""
    weight = spec.behaviour.provider.profit_weight
    reform = spec.policies.salary_reform
    return weight * reform.profit_weight_share if reform.enabled else weight


def make_payment(spec: Scenario, cat: Catalogue, community=None, dip_state=None) -> PaymentSystem:
    return PaymentSystem(spec, cat, community, dip_state)

"""The medical community (医共体) under a global budget: an agent with its own purse.

The fund pays the community a budget per covered resident-year, in daily instalments. The community pays
every fund claim of its residents from that purse: its members' and the out-of-county hospitals' alike, and the
instruments it chooses to run (posted doctors, a referral platform, investment in its county hospitals'
capability: ``sim.payment.instruments``). At each
settlement (yearly by default) it keeps ``savings_retained_share`` of a saving, returning the rest to the
fund, or bears ``overspend_shared_share`` of an overspend, the fund covering the rest (DOMAIN.md: 结余留用,
超支不补).

Members weigh the community's margin: a yuan of fund money spent costs the community ``k``, the share of the
difference it keeps or bears, so ``margin_weight`` is what turns a budget into a different incentive in
``sim.payment.global_budget``. Money is conserved: what the fund sent = claims paid + instruments paid + the purse +
what the community kept.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.core.levels import COUNTY, IN_COUNTY, N_LEVELS
from sim.core.pay import community_weight
from sim.params.scenario import GlobalBudget, Scenario
from sim.payment.instruments import CommunityInstruments


class MedicalCommunity(mesa.Agent):
    """The county's in-county facilities under one budget."""

    # the tally's counters it owns (as a policy declares its state, sim.policies.base)
    counters = ("community_net", "community_instruments")

    def __init__(self, model: mesa.Model, rules: GlobalBudget, start_day: int,
                 historical_yuan: float | None = None) -> None:
        super().__init__(model)
        self.rules = rules
        self.start_day = start_day
        # A budget set from history: the fund's claims per resident-year before the start (sim.engine.model passes it).
        self.historical_yuan = historical_yuan
        self.is_member_level = np.isin(np.arange(N_LEVELS), IN_COUNTY)
        self.purse = 0.0           # budget received - claims paid since the last settlement
        self.kept = 0.0            # savings kept less overspend borne, over the run
        self.received = 0.0        # from the fund, instalments and settlements
        self.claims_paid = 0.0
        self.instruments_paid = 0.0  # posted doctors' allowances and the platform (sim.payment.instruments)
        self.instruments = None      # its decisions on instruments, from the first day it manages them
        self.settlements: list[dict] = []

    def set_rules(self, rules: GlobalBudget) -> None:
        self.rules = rules
        if rules.budget_per_resident_year_yuan is None and self.historical_yuan is None:
            self.historical_yuan = historical_claims(self.model)

    def margin_weight(self, level=COUNTY):
        """k of a facility of ``level`` (a level, or an array of them): what one yuan of fund money spent costs it:
        the share of a saving the community keeps while its purse is in surplus (the share of an overspend it
        bears once in deficit), times the weight the facility puts on the community's result, from how its pay
        and its leaders' jobs depend on it (``sim.core.pay.community_weight``; 0 outside the county). The
        community's own choices are its lead hospital's, a county hospital's (the default)."""
        r = self.rules
        share = r.savings_retained_share if self.purse >= 0 else r.overspend_shared_share
        return share * community_weight(level, self.model.spec)

    @property
    def budget_per_resident_year(self) -> float:
        """The rules' budget, or one set from history (null in the rules) times (1 + growth_on_history)."""
        r = self.rules
        if r.budget_per_resident_year_yuan is not None:
            return r.budget_per_resident_year_yuan
        if self.historical_yuan is None:
            raise ValueError("payment.global_budget.budget_per_resident_year_yuan = null: a budget from history "
                             "needs the claims of the days before it")
        return self.historical_yuan * (1.0 + r.growth_on_history)

    def receive_instalment(self, residents: int) -> float:
        amount = self.budget_per_resident_year * residents / 365.0
        self.purse += amount
        self.received += amount
        return amount

    def pay_claims(self, amount: float) -> None:
        self.purse -= amount
        self.claims_paid += amount

    def pay_instruments(self, amount: float) -> None:
        """Instruments are paid out of the purse, so what they cost comes out of what the community keeps."""
        self.purse -= amount
        self.instruments_paid += amount

    def manage_instruments(self, model) -> None:
        """End of day: the community pays for and reviews its instruments (``sim.payment.instruments``)
        while it manages them (``behaviour.community.manages_instruments``); when it stops, they stop."""
        manages = model.spec.behaviour.community.manages_instruments
        if self.instruments is None:
            if not manages:
                return
            self.instruments = CommunityInstruments(model, start_day=model.day)
        if manages:
            self.instruments.end_of_day(model, self)
            model.tally.community_instruments = self.instruments_paid
        elif self.instruments.held != (0, False, 0):
            self.instruments.stop(model)

    def settle_if_due(self, day: int) -> float:
        """At the end of a settlement period: returns the fund's payment to the community (negative when
        savings go back to the fund)."""
        if (day + 1 - self.start_day) % self.rules.settlement_days != 0:
            return 0.0
        r, balance = self.rules, self.purse
        if balance >= 0:
            kept = r.savings_retained_share * balance
            to_community = -(balance - kept)
        else:
            kept = -r.overspend_shared_share * -balance
            to_community = -balance - r.overspend_shared_share * -balance
        self.received += to_community
        self.kept += kept
        self.purse = 0.0
        self.settlements.append({"day": day, "balance": balance, "kept": kept, "fund_paid": to_community})
        return to_community

    @property
    def net_position(self) -> float:
        """Money the community holds from the fund beyond the claims and instruments it paid (purse + kept)."""
        return self.purse + self.kept


def build_community(model, spec: Scenario, start_day: int) -> MedicalCommunity:
    """Every in-county facility is a member (village clinics, township centres, county hospitals). The fund's
    claims per resident-year so far are kept, for a budget set from history."""
    return MedicalCommunity(model, spec.payment.global_budget, start_day, historical_claims(model))


def historical_claims(model) -> float | None:
    """The fund's claims per resident-year over the run so far (None before any day has passed)."""
    t = model.tally
    return float(t.fund.sum()) / (t.person_days / 365.0) if t.person_days else None

"""The insurance fund (医保): an agent with its own books that turns a bill into fund and out-of-pocket shares.

Inpatient bills: the resident pays the deductible, the ineligible part, and ``1 - reimbursement[scheme,
level]`` of the eligible cost above the deductible. Outpatient bills: ``1 - outpatient_reimbursement``
of the eligible cost plus the ineligible part. The copayment is always computed from the itemised bill, as
in China under every payment model; what the fund pays is then whatever the payment model pays the provider
less the copayment (``sim.payment.models``), so provider revenue = fund + out-of-pocket, to the yuan.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.core.levels import LEVELS, N_LEVELS
from sim.params.scenario import Insurance


def _by_level(obj) -> np.ndarray:
    return np.array([getattr(obj, name) for name in LEVELS], dtype=float)


class InsuranceFund(mesa.Agent):
    """The county's basic medical insurance fund, both schemes (row 0 resident, row 1 employee)."""

    def __init__(self, model: mesa.Model, insurance: Insurance) -> None:
        super().__init__(model)
        self.set_rules(insurance)
        self.spending = np.zeros(N_LEVELS)          # fund money that reached providers, by level
        self.out_of_pocket = np.zeros(N_LEVELS)     # residents paid, by level
        self.to_community = 0.0                     # budget instalments and settlements (global budget)

    def set_rules(self, insurance: Insurance) -> None:
        self.inpatient_rate = np.vstack([_by_level(insurance.reimbursement),
                                         _by_level(insurance.employee_reimbursement)])
        self.outpatient_rate = np.vstack([_by_level(insurance.outpatient_reimbursement),
                                          _by_level(insurance.employee_outpatient_reimbursement)])
        self.deductible = _by_level(insurance.deductible)
        self.eligible_share = _by_level(insurance.eligible_share)
        # [inpatient, scheme, level]: the fund's share of one more yuan (inpatients: above the deductible)
        self._marginal = np.stack([self.outpatient_rate, self.inpatient_rate]) * self.eligible_share

    def fund_share(self, bill: np.ndarray, level: np.ndarray, employee: np.ndarray,
                   inpatient: np.ndarray, rate_cut=None, deductible=None) -> np.ndarray:
        """Yuan the fund pays for each bill (vectorised; no books touched). ``rate_cut``: points off the
        reimbursement rate (unreferred care under soft first contact); ``deductible``: the deductible due per
        bill where it differs from the level's (deductible continuity); None = the rules as listed."""
        eligible = bill * self.eligible_share[level]
        scheme = employee.astype(np.int64)
        due = self.deductible[level] if deductible is None else deductible
        above = np.where(inpatient, np.maximum(eligible - due, 0.0), eligible)
        rate = np.where(inpatient, self.inpatient_rate[scheme, level], self.outpatient_rate[scheme, level])
        if rate_cut is not None:
            rate = np.maximum(rate - rate_cut, 0.0)
        return above * rate

    def marginal_rate(self, level: np.ndarray, employee: np.ndarray, inpatient: bool,
                      rate_cut=None) -> np.ndarray:
        """Share of one more yuan of a bill that the fund pays (inpatients: above the deductible)."""
        if rate_cut is not None:
            rates = self.inpatient_rate if inpatient else self.outpatient_rate
            return np.maximum(rates[employee.view(np.int8), level] - rate_cut, 0.0) * self.eligible_share[level]
        return self._marginal[int(inpatient)][employee.view(np.int8), level]

    def book(self, fund: np.ndarray, oop: np.ndarray, level: np.ndarray) -> None:
        """Record claims paid (the fund part, negative when an audit recovers more than it pays) and
        residents' payments, by level of the treating facility."""
        self.spending += np.bincount(level, weights=fund, minlength=N_LEVELS)
        self.out_of_pocket += np.bincount(level, weights=oop, minlength=N_LEVELS)

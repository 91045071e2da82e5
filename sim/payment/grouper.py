"""The DRG grouper, relative weights, and what a coded inpatient case is paid (DRG and DIP).

Groups are condition x severity x complication split: a case is grouped by its condition and the severity it
is *coded* with, and goes to the with-complication (CC) group when a complication occurred. A group's relative
weight is its guideline inpatient bill at county prices over the base: the mean guideline bill of the
catalogue's admissions (incidence x severity mix x admission need). The CC group weighs
``1 + outcomes.complication_cost_share`` times more, as complications cost that much more to treat.

DRG pays ``base_rate_yuan x weight x level coefficient`` (the facility level's price_level), plus a share of
the bill above ``outlier_threshold`` payments for high-cost outliers. DIP gives ``100 x weight x level
coefficient`` points and pays points x the point value of the settlement (``sim.payment.dip``).

Coding is a decision: a provider codes an admitted case one severity up when its weight on profit times the
expected gain (the heavier group's payment less the audit's recovery and fine) beats the case's scruple.
"""

from __future__ import annotations

import numpy as np

from sim.core.conditions import Catalogue

POINTS_PER_WEIGHT = 100.0  # DIP points of a case of relative weight 1 (the usual scale)
TOP_SEVERITY = 2


class Grouper:
    """Relative weights of every group, ``weight[c, s, cc]``."""

    def __init__(self, cat: Catalogue, complication_cost_share: float) -> None:
        sev_p = np.diff(np.concatenate([np.zeros((cat.n, 1)), cat.severity_cdf[:, :2], np.ones((cat.n, 1))],
                                       axis=1), axis=1)
        admissions = cat.incidence.sum(1)[:, None] * sev_p * cat.admission_need
        self.admissions = admissions  # relative weights of (condition, severity) among admissions
        self.base_bill = float((admissions * cat.inpatient_cost).sum() / admissions.sum())
        w = cat.inpatient_cost / self.base_bill
        self.weight = np.stack([w, w * (1.0 + complication_cost_share)], axis=-1)
        self.names = [f"{name}/{sev}{cc}" for name in cat.names for sev in ("mild", "moderate", "severe")
                      for cc in ("", "+CC")]

    def group(self, c: np.ndarray, coded_s: np.ndarray, cc: np.ndarray) -> np.ndarray:
        """Group number of each case (index into ``names``)."""
        return (c * 3 + coded_s) * 2 + cc.astype(np.int64)

    def case_weight(self, c, coded_s, cc) -> np.ndarray:
        return self.weight[c, coded_s, cc.astype(np.int64)]


def upcode(gain_if_unaudited: np.ndarray, audit_rate: float, penalty_multiple: float, profit_weight: float,
           scruple: np.ndarray, kept_share: np.ndarray | float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Which cases are coded one severity up, and the expected extra payment from it.

    Expected gain = gain x (1 - audit_rate) - audit_rate x penalty_multiple x gain: the overpayment is kept
    unless audited, and an audited one is recovered and fined. ``kept_share`` is the part of a yuan of payment
    the provider counts as its own (below 1 for a member of a medical community, whose extra payment is fund
    money the community then pays); the returned gain is the payment's, before that share.
    """
    expected = gain_if_unaudited * (1.0 - audit_rate * (1.0 + penalty_multiple))
    code_up = (gain_if_unaudited > 0) & (profit_weight * kept_share * expected > scruple)
    return code_up, np.where(code_up, expected, 0.0)

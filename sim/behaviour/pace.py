"""How long a provider spends on each consultation when more patients wait than its clinic hours allow.

Each facility chooses, once a day before its clinic opens, a pace p (consultation length as a share of the
normal length, ``behaviour.provider.min_consultation_share`` <= p <= 1) for the Q patients in its queue, whose
consultations at the normal pace would take W minutes, with H clinic minutes (doctors x clinic hours):

    seen(p)  = min(Q, H / (p x W / Q))                        patients seen today
    U(p)     = profit_weight x margin x leave x seen(p)
               - benefit_weight x value_per_daly x [ seen(p) x miss(p) x stake
                                                     + (Q - seen(p)) x (delay + leave x forgo) ]
    miss(p)  = missed_diagnosis_per_shortening x max(0, 1 - p x normal / adequate consultation)

- margin: what a visit has earned the facility lately (its own books: outpatient revenue less resource cost
  per visit, a moving average), which under fee-for-service is the fee's margin, under capitation of an
  enrolled patient the copayment less cost (negative);
- leave = 1 / behaviour.resident.patience_days: the share of patients left waiting who go elsewhere (taking
  their fee) or give up by tomorrow;
- stake: DALY a missed diagnosis costs the mean patient in the queue, (untreated_risk_ratio - 1) x its
  expected DALY at risk (death x years of life lost + complication DALY);
- delay: DALY one more day of waiting costs the mean patient (delay_harm_per_day x DALY at risk);
- forgo: DALY the mean patient loses by giving up care (untreated_risk_ratio - 1) x DALY at risk plus
  untreated_daly_per_severity x (severity + 1).

The facility takes the p of the highest U on a grid (ties to the longer consultation). While W <= H every
patient is seen whatever the pace, so p = 1: a facility with spare capacity never hurries. Under fee-for-service
the fees of patients who would leave push toward hurrying; with profit_weight 0 only the patients' own trade
(a missed diagnosis against a day's wait) remains. ``sim.kernels.completion.finish_treatments`` applies
miss(p) to the outcomes of every case seen at that pace. A facility whose normal consultation is shorter than
``outcomes.adequate_consultation_minutes`` misses more even when it does not hurry (cheap and fast care).
"""

from __future__ import annotations

import numpy as np

PACE_GRID = 25  # paces tried between the floor and 1


def choose_pace(queued: np.ndarray, normal_minutes: np.ndarray, clinic_minutes: np.ndarray,
                normal_share: np.ndarray, margin_per_visit: np.ndarray, stake: np.ndarray, delay: np.ndarray,
                forgo: np.ndarray,
                *, profit_weight: float | np.ndarray, benefit_weight: float, value_per_daly: float, leave: float,
                miss_per_shortening: float, floor: float) -> np.ndarray:
    """[facility] the chosen pace. ``queued``: patients waiting; ``normal_minutes``: their consultations' total
    at the normal pace; ``clinic_minutes``: today's; ``normal_share``: the normal consultation over the adequate
    one; ``margin_per_visit`` (yuan), ``stake``, ``delay``,
    ``forgo`` (DALY): per mean queued patient."""
    pace = np.ones(len(queued))
    busy = (normal_minutes > clinic_minutes) & (queued > 0)
    if not busy.any():
        return pace
    grid = np.linspace(1.0, floor, PACE_GRID)  # from 1 down, so that argmax takes the longest among equals
    q = queued[busy][:, None].astype(float)
    mean_minutes = normal_minutes[busy][:, None] / q
    seen = np.minimum(q, clinic_minutes[busy][:, None] / (grid[None, :] * mean_minutes))
    miss = miss_per_shortening * np.maximum(1.0 - grid[None, :] * normal_share[busy][:, None], 0.0)
    value = benefit_weight * value_per_daly
    weight = np.broadcast_to(np.asarray(profit_weight, float), pace.shape)[busy][:, None]  # by facility
    utility = (weight * margin_per_visit[busy][:, None] * leave * seen
               - value * (seen * miss * stake[busy][:, None]
                          + (q - seen) * (delay[busy][:, None] + leave * forgo[busy][:, None])))
    pace[busy] = grid[np.argmax(utility, axis=1)]
    return pace


class VisitMargins:
    """What a visit has earned each facility lately: a moving average (time scale ``memory_days``) of
    outpatient revenue less resource cost per outpatient case finished, from the facility's own books."""

    def __init__(self, n_facilities: int, memory_days: float = 30.0) -> None:
        self.rate = 1.0 / memory_days
        self.margin = np.zeros(n_facilities)
        self.seen = np.zeros(n_facilities, bool)

    def learn(self, fac: np.ndarray, margin: np.ndarray) -> None:
        """Today's outpatient cases finished at ``fac`` with their margins (yuan)."""
        n = len(self.margin)
        count = np.bincount(fac, minlength=n)
        today = np.divide(np.bincount(fac, margin, minlength=n), count, out=np.zeros(n), where=count > 0)
        first = (count > 0) & ~self.seen
        self.margin[first] = today[first]
        later = (count > 0) & self.seen
        self.margin[later] += self.rate * (today[later] - self.margin[later])
        self.seen |= count > 0

"""What residents believe each facility can treat: its perceived capability, learned from outcomes.

A facility's capability shows only in cases that need more than it gives: a case of need level n treated
at capability k meets its base risks times ``capability_risk_ratio ** (n - k)+`` (``sim.behaviour.outcomes``).
Residents cannot see capability; they see, by word of mouth within the facility's catchment, how patients
fared. For each facility f the model keeps exponentially weighted sums, with time scale
``capability_memory_days``, over the cases treated there that need any capability at all (n > 0):

    O_f     = realised bad outcomes (death or complication),
    X_f,n   = bad outcomes expected, by need level n, had the facility had its *prior* capability k0_f
              (its level's capability in the scenario the run starts from: the level's reputation), all else
              of the case equal (its wait, treatment intensity and stay: residents compare like with like).

with O_f,n likewise by need level. Had the facility capability k, the bad outcomes of need n would be Poisson
with mean X_f,n ρ_n(k), ρ_n(k) = R^((n-k)+ - (n-k0)+), R = ``capability_risk_ratio``. The perceived capability
is the k of largest likelihood, the reputation counting as N0 = ``capability_prior_outcomes`` bad outcomes
expected and seen at k0 (a gamma prior on R^(k0-k)):

    perceived_f = argmax_k  Σ_n [O_f,n ln ρ_n(k) - X_f,n ρ_n(k)] + N0 [ln R^(k0-k) - R^(k0-k)],

over a grid of ``GRID_STEP`` levels from 0 to the highest need level. Only cases needing more than k speak
about k (ρ_n does not depend on k where n <= k), so the many routine cases do not drown the few telling
ones in their noise. With one need level above both k and k0 this is the gamma-Poisson estimate
R^(k0-k) = (O_f + N0) / (X_f + N0). Evidence is
counted in expected bad outcomes, not cases, because cases differ some thirtyfold in risk (a dialysis session
against a stroke): a centre that sees only low-risk cases learns little from them, and one death there moves
its standing little. Cases needing no more than the reputation show a centre that has fallen behind; cases
needing more show one that has moved ahead. A facility without such cases keeps its prior exactly; a
baseline run, whose facilities have the capabilities they are reputed to have, stays at the prior in
expectation. The residents' logit charges ``capability_preference x (need - perceived_f)+`` for each option
(``sim.behaviour.care_seeking``) and adds ``capability_gain_preference x (perceived_f - k0_f)`` for every case, mild
ones too (a centre that has shown it treats strokes is a better place for a cough: its doctors are better), so a
centre that becomes capable (resource sinking, ``sim.policies.staffing``) gains patients as
fast as its outcomes are seen, and one that falls behind loses them.

Trust (``sim.behaviour.learning``) stays about disappointment: its surprise compares realised bad outcomes with what
residents expect, which moves with what they have learned. The expected risk is the base risk times
``capability_risk_ratio ** ((n - perceived_f)+ - (n - k0_f)+)``, so the part of a better (or worse) outcome
that residents have already put down to the facility's capability stops surprising them, and a capability
change is counted once, in the logit's capability term, not again in trust.

``capability_memory_days = 0`` switches learning off: residents judge each facility by its level's capability
in the scenario in force (as before this module existed), and the run is unchanged bit for bit.
"""

from __future__ import annotations

import numpy as np

from sim.core.levels import LEVELS
from sim.kernels import Evidence, OutcomesSeen, most_likely_capability, observe_outcomes
from sim.params.scenario import Scenario


class CapabilityPerception:
    """Per-facility perceived capability and the outcome evidence behind it."""

    GRID_STEP = 0.05  # levels: finer than any difference residents could act on

    def __init__(self, spec: Scenario, level: np.ndarray, need_levels: np.ndarray) -> None:
        self.level = level
        self.prior = self._by_level(spec)[level]  # the level's reputation at the run's start
        self.need_values = np.unique(need_levels)
        ceiling = float(max(self.need_values.max(), self.prior.max()))
        self.grid = np.union1d(np.round(np.arange(0.0, ceiling + 1e-9, self.GRID_STEP), 10), self.prior)
        shape = (len(level), len(self.need_values))
        self.observed = np.zeros(shape)   # O_f,n
        self.expected = np.zeros(shape)   # X_f,n
        self.cases = np.zeros(len(level))  # cases seen (reported only)
        self.perceived = self.prior.copy()
        self.set_rules(spec)

    @staticmethod
    def _by_level(spec: Scenario) -> np.ndarray:
        return np.array([getattr(spec.facilities, n).capability for n in LEVELS], dtype=float)

    def set_rules(self, spec: Scenario) -> None:
        """Read the parameters (at the start and on each timeline day)."""
        r = spec.behaviour.resident
        self.memory = r.capability_memory_days
        self.prior_outcomes = r.capability_prior_outcomes
        self.outcomes = spec.outcomes
        self.log_ratio = np.log(spec.outcomes.capability_risk_ratio)
        self.learning = self.memory > 0
        # per prior value (its table, ``table_of`` each facility): [need, grid] ln rho and rho tables and the
        # [grid] prior term, so that the likelihood of every grid value is two sums over need levels
        priors, self.table_of = np.unique(self.prior, return_inverse=True)
        shift = (np.maximum(self.need_values[None, None, :] - self.grid[None, :, None], 0.0)
                 - np.maximum(self.need_values[None, :] - priors[:, None], 0.0)[:, None, :])
        log_rho0 = self.log_ratio * (priors[:, None] - self.grid[None, :])
        log_rho = self.log_ratio * shift  # [prior, grid, need]
        self.log_rho = np.ascontiguousarray(log_rho.transpose(0, 2, 1))
        self.rho = np.exp(self.log_rho)
        self.prior_term = self.prior_outcomes * (log_rho0 - np.exp(log_rho0))
        if not self.learning:  # no memory: the evidence is forgotten and the scenario's level values rule
            self.observed[:] = self.expected[:] = self.cases[:] = 0.0
            self.perceived = self._by_level(spec)[self.level]

    # ------------------------------------------------------------------------------------------ evidence
    def observe(self, fac, need, p_death, p_comp, cap, died, comp) -> None:
        """Add today's completed cases: realised bad outcomes and those expected at the prior capability
        (the case's risks with its capability factor ``cap`` replaced by the prior's)."""
        if not self.learning:
            return
        seen = OutcomesSeen(facility=fac, need=need, p_death=p_death, p_complication=p_comp, capability_factor=cap,
                            died=died, complication=comp)
        evidence = Evidence(prior=self.prior, need_values=self.need_values,
                            capability_risk_ratio=self.outcomes.capability_risk_ratio, observed=self.observed,
                            expected=self.expected, cases=self.cases)
        observe_outcomes(tuple(seen), tuple(evidence))

    def end_of_day(self) -> None:
        """Evidence fades with time scale ``capability_memory_days``; perceived capability is re-inferred."""
        if not self.learning:
            return
        keep = np.exp(-1.0 / self.memory)
        self.observed *= keep
        self.expected *= keep
        self.cases *= keep
        if self.log_ratio > 0:  # else outcomes do not depend on capability: nothing to learn from them
            self.perceived = self._most_likely()

    def _most_likely(self) -> np.ndarray:
        """The grid capability of largest likelihood given the evidence and the reputation, per facility."""
        return most_likely_capability(self.observed, self.expected, self.table_of, self.log_rho, self.rho,
                                      self.prior_term, self.grid)

    # ------------------------------------------------------------------------------------------ uses
    def expected_risk_factor(self, fac: np.ndarray, need: np.ndarray):
        """Factor on the base risk that residents expect at ``fac`` relative to what its reputation promised
        (1 at the prior); None while not learning (trust's surprise is then against the base risk)."""
        if not self.learning:
            return None
        shortfall_now = np.maximum(need - self.perceived[fac], 0.0)
        shortfall_prior = np.maximum(need - self.prior[fac], 0.0)
        return np.exp(self.log_ratio * (shortfall_now - shortfall_prior))

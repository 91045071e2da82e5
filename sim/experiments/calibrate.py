"""Fitting behavioural parameters to the seed facts by ABC-SMC (``triangle calibrate``).

A calibration file (``seeds/calibration.yaml``) names the facts to fit (``facts``: the targets, ids in
``seeds/facts.yaml``), the facts the fit must never see (``holdout``; every fact of the file is one or the
other), and the behavioural parameters to fit: a list of keys, each with a uniform prior over the range the
parameter register declares for it (``sim.params.register``, where the schema declares it: one source of truth),
or a mapping of keys to bounds of the file's own. Only behavioural parameters may be fitted (``behaviour.*`` and
``outcomes.*``): policy levers are what scenarios choose, never what a fit adjusts.

The method is approximate Bayesian computation by sequential Monte Carlo (ABC-SMC; Toni et al. 2009, J. R. Soc.
Interface 6: 187-202; Beaumont et al. 2009, Biometrika 96: 983-990) as the pyabc library implements it (Schaelte
et al. 2022, J. Open Source Softw. 7: 4304):

- a simulation of a parameter vector runs every scenario the target facts need, on the calibration's small
  county (``population`` residents, ``replicates`` replicates), on a scenario seed drawn for that simulation
  from ``facts.CALIBRATION_SEEDS`` (a range no scenario's own seed lies in: ``triangle facts`` judges facts on
  other random numbers), and reads each target fact as ``triangle facts`` does;
- the distance is the standardised loss, the sum over target facts of ((simulated - observed) / tolerance)^2;
- generation 0 is ``particles`` draws from the prior, all kept; each later generation proposes by perturbing
  the last one's weighted particles (a multivariate normal kernel with twice their weighted covariance:
  ``_twice_the_covariance``) until ``particles`` proposals fall within the threshold epsilon, the weighted median
  of the last generation's distances; weights correct for the proposal (importance sampling). The fit stops
  after ``generations`` generations, or earlier when the budget of simulations would not cover the next
  generation at the last one's acceptance rate.

Reproducibility. Candidate j of generation t runs with numpy's global random state seeded from (seed, t, j)
(its proposal, and the seed of its county's simulation, are drawn there), and a generation keeps the first
``particles`` accepted candidates in candidate order (as pyabc's own parallel samplers keep the first accepted
in order of starting, but with seeded candidates). So the same calibration file and seed give the same
posterior, particle for particle, whatever the number of worker processes: the workers only change which
candidates after the last accepted one were started in vain (counted in ``simulations_run``, never in the
budget).

Output: the posterior (weighted particles, with each one's distance, simulated facts and seed), the fit's
settings, the facts used and held out, and the model's behavioural fingerprint go to ``seeds/posterior.yaml``;
the posterior's weighted mean goes to ``seeds/calibrated.yaml`` (the overlay ``scenarios/baseline.yaml``
extends) with the fit's quality in its header.

Fingerprint. The target facts' values, one replicate of the calibration's county on seed ``FINGERPRINT_SEED``,
at the calibrated values. ``stale`` compares them with the model as it is now: a change of mechanism that moves
any of them by more than ``FINGERPRINT_SHARE`` of the fact's tolerance means the stored fit was made on another
model, and ``triangle calibrate`` must run again (``tests/test_calibrate.py`` fails until it has). Changes that
leave simulated numbers alone (refactoring, documentation) never ask for a refit; a change in the order of
random draws moves the numbers by chance and does.
"""

from __future__ import annotations

import math
import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, ValidationError, field_validator, model_validator

from sim.params.scenario import Strict

CALIBRATION_FILE = Path(__file__).resolve().parents[2] / "seeds" / "calibration.yaml"
CALIBRATED_FILE = CALIBRATION_FILE.with_name("calibrated.yaml")
POSTERIOR_FILE = CALIBRATION_FILE.with_name("posterior.yaml")
FITTABLE = ("behaviour.", "outcomes.")
FINGERPRINT_SEED = 1
FINGERPRINT_SHARE = 0.1  # of each fact's tolerance
# The first threshold: every draw from the prior is kept unless a fact could not be read (an infinite loss).
FIRST_EPSILON = 1e12


class Calibration(Strict):
    name: str = Field("calibration", description="Name shown in reports.")
    facts_file: str = Field("facts.yaml", description="Facts file, relative to this file's folder.")
    facts: list[str] = Field(min_length=1, description="Ids of the facts to fit: the calibration's targets.")
    holdout: list[str] = Field([], description="Ids of the facts the fit never sees; `triangle facts` reports "
                               "them apart. Every fact of the facts file is a target or held out.")
    parameters: dict[str, tuple[float, float]] = Field(
        min_length=1, description="Dotted behavioural keys to fit: a list (each with a uniform prior over the "
        "range the parameter register declares for it; `triangle params --kind calibrated`) or a mapping of keys "
        "to bounds [low, high].")
    particles: int = Field(24, ge=4, le=10_000, description="Particles per generation (accepted simulations).")
    generations: int = Field(3, ge=1, le=100, description="Generations of ABC-SMC, the prior's included.")
    budget: int = Field(200, ge=4, le=1_000_000, description="Most simulations in all (each runs every scenario "
                        "the target facts need); a generation starts only if what is left covers it at the last "
                        "generation's acceptance rate.")
    population: int = Field(30_000, ge=1_000, le=1_000_000, description="Residents of every scenario run.")
    replicates: int = Field(1, ge=1, le=100, description="Replicates per scenario in each simulation.")
    seed: int = Field(1, ge=0, le=2**32 - 1, description="Seed of the fit: the same seed gives the same "
                      "posterior.")

    @field_validator("parameters", mode="before")
    @classmethod
    def _ranges_from_register(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        from sim.params.register import ranges

        known, bounds = ranges(), {}
        for key in value:
            if not isinstance(key, str):
                raise ValueError(f"{key!r}: expected a dotted key")
            if key not in known:
                raise ValueError(f"{key}: the parameter register declares no range for it (`triangle params --key "
                                 f"{key}`); give its bounds as a mapping, {key}: [low, high]")
            bounds[key] = known[key]
        return bounds

    @model_validator(mode="after")
    def _check(self) -> Calibration:
        for key, (low, high) in self.parameters.items():
            if not key.startswith(FITTABLE):
                raise ValueError(f"parameters.{key}: is a policy lever or an input of the county; calibration "
                                 f"fits behavioural parameters only ({', '.join(k + '*' for k in FITTABLE)})")
            if not low < high:
                raise ValueError(f"parameters.{key} = [{low}, {high}]: low must be below high")
        for name, ids in (("facts", self.facts), ("holdout", self.holdout)):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            if twice:
                raise ValueError(f"{name}: {', '.join(twice)} listed twice")
        both = [i for i in self.facts if i in self.holdout]
        if both:
            raise ValueError(f"holdout: {', '.join(both)} is also a target (facts); a fact is fitted or held "
                             "out, not both")
        if self.budget < self.particles:
            raise ValueError(f"budget = {self.budget}: must be at least particles = {self.particles}, the first "
                             "generation's simulations")
        return self


def load_calibration(path: str | Path = CALIBRATION_FILE):
    """Read a calibration file; returns (Calibration, target facts). Problems raise a located ScenarioError."""
    cal, facts = _load(path)
    return cal, [facts[i] for i in cal.facts]


def fact_sets(path: str | Path = CALIBRATION_FILE, facts_file: str | Path | None = None) -> dict[str, str]:
    """Each fact id of the calibration's facts file: "in-sample" (a target) or "holdout"; empty when
    ``facts_file`` is given and is not the calibration's."""
    cal, _ = _load(path)
    own = (Path(path).resolve().parent / cal.facts_file).resolve()
    if facts_file is not None and own != Path(facts_file).resolve():
        return {}
    return {**{i: "in-sample" for i in cal.facts}, **{i: "holdout" for i in cal.holdout}}


def _load(path: str | Path):
    from sim.experiments import facts as F
    from sim.params.boundary import excerpt, folder_of, leaves, leaving, resolve_path
    from sim.params.loading import (
        ScenarioError,
        finite_problems,
        load_scenario,
        parse_mapping,
        read_text,
        validation_problems,
    )

    name, file = str(path), Path(path)
    data, lines = parse_mapping(read_text(file, "calibration file"), name,
                                "calibration keys (facts, holdout, parameters, particles, ...)")
    try:
        cal = Calibration.model_validate(data)
    except ValidationError as err:
        raise ScenarioError.from_problems(name, validation_problems(err, data, lines, Calibration)) from None
    if problems := finite_problems(cal, lines):  # text such as "inf" passes a float key
        raise ScenarioError.from_problems(name, problems)
    facts_file = resolve_path(cal.facts_file, file.resolve().parent)
    if facts_file is None or leaves(facts_file, folder_of(file)):  # refused before it is read
        line = lines.get(("facts_file",))
        why = "not a usable file name" if facts_file is None else leaving(folder_of(file))
        raise ScenarioError(f"{name}: {f'line {line}: ' if line else ''}facts_file = {excerpt(cal.facts_file, 120)}: "
                            f"{why}", source=name)
    facts = {f.id: f for f in F.load_facts(facts_file)}
    for key, ids in (("facts", cal.facts), ("holdout", cal.holdout)):
        unknown = [i for i in ids if i not in facts]
        if unknown:
            raise ScenarioError(f"{name}: {key}: no such fact {', '.join(map(repr, unknown))} in {cal.facts_file}; "
                                f"known: {', '.join(facts)}", source=name)
    loose = [i for i in facts if i not in cal.facts and i not in cal.holdout]
    if loose:
        raise ScenarioError(f"{name}: holdout: {', '.join(loose)} of {cal.facts_file} is neither a target (facts) "
                            "nor held out; list it under one of them", source=name)
    # Every key must exist and accept both bounds: check on the first target's scenario.
    first = facts[cal.facts[0]]
    for key, bounds in cal.parameters.items():
        for value in bounds:
            load_scenario(first.scenario, [f"{key}={value}"])
    return cal, facts


def current_values(cal: Calibration, facts) -> dict[str, float]:
    """The values in force in the first fact's scenario (the calibrated overlay, or the schema's defaults)."""
    from sim.params.loading import load_scenario

    scenario = load_scenario(facts[0].scenario).model_dump()
    out = {}
    for key in cal.parameters:
        node = scenario
        for part in key.split("."):
            node = node[part]
        out[key] = float(node)
    return out


def loss_of(simulated: dict[str, float], facts) -> float:
    """The standardised loss: sum over facts of ((simulated - observed) / tolerance)^2 (inf if one is missing)."""
    total = 0.0
    for f in facts:
        value = simulated.get(f.id)
        if value is None or not math.isfinite(value):
            return math.inf
        total += ((value - f.observed) / f.tolerance) ** 2
    return total


def _overrides(cal: Calibration, values: dict[str, float]) -> list[str]:
    return [f"population.size={cal.population}", *(f"{k}={v!r}" for k, v in values.items())]


def simulate(cal: Calibration, facts, values: dict[str, float], seed: int, workers: int = 1) -> dict[str, float]:
    """The target facts' means on the calibration's county at ``values``, on scenario seed ``seed``."""
    from sim.experiments import facts as F

    findings = F.evaluate(facts, workers=workers, progress=False, seed=seed, replicates=cal.replicates,
                          overrides=_overrides(cal, values))
    return {f.fact.id: (math.nan if f.simulated is None else float(f.simulated)) for f in findings}


# --------------------------------------------------------------------------------------------- pyabc's parts
def _name(key: str) -> str:
    return key.replace(".", "__")


class _Model:
    """What pyabc simulates: parameters -> the target facts' values (and the scenario seed used)."""

    def __init__(self, cal: Calibration, facts):
        self.cal, self.facts, self.keys = cal, facts, list(cal.parameters)

    def __call__(self, parameters) -> dict:
        from sim.experiments.facts import CALIBRATION_SEEDS

        seed = int(np.random.randint(*CALIBRATION_SEEDS, dtype=np.int64))  # candidate's seeded stream
        values = {k: float(parameters[_name(k)]) for k in self.keys}
        return {**simulate(self.cal, self.facts, values, seed), "seed": seed}


class _Loss:
    def __init__(self, facts):
        self.facts = facts

    def __call__(self, x: dict, x0: dict) -> float:
        return loss_of(x, self.facts)


def _twice_the_covariance(effective_particles: float, dimensions: int) -> float:
    """The kernel's bandwidth factor: its covariance is twice the particles' weighted covariance (Beaumont et al.
    2009, the ABC-PMC kernel), not Silverman's rule, pyabc's default, which narrows it as particles grow few and
    dimensions many. With a few dozen particles in seven dimensions the narrow kernel's density is so uneven that
    one particle can take nearly all the weight; twice the covariance keeps the weights even at some cost in
    acceptance."""
    return math.sqrt(2)


def _candidate(payload: bytes, seed: int):
    """Candidate ``seed``: numpy's (and Python's) global random state seeded, one proposal simulated."""
    import cloudpickle

    simulate_one = cloudpickle.loads(payload)
    np.random.seed(seed)
    random.seed(seed)
    return simulate_one()


def _worker_start() -> None:
    """A worker imports the model once, and leaves Ctrl-C to the fit's own process."""
    import signal

    import pyabc  # noqa: F401

    import sim.engine.model  # noqa: F401

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _sampler_class():
    from pyabc.sampler import Sampler

    class SeededSampler(Sampler):
        """pyabc sampler that keeps the first ``n`` accepted candidates in candidate order, each candidate run
        on a random state seeded from (fit seed, generation, candidate number): the same posterior on any number
        of workers. Stops a generation (the fit ends with the last complete one) rather than exceed the budget."""

        def __init__(self, seed: int, budget: int, workers: int, progress: bool, generations: int):
            super().__init__()
            self.seed, self.budget, self.workers = seed, budget, workers
            self.progress, self.generations = progress, generations
            self.counted = 0  # simulations up to each generation's last accepted candidate: the budget's measure
            self.run = 0  # every simulation started, those after the last accepted one included
            self.stopped = "generations"
            self.log: list[dict] = []
            self.pool = None
            self.last_rate = 1.0
            self.say = self.epsilon = None  # news of each generation; the threshold of generation t

        def seed_of(self, t: int, j: int) -> int:
            return int(np.random.SeedSequence([self.seed, t + 1, j]).generate_state(1)[0])

        def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False,
                                    ana_vars=None):
            import cloudpickle
            from tqdm import tqdm

            sample = self._create_empty_sample()
            left = self.budget - self.counted
            if t > 0 and n / max(self.last_rate, 1e-9) > left:
                self.stopped = "budget"
                if self.say:
                    self.say(f"stopping before generation {t + 1}: the budget left ({left} simulations) would not "
                             f"cover it at the last acceptance rate ({self.last_rate:.0%})")
                self.nr_evaluations_ = 0
                sample.ok = False
                return sample
            payload = cloudpickle.dumps(simulate_one)
            start = time.perf_counter()
            bar = tqdm(total=n, unit="particle", leave=False, disable=not self.progress,
                       desc=f"generation {t + 1}/{self.generations}")
            done: dict[int, Any] = {}
            accepted, frontier, considered = 0, 0, 0
            try:
                if self.workers == 1:
                    state = np.random.get_state(), random.getstate()
                    try:
                        for j in range(left):
                            particle = _candidate(payload, self.seed_of(t, j))
                            self.run += 1
                            sample.append(particle)
                            considered = j + 1
                            accepted += particle.accepted
                            bar.update(int(particle.accepted))
                            bar.set_postfix(simulations=considered)
                            if accepted == n:
                                break
                    finally:
                        np.random.set_state(state[0])
                        random.setstate(state[1])
                else:
                    pending: dict = {}
                    submitted = 0
                    while accepted < n:
                        while len(pending) < self.workers and submitted < left:
                            pending[self._pool().submit(_candidate, payload, self.seed_of(t, submitted))] = submitted
                            submitted += 1
                        if not pending:
                            break
                        from concurrent.futures import FIRST_COMPLETED, wait

                        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                        for fut in finished:
                            done[pending.pop(fut)] = fut.result()
                            self.run += 1
                        while frontier in done and accepted < n:
                            particle = done.pop(frontier)
                            sample.append(particle)
                            frontier += 1
                            accepted += particle.accepted
                            bar.update(int(particle.accepted))
                            bar.set_postfix(simulations=frontier)
                    considered = frontier
                    for fut in pending:  # started after the last accepted candidate: in vain
                        if not fut.cancel():
                            self.run += 1
            finally:
                bar.close()
            self.counted += considered
            self.nr_evaluations_ = considered
            if accepted < n:
                self.stopped = "budget"
                if self.say:
                    self.say(f"generation {t + 1} not finished: the budget ran out after {accepted} of {n} "
                             "particles; the fit ends with the last whole generation")
                sample.ok = False
                return sample
            self.last_rate = n / considered
            seconds = round(time.perf_counter() - start, 1)
            self.log.append({"generation": t, "accepted": n, "simulations": considered, "seconds": seconds})
            if self.say:
                threshold = "every draw from the prior kept" if t == 0 else f"epsilon {self.epsilon(t):.4g}"
                self.say(f"generation {t + 1}/{self.generations}: {threshold}; {n} particles kept of {considered} "
                         f"simulations ({self.last_rate:.0%}), {seconds:.0f} s; {self.counted} of the budget of "
                         f"{self.budget} used")
            return sample

        def _pool(self):
            if self.pool is None:
                from concurrent.futures import ProcessPoolExecutor
                from multiprocessing import get_context

                self.pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"),
                                                initializer=_worker_start)
            return self.pool

        def close(self, wait: bool = True) -> None:
            if self.pool is not None:
                self.pool.shutdown(wait=wait, cancel_futures=True)
                self.pool = None

    return SeededSampler


# --------------------------------------------------------------------------------------------- the fit
@dataclass
class Fit:
    calibration: Calibration
    facts: list  # the targets (sim.experiments.facts.Fact)
    particles: list[dict]  # weight, values, distance, simulated, seed; the last generation, by distance
    generations: list[dict]  # generation, epsilon, accepted, simulations, acceptance, ess, seconds
    simulations: int  # counted against the budget
    simulations_run: int  # all started
    stopped: str  # "generations" or "budget"
    seconds: float = 0.0
    fingerprint: dict[str, float] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return list(self.calibration.parameters)

    def weights(self) -> np.ndarray:
        w = np.array([p["weight"] for p in self.particles], dtype=float)
        return w / w.sum()

    def mean(self) -> dict[str, float]:
        """The posterior's weighted mean, to 4 significant digits (the values written to calibrated.yaml)."""
        w = self.weights()
        return {k: float(f"{float(np.dot(w, [p['values'][k] for p in self.particles])):.4g}") for k in self.keys}

    def summary(self) -> dict[str, dict]:
        """Per parameter: prior bounds, weighted mean, sd and 95% interval (weighted 2.5% and 97.5% quantiles)."""
        w, out = self.weights(), {}
        mean = self.mean()
        for k in self.keys:
            x = np.array([p["values"][k] for p in self.particles])
            sd = float(np.sqrt(np.dot(w, (x - np.dot(w, x)) ** 2)))
            out[k] = {"prior": list(self.calibration.parameters[k]), "mean": mean[k], "sd": _sig(sd),
                      "ci95": [_sig(_quantile(x, w, 0.025)), _sig(_quantile(x, w, 0.975))]}
        return out

    def predictive(self) -> dict[str, dict]:
        """Per target fact: what the last generation's particles simulated (weighted mean and sd), against the
        observed value, in tolerances."""
        w, out = self.weights(), {}
        for f in self.facts:
            x = np.array([p["simulated"][f.id] for p in self.particles])
            mean = float(np.dot(w, x))
            out[f.id] = {"observed": f.observed, "tolerance": f.tolerance, "simulated": _sig(mean),
                         "sd": _sig(float(np.sqrt(np.dot(w, (x - mean) ** 2)))),
                         "z": _sig((mean - f.observed) / f.tolerance)}
        return out

    @property
    def epsilon(self) -> float:
        return self.generations[-1]["epsilon"]


def _sig(x: float, digits: int = 6) -> float:
    return float(f"{x:.{digits}g}") if math.isfinite(x) else x


def _quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x)
    x, c = x[order], np.cumsum(w[order])
    return float(x[min(np.searchsorted(c, q * c[-1]), len(x) - 1)])


def fit(cal: Calibration, facts, *, workers: int | None = 1, progress: bool = True, say=None) -> Fit:
    """Run ABC-SMC for the calibration's parameters against its target facts (see the module's docstring).
    ``say``: a function that takes one line of news per generation (default: none)."""
    import logging

    import pyabc
    from pyabc.weighted_statistics import effective_sample_size

    for name in ("ABC", "ABC.History", "ABC.Sampler", "ABC.Distance", "ABC.Epsilon", "ABC.Transition",
                 "ABC.Population", "ABC.Adaptation", "ABC.Predictor", "ABC.Acceptor"):
        logging.getLogger(name).setLevel(logging.WARNING)
    workers = max(1, workers or os.cpu_count() or 1)
    keys = list(cal.parameters)
    np.random.seed(cal.seed)  # anything pyabc draws in this process
    random.seed(cal.seed)
    prior = pyabc.Distribution(**{_name(k): pyabc.RV("uniform", low, high - low)
                                  for k, (low, high) in cal.parameters.items()})
    sampler = _sampler_class()(cal.seed, cal.budget, workers, progress, cal.generations)
    abc = pyabc.ABCSMC(_Model(cal, facts), prior, _Loss(facts), population_size=cal.particles,
                       sampler=sampler, eps=pyabc.MedianEpsilon(initial_epsilon=FIRST_EPSILON),
                       transitions=pyabc.MultivariateNormalTransition(bandwidth_selector=_twice_the_covariance))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="triangle-calibrate-") as folder:
        try:
            abc.new("sqlite:///" + os.path.join(folder, "fit.db"), {f.id: f.observed for f in facts})
            sampler.say, sampler.epsilon = say, abc.eps
            abc.run(max_nr_populations=cal.generations)
        finally:
            sampler.close(wait=False)
        if not sampler.log:
            from sim.params.loading import ScenarioError

            raise ScenarioError(f"budget = {cal.budget}: the prior's generation did not finish within it (too "
                                "many draws gave a target fact no value); raise the budget")
        history = abc.history
        table = history.get_all_populations()
        table = table[table["t"] >= 0]
        generations = []
        for (_, row), entry in zip(table.iterrows(), sampler.log, strict=True):
            weights = history.get_weighted_distances(t=int(row["t"]))["w"].to_numpy()
            generations.append({
                "generation": int(row["t"]), "epsilon": None if int(row["t"]) == 0 else _sig(float(row["epsilon"])),
                "accepted": int(row["particles"]), "simulations": int(row["samples"]),
                "acceptance": _sig(int(row["particles"]) / int(row["samples"]), 3),
                "ess": _sig(float(effective_sample_size(weights)), 4), "seconds": entry["seconds"]})
        population = history.get_population(t=history.max_t)
        particles = []
        for p in population.particles:
            particles.append({
                "weight": float(p.weight), "distance": _sig(float(p.distance)),
                "values": {k: _sig(float(p.parameter[_name(k)])) for k in keys},
                "simulated": {f.id: _sig(float(p.sum_stat[f.id])) for f in facts},
                "seed": int(p.sum_stat["seed"])})
        history.done()
    total = sum(p["weight"] for p in particles)
    for p in particles:
        p["weight"] = _sig(p["weight"] / total)
    particles.sort(key=lambda p: (p["distance"], p["seed"]))
    generations[0]["epsilon"] = None  # the prior's draws, all kept
    return Fit(cal, facts, particles, generations, sampler.counted, sampler.run, sampler.stopped,
               round(time.perf_counter() - start, 1))


# --------------------------------------------------------------------------------------------- fingerprint
def fingerprint(cal: Calibration, facts, values: dict[str, float] | None = None,
                workers: int | None = 1) -> dict[str, float]:
    """The target facts' values on one replicate of the calibration's county, scenario seed FINGERPRINT_SEED, at
    ``values`` (default: the values in force, i.e. seeds/calibrated.yaml's). In this process by default: a few
    runs do not repay starting worker processes."""
    from sim.experiments import facts as F

    findings = F.evaluate(facts, workers=workers, progress=False, seed=FINGERPRINT_SEED, replicates=1,
                          overrides=_overrides(cal, values or {}))
    return {f.fact.id: _sig(math.nan if f.simulated is None else float(f.simulated), 8) for f in findings}


def stale(posterior: dict, cal: Calibration, facts, now: dict[str, float] | None = None) -> list[str]:
    """Why the stored fit (``posterior``, as read from seeds/posterior.yaml) no longer describes this model and
    calibration: the calibration's settings or facts changed, or the model's fingerprint moved. ``now``: the
    fingerprint as the model gives it today at the posterior's mean (computed when not given). Empty when the fit
    is current."""
    reasons = []
    settings = posterior.get("settings", {})
    stored_parameters = {k: tuple(v["prior"]) for k, v in posterior.get("parameters", {}).items()}
    if stored_parameters != {k: tuple(v) for k, v in cal.parameters.items()}:
        reasons.append("the parameters fitted, or their prior ranges, changed")
    stored_facts = {f["id"]: (f["observed"], f["tolerance"]) for f in posterior.get("facts", [])}
    if stored_facts != {f.id: (f.observed, f.tolerance) for f in facts}:
        reasons.append("the target facts (or their observed values or tolerances) changed")
    if sorted(posterior.get("holdout", [])) != sorted(cal.holdout):
        reasons.append("the holdout set changed")
    for key in ("population", "replicates", "particles", "generations", "budget", "seed"):
        if settings.get(key) != getattr(cal, key):
            reasons.append(f"{key} changed ({settings.get(key)} -> {getattr(cal, key)})")
    stored = posterior.get("fingerprint", {}).get("values", {})
    if reasons or not stored:
        return reasons or ["the posterior holds no fingerprint"]
    if now is None:
        now = fingerprint(cal, facts, {k: v["mean"] for k, v in posterior["parameters"].items()})
    tolerance = {f.id: f.tolerance for f in facts}
    for fid, value in stored.items():
        moved = abs(now.get(fid, math.nan) - value)
        if not moved <= FINGERPRINT_SHARE * tolerance[fid]:
            reasons.append(f"{fid}: {value:.6g} when fitted, {now.get(fid, math.nan):.6g} now (more than "
                           f"{FINGERPRINT_SHARE:g} of its tolerance {tolerance[fid]:g})")
    return reasons


# --------------------------------------------------------------------------------------------- files
def nested(values: dict[str, float]) -> dict:
    out: dict = {}
    for key, value in values.items():
        node = out
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def _write(path: Path, text: str) -> Path:
    """Write to a temporary file and rename, so a reader never sees half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # an ordinary file's mode, not mkstemp's private 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _method(result: Fit) -> str:
    cal = result.calibration
    return (f"ABC-SMC (pyabc {_pyabc_version()}): {cal.particles} particles a generation, up to {cal.generations} "
            f"generations, budget {cal.budget} simulations, seed {cal.seed}; each simulation runs the target "
            f"facts' scenarios on {cal.population:,} residents x {cal.replicates} replicate(s)")


def _pyabc_version() -> str:
    import pyabc

    return pyabc.__version__


def posterior_document(result: Fit, command: str = "") -> dict:
    """What seeds/posterior.yaml holds (plain data)."""
    from sim.experiments.facts import CALIBRATION_SEEDS

    cal = result.calibration
    return {
        "calibration": cal.name,
        "command": command or "triangle calibrate",
        "method": {"library": f"pyabc {_pyabc_version()}", "algorithm": "ABC-SMC",
                   "distance": "sum over target facts of ((simulated - observed) / tolerance)^2",
                   "epsilon": "weighted median of the last generation's distances; the first generation keeps "
                              "every draw from the prior",
                   "prior": "uniform over each parameter's range",
                   "kernel": "multivariate normal, twice the particles' weighted covariance (Beaumont et al. 2009)",
                   "sampler": "first accepted candidates in candidate order, each on a random state seeded from "
                              "(seed, generation, candidate)"},
        "settings": {"particles": cal.particles, "generations": cal.generations, "budget": cal.budget,
                     "population": cal.population, "replicates": cal.replicates, "seed": cal.seed},
        "seeds": {"simulations": f"each simulation's scenario seed is drawn from [{CALIBRATION_SEEDS[0]}, "
                                 f"{CALIBRATION_SEEDS[1]}); the particles' own are listed below",
                  "range": list(CALIBRATION_SEEDS)},
        "facts": [{"id": f.id, "observed": f.observed, "tolerance": f.tolerance} for f in result.facts],
        "holdout": list(cal.holdout),
        "stopped": result.stopped,
        "simulations": result.simulations,
        "generations": result.generations,
        "epsilon": result.epsilon,
        "parameters": result.summary(),
        "predictive": result.predictive(),
        "fingerprint": {"county": {"population": cal.population, "replicates": 1, "seed": FINGERPRINT_SEED},
                        "values_at": "the posterior mean (seeds/calibrated.yaml)",
                        "tolerance": f"{FINGERPRINT_SHARE:g} of each fact's tolerance",
                        "values": result.fingerprint},
        "particles": result.particles,
    }


def write_posterior(result: Fit, path: str | Path = POSTERIOR_FILE, command: str = "") -> Path:
    import yaml

    head = ("# The posterior of `triangle calibrate` (sim/experiments/calibrate.py): the weighted particles of its\n"
            "# last generation, the fit's settings, the facts it used and held out, and the model's fingerprint (the\n"
            "# target facts on a fixed county and seed at the calibrated values; tests/test_calibrate.py fails when\n"
            "# the model no longer gives them: run `triangle calibrate` again). Written by the fit; do not edit.\n")
    doc = posterior_document(result, command)
    # Settings and summaries in block style; each particle, generation and fact on a line or two.
    compact = {"settings", "facts", "generations", "predictive", "fingerprint", "particles"}
    body = "".join(yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=None if key in compact else False,
                                  width=120, allow_unicode=True) for key, value in doc.items())
    return _write(Path(path), head + body)


def read_posterior(path: str | Path = POSTERIOR_FILE) -> dict:
    import yaml

    return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}


def write_calibrated(result: Fit, path: str | Path = CALIBRATED_FILE, command: str = "") -> Path:
    """Write the posterior's weighted mean as a scenario overlay (``extends`` it), the fit's quality in the
    header."""
    import yaml

    from sim import __version__

    cal = result.calibration
    lines = [
        "# Behavioural parameters fitted to the seed facts by `triangle calibrate` (sim/experiments/calibrate.py):",
        "# the weighted mean of the posterior in seeds/posterior.yaml.",
        f"# Command: {command or 'triangle calibrate'}  (triangle {__version__})",
        f"# Fit: {_method(result)}.",
        f"# {result.simulations} simulations in {len(result.generations)} generation(s) "
        f"(stopped by {'the budget' if result.stopped == 'budget' else 'the number of generations'}); "
        f"final epsilon {result.epsilon:.4g}, effective sample size {result.generations[-1]['ess']:.3g} of "
        f"{len(result.particles)}.",
        "#",
        f"# {'parameter':<46} {'prior':>14} {'mean':>9} {'95% interval':>22}",
    ]
    for key, s in result.summary().items():
        prior = f"[{s['prior'][0]:g}, {s['prior'][1]:g}]"
        ci = f"[{s['ci95'][0]:.3g}, {s['ci95'][1]:.3g}]"
        lines.append(f"# {key:<46} {prior:>14} {s['mean']:>9.4g} {ci:>22}")
    lines += ["#", "# What the last generation's particles simulated (weighted mean and sd), in the fact's unit and in",
              "# tolerances (z); `triangle facts` judges the facts on other seeds, in-sample and holdout:",
              f"# {'fact':<36} {'observed':>9} {'simulated':>10} {'sd':>9} {'tolerance':>9}  z"]
    for fid, p in result.predictive().items():
        lines.append(f"# {fid:<36} {p['observed']:>9.4g} {p['simulated']:>10.4g} {p['sd']:>9.3g} "
                     f"{p['tolerance']:>9.4g}  {p['z']:+.2f}")
    if cal.holdout:
        lines.append(f"# Held out (never simulated by the fit): {', '.join(cal.holdout)}.")
    body = yaml.safe_dump(nested(result.mean()), sort_keys=True, default_flow_style=False)
    return _write(Path(path), "\n".join(lines) + "\n" + body)

"""Behavioural parameters drawn per replicate: probabilistic sensitivity analysis (``--posterior N``, ``--priors``).

With fixed parameters a replicate differs from another only by chance (its seed), so an interval over
replicates holds chance alone. Drawing the calibrated behavioural parameters afresh for every replicate (the
convention of probabilistic sensitivity analysis in health economics: Briggs, Claxton & Sculpher 2006, *Decision
Modelling for Health Economic Evaluation*, ch. 4) makes the spread over replicates hold what is not known about
those parameters as well. Two sources:

- ``posterior``: the weighted particles of ``triangle calibrate`` (``seeds/posterior.yaml``). Replicate r takes
  particle i with probability w_i / sum(w): the posterior as ABC-SMC left it, its correlations kept.
- ``priors``: every parameter the register declares ``calibrated`` with a range (``triangle params --kind
  calibrated``), each uniform over its range and independent of the others, as the calibration's priors are.
  The ranges of the parameters fitted by hand are drawn too; under ``posterior`` they keep their values.

Reproducibility. Replicate r's draw comes from its own generator, seeded from (scenario seed, r, a stream
number of its own), so it depends on nothing else: not on the number of replicates, workers or arms. Every arm
of a comparison takes the same draw in replicate r, on the same seed, so differences stay paired.

A draw is applied as ``--set`` overrides are (``sim.params.loading``), so every bound of the schema applies.
A key the command line sets (``--set KEY=VALUE``) is held at that value and not drawn (from the posterior,
its particle's other values are kept). A scenario file that gives a drawn key a value of its own (neither the
schema's default nor the calibrated value) has it replaced by the draw; ``replaced`` lists them so the output
can say so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.params import register
from sim.params.keys import ScenarioError
from sim.params.scenario import Scenario

POSTERIOR_FILE = Path(__file__).resolve().parents[2] / "seeds" / "posterior.yaml"
SOURCES = ("fixed", "posterior", "priors")
MAX_DRAWS = 10_000
_DRAW_STREAM = 0x95A  # keeps the draws' random numbers apart from the runs' seeds


@dataclass(frozen=True)
class Posterior:
    """The particles of a stored posterior: ``values[i, j]`` is particle i's value of ``keys[j]``."""

    file: str
    keys: tuple[str, ...]
    values: np.ndarray
    weights: np.ndarray  # normalised to sum 1
    means: dict[str, float]


@dataclass(frozen=True)
class Draws:
    """The parameter values of each replicate, and where they came from."""

    source: str  # one of SOURCES
    keys: tuple[str, ...] = ()  # drawn keys, in register order
    values: tuple[dict[str, float], ...] = ()  # one per replicate; empty when fixed
    file: str | None = None  # the posterior read
    held: dict[str, str] = field(default_factory=dict)  # drawn keys the command line holds fixed: key -> --set
    replaced: dict[str, dict[str, Any]] = field(default_factory=dict)  # arm -> {key: the scenario's own value}
    usual: dict[str, tuple[float, ...]] = field(default_factory=dict)  # key -> values a scenario holds unchosen

    @property
    def fixed(self) -> bool:
        return self.source == "fixed"

    def overrides(self, replicate: int) -> list[str]:
        """Replicate ``replicate``'s values as ``--set`` overrides (none when fixed)."""
        if self.fixed:
            return []
        return [f"{key}={value!r}" for key, value in self.values[replicate].items()]

    def as_json(self, seeds: Sequence[int] = ()) -> dict:
        doc: dict[str, Any] = {"source": self.source}
        if self.fixed:
            return doc
        doc |= {"file": self.file, "keys": list(self.keys), "held": dict(self.held),
                "replaced": {arm: dict(v) for arm, v in self.replaced.items()},
                "draws": [{"replicate": r, **({"seed": seeds[r]} if r < len(seeds) else {}), "values": v}
                          for r, v in enumerate(self.values)]}
        return doc

    def line(self) -> str:
        """One line for the text output: what the intervals hold."""
        if self.fixed:
            return "parameters: fixed at the scenario's values; intervals hold chance only"
        where = f"the posterior {self.file}" if self.source == "posterior" else "the register's prior ranges"
        text = (f"parameters: {len(self.keys)} drawn from {where}, one draw for each of {len(self.values)} "
                "replicate(s); the intervals shown hold parameter uncertainty and chance")
        if self.held:
            text += f"; held by --set: {', '.join(self.held)}"
        return text

    def notes(self) -> list[str]:
        """Warnings for the user: scenario values the draws replace."""
        return [f"{arm}: the scenario sets {', '.join(f'{k} = {v:g}' for k, v in keys.items())}; the draws replace "
                "it (hold a value with --set KEY=VALUE)" for arm, keys in self.replaced.items() if keys]


# --------------------------------------------------------------------------------------------- sources
def read_posterior(path: str | Path = POSTERIOR_FILE) -> Posterior:
    """The particles of a posterior written by ``triangle calibrate``, checked against the register as it is now.

    Raises ScenarioError, naming the file, when it is missing or unreadable, holds no particles, or is stale:
    a key the register no longer declares calibrated with a range, a prior range that is no longer the
    register's (the fit was made with other priors), or a particle outside its prior."""
    import yaml

    from sim.params.boundary import display

    name = display(path)
    refit = "run `triangle calibrate` again"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{name}: no such file; --posterior reads the posterior `triangle calibrate` writes "
                            "(seeds/posterior.yaml), or use --priors") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"{name}: cannot read the posterior: {err}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ScenarioError(f"{name}: not a YAML posterior: {' '.join(str(err).split())}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("parameters"), dict) or not doc["parameters"]:
        raise ScenarioError(f"{name}: parameters: missing; not a posterior written by `triangle calibrate`")
    particles = doc.get("particles")
    if not isinstance(particles, list) or not particles:
        raise ScenarioError(f"{name}: particles: missing or empty; not a posterior written by `triangle calibrate`")
    keys = tuple(doc["parameters"])
    known = {e.key: e for e in register.entries() if e.range is not None}
    for key, summary in doc["parameters"].items():
        if key not in known or known[key].kind != "calibrated":
            raise ScenarioError(f"{name}: parameters.{key}: the register declares no calibrated parameter of that "
                                f"name with a range (`triangle params --kind calibrated`): the posterior is stale; "
                                f"{refit}")
        prior = summary.get("prior") if isinstance(summary, dict) else None
        if not isinstance(prior, list) or tuple(prior) != tuple(known[key].range):
            raise ScenarioError(f"{name}: parameters.{key}.prior = {prior}: the register's range is now "
                                f"{list(known[key].range)}: the posterior was fitted with other priors; {refit}")
    values = np.empty((len(particles), len(keys)))
    weights = np.empty(len(particles))
    for i, p in enumerate(particles):
        given = p.get("values") if isinstance(p, dict) else None
        if not isinstance(given, dict) or set(given) != set(keys):
            raise ScenarioError(f"{name}: particles[{i}].values: must give exactly the keys under parameters "
                                f"({', '.join(keys)})")
        w = p.get("weight")
        if not (isinstance(w, int | float) and not isinstance(w, bool) and math.isfinite(w) and w >= 0):
            raise ScenarioError(f"{name}: particles[{i}].weight = {w!r}: must be a number >= 0")
        weights[i] = w
        for j, key in enumerate(keys):
            v = given[key]
            low, high = known[key].range
            if not (isinstance(v, int | float) and not isinstance(v, bool) and low <= v <= high):
                raise ScenarioError(f"{name}: particles[{i}].values.{key} = {v!r}: outside its prior "
                                    f"[{low:g}, {high:g}]; {refit}")
            values[i, j] = v
    if not weights.sum() > 0:
        raise ScenarioError(f"{name}: particles: every weight is 0")
    means = {k: float(s["mean"]) for k, s in doc["parameters"].items()
             if isinstance(s, dict) and isinstance(s.get("mean"), int | float)}
    return Posterior(name, keys, values, weights / weights.sum(), means)


def prior_ranges() -> dict[str, tuple[float, float]]:
    """The calibrated parameters' ranges from the register, in register order (scalar numbers only)."""
    return {e.key: e.range for e in register.entries()
            if e.kind == "calibrated" and e.range is not None and _scalar(e.default)}


def _scalar(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _rng(seed: int, replicate: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, replicate, _DRAW_STREAM]))


def posterior_values(posterior: Posterior, seed: int, replicate: int) -> dict[str, float]:
    """Replicate ``replicate``'s particle: particle i with probability w_i."""
    i = int(_rng(seed, replicate).choice(len(posterior.weights), p=posterior.weights))
    return {key: float(posterior.values[i, j]) for j, key in enumerate(posterior.keys)}


def prior_values(ranges: dict[str, tuple[float, float]], seed: int, replicate: int) -> dict[str, float]:
    """Replicate ``replicate``'s values: each key uniform on [low, high], independently, in the order given."""
    rng = _rng(seed, replicate)
    return {key: float(rng.uniform(low, high)) for key, (low, high) in ranges.items()}


# --------------------------------------------------------------------------------------------- a run's draws
def set_keys(overrides: Sequence[str]) -> dict[str, str]:
    """The dotted key each ``--set KEY=VALUE`` names -> the override."""
    return {text.partition("=")[0].strip(): text for text in overrides}


def draw(source: str, replicates: int, seed: int, *, overrides: Sequence[str] = (),
         posterior: str | Path = POSTERIOR_FILE) -> Draws:
    """The draws of ``replicates`` replicates of a scenario on ``seed`` from ``source`` (one of SOURCES).

    Keys that ``overrides`` set are held, not drawn. Raises ScenarioError for fewer than one replicate or more
    than MAX_DRAWS, and for a posterior that cannot be used (:func:`read_posterior`)."""
    if source not in SOURCES:
        raise ValueError(f"source {source!r}: not one of {', '.join(SOURCES)}")
    if source == "fixed":
        return Draws("fixed")
    flag = "--posterior" if source == "posterior" else "--priors"
    if not 1 <= replicates <= MAX_DRAWS:
        raise ScenarioError(f"{flag} {replicates}: the number of draws must be 1 to {MAX_DRAWS:,}")
    given = set_keys(overrides)
    if source == "posterior":
        post = read_posterior(posterior)
        keys, file, means = post.keys, post.file, post.means
        values = [posterior_values(post, seed, r) for r in range(replicates)]
    else:
        ranges = prior_ranges()
        keys, file, means = tuple(ranges), None, {}
        values = [prior_values(ranges, seed, r) for r in range(replicates)]
    held = {k: given[k] for k in keys if k in given}
    kept = tuple(k for k in keys if k not in held)
    # The values a scenario holds without choosing them: the schema's default and, for a posterior's keys, the
    # posterior mean (the calibrated value the bundled scenarios extend).
    defaults = {e.key: e.default for e in register.entries()}
    usual = {k: (float(defaults[k]), *((means[k],) if k in means else ())) for k in kept}
    return Draws(source, kept, tuple({k: v[k] for k in kept} for v in values), file, held, usual=usual)


def own_values(scenario: Scenario, draws: Draws) -> dict[str, float]:
    """The drawn keys the scenario gives a value of its own (neither default nor calibrated): key -> value."""
    if draws.fixed:
        return {}
    values = {e.key: e.value for e in register.entries(scenario) if e.key in draws.usual}
    return {k: v for k, v in values.items()
            if not any(math.isclose(float(v), r, rel_tol=1e-9, abs_tol=1e-12) for r in draws.usual[k])}


def scenarios(path: str | Path, overrides: Sequence[str], draws: Draws, replicates: int) -> list[Scenario] | None:
    """Replicate by replicate, the scenario file with ``overrides`` and the replicate's draw applied (None when
    the parameters are fixed: every replicate runs the one scenario)."""
    from sim.params.loading import load_scenario

    if draws.fixed:
        return None
    return [load_scenario(path, [*overrides, *draws.overrides(r)]) for r in range(replicates)]

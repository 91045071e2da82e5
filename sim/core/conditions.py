"""The case-mix catalogue: condition groups as arrays indexed [condition] or [condition, severity].

The catalogue is a YAML data file (``sim/data/conditions.yaml`` by default); its header documents every field.
Costs are guideline costs at county-hospital prices; a facility's ``price_level`` scales them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from sim.params.boundary import display, parse_mapping, read_text
from sim.params.keys import ScenarioError, show

AGE_BANDS = ("age_0_4", "age_5_14", "age_15_44", "age_45_64", "age_65_plus")
POPULATIONS = ("all", "female", "hypertension", "diabetes", "copd", "kidney_failure")
SEVERITIES = 3
SEVERE = SEVERITIES - 1  # the severest of the three severities
# exacerbations of chronic conditions: what managed chronic care prevents (sim.policies.family_doctor) and what
# the tally counts apart among admissions
EXACERBATIONS = ("heart_failure", "diabetes_complication", "copd_exacerbation")
BUNDLED = Path(__file__).parents[1] / "data" / "conditions.yaml"

_PER_SEVERITY = ("severity_mix", "need_level", "admission_need", "clinical_los_days", "death_risk",
                 "complication_risk", "readmission_risk")
_SCALARS = ("outpatient_cost_yuan", "inpatient_cost_yuan", "per_day_share", "delay_harm_per_day",
            "critical_harm_per_hour")
_MAX_INCIDENCE_PER_1000 = 1_000_000.0  # 1,000 episodes per resident-year: far beyond any condition group
_FIELDS = {"label", "population", "incidence_per_1000", "cost_split", "time_critical", "source",
           *_PER_SEVERITY, *_SCALARS}
# Self-care (``sim.behaviour.care_seeking``): optional, so that a catalogue written before them still loads (no
# self-care, nothing self-limiting).
_OPTIONAL = {"self_care": False, "self_care_cost_yuan": 0.0, "self_limiting": False}


class CatalogueError(ValueError):
    """A condition catalogue that cannot be used; the message names the file, the key and the problem."""


@dataclass(frozen=True)
class Catalogue:
    """Condition groups as columns. Index order is the order of the YAML file."""

    names: tuple[str, ...]
    labels: tuple[str, ...]
    population: np.ndarray          # [c] index into POPULATIONS
    incidence: np.ndarray           # [c, band] episodes per eligible resident-year
    severity_cdf: np.ndarray        # [c, 3] cumulative severity mix
    need_level: np.ndarray          # [c, s] lowest capable level
    admission_need: np.ndarray      # [c, s] share that clinically need admission
    clinical_los: np.ndarray        # [c, s] days
    outpatient_cost: np.ndarray     # [c, s] yuan, county prices, guideline intensity
    inpatient_cost: np.ndarray      # [c, s] yuan, county prices, guideline intensity and clinical stay
    cost_split: np.ndarray          # [c, 3] services, drugs, consumables
    per_day_share: np.ndarray       # [c]
    death_risk: np.ndarray          # [c, s]
    complication_risk: np.ndarray   # [c, s]
    readmission_risk: np.ndarray    # [c, s]
    delay_harm_per_day: np.ndarray  # [c]
    time_critical: np.ndarray       # [c] bool
    critical_harm_per_hour: np.ndarray  # [c]
    self_care: np.ndarray           # [c] bool: residents may treat it themselves (home remedies, a pharmacy)
    self_care_cost: np.ndarray      # [c, s] yuan a self-treated episode spends at a pharmacy
    self_limiting: np.ndarray       # [c] bool: resolves without a doctor (no risk or loss from going without one)

    @cached_property
    def tariff(self) -> tuple:
        """The charges at guideline care as the compiled loops take them (``sim.kernels.Tariff``), made once."""
        from sim.kernels.records import Tariff  # here: reading a catalogue (``triangle check``) loads no loop

        return tuple(Tariff(cost_split=self.cost_split, outpatient_cost=self.outpatient_cost,
                            inpatient_cost=self.inpatient_cost, per_day_share=self.per_day_share))

    @property
    def n(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        return self.names.index(name)


def load_catalogue(path: str | Path = "bundled") -> Catalogue:
    """Read and check a catalogue file; ``"bundled"`` is the catalogue shipped with the package."""
    path = BUNDLED if str(path) == "bundled" else Path(path)
    name = display(path)
    try:  # read at the input boundary: a regular UTF-8 file within the size limit, safe YAML, finite numbers
        doc, _ = parse_mapping(read_text(path, "condition catalogue"), name,
                               "catalogue keys (severity_cost_multiplier, conditions)")
    except ScenarioError as err:
        raise CatalogueError(str(err)) from None
    path = name
    if not isinstance(doc.get("conditions"), dict) or not doc["conditions"]:
        raise CatalogueError(f"{path}: expected a mapping with a non-empty 'conditions' mapping")
    unnamed = [n for n in doc["conditions"] if not isinstance(n, str) or not n]
    if unnamed:
        raise CatalogueError(f"{path}: conditions: the name {show(unnamed[0])} is not text; condition names are "
                             "strings")
    severity_cost = _floats(path, "severity_cost_multiplier", doc.get("severity_cost_multiplier", [0.6, 1, 1.9]))
    rows = []
    for name, cond in doc["conditions"].items():
        rows.append(_check_condition(path, name, cond))
    mult = np.asarray(severity_cost)

    def col(key, dtype=float):
        return np.array([r[key] for r in rows], dtype=dtype)

    split = np.array([[r["cost_split"][k] for k in ("services", "drugs", "consumables")] for r in rows])
    return Catalogue(
        names=tuple(doc["conditions"]),
        labels=tuple(r["label"] for r in rows),
        population=np.array([POPULATIONS.index(r["population"]) for r in rows]),
        incidence=np.array([[r["incidence_per_1000"][b] / 1000.0 for b in AGE_BANDS] for r in rows]),
        severity_cdf=np.cumsum(col("severity_mix"), axis=1),
        need_level=col("need_level"),
        admission_need=col("admission_need"),
        clinical_los=col("clinical_los_days"),
        outpatient_cost=col("outpatient_cost_yuan")[:, None] * mult[None, :],
        inpatient_cost=col("inpatient_cost_yuan")[:, None] * mult[None, :],
        cost_split=split / split.sum(axis=1, keepdims=True),
        per_day_share=col("per_day_share"),
        death_risk=col("death_risk"),
        complication_risk=col("complication_risk"),
        readmission_risk=col("readmission_risk"),
        delay_harm_per_day=col("delay_harm_per_day"),
        time_critical=col("time_critical", bool),
        critical_harm_per_hour=col("critical_harm_per_hour"),
        self_care=col("self_care", bool),
        self_care_cost=col("self_care_cost_yuan")[:, None] * mult[None, :],
        self_limiting=col("self_limiting", bool),
    )


def _floats(path, key, value, n=SEVERITIES, lo=0.0, hi=None):
    if not isinstance(value, list) or len(value) != n or not all(_number(v) for v in value):
        raise CatalogueError(f"{path}: {key} = {show(value)}: expected a list of {n} finite numbers")
    if any(v < lo or (hi is not None and v > hi) for v in value):
        bound = f"between {lo} and {hi}" if hi is not None else f">= {lo}"
        raise CatalogueError(f"{path}: {key} = {show(value)}: every value must be {bound}")
    return [float(v) for v in value]


def _number(value) -> bool:
    """A finite number (not a boolean, not an integer too large for a float)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _check_condition(path, name, cond) -> dict:
    where = f"conditions.{name}" if name.isprintable() and len(name) <= 60 else f"conditions[{show(name)}]"
    if not isinstance(cond, dict):
        raise CatalogueError(f"{path}: {where}: expected a mapping")
    unknown = set(cond) - _FIELDS - set(_OPTIONAL)
    missing = _FIELDS - set(cond)
    if unknown:
        raise CatalogueError(f"{path}: {where}: unknown keys {show(sorted(unknown, key=str))}; allowed: "
                             f"{sorted(_FIELDS | set(_OPTIONAL))}")
    if missing:
        raise CatalogueError(f"{path}: {where}: missing keys {sorted(missing)}")
    if not isinstance(cond["label"], str):
        raise CatalogueError(f"{path}: {where}.label = {show(cond['label'])}: expected text")
    if not isinstance(cond["population"], str) or cond["population"] not in POPULATIONS:
        raise CatalogueError(f"{path}: {where}.population = {show(cond['population'])}: allowed {POPULATIONS}")
    inc = cond["incidence_per_1000"]
    if not isinstance(inc, dict) or set(inc) != set(AGE_BANDS) or any(
            not _number(v) or not 0 <= v <= _MAX_INCIDENCE_PER_1000 for v in inc.values()):
        raise CatalogueError(f"{path}: {where}.incidence_per_1000 = {show(inc)}: expected finite numbers from 0 "
                             f"to {_MAX_INCIDENCE_PER_1000:,.0f} for exactly {AGE_BANDS}")
    for key in _PER_SEVERITY:
        hi = 1.0 if key.endswith(("risk", "need", "mix")) else None
        _floats(path, f"{where}.{key}", cond[key], hi=hi)
    if abs(sum(cond["severity_mix"]) - 1.0) > 1e-6:
        raise CatalogueError(f"{path}: {where}.severity_mix = {show(cond['severity_mix'])}: must sum to 1")
    if any(v > 3 for v in cond["need_level"]):
        raise CatalogueError(f"{path}: {where}.need_level = {show(cond['need_level'])}: levels run 0 to 3")
    for key in _SCALARS:
        v = cond[key]
        if not _number(v) or v < 0:
            raise CatalogueError(f"{path}: {where}.{key} = {show(v)}: expected a non-negative finite number")
    if not 0 <= cond["per_day_share"] <= 1:
        raise CatalogueError(f"{path}: {where}.per_day_share = {show(cond['per_day_share'])}: must be in [0, 1]")
    split = cond["cost_split"]
    if not isinstance(split, dict) or set(split) != {"services", "drugs", "consumables"} or not all(
            _number(v) and v >= 0 for v in split.values()) or abs(sum(split.values()) - 1.0) > 1e-6:
        raise CatalogueError(f"{path}: {where}.cost_split = {show(split)}: expected non-negative numbers for "
                             f"services, drugs, consumables summing to 1")
    cond = {**_OPTIONAL, **cond}
    for key in ("time_critical", "self_care", "self_limiting"):
        if not isinstance(cond[key], bool):
            raise CatalogueError(f"{path}: {where}.{key} = {show(cond[key])}: expected true/false")
    v = cond["self_care_cost_yuan"]
    if not _number(v) or v < 0:
        raise CatalogueError(f"{path}: {where}.self_care_cost_yuan = {show(v)}: expected a non-negative finite "
                             "number")
    return cond


def check_conditions(spec, cat) -> None:
    """Condition names in ``policies.referral.down`` must be in the catalogue (checked with the catalogue, which
    the schema does not know). Only when downward transfers are on: a catalogue without those conditions is
    fine for a county that does not transfer down."""
    down = spec.policies.referral.down
    if not down.enabled:
        return
    for key in ("convalescent_conditions", "tail_conditions"):
        for name in getattr(down, key):
            if name not in cat.names:
                raise CatalogueError(f"policies.referral.down.{key} = {getattr(down, key)!r}: {name!r} is not a "
                                     f"condition of the catalogue; allowed: {', '.join(cat.names)}")

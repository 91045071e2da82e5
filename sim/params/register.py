"""The parameter register: every value of a scenario with its unit, the kind of evidence behind its default and
that evidence (``triangle params``).

The register is not a second list: it is read from the scenario schema (``sim.params.scenario``), where each
field is declared with ``param(..., kind=..., range=..., fit=...)``. A field that holds a group of values (by
level, by age band, a level's facilities) is expanded into one entry per value, which takes the group's
declaration unless the group names it in ``leaves``. Keys are the dotted paths that ``--set`` takes.

Kinds (``sim.params.scenario.KINDS``): ``sourced`` (a published figure, cited), ``calibrated`` (fitted within a
prior range: by ``triangle calibrate`` or by hand), ``assumed`` (a plausible range and why), ``lever`` (what a
scenario chooses as policy), ``setting`` (what a scenario states about the run or its county, or a scale's
definition).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from sim.params.scenario import FITS, KINDS, Scenario

# A sourced default names the document its figure comes from: a year, a seed report, or DOMAIN.md (which cites
# the seed reports and the national bulletin by figure).
CITATION = re.compile(r"\b(19|20)\d\d\b|\bseeds? \d{3}\b|\d{3}_[0-9a-f]{16}\.txt|DOMAIN\.md")
# What an assumption's reason must say more than.
BARE_REASON = re.compile(r"^[\W_]*(assumption|assumed)?[\W_]*(to calibrate|not fitted)?[\W_]*$", re.IGNORECASE)


class RegisterError(ValueError):
    """A field of the schema that the register cannot read (no kind declared)."""


@dataclass(frozen=True)
class Entry:
    key: str  # dotted path, as --set takes it
    value: Any  # in the scenario read (the schema's default when none)
    default: Any  # the schema's default
    unit: str
    kind: str
    source: str  # sourced: the citation; calibrated: where and to what it is fitted; assumed: why
    range: tuple[float, float] | None  # plausible (assumed) or prior (calibrated) range
    fit: str | None  # calibrated: "calibrate" (triangle calibrate) or "hand"
    description: str

    def as_json(self) -> dict:
        return {"key": self.key, "value": _plain(self.value), "default": _plain(self.default), "unit": self.unit,
                "kind": self.kind, "source": self.source, "range": list(self.range) if self.range else None,
                "fit": self.fit, "description": self.description}


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _description(field) -> str:
    text = field.description or ""
    return text.split(" Unit: ")[0]


def _span(value: Any) -> tuple[float, float] | None:
    return None if value is None else (value[0], value[1])


def entries(scenario: BaseModel | None = None, model: type[BaseModel] = Scenario) -> list[Entry]:
    """The register of ``model`` (a scenario by default) in schema order, valued as in ``scenario`` (default: the
    schema's defaults). Raises RegisterError for a field that declares no kind."""
    default = model()
    return list(_walk(model, scenario if scenario is not None else default, default, ""))


def _walk(model: type[BaseModel], value: BaseModel, default: BaseModel, prefix: str):
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        meta = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        here, there = getattr(value, name), getattr(default, name)
        if "kind" not in meta:
            if isinstance(there, BaseModel) and "unit" not in meta:  # a section: walk into it
                yield from _walk(type(there), here, there, key + ".")
                continue
            raise RegisterError(f"{key}: declares no kind (declare it with param(..., kind=...) in "
                                "sim/params/scenario.py)")
        if isinstance(there, BaseModel):  # a group of values declared as one
            group = type(there)
            ranges = meta.get("range")
            for leaf, leaf_field in group.model_fields.items():
                own = leaf_field.json_schema_extra if isinstance(leaf_field.json_schema_extra, dict) else {}
                spec = {**meta, "range": ranges.get(leaf) if isinstance(ranges, dict) else ranges,
                        **meta.get("leaves", {}).get(leaf, {})}
                description = _description(field)
                if leaf_field.description:
                    description = f"{description} {_description(leaf_field)}".strip()
                yield Entry(f"{key}.{leaf}", getattr(here, leaf), getattr(there, leaf), own.get("unit", meta["unit"]),
                            spec["kind"], spec["source"], _span(spec.get("range")), spec.get("fit"), description)
            continue
        yield Entry(key, here, there, meta["unit"], meta["kind"], meta["source"], _span(meta.get("range")),
                    meta.get("fit"), _description(field))


def _numbers(value: Any) -> list[float] | None:
    """The numbers a value holds (a number, or a list of numbers), or None if it is not numeric."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, list) and value and all(isinstance(v, int | float) and not isinstance(v, bool)
                                                   for v in value):
        return [float(v) for v in value]
    return None


def problems(register: list[Entry]) -> list[str]:
    """What the register lacks: a kind it does not know, an assumed or calibrated number without a range, a
    default outside its range, a sourced value without a citation, an assumption without a reason, a calibrated
    value that does not say where it is fitted."""
    found = []
    for e in register:
        if e.kind not in KINDS:
            found.append(f"{e.key}: kind {e.kind!r} is not one of {', '.join(KINDS)}")
            continue
        if not e.source.strip():
            found.append(f"{e.key}: {e.kind} with no source")
        numbers = _numbers(e.default)
        if e.range is not None:
            low, high = e.range
            if not (math.isfinite(low) and math.isfinite(high) and low <= high):
                found.append(f"{e.key}: range {list(e.range)} is not a range (low <= high)")
            elif numbers is None:
                found.append(f"{e.key}: has a range but its default {e.default!r} is not a number")
            elif any(not low <= v <= high for v in numbers):
                found.append(f"{e.key}: default {e.default!r} lies outside its range {list(e.range)}")
        if e.kind in ("assumed", "calibrated") and numbers is not None and e.range is None:
            found.append(f"{e.key}: {e.kind} without a range")
        if e.kind == "calibrated" and e.fit not in FITS:
            found.append(f"{e.key}: calibrated without saying where it is fitted (fit: {', '.join(FITS)})")
        if e.kind != "calibrated" and e.fit is not None:
            found.append(f"{e.key}: fit {e.fit!r} on a parameter that is {e.kind}, not calibrated")
        if e.kind == "sourced" and not CITATION.search(e.source):
            found.append(f"{e.key}: sourced without a citation (a year, a seed report or DOMAIN.md): {e.source!r}")
        if e.kind == "assumed" and BARE_REASON.match(e.source):
            found.append(f"{e.key}: assumed without a reason: {e.source!r}")
    return found


def select(register: list[Entry], kind: str | None = None, key: str | None = None) -> list[Entry]:
    """The entries of one kind and/or whose key starts with ``key``. Raises ValueError for a kind that does not
    exist or a key that matches nothing."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind {kind!r}: not one of {', '.join(KINDS)}")
    chosen = [e for e in register if (kind is None or e.kind == kind) and (key is None or e.key.startswith(key))]
    if key is not None and not any(e.key.startswith(key) for e in register):
        sections = sorted({e.key.split(".")[0] for e in register})
        raise ValueError(f"no parameter key starts with {key!r}; keys start with {', '.join(sections)}")
    return chosen


def ranges(register: list[Entry] | None = None) -> dict[str, tuple[float, float]]:
    """Every declared range by key: the plausible ranges of assumptions and the priors of calibrated values."""
    return {e.key: e.range for e in (entries() if register is None else register) if e.range is not None}


def counts(register: list[Entry]) -> dict[str, int]:
    return {kind: sum(e.kind == kind for e in register) for kind in KINDS}


def _show(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float) and value == int(value) and abs(value) >= 10_000:
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | dict) and not value:
        return "[]" if isinstance(value, list) else "{}"
    return str(value)


def evidence(e: Entry) -> str:
    """The last column: the range, if any (prior or plausible), then the source (where and to what a value is
    fitted, why it is assumed, or the citation)."""
    if e.range is not None:
        return f"[{e.range[0]:g}, {e.range[1]:g}] {e.source}"
    return e.source


def table(register: list[Entry]) -> str:
    """One line per parameter: key, value, unit, kind, then its range and source."""
    rows = [(e.key, _show(e.value), e.unit, e.kind, evidence(e)) for e in register]
    header = ("KEY", "VALUE", "UNIT", "KIND", "RANGE / SOURCE")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    # Long values (lists of conditions) and units would push every line right: cap the columns, never the text.
    widths = [min(w, cap) for w, cap in zip(widths, (60, 16, 24, 10), strict=True)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths, strict=True)) + "  " + r[4]
             for r in [header, *rows]]
    tally = counts(register)
    lines.append(f"{len(register)} parameters: " + ", ".join(f"{n} {k}" for k, n in tally.items() if n))
    return "\n".join(lines) + "\n"

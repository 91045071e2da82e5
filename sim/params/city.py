"""A city (prefecture) of several counties under one insurance fund: the ``city:`` block of a scenario file.

A scenario file may add a top-level ``city:`` block to a county scenario; the rest of the file is then the base
county, and each county of the city is a copy of it with its own name, size, seed, overrides (``set:``, dotted keys
as a timeline entry's) and timeline (its own reforms)::

    extends: baseline.yaml
    days: 730
    city:
      name: sanming
      tertiary_beds: shared      # the city's tertiary hospitals: one pool of beds for every county's patients
      fund: city                 # one fund: DIP point values and DRG base rates over the whole city's cases
      reform_day: 365            # the date of the difference-in-differences (default: the reformed counties' first)
      counties:
        - {name: youxi, size: 40000, timeline: [{day: 365, set: {payment.model: global_budget}}]}
        - {name: jiangle, size: 30000}

A county scenario (no ``city:`` block) is a city of one county: itself, on its own seed, with the same numbers.
Errors name the file, the line, the key path (``city.counties[1].set.payment.model``), the bad value and what is
allowed, as the scenario loader's do (``sim.params.loading``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, ValidationError, model_validator

from sim.params import boundary
from sim.params import loading as L
from sim.params.keys import Path_, Problem, ScenarioError, format_path, parse_key, set_path, show
from sim.params.scenario import Scenario, Strict, TimelineEntry, param

MAX_COUNTIES = 200
CountyName = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_\-]+$")]


class County(Strict):
    """One county of the city: a copy of the base county scenario with its own name, size, seed and reforms."""

    name: CountyName = param(..., "The county's name (letters, digits, _ and -), as reports show it.", "text",
                             "scenario author", kind="setting")
    size: int | None = param(None, "Residents (population.size of this county; null = the base scenario's), "
                             "times the city's size_scale.", "residents", "scenario author", ge=1, le=50_000_000,
                             kind="setting")
    seed: int | None = param(None, "Seed of this county's map and replicates (null: the base scenario's seed for "
                             "the first county, a hash of it and the county's place for the others).", "integer",
                             "scenario author", ge=0, le=2**63 - 1, kind="setting")
    set: dict[str, Any] = param({}, "Dotted keys and their values that this county changes from the base "
                                "scenario, e.g. {payment.model: dip, facilities.county.beds: 300}.", "values",
                                "scenario author", kind="lever")
    timeline: list[TimelineEntry] | None = param(
        None, "This county's own timeline (its reforms), replacing the base scenario's; null = the base's.",
        "changes", "scenario author", kind="lever")
    reformed: bool | None = param(
        None, "Whether the county is in the reformed group of the difference-in-differences (null: it is when it has "
        "a timeline of its own).", "yes/no", "scenario author", kind="setting")


class City(Strict):
    """The city: its counties, its tertiary hospitals and its one insurance fund."""

    name: str | None = param(None, "Name shown in reports (null: the scenario's name).", "text", "scenario author",
                             kind="setting")
    counties: list[County] = param(..., "The counties of the city, each a copy of the base county scenario.",
                                   "counties", "scenario author", kind="setting", min_length=1,
                                   max_length=MAX_COUNTIES)
    size_scale: float = param(1.0, "Every county's residents are multiplied by this (a smaller city to try a "
                              "scenario quickly).", "ratio", "scenario author", gt=0, le=100, kind="setting")
    tertiary_beds: Literal["shared", "separate"] = param(
        "shared", "The city's tertiary hospitals (every county's out-of-county level, hospital by hospital): shared = "
        "one pool of beds, each county bringing its own facilities.out_of_county beds, used by every county's "
        "patients as they come; separate = each county keeps its slice.", "choice",
        "DOMAIN.md: a prefecture's tertiary hospitals draw patients from every county (the siphon)", kind="lever")
    tertiary_clinics: Literal["shared", "separate"] = param(
        "separate", "The city's tertiary hospitals' outpatient clinics: shared = one department, its doctors every "
        "county's slice together, whose clinic minutes every county's patients take as they come (so one county's "
        "demand lengthens the others' waits there); separate = each county keeps its slice of the doctors and its "
        "own queue.", "choice",
        "DOMAIN.md: a prefecture's tertiary hospitals draw patients from every county (the siphon); separate by "
        "default, as before shared clinics were modelled", kind="lever")
    tertiary_payment: Literal["county", "fee_for_service", "drg", "dip", "per_diem"] = param(
        "county", "How the city's fund pays its tertiary hospitals (every county's out-of-county level) for every "
        "county's patients: a claim model the city sets for all of them (payment.by_level.out_of_county in every "
        "county, which no county may then change), or county = each county's own payment model, as its other "
        "hospitals are paid.", "choice",
        "DOMAIN.md: a prefecture's fund pays the city's hospitals by its own rules (seeds 000 and 003: Xiangtan's "
        "DRG covered every inpatient hospital of the city)", kind="lever")
    fund: Literal["city", "county"] = param(
        "city", "city = one fund for the city, as basic medical insurance is pooled at the prefecture: DIP point "
        "values and DRG base rates (payment.drg.rebase_days) are set over the whole city's cases, and each county's "
        "global budget is paid from it; county = each county's rates over its own cases.", "choice",
        "DOMAIN.md; seeds 000, 002 and 003: Sanming's and Xiangtan's reforms were city-wide, under the city fund",
        kind="lever")
    threads: int = param(
        1, "Counties stepped at once, each on a thread of its own (the compiled loops and numpy release the "
        "interpreter lock), when they do not meet during the day's care (tertiary_beds and tertiary_clinics: "
        "separate; shared ones step the counties one after another); the numbers are the same on any number. "
        "It pays with large counties (docs/ODD.md 7.25: on 2 cores, 1.5x at 1,000,000 residents a county, 1.2x "
        "at 250,000).", "threads",
        "scenario author (the machine's cores)", ge=1, le=64, kind="setting")
    reform_day: int | None = param(
        None, "The reform date of the difference-in-differences (reformed against comparator counties, before "
        "against after); null = the earliest day of the reformed counties' own timelines.", "day",
        "scenario author", ge=1, kind="setting")

    @model_validator(mode="after")
    def _distinct_names(self) -> City:
        seen: set[str] = set()
        for i, county in enumerate(self.counties):
            if county.name in seen:
                raise ValueError(f"counties[{i}].name = {county.name!r}: another county has this name; each county "
                                 "needs its own")
            seen.add(county.name)
        return self


class CityFile(Strict):
    """What the city loader validates: the ``city:`` block (the rest is the base county scenario)."""

    city: City


@dataclass(frozen=True)
class CityScenario:
    """A validated city: the base county, its counties (name -> Scenario, in order) and the city's rules."""

    name: str
    base: Scenario
    counties: dict[str, Scenario]
    city: City
    reformed: tuple[str, ...]
    reform_day: int | None

    @property
    def days(self) -> int:
        return self.base.days

    @property
    def replicates(self) -> int:
        return self.base.replicates

    @property
    def seed(self) -> int:
        return self.base.seed

    @property
    def residents(self) -> int:
        return sum(s.population.size for s in self.counties.values())

    @property
    def comparators(self) -> tuple[str, ...]:
        return tuple(n for n in self.counties if n not in self.reformed)


def county_seed(seed: int, place: int) -> int:
    """The seed of the county at ``place`` (0-based) when none is given: the base seed for the first county (so a
    city of one county is that county), a hash of (seed, place) for the others."""
    if place == 0:
        return seed
    return int(np.random.SeedSequence([seed, place, 0xC17]).generate_state(1, np.uint64)[0] >> np.uint64(1))


def of_county(scenario: Scenario) -> CityScenario:
    """A county scenario as a city of one county."""
    city = City(counties=[County(name=_plain_name(scenario.name))])
    return CityScenario(scenario.name, scenario, {city.counties[0].name: scenario}, city, (), None)


def _plain_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in name)[:60]
    return cleaned or "county"


def _read(path: str | Path, overrides, root) -> tuple[dict, dict, dict, str, Path, Path, list]:
    file = Path(path)
    folder = boundary.folder_of(file) if root is None else Path(root).resolve()
    name = boundary.display(path)
    base = file.parent.absolute()
    data, lines = L._parse_yaml(L.read_text(file), name)
    data, where = L._extended(data, name, base, {p: (name, n) for p, n in lines.items()}, root=folder)
    lines = {p: n for p, (_, n) in where.items()}
    files = {p: f for p, (f, _) in where.items() if f != name}
    if isinstance(overrides, str):
        overrides = [overrides]
    try:
        parsed = [(L._parse_override(o, "--set")[0], o) for o in overrides]
        data = L.apply_overrides(data, overrides)
    except ScenarioError as err:
        raise ScenarioError(f"{name}: {err}", source=name, problems=err.problems) from None
    return data, lines, files, name, base, folder, parsed


def is_city(path: str | Path, overrides=(), *, root=None) -> bool:
    """Whether the file (after its extends: and overrides) has a ``city:`` block."""
    data = _read(path, overrides, root)[0]
    return "city" in data


def load_city(path: str | Path, overrides=(), *, root: str | Path | None = None) -> CityScenario:
    """Read a scenario file as a city: its ``city:`` block with a county scenario for every county, or, without
    one, the file's county as a city of one. Every problem is raised as one ScenarioError naming the file, the
    line, the key path, the bad value and what is allowed."""
    data, lines, files, name, base, folder, parsed = _read(path, overrides, root)
    if "city" not in data:
        return of_county(L._validated(data, name, base, lines, files, parsed, root=folder))
    raw_city = data.pop("city")
    city_lines = {p: n for p, n in lines.items() if p[:1] == ("city",)}
    try:
        city = CityFile.model_validate({"city": raw_city}).city
    except ValidationError as err:
        raise ScenarioError.from_problems(name, L.validation_problems(
            err, {"city": raw_city}, city_lines, CityFile,
            [(p, t) for p, t in parsed if p[:1] == ("city",)])) from None
    own = {p: n for p, n in lines.items() if p[:1] != ("city",)}
    own_parsed = [(p, t) for p, t in parsed if p[:1] != ("city",)]
    base_scenario = L._validated(data, name, base, own, files, own_parsed, root=folder)
    counties: dict[str, Scenario] = {}
    reformed = []
    for i, county in enumerate(city.counties):
        counties[county.name] = _county(data, own, files, own_parsed, raw_city, city_lines, city, i, base_scenario,
                                        name, base, folder)
        if county.reformed or (county.reformed is None and county.timeline):
            reformed.append(county.name)
    reform_day = city.reform_day
    if reform_day is None and reformed:
        days = [e.day for c in city.counties if c.name in reformed for e in (c.timeline or [])]
        reform_day = min(days) if days else None
        if reform_day == 0:  # a reform from the first day has no before: no difference-in-differences
            reform_day = None
    if reform_day is not None and reform_day >= base_scenario.days:
        line = city_lines.get(("city", "reform_day"))
        raise ScenarioError.from_problems(name, [Problem(
            f"city.reform_day = {reform_day}: is not within the run's {base_scenario.days} days",
            path="city.reform_day", line=line)])
    return CityScenario(city.name or base_scenario.name, base_scenario, counties, city, tuple(reformed), reform_day)


def _county(data: dict, lines: dict[Path_, int], files: dict, parsed: list, raw_city: Any,
            city_lines: dict[Path_, int], city: City, i: int, base_scenario: Scenario, name: str, base: Path,
            folder: Path) -> Scenario:
    """The scenario of county ``i``: the base data with its name, size, seed, overrides and timeline; its problems
    placed at the lines of the city block that gave the values."""
    county = city.counties[i]
    at: Path_ = ("city", "counties", i)
    out = dict(data)
    out_lines = dict(lines)
    out_files = dict(files)
    source = f"city.counties[{i}] ({county.name})"

    def give(path: Path_, value: Any, line_key: Path_) -> None:
        set_path(out, path, value, format_path(path), source)
        for p in [p for p in out_lines if p[:len(path)] == path]:
            del out_lines[p]
        for p in [p for p in out_files if p[:len(path)] == path]:
            del out_files[p]
        line = city_lines.get(line_key) or city_lines.get(at)
        if line is not None:
            out_lines[path] = line

    give(("name",), f"{city.name or base_scenario.name}/{county.name}", (*at, "name"))
    size = county.size if county.size is not None else base_scenario.population.size
    give(("population", "size"), max(1, round(size * city.size_scale)), (*at, "size"))
    seed = county.seed if county.seed is not None else county_seed(base_scenario.seed, i)
    give(("seed",), seed, (*at, "seed"))
    raw = raw_city["counties"][i] if isinstance(raw_city, dict) else {}
    for key, value in (raw.get("set") or {}).items():
        try:
            path = parse_key(key, f"{key}={show(value)}", f"{source} set")
        except ScenarioError as err:
            raise ScenarioError.from_problems(name, [Problem(str(err), path=format_path((*at, "set", key)),
                                                             line=city_lines.get((*at, "set", key)))]) from None
        give(path, value, (*at, "set", key))
    if city.tertiary_payment != "county":
        _city_pays_tertiary(raw, county, city, i, name, city_lines, data.get("timeline"), lines)
        give(("payment", "by_level", "out_of_county"), city.tertiary_payment, ("city", "tertiary_payment"))
    if county.timeline is not None:
        out["timeline"] = raw["timeline"]
        for p in [p for p in out_lines if p[:1] == ("timeline",)]:
            del out_lines[p]
        for p in [p for p in out_files if p[:1] == ("timeline",)]:
            del out_files[p]
        for p, n in city_lines.items():
            if p[:len(at) + 1] == (*at, "timeline"):
                out_lines[("timeline", *p[len(at) + 1:])] = n
    try:
        return L._validated(out, name, base, out_lines, out_files, parsed, root=folder)
    except ScenarioError as err:
        problems = [Problem(f"county {county.name} (city.counties[{i}]): {p.message}", path=p.path, line=p.line,
                            origin=p.origin, more=p.more, file=p.file) for p in err.problems]
        if not problems:
            raise ScenarioError(f"{name}: county {county.name} (city.counties[{i}]): {err}", source=name) from None
        raise ScenarioError.from_problems(name, problems) from None


TERTIARY_KEY = "payment.by_level.out_of_county"


def _city_pays_tertiary(raw: dict, county: County, city: City, i: int, name: str, city_lines: dict,
                        base_timeline: list | None, lines: dict) -> None:
    """Under ``city.tertiary_payment`` the city pays its tertiary hospitals: neither a county's ``set:`` nor the
    timeline it runs (its own, or the base county's) may change how."""
    at: Path_ = ("city", "counties", i)
    found = [((*at, "set", TERTIARY_KEY), (raw.get("set") or {}).get(TERTIARY_KEY))] \
        if TERTIARY_KEY in (raw.get("set") or {}) else []
    own = county.timeline is not None
    timeline, where = (raw.get("timeline"), (*at, "timeline")) if own else (base_timeline, ("timeline",))
    for j, entry in enumerate(timeline or []):
        changes = (entry.get("set") or {}) if isinstance(entry, dict) else {}
        if TERTIARY_KEY in changes:
            found.append(((*where, j, "set", TERTIARY_KEY), changes[TERTIARY_KEY]))
    if found:
        path, value = found[0]
        raise ScenarioError.from_problems(name, [Problem(
            f"{format_path(path)} = {show(value)}: the city pays its tertiary hospitals (city.tertiary_payment = "
            f"{city.tertiary_payment}); county {county.name} may not change how. Allowed: leave "
            f"{TERTIARY_KEY} to the city, or set city.tertiary_payment: county", path=format_path(path),
            line=city_lines.get(path) or city_lines.get(at) or lines.get(path))])


def json_schema() -> dict:
    """The JSON Schema of the ``city:`` block (``triangle schema city``)."""
    schema = City.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "triangle city block (the top-level `city:` key of a scenario file)"
    return schema

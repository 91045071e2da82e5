"""Reform timelines: scheduled changes to a scenario, applied at the start of a day.

A scenario's ``timeline`` is a list of ``{day: N, set: {dotted.key: value}}``. Each entry is an overlay on the
scenario in force the day before (OpenFisca's reform-as-overlay), so the scenario in force on any day is the
base with every earlier entry laid on in order. Only the levers a county can change mid-run may change:
payment, insurance, behaviour, policies and each level's facility resources and prices. The county itself
(population, geography, case mix, seed, length of the run) is fixed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from pydantic import ValidationError

from sim.params.keys import ScenarioError, parse_key, set_path  # the same key syntax as --set
from sim.params.scenario import Scenario

MUTABLE_SECTIONS = ("payment", "insurance", "behaviour", "policies")
MUTABLE_FACILITY_KEYS = ("doctors", "beds", "capability", "price_level", "identification_minutes",
                         "base_salary_yuan", "surplus_bonus_share")
FACILITY_LEVELS = ("village", "township", "county", "out_of_county")


@dataclass(frozen=True)
class TimelineProblem:
    index: int
    key: str | None
    message: str


class TimelineInvalid(ValueError):
    def __init__(self, problems: list[TimelineProblem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def mutable(path: tuple) -> bool:
    """Whether a dotted key (as a path tuple) may change mid-run."""
    if not path or not isinstance(path[0], str):
        return False
    if path[0] in MUTABLE_SECTIONS:
        return True
    return (path[0] == "facilities" and len(path) == 3 and path[1] in FACILITY_LEVELS
            and path[2] in MUTABLE_FACILITY_KEYS)


def resolve(scenario: Scenario) -> list[tuple[int, Scenario]]:
    """The scenario in force from each timeline day on, one per day with entries, in day order (the entries of
    one day laid on in file order).

    Raises :class:`TimelineInvalid` listing every entry that names a key that may not change, or that makes
    the scenario invalid.

    A day's scenario is validated once, with its entries applied together; only when that fails are they tried
    one by one, to say which entry is wrong. The scenarios in force keep the timeline (the one list, shared),
    but are validated without it, so a long timeline costs time and memory in proportion to its days, not to
    its length times its days.
    """
    timeline = scenario.timeline
    order = sorted(range(len(timeline)), key=lambda i: timeline[i].day)
    data = scenario.model_dump(mode="json")
    data["timeline"] = []
    resolved: list[tuple[int, Scenario]] = []
    problems: list[TimelineProblem] = []
    for day, group in itertools.groupby(order, key=lambda i: timeline[i].day):
        entries = list(group)
        trial, found = dict(data), []
        for i in entries:
            trial = _apply(trial, i, timeline[i], found)
        spec = None
        if not found:
            try:
                spec = Scenario.model_validate(trial)
            except ValidationError:
                spec = None
        if spec is not None:
            data = trial
        else:  # one entry at a time, from the day before: which entries are wrong
            spec = None
            for i in entries:
                entry_problems: list[TimelineProblem] = []
                candidate = _apply(data, i, timeline[i], entry_problems)
                problems.extend(entry_problems)
                try:
                    spec = Scenario.model_validate(candidate)
                except ValidationError as err:
                    for e in err.errors(include_url=False):
                        where = ".".join(str(p) for p in e["loc"])
                        problems.append(TimelineProblem(i, None, f"timeline[{i}] (day {day}) makes {where} = "
                                                        f"{e.get('input')!r}: {e['msg']}"))
                    continue
                data = candidate
        if spec is not None:
            resolved.append((day, spec.model_copy(update={"timeline": timeline})))
    if problems:
        raise TimelineInvalid(problems)
    return resolved


def _apply(data: dict, i: int, entry, problems: list[TimelineProblem]) -> dict:
    """``data`` with timeline entry ``i`` laid on (a copy); a key that may not change, or cannot be set, is a
    problem and is left out."""
    if not entry.set:
        problems.append(TimelineProblem(i, None, f"timeline[{i}].set is empty; name at least one key"))
        return data
    data = {**data}
    for key, value in entry.set.items():
        text = f"{key}={value!r}"
        try:
            path = parse_key(key, text, f"timeline[{i}].set")
            if not mutable(path):
                raise ValueError(
                    f"timeline[{i}].set.{key}: this key cannot change during a run; allowed: keys under "
                    f"{', '.join(MUTABLE_SECTIONS)}, and facilities.<level>.<key> with <key> one of "
                    f"{', '.join(MUTABLE_FACILITY_KEYS)}")
            set_path(data, path, value, text, f"timeline[{i}].set")
        except (ScenarioError, ValueError) as err:
            problems.append(TimelineProblem(i, key, str(err)))
    return data


def period_bounds(scenario: Scenario) -> list[tuple[int, int]]:
    """[start_day, end_day) of each period between timeline dates, covering the whole run."""
    cuts = sorted({e.day for e in scenario.timeline} - {0})
    edges = [0, *cuts, scenario.days]
    return list(zip(edges[:-1], edges[1:], strict=True))

"""Reform timelines: scheduled changes to a scenario, applied at the start of a day.

A scenario's ``timeline`` is a list of ``{day: N, set: {dotted.key: value}}``. Each entry is an overlay on the
scenario in force the day before (OpenFisca's reform-as-overlay), so the scenario in force on any day is the
base with every earlier entry laid on in order. Only the levers a county can change mid-run may change:
payment, insurance, behaviour, policies and each level's facility resources and prices. The county itself
(population, geography, case mix, seed, length of the run) is fixed.
"""

from __future__ import annotations

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
    """The scenario in force from each timeline day on, in day order (entries of one day in file order).

    Raises :class:`TimelineInvalid` listing every entry that names a key that may not change, or that makes
    the scenario invalid.
    """
    order = sorted(range(len(scenario.timeline)), key=lambda i: scenario.timeline[i].day)
    data = scenario.model_dump(mode="json")
    resolved: list[tuple[int, Scenario]] = []
    problems: list[TimelineProblem] = []
    for i in order:
        entry = scenario.timeline[i]
        if not entry.set:
            problems.append(TimelineProblem(i, None, f"timeline[{i}].set is empty; name at least one key"))
            continue
        before = data
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
        try:
            resolved.append((entry.day, Scenario.model_validate(data)))
        except ValidationError as err:
            for e in err.errors(include_url=False):
                where = ".".join(str(p) for p in e["loc"])
                problems.append(TimelineProblem(i, None, f"timeline[{i}] (day {entry.day}) makes {where} = "
                                                f"{e.get('input')!r}: {e['msg']}"))
            data = before
    if problems:
        raise TimelineInvalid(problems)
    return resolved


def period_bounds(scenario: Scenario) -> list[tuple[int, int]]:
    """[start_day, end_day) of each period between timeline dates, covering the whole run."""
    cuts = sorted({e.day for e in scenario.timeline} - {0})
    edges = [0, *cuts, scenario.days]
    return list(zip(edges[:-1], edges[1:], strict=True))

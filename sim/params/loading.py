"""Reading scenario files: safe YAML, ``--set`` overrides, and validation errors a user can act on.

A scenario file is plain YAML read with a safe loader; tags that would build Python objects
(``!!python/object...``) or any other non-standard tag are refused. Every problem pydantic finds is
reported with the file, the line of the key, the dotted key path, the bad value and what is allowed::

    scenarios/bad.yaml: 2 problems
      line 4: polulation: unknown key; did you mean 'population'?
      line 9: insurance.reimbursement.county = 1.7: Input should be less than or equal to 1

Overrides (``--set population.size=50000``) are applied to the parsed mapping before validation; a
problem in an overridden value is reported as ``(from --set population.size=...)`` instead of a line.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sim.params import boundary
from sim.params.keys import (
    Path_,
    Problem,
    ScenarioError,
    format_path,
    key_path,
    malformed,
    parse_key,
    set_path,
    set_value,
    show,
)
from sim.params.scenario import Scenario

__all__ = [
    "Problem",
    "ScenarioError",
    "apply_overrides",
    "finite_problems",
    "format_path",
    "key_path",
    "load_scenario",
    "load_scenario_text",
    "parse_mapping",
    "read_text",
    "scenario_to_yaml",
    "set_value",
    "validate_file",
    "validation_problems",
]

_MAX_OVERRIDE_CHARS = 80


# --------------------------------------------------------------------------------------------- YAML
_SCENARIO_KEYS = "scenario keys (name, days, population, payment, ...)"


def _parse_yaml(text: str, name: str, expected: str = _SCENARIO_KEYS) -> tuple[dict, dict[Path_, int]]:
    """The top-level mapping of a document and the line of every key in it, read at the input boundary
    (``sim.params.boundary``: safe loader, limits, finite numbers)."""
    return boundary.parse_mapping(text, name, expected)


# --------------------------------------------------------------------------------------------- overrides
def _parse_override(text: str, source: str) -> tuple[Path_, Any]:
    if not isinstance(text, str):
        raise ScenarioError(f"{source} {boundary.excerpt(text)}: expected text of the form dotted.key=value",
                            source=source)
    if len(text) > boundary.max_bytes():
        raise ScenarioError(f"{source}: an override of {len(text):,} characters is longer than the limit of "
                            f"{boundary.max_bytes():,} bytes (set {boundary.MAX_BYTES_ENV} to raise it)",
                            source=source)
    boundary.check_text(text, f"{source} {_short(boundary.excerpt(text, _MAX_OVERRIDE_CHARS))}", "--set value")
    key, eq, raw = text.partition("=")
    key = key.strip()
    if not eq:
        raise malformed(text, source, "there is no '='")
    if not key:
        raise malformed(text, source, "the key is empty")
    path = parse_key(key, text, source)
    # The value is read at the input boundary, as a file is: limits, safe loader, finite numbers.
    value = boundary.load_value(raw, f"{source} {_short(boundary.excerpt(text, _MAX_OVERRIDE_CHARS))}")
    return path, value


def apply_overrides(data: dict, overrides: Sequence[str], *, source: str = "--set") -> dict:
    """A copy of ``data`` with each ``dotted.key=value`` override applied, in order.

    Values are read as YAML (``0.5`` is a float, ``true`` a bool, ``[1, 2]`` a list, ``drg`` a string).
    Missing intermediate mappings are created; list items may be addressed as ``name[0]``. The input is
    not modified. A malformed override raises :class:`ScenarioError`.
    """
    if isinstance(overrides, str):
        overrides = [overrides]
    result = dict(data)
    for text in overrides:
        path, value = _parse_override(text, source)
        set_path(result, path, value, text, source)
    return result


# --------------------------------------------------------------------------------------------- schema walk
def _unwrap(annotation: Any) -> Any:
    """The model class, ``list[...]``/``dict[...]`` or other type behind an annotation (Optional removed)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _child_type(annotation: Any, key: Any) -> Any:
    """The type found under ``key`` inside a value of type ``annotation``, or None when there is none."""
    annotation = _unwrap(annotation)
    if _is_model(annotation):
        field = annotation.model_fields.get(key) if isinstance(key, str) else None
        return field.annotation if field is not None else None
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, Sequence) and isinstance(key, int):
        args = typing.get_args(annotation)
        return args[0] if args else Any
    if origin in (dict, Mapping) and not isinstance(key, int):
        args = typing.get_args(annotation)
        return args[1] if len(args) == 2 else Any
    return None


def _model_at(path: Path_, root: type[BaseModel] = Scenario) -> type[BaseModel] | None:
    annotation: Any = root
    for key in path:
        annotation = _child_type(annotation, key)
        if annotation is None:
            return None
    annotation = _unwrap(annotation)
    return annotation if _is_model(annotation) else None


def _field_paths(root: type[BaseModel] = Scenario) -> dict[str, list[str]]:
    """Every field name in the schema and the dotted paths of the models that have it."""
    found: dict[str, list[str]] = {}
    stack: list[tuple[type[BaseModel], str]] = [(root, "")]
    while stack:
        model, prefix = stack.pop()
        for name, field in model.model_fields.items():
            found.setdefault(name, []).append(prefix or "the top level")
            inner = _unwrap(field.annotation)
            if typing.get_origin(inner) in (list, tuple) and typing.get_args(inner):
                inner, name = _unwrap(typing.get_args(inner)[0]), f"{name}[]"
            if _is_model(inner):
                stack.append((inner, f"{prefix}.{name}" if prefix else name))
    return found


def _unknown_key_message(parent: Path_, key: Any, root: type[BaseModel] = Scenario) -> str:
    model = _model_at(parent, root)
    if model is None:
        return "unknown key"
    allowed = list(model.model_fields)
    match = difflib.get_close_matches(str(key), allowed, n=1)
    if match:
        return f"unknown key; did you mean '{match[0]}'?"
    here = format_path(parent) or "the top level"
    elsewhere = [p for p in _field_paths(root).get(str(key), []) if p != here]
    hint = f" ('{key}' is a key of {' and '.join(elsewhere[:3])})" if elsewhere else ""
    return f"unknown key{hint}; allowed keys at {here}: {', '.join(allowed)}"


# --------------------------------------------------------------------------------------------- validation
def _data_path(loc: tuple, data: Any, error_type: str, root: type[BaseModel] = Scenario) -> Path_:
    """The part of a pydantic error location that names keys and items (union member tags dropped)."""
    path: list[Any] = []
    annotation: Any = root
    node = data
    for position, key in enumerate(loc):
        last = position == len(loc) - 1
        unwrapped = _unwrap(annotation)
        if isinstance(node, dict) and key in node:
            child = _child_type(annotation, key)
            if child is None and not (last and error_type in ("extra_forbidden", "invalid_key")):
                break
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            child = _child_type(annotation, key)
            if child is None:
                break
            node = node[key]
        elif last and error_type == "missing" and _is_model(unwrapped) and key in unwrapped.model_fields:
            child, node = None, None
        else:
            break
        path.append(key)
        annotation = child
    return tuple(path)


def _source_of(path: Path_, lines: dict[Path_, int], overrides: list[tuple[Path_, str]],
               ) -> tuple[int | None, str | None, str | None]:
    """(file line, override that set the value, override that changed a key inside it)."""
    covering = [text for opath, text in overrides if path[:len(opath)] == opath]
    if covering:
        return None, covering[-1], None
    inside = [text for opath, text in overrides if path and opath[:len(path)] == path]
    if inside and path not in lines:  # the key exists only because an override created it
        return None, inside[-1], None
    for depth in range(len(path), -1, -1):
        if path[:depth] in lines:
            return lines[path[:depth]], None, (inside[-1] if inside else None)
    return None, None, (inside[-1] if inside else None)


def _file_of(path: Path_, lines: dict[Path_, int], files: dict[Path_, str] | None) -> str | None:
    """The file whose line :func:`_source_of` gives for ``path``, when it is not the file being read (an
    ``extends:`` parent); None for the file itself."""
    if not files:
        return None
    for depth in range(len(path), -1, -1):
        if path[:depth] in lines:
            return files.get(path[:depth])
    return None


# A check of the whole scenario that names one key opens its message with it ("timeline[3].day = 400 is not
# within the run's 365 days"): the problem is placed at that key.
_KEY_FIRST = re.compile(r"([A-Za-z_][A-Za-z0-9_]*(?:\[[0-9]+\])*(?:\.[A-Za-z_][A-Za-z0-9_]*(?:\[[0-9]+\])*)*) = ")


def _named_key(message: str, data: Any) -> Path_ | None:
    found = _KEY_FIRST.match(message)
    if found is None:
        return None
    path = parse_key(found.group(1), message, "")
    try:
        boundary.value_at(data, path)
    except (LookupError, TypeError, AttributeError):
        return None
    return path


def _short(text: str) -> str:
    return text if len(text) <= _MAX_OVERRIDE_CHARS else text[:_MAX_OVERRIDE_CHARS - 3] + "..."


_MAX_PROBLEMS = 20  # listed of one file; the rest are counted


def _problems(err: ValidationError, data: dict, lines: dict[Path_, int],
              overrides: list[tuple[Path_, str]], source: str, root: type[BaseModel] = Scenario,
              files: dict[Path_, str] | None = None) -> list[Problem]:
    grouped: dict[Path_, dict[str, Any]] = {}
    for error in err.errors(include_url=False):
        kind = error["type"]
        path = _data_path(tuple(error["loc"]), data, kind, root)
        msg = error["msg"]
        if kind == "value_error" and msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        named = _named_key(msg, data) if kind == "value_error" and not path else None
        if named is not None:  # the message names its key and value: placed there, shown as it is
            entry = grouped.setdefault(named, {"messages": [], "input": None, "kind": "named"})
            if msg not in entry["messages"]:
                entry["messages"].append(msg)
            continue
        if kind == "extra_forbidden":
            msg = None  # worded below, for the problems listed only (it searches the schema)
        elif kind == "invalid_key":
            key = error.get("input")
            msg = (f"the key {show(key)} is not a string (YAML reads it as {type(key).__name__}); "
                   "put it in quotes or correct it")
        elif kind == "missing":
            msg = "required key is missing"
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            model = _model_at(path, root)
            if model is not None:
                msg = f"expected a mapping with keys {', '.join(model.model_fields)}"
        entry = grouped.setdefault(path, {"messages": [], "input": error.get("input"), "kind": kind})
        if msg not in entry["messages"]:
            entry["messages"].append(msg)

    located = sorted(((_source_of(path, lines, overrides), path) for path in grouped),
                     key=lambda item: (item[0][0] is None, item[0][0] or 0))
    problems = []
    for (line, from_override, with_override), path in located[:_MAX_PROBLEMS]:
        entry = grouped[path]
        shown = path[:-1] if entry["kind"] == "invalid_key" else path  # the key itself is not a name
        text = format_path(shown) or "(top level)"
        if entry["kind"] not in ("missing", "invalid_key", "named"):
            text += f" = {show(entry['input'])}"
        if from_override is not None:
            text += f" (from {source} {_short(from_override)})"
        elif with_override is not None:
            text += f" (after {source} {_short(with_override)})"
        messages = [m if m is not None else _unknown_key_message(path[:-1], path[-1] if path else "", root)
                    for m in entry["messages"]]
        message = f"{text}: {'; or '.join(messages)}"
        if entry["kind"] == "named":
            message = "; or ".join(messages) + (f" (from {source} {_short(from_override)})"
                                               if from_override is not None else "")
        origin = f"{source} {from_override}" if from_override is not None else None
        file = _file_of(path, lines, files) if line is not None else None
        problems.append(Problem(message, path=format_path(shown), line=line, origin=origin, file=file))
    if len(located) > _MAX_PROBLEMS:
        hidden = len(located) - _MAX_PROBLEMS
        problems.append(Problem(f"... and {hidden:,} more (the first {_MAX_PROBLEMS} are listed)", more=hidden))
    return problems


def _resolve_catalogue(data: dict, base: Path, overridden: bool, root: Path | None = None, name: str = "",
                       lines: dict[Path_, int] | None = None, files: dict[Path_, str] | None = None) -> dict:
    case_mix = data.get("case_mix")
    if not isinstance(case_mix, dict):
        return data
    catalogue = case_mix.get("catalogue")
    if not isinstance(catalogue, str) or catalogue == "bundled" or not catalogue:
        return data
    # A path given in the file is read from the file's folder, and must stay in the folder the scenario is read
    # from; one given on the command line is read from the current folder (where the shell completed it), and
    # may name any file. A path that cannot name a file is kept as given, for the catalogue reader to refuse.
    path = boundary.resolve_path(catalogue, Path.cwd() if overridden else base)
    if path is None:
        return data
    if not overridden and boundary.leaves(path, root):
        key = ("case_mix", "catalogue")
        line = (lines or {}).get(key)
        file = _file_of(key, lines or {}, files) or name
        where = f"{file}: line {line}: " if line is not None else f"{file}: "
        raise ScenarioError(f"{where}case_mix.catalogue = {boundary.excerpt(catalogue, 120)}: "
                            f"{boundary.leaving(root)}", source=name)
    return {**data, "case_mix": {**case_mix, "catalogue": str(path)}}


_DEFAULTS = Scenario().model_dump(mode="json")


def overlay(defaults: Any, given: Any) -> Any:
    """A scenario is an overlay on the defaults: mappings merge key by key, anything else replaces."""
    if isinstance(defaults, dict) and isinstance(given, dict):
        return {**defaults, **{k: overlay(defaults.get(k), v) for k, v in given.items()}}
    return given


_MAX_EXTENDS = 20  # scenarios in one chain of extends:

Where = dict[Path_, tuple[str, int]]  # key path -> (file, line) of the value in force


def _replaced(data: dict) -> set[Path_]:
    """Key paths whose value is not a mapping: laid over a parent, each replaces what the parent had there."""
    found: set[Path_] = set()
    stack: list[tuple[dict, Path_]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        for key, value in node.items():
            if isinstance(value, dict):
                stack.append((value, path + (key,)))
            else:
                found.add(path + (key,))
    return found


def _overlay_where(parent: Where, child_data: dict, child: Where) -> Where:
    """Where each value of ``overlay(parent, child)`` was written: in the child, or else in the parent."""
    cut = _replaced(child_data)
    kept = {path: w for path, w in parent.items() if not any(path[:d] in cut for d in range(1, len(path) + 1))}
    kept.update(child)
    return kept


def _extended(data: dict, name: str, base: Path, where: Where | None = None, seen: tuple[Path, ...] = (),
              root: Path | None = None) -> tuple[dict, Where]:
    """A scenario with ``extends: other.yaml`` is an overlay on that scenario (read from this file's folder),
    so a reform is written as what it changes. Returns the scenario and, for every key path, the file and line
    that gave its value. ``root``: the folder the chain is read from (the first file's); a parent must lie in
    it or be bundled, unless --allow-outside."""
    where = where or {}
    parent = data.get("extends")
    if parent is None:
        return data, where
    line = where.get(("extends",), (name, None))[1]
    at = f"{name}: line {line}: " if line is not None else f"{name}: "
    if not isinstance(parent, str) or not parent:
        raise ScenarioError(f"{at}extends = {show(parent)}: expected the path of a scenario file", source=name)
    shown = boundary.excerpt(parent, 120)
    path = boundary.resolve_path(parent, base)
    if path is None:
        raise ScenarioError(f"{at}extends = {shown}: not a usable file name", source=name)
    if boundary.leaves(path, root):  # refused before it is read
        raise ScenarioError(f"{at}extends = {shown}: {boundary.leaving(root)}", source=name)
    if path in seen:
        raise ScenarioError(f"{at}extends = {shown}: scenarios extend each other in a loop", source=name)
    if len(seen) >= _MAX_EXTENDS:
        raise ScenarioError(f"{at}extends = {shown}: more than {_MAX_EXTENDS} scenarios extend one another",
                            source=name)
    try:
        text = boundary.read_text(path, "scenario file")
    except ScenarioError as err:
        raise ScenarioError(f"{at}extends = {shown}: cannot be used: {err}", source=name) from None
    parent_name = boundary.display(path)
    parent_root = root if root is not None else path.parent
    try:  # what is wrong in the parent is said at its own file and line, after where this file names it
        parent_data, parent_lines = _parse_yaml(text, parent_name)
        parent_where = {p: (parent_name, n) for p, n in parent_lines.items()}
        parent_data, parent_where = _extended(parent_data, parent_name, path.parent, parent_where, (*seen, path),
                                              parent_root)
        parent_lines = {p: n for p, (_, n) in parent_where.items()}
        parent_files = {p: f for p, (f, _) in parent_where.items()}
        parent_data = _resolve_catalogue(parent_data, path.parent, False, parent_root, parent_name, parent_lines,
                                         parent_files)
    except ScenarioError as err:
        raise ScenarioError(f"{at}extends = {shown}: {err}", source=name, problems=err.problems) from None
    own = {k: v for k, v in data.items() if k != "extends"}
    own_where = {p: w for p, w in where.items() if p[:1] != ("extends",)}
    parent_where = {p: w for p, w in parent_where.items() if p[:1] != ("extends",)}
    return overlay(parent_data, own), _overlay_where(parent_where, own, own_where)


def _build(text: str, name: str, base: Path, overrides: Sequence[str], source: str = "--set",
           root: Path | None = None) -> Scenario:
    data, lines = _parse_yaml(text, name)
    data, where = _extended(data, name, base, {p: (name, n) for p, n in lines.items()}, root=root)
    lines = {p: n for p, (_, n) in where.items()}
    files = {p: f for p, (f, _) in where.items() if f != name}  # values from extends: parents
    if isinstance(overrides, str):
        overrides = [overrides]
    try:  # an override that cannot be read or applied is reported against the file it was meant for
        parsed = [(_parse_override(o, source)[0], o) for o in overrides]
        data = apply_overrides(data, overrides, source=source)
    except ScenarioError as err:
        raise ScenarioError(f"{name}: {err}", source=name, problems=err.problems) from None
    return _validated(data, name, base, lines, files, parsed, source, root)


def _validated(data: dict, name: str, base: Path, lines: dict[Path_, int], files: dict[Path_, str],
               parsed: list[tuple[Path_, str]], source: str = "--set", root: Path | None = None) -> Scenario:
    """The Scenario of a mapping read from file ``name`` (its extends: resolved, overrides applied), or a
    ScenarioError placing every problem at its line or override (also used for each county of a city,
    ``sim.params.city``)."""
    if "city" in data:  # read by sim.params.city (triangle run, triangle check), not as one county
        raise ScenarioError.from_problems(name, [Problem(
            "city: a city of several counties; `triangle run` and `triangle check` read it, this command reads "
            "one county (write the county without its city: block)", path="city", line=lines.get(("city",)),
            file=_file_of(("city",), lines, files))])
    catalogue_path = ("case_mix", "catalogue")
    overridden = any(catalogue_path[:len(p)] == p for p, _ in parsed)
    data = _resolve_catalogue(data, base, overridden, root, name, lines, files)
    data = overlay(_DEFAULTS, data)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError.from_problems(name, _problems(err, data, lines, parsed, source, files=files)) from None
    # Text that reads as a number which is not finite ("inf", "nan") passes the schema's float keys.
    _check_finite(scenario, name, lines, parsed, source, files=files)
    problem = map_problem(scenario, lines, files, parsed, source)
    if problem is not None:
        raise ScenarioError.from_problems(name, [problem])
    _check_timeline(scenario, name, lines, files)
    return scenario


MAX_FACILITIES = 3_000  # on the county's map: travel times between every pair are kept (3,000² = 9 M)
MAP_KEYS = (("geography", "listed_townships"), ("geography", "townships"), ("geography", "villages_per_township"),
             ("geography", "residents_per_township"), ("population", "size"))


def map_size(scenario: Scenario) -> tuple[int, int, int]:
    """(village clinics, township centres, hospitals) on the scenario's map (``sim.core.geography``)."""
    geo = scenario.geography
    if geo.listed_townships:
        townships = len(geo.listed_townships)
        villages = sum(t.villages for t in geo.listed_townships)
    else:
        townships = (max(1, round(scenario.population.size / geo.residents_per_township))
                     if geo.townships == "auto" else int(geo.townships))
        villages = townships * geo.villages_per_township
    return villages, townships, geo.county_hospitals + geo.out_of_county_hospitals


def map_problem(scenario: Scenario, lines: dict[Path_, int] | None = None, files: dict[Path_, str] | None = None,
                overrides: Sequence[tuple[Path_, str]] = (), source: str = "--set") -> Problem | None:
    """A problem when the county's map would hold more than MAX_FACILITIES facilities (its travel times, kept
    between every pair of facilities, would take minutes to compute and gigabytes to hold), placed at the first
    map key an override or the file gives; else None."""
    villages, townships, hospitals = map_size(scenario)
    total = villages + townships + hospitals
    if total <= MAX_FACILITIES:
        return None
    lines = lines or {}
    by_override = {path: text for path, text in overrides}
    given = [key for key in MAP_KEYS if key in by_override] + [key for key in MAP_KEYS if key in lines]
    key = given[0] if given else ("geography", "townships")
    line = lines.get(key) if key not in by_override else None
    value = boundary.value_at(scenario, key)
    shown = f"{len(value):,} townships" if isinstance(value, list) else show(value)
    origin = f" (from {source} {_short(by_override[key])})" if key in by_override else ""
    return Problem(f"{format_path(key)} = {shown}{origin}: the county's map would hold {total:,} facilities "
                   f"({villages:,} village clinics, {townships:,} township centres, {hospitals} hospitals); at most "
                   f"{MAX_FACILITIES:,} (travel times are kept between every pair): give fewer townships or villages "
                   "per township (or more residents per township)", path=format_path(key), line=line,
                   file=(files or {}).get(key) if line is not None else None)


def _check_finite(value: Any, name: str, lines: dict[Path_, int], overrides: list[tuple[Path_, str]],
                  source: str, note: str = "", files: dict[Path_, str] | None = None) -> None:
    problems = []
    for path in boundary.non_finite(value):
        line, from_override, _ = _source_of(path, lines, overrides)
        origin = f" (from {source} {_short(from_override)})" if from_override is not None else ""
        number = boundary.number_text(boundary.value_at(value, path))
        problems.append(Problem(f"{format_path(path)} = {number}{origin}: expected a finite number{note}",
                                path=format_path(path), line=line,
                                origin=f"{source} {from_override}" if from_override is not None else None,
                                file=_file_of(path, lines, files) if line is not None else None))
    if problems:
        raise ScenarioError.from_problems(name, problems)


def _check_timeline(scenario: Scenario, name: str, lines: dict[Path_, int],
                    files: dict[Path_, str] | None = None) -> None:
    """Every timeline entry must change only what may change mid-run, and leave a valid scenario."""
    from sim.params.timeline import TimelineInvalid, resolve

    try:
        changes = resolve(scenario)
    except TimelineInvalid as err:
        problems: list[Problem] = []
        for p in err.problems:
            where: Path_ = ("timeline", p.index, "set") + ((p.key,) if p.key is not None else ())
            line = lines.get(where) or lines.get(("timeline", p.index))
            at = where if where in lines else ("timeline", p.index)
            problems.append(Problem(p.message, path=format_path(where), line=line,
                                    file=(files or {}).get(at) if line is not None else None))
        raise ScenarioError.from_problems(name, problems) from None
    # Text such as "inf" passes a float key: each value an entry sets is looked at in the scenario of its day
    # (the rest of that scenario was looked at before).
    in_force = dict(changes)
    problems = []
    for i, entry in enumerate(scenario.timeline):
        spec = in_force.get(entry.day)
        for key in entry.set:
            try:
                value = boundary.value_at(spec, parse_key(key, key, "timeline"))
            except (ScenarioError, LookupError, TypeError, AttributeError):
                continue
            for inner in boundary.non_finite(value, limit=1):
                at: Path_ = ("timeline", i, "set", key)
                line = lines.get(at) or lines.get(("timeline", i))
                number = boundary.number_text(boundary.value_at(value, inner))
                problems.append(Problem(
                    f"timeline[{i}].set.{key} makes {format_path(parse_key(key, key, 'timeline') + inner)} = "
                    f"{number}: expected a finite number (in force from timeline day {entry.day})",
                    path=format_path(at), line=line, file=_file_of(at, lines, files) if line is not None else None))
    if problems:
        raise ScenarioError.from_problems(name, problems[:_MAX_PROBLEMS])
    _check_history_budget(scenario, changes, name, lines, files)


def _check_history_budget(scenario: Scenario, changes, name: str, lines: dict[Path_, int],
                          files: dict[Path_, str] | None = None) -> None:
    """A global budget set from history (null) needs history: it may begin only on the timeline, late enough."""
    from sim.params.scenario import HISTORY_DAYS

    key = ("payment", "global_budget", "budget_per_resident_year_yuan")
    for day, spec in [(0, scenario), *changes]:
        gb = spec.payment
        if gb.model != "global_budget" or gb.global_budget.budget_per_resident_year_yuan is not None:
            continue
        if day >= HISTORY_DAYS:
            continue
        line = lines.get(key)
        raise ScenarioError.from_problems(name, [Problem(
            f"{format_path(key)} = null: a budget from history needs at least {HISTORY_DAYS} days of claims "
            f"before the global budget begins (it begins on day {day}); begin it on the timeline later, or give "
            "a yuan amount", path=format_path(key), line=line,
            file=_file_of(key, lines, files) if line is not None else None)])


# --------------------------------------------------------------------------------------------- public API
def load_scenario(path: str | Path, overrides: Sequence[str] = (), *, root: str | Path | None = None) -> Scenario:
    """Read, override and validate a scenario file; every problem is raised as one :class:`ScenarioError`.

    A relative ``case_mix.catalogue`` in the file is resolved against the file's folder (one given in an
    override, against the current folder), so the scenario holds an absolute path. The files it names
    (``extends:``, the catalogue, and theirs) must lie in ``root`` (default: the file's folder) or its
    subfolders, or be bundled, unless files may leave their folder (``sim.params.boundary.outside_allowed``,
    ``--allow-outside``).
    """
    file = Path(path)
    folder = boundary.folder_of(file) if root is None else Path(root).resolve()
    return _build(read_text(file), boundary.display(path), file.parent.absolute(), overrides, root=folder)


def read_text(path: str | Path, kind: str = "scenario file") -> str:
    """A file's text read at the input boundary (``sim.params.boundary.read_text``: a regular UTF-8 file
    within the size limit), or a :class:`ScenarioError` saying why it cannot be read."""
    return boundary.read_text(path, kind)


def parse_mapping(text: str, name: str, expected: str) -> tuple[dict, dict[Path_, int]]:
    """A YAML document read with the safe loader of scenario files: its top-level mapping and the line of
    every key, keyed by key path. Refused tags, limits, YAML errors, duplicate keys and numbers that are not
    finite raise :class:`ScenarioError`."""
    return _parse_yaml(text, name, expected)


def finite_problems(value: Any, lines: dict[Path_, int], prefix: Path_ = ()) -> list[Problem]:
    """A located problem for every number in ``value`` (a validated model, a mapping) that is not finite."""
    return boundary.finite_problems(value, lines, prefix)


def validation_problems(err: ValidationError, data: dict, lines: dict[Path_, int], root: type[BaseModel],
                        overrides: Sequence[tuple[Path_, str]] = (), source: str = "--set") -> list[Problem]:
    """The problems pydantic found in ``data`` (validated as ``root``), each with its line, dotted key path,
    bad value and what is allowed, in the form scenario errors take."""
    return _problems(err, data, lines, list(overrides), source, root)


def load_scenario_text(text: str, *, name: str = "<string>", overrides: Sequence[str] = ()) -> Scenario:
    """Like :func:`load_scenario` for YAML held in a string (tests, notebooks); paths are read from the
    current folder. The text is the program's own, so it may name any file; a file it names is held, as if given
    on the command line, to its own folder."""
    return _build(text, name, Path.cwd(), overrides)


validate_file = load_scenario


def scenario_to_yaml(scenario: Scenario) -> str:
    """The resolved scenario, every default filled in, as YAML that :func:`load_scenario` reads back."""
    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True)

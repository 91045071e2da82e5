"""Dotted key paths into a scenario (``payment.drg.base_rate_yuan``, ``timeline[0].set``) and the errors that name
them: the one key syntax of ``--set`` overrides, timeline entries and sweep parameters."""

from __future__ import annotations

import reprlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Path_ = tuple[Any, ...]  # a key path: mapping keys and list indices

_MAX_VALUE_CHARS = 60


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where it is, and what is wrong."""

    message: str
    path: str = ""  # dotted key path, "" for the whole file
    line: int | None = None  # 1-based line in the file, when the key came from the file
    origin: str | None = None  # e.g. "--set population.size=-5" when the value came from an override
    more: int = 0  # a closing line that stands for this many problems not listed
    file: str | None = None  # the file the line is in, when not the file the error is about (an extends: parent)

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        if self.file is not None:
            where = f"{self.file}: {where}"
        return f"{where}{self.message}"


class ScenarioError(Exception):
    """A scenario that cannot be used. ``str(err)`` is the complete message for the user.

    ``source`` names the file (or override source), ``problems`` lists the individual problems.
    """

    def __init__(self, message: str, *, source: str | None = None, problems: Sequence[Problem] = ()):
        super().__init__(message)
        self.source = source
        self.problems = tuple(problems)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    @classmethod
    def from_problems(cls, source: str, problems: Sequence[Problem]) -> ScenarioError:
        total = sum(p.more or 1 for p in problems)
        count = f"{total:,} problem" + ("" if total == 1 else "s")
        lines = [f"{source}: {count}"] + [f"  {p}" for p in problems]
        return cls("\n".join(lines), source=source, problems=problems)


def parse_key(key: str, text: str, source: str) -> Path_:
    """``a.b[2].c`` -> ("a", "b", 2, "c")."""
    path: list[Any] = []
    for part in key.split("."):
        name, bracket, rest = part.partition("[")
        if not name:
            raise malformed(text, source, "the key has an empty part")
        path.append(name)
        while bracket:
            index, close, rest = rest.partition("]")
            # ASCII digits only: str.isdigit() also accepts '²' and '٣', which int() refuses or misreads.
            if not close or not (index.isascii() and index.isdigit()) or (rest and not rest.startswith("[")):
                raise malformed(text, source, f"bad list index in {quote(part)}; write it as name[0]")
            path.append(int(index))
            bracket, rest = rest[:1], rest[1:]
    return tuple(path)


def malformed(text: str, source: str, why: str) -> ScenarioError:
    return ScenarioError(
        f"{source} {quote(text)}: {why}; an override must have the form dotted.key=value, "
        "e.g. population.size=50000 or payment.model=drg", source=source)


def set_path(data: dict, path: Path_, value: Any, text: str, source: str) -> None:
    node: Any = data
    for depth, key in enumerate(path[:-1]):
        child_key = path[depth + 1]
        where = format_path(path[:depth + 1])
        if isinstance(key, int):
            if not isinstance(node, list) or key >= len(node):
                raise ScenarioError(f"{source} {quote(text)}: {where} does not exist (there is no such list "
                                    "item)", source=source)
            child = node[key]
        else:
            child = node.get(key)
        if child is None:
            if isinstance(child_key, int):
                raise ScenarioError(f"{source} {quote(text)}: {where} is not set, so it has no item {child_key}",
                                    source=source)
            child = {}
        elif isinstance(child, dict):
            child = dict(child)
        elif isinstance(child, list) and isinstance(child_key, int):
            child = list(child)
        else:
            raise ScenarioError(f"{source} {quote(text)}: {where} is {show(child)}, which has no key "
                                f"{show(child_key)}", source=source)
        node[key] = child
        node = child
    last = path[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ScenarioError(f"{source} {quote(text)}: {format_path(path)} does not exist (there is no such "
                                "list item)", source=source)
    node[last] = value


def format_path(path: Path_) -> str:
    """("a", "b", 2) -> "a.b[2]"."""
    text = ""
    for key in path:
        if isinstance(key, int) and not isinstance(key, bool):
            text += f"[{key}]"
        else:
            name = str(key)
            if not name.isprintable() or len(name) > _MAX_VALUE_CHARS:  # shown, not spelt: quoted and cut
                name = quote(name, _MAX_VALUE_CHARS)
            text += f".{name}" if text else name
    return text


_REPR = reprlib.Repr(maxlevel=3, maxdict=6, maxlist=6, maxtuple=6, maxset=6, maxstring=_MAX_VALUE_CHARS,
                     maxlong=_MAX_VALUE_CHARS, maxother=_MAX_VALUE_CHARS)


def show(value: Any) -> str:
    """A short one-line rendering of a value for messages; the cost does not grow with the value's size."""
    text = _REPR.repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[:_MAX_VALUE_CHARS - 3] + "..."


def quote(text: Any, limit: int = 80) -> str:
    """A short quoted excerpt of ``text``, every unprintable character escaped (safe on one line)."""
    text = str(text)
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def key_path(key: str, source: str = "--set") -> Path_:
    """``"a.b[2].c"`` -> ``("a", "b", 2, "c")``; a malformed key raises :class:`ScenarioError`."""
    return parse_key(key, key, source)


def set_value(data: dict, path: Path_, value: Any, text: str, source: str = "--set") -> None:
    """Set ``value`` at ``path`` inside ``data`` in place, copying the mappings on the way (as overrides do)."""
    set_path(data, path, value, text, source)

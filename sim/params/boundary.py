"""The one boundary where input from outside is read: every file (scenario files and their ``extends:`` parents,
sweep, facts and calibration files, case-mix catalogues) and every ``--set`` string.

Input is data, never code: YAML is read with a safe loader that builds only mappings, lists, strings, numbers,
booleans and null (and the dates YAML 1.1 resolves), and refuses any tag that would build an object. On top
of that, each read is bounded, so that no file can exhaust memory or time, or reach a message it was not meant
to reach:

- **size**: at most ``TRIANGLE_MAX_INPUT_BYTES`` bytes per file or ``--set`` string (default 1 MiB,
  1,048,576 bytes); a larger file is refused before it is read;
- **regular files only**: a device (``/dev/zero``), FIFO, socket or folder is refused before it is opened for
  reading, as is anything under ``/proc`` or ``/sys`` (whose files claim to be empty and are not);
- **text**: UTF-8 only (an optional byte-order mark is allowed), with no NUL byte and no control character
  other than tab, line feed and carriage return;
- **nesting**: at most ``MAX_DEPTH`` levels of mappings and lists, counted through aliases;
- **aliases**: anchors and aliases may repeat at most ``MAX_ALIAS_NODES`` values in all ("billion laughs"
  files, whose few lines expand to billions of values, are refused);
- **values**: an explicit tag on text it cannot read (``!!int abc``) is a located error, as is every number
  that is not finite (``.inf``, ``.nan``) wherever it stands;
- **where files point**: a file named inside a file (``extends:``, a sweep's ``base:``, a case-mix catalogue)
  must lie in the folder of the file given on the command line, or below it, or be bundled with triangle
  (:data:`BUNDLED_FOLDERS`), unless ``--allow-outside`` (:func:`outside_allowed`, or ``TRIANGLE_ALLOW_OUTSIDE=1``);
  :func:`leaves` says whether it does, before the file is opened.

Each refusal is a :class:`~sim.params.keys.ScenarioError` whose message is one line naming the file and, where
known, the line and the key; it quotes at most a short, escaped excerpt of the offending text, never a file's
content.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import stat
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from sim.params.keys import Path_, Problem, ScenarioError, format_path, quote

__all__ = [
    "ALLOW_OUTSIDE_ENV",
    "BUNDLED_FOLDERS",
    "DEFAULT_MAX_BYTES",
    "MAX_ALIAS_NODES",
    "MAX_BYTES_ENV",
    "MAX_DEPTH",
    "SafeLoader",
    "check_text",
    "display",
    "excerpt",
    "load_value",
    "max_bytes",
    "finite_problems",
    "folder_of",
    "leaves",
    "leaving",
    "may_leave_folder",
    "non_finite",
    "outside_allowed",
    "number_text",
    "parse_mapping",
    "read_text",
    "resolve_path",
    "top_level_keys",
    "value_at",
]

MAX_BYTES_ENV = "TRIANGLE_MAX_INPUT_BYTES"
DEFAULT_MAX_BYTES = 1 << 20  # 1 MiB
MAX_DEPTH = 50  # levels of mappings and lists; scenario files need fewer than 10
MAX_ALIAS_NODES = 100_000  # values that aliases may add to a document beyond those written out
_MAX_FINITE_PROBLEMS = 12
_SYSTEM_FOLDERS = ("/proc", "/sys")
_YAML_TAG_PREFIX = "tag:yaml.org,2002:"
# C0 controls but tab, LF and CR; DEL and the C1 controls; lone surrogates (undecodable bytes of a command
# line); and the two non-characters YAML excludes.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


# --------------------------------------------------------------------------------------------- showing text
def excerpt(text: Any, limit: int = 40) -> str:
    """A short quoted excerpt of ``text`` with every unprintable character escaped (safe on one line)."""
    return quote(text, limit)


def _key_text(key: Any) -> str:
    text = str(key)
    return text if text.isprintable() and len(text) <= 60 else excerpt(text, 60)


def display(path: str | os.PathLike) -> str:
    """A file name as messages show it: as given, or escaped and shortened when it holds unprintable characters."""
    text = os.fspath(path) if not isinstance(path, bytes) else path.decode("utf-8", "backslashreplace")
    if text.isprintable() and len(text) <= 300:
        return text
    return excerpt(text, 200)


def _where(text: str | bytes, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset`` in ``text``."""
    newline = b"\n" if isinstance(text, bytes) else "\n"
    line = text.count(newline, 0, offset) + 1
    column = offset - (text.rfind(newline, 0, offset) + 1) + 1
    return line, column


# --------------------------------------------------------------------------------------------- limits
def max_bytes() -> int:
    """The size limit of one input, in bytes: ``TRIANGLE_MAX_INPUT_BYTES`` if set, else 1 MiB."""
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ScenarioError(f"{MAX_BYTES_ENV}={excerpt(raw)}: expected a whole number of bytes, e.g. "
                            f"{MAX_BYTES_ENV}=4194304 for 4 MiB", source=MAX_BYTES_ENV)
    return int(raw)


def _too_large(name: str, kind: str, size: int | None, limit: int) -> ScenarioError:
    how = f"{size:,} bytes" if size is not None else "larger than that"
    return ScenarioError(f"{name}: the {kind} is {how}; the limit is {limit:,} bytes (set {MAX_BYTES_ENV} to "
                         "raise it)", source=name)


# --------------------------------------------------------------------------------------------- files
def read_text(path: str | os.PathLike, kind: str = "scenario file") -> str:
    """The text of a regular UTF-8 file within the size limit, or a :class:`ScenarioError` saying in one line
    why it cannot be read."""
    name = display(path)
    raw = os.fspath(path)
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "surrogateescape")
    if "\x00" in raw:
        raise ScenarioError(f"{name}: not a usable file name (it holds a NUL byte)", source=name)
    if not raw:
        raise ScenarioError(f"{kind}: the file name is empty", source=kind)
    try:
        real = os.path.realpath(raw)
    except (OSError, ValueError, RuntimeError):
        real = raw
    if any(real == top or real.startswith(top + "/") for top in _SYSTEM_FOLDERS):
        raise ScenarioError(f"{name}: is a system file ({real.split('/')[1]}), not a {kind}", source=name)
    limit = max_bytes()
    try:
        # Look before opening: opening a device or a FIFO can block or have effects of its own.
        _check_kind(os.stat(raw), name, kind)
        fd = os.open(raw, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ScenarioError(f"{name}: no such {kind}", source=name) from None
    except NotADirectoryError:
        raise ScenarioError(f"{name}: no such {kind} (a part of the path is not a folder)", source=name) from None
    except PermissionError:
        raise ScenarioError(f"{name}: cannot read the {kind}: permission denied", source=name) from None
    except (OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or type(err).__name__
        raise ScenarioError(f"{name}: cannot read the {kind}: {reason}", source=name) from None
    try:
        info = os.fstat(fd)
        _check_kind(info, name, kind)  # the file may have been replaced since it was looked at
        if info.st_size > limit:
            raise _too_large(name, kind, info.st_size, limit)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise ScenarioError(f"{name}: cannot read the {kind}: {err.strerror or type(err).__name__}",
                            source=name) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise _too_large(name, kind, None, limit)
    if info.st_size == 0 and data:
        raise ScenarioError(f"{name}: not a regular file (it claims to be empty but is not; a system file?), "
                            f"not a {kind}", source=name)
    return decode(data, name, kind)


def _check_kind(info: os.stat_result, name: str, kind: str) -> None:
    mode = info.st_mode
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise ScenarioError(f"{name}: is a folder, not a {kind}", source=name)
    what = ("a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a FIFO (named pipe)" if
            stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
    raise ScenarioError(f"{name}: is {what}, not a {kind}; give a regular file", source=name)


def decode(data: bytes, name: str, kind: str = "scenario file") -> str:
    """UTF-8 text without NUL or control characters, or a located :class:`ScenarioError`."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ScenarioError(f"{name}: is UTF-16 or UTF-32 text (it starts with its byte-order mark); save the "
                            f"{kind} as UTF-8", source=name)
    nul = data.find(b"\x00")
    if nul >= 0:
        line, column = _where(data, nul)
        raise ScenarioError(f"{name}: line {line}, column {column}: a NUL byte; a {kind} is UTF-8 text (is it a "
                            "binary file, or UTF-16 text?)", source=name,
                            problems=[Problem("a NUL byte", line=line)])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line, column = _where(data, err.start)
        raise ScenarioError(f"{name}: line {line}, column {column}: not UTF-8 text (byte 0x{data[err.start]:02x}); "
                            f"save the {kind} as UTF-8", source=name,
                            problems=[Problem("not UTF-8 text", line=line)]) from None
    return check_text(text.removeprefix("\ufeff"), name, kind)


def check_text(text: str, name: str, kind: str = "scenario file") -> str:
    """``text`` if it holds no control character but tab, line feed and carriage return; else a located error."""
    found = _CONTROL.search(text)
    if found is None:
        return text
    line, column = _where(text, found.start())
    char = found.group()
    what = ("a byte that is not UTF-8" if "\ud800" <= char <= "\udfff" else
            "a NUL character" if char == "\x00" else f"the control character U+{ord(char):04X}")
    raise ScenarioError(f"{name}: line {line}, column {column}: {what} is not allowed in a {kind}", source=name,
                        problems=[Problem(f"{what} is not allowed", line=line)])


# --------------------------------------------------------------------------------------------- YAML
class _Refused(yaml.MarkedYAMLError):
    """A located refusal by the loader (a tag, a limit, a value); ``problem`` is the message."""

    def __init__(self, problem: str, mark: yaml.Mark | None, tag: str | None = None):
        super().__init__(problem=problem, problem_mark=mark)
        self.tag = tag


def _shown_tag(tag: str) -> str:
    return "!!" + tag[len(_YAML_TAG_PREFIX):] if tag.startswith(_YAML_TAG_PREFIX) else tag


class _Checks:
    """What the loaders add to PyYAML's safe loader: unknown tags refused (with their position), aliases that
    expand past :data:`MAX_ALIAS_NODES` or nest past :data:`MAX_DEPTH` refused, tagged text that cannot be
    read (``!!int abc``) a located error, duplicate keys recorded."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[tuple[Any, int, int]] = []  # (key, line, first line), 1-based
        self.aliases = "*" in stream  # without an asterisk there is no alias to expand

    def refuse_tag(self, node: yaml.Node) -> Any:
        shown = _shown_tag(node.tag)
        raise _Refused(f"the tag {excerpt(shown)} is not allowed", node.start_mark, tag=shown)

    def get_single_node(self) -> yaml.Node | None:
        node = super().get_single_node()
        if node is not None and self.aliases:
            _check_expansion(node)
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, LookupError, AttributeError, ArithmeticError) as err:
            tag = _shown_tag(node.tag)
            if isinstance(node, yaml.ScalarNode):
                why = " (too many digits)" if "digits" in str(err) else ""
                problem = f"{excerpt(node.value)} cannot be read as {tag}{why}"
            else:
                problem = f"this {tag} value cannot be read ({type(err).__name__})"
            raise _Refused(problem, node.start_mark) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        # Before merge keys (<<) are flattened, so keys overriding a merged mapping are not duplicates.
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _YAML_TAG_PREFIX + "merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node)
                line = key_node.start_mark.line + 1
                if key in seen:
                    self.duplicates.append((key, line, seen[key]))
                else:
                    seen[key] = line
        return super().construct_mapping(node, deep=deep)


class SafeLoader(_Checks, yaml.SafeLoader):
    """The safe loader of every input, in pure Python: nesting is counted as the document is composed."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        collection = self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent)
        self._depth += collection
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= collection


SafeLoader.add_constructor(None, SafeLoader.refuse_tag)

if getattr(yaml, "__with_libyaml__", False):  # the same checks on libyaml's parser, about five times faster
    from yaml._yaml import CParser

    class _FastLoader(_Checks, yaml.CSafeLoader):
        """libyaml composes recursively in C, so nesting is counted on its event stream first (_scan_depth)."""

    _FastLoader.add_constructor(None, _FastLoader.refuse_tag)
    _LOADER: type = _FastLoader
else:  # pragma: no cover - PyYAML built without libyaml
    CParser = None
    _LOADER = SafeLoader


def _scan_depth(text: str) -> None:
    """Refuse a document nested more than MAX_DEPTH levels, from libyaml's event stream (no recursion)."""
    parser = CParser(text)
    depth = 0
    try:
        while True:
            event = parser.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                return
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _Refused(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    finally:
        parser.dispose()


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose aliases repeat more than MAX_ALIAS_NODES values, nest deeper than MAX_DEPTH, or
    refer to the value that holds them.

    Aliases share nodes, so the document is a graph; its size and depth as a tree are counted once per node
    (sizes capped, so a billion laughs costs no more than its text)."""
    cap = MAX_ALIAS_NODES * 10
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_: set[int] = set()  # nodes whose children are being counted
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            open_.discard(key)
            size[key] = min(cap, 1 + sum(size[id(c)] for c in children))
            depth[key] = (not isinstance(node, yaml.ScalarNode)) + max((depth[id(c)] for c in children), default=0)
            if depth[key] > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep (through aliases)", node.start_mark)
        elif key in open_:
            raise _Refused("an alias refers to the value that holds it (a loop)", node.start_mark)
        elif key not in size:
            open_.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in children)
    if size[id(root)] - len(size) > MAX_ALIAS_NODES:
        raise _Refused(f"its aliases repeat more than {MAX_ALIAS_NODES:,} values (an alias bomb?); write the "
                       "values out", root.start_mark)


def _key_lines(node: yaml.Node, loader: _Checks) -> dict[Path_, int]:
    """1-based line of every mapping key and list item, keyed by its path (after merge keys are flattened)."""
    lines: dict[Path_, int] = {}
    stack: list[tuple[yaml.Node, Path_]] = [(node, ())]
    visited: set[int] = set()  # an aliased node is walked once; its other paths fall back to the alias's line
    while stack:
        current, path = stack.pop()
        if id(current) in visited:
            continue
        visited.add(id(current))
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = loader.construct_object(key_node)
                lines[path + (key,)] = key_node.start_mark.line + 1
                stack.append((value_node, path + (key,)))
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                lines[path + (index,)] = item.start_mark.line + 1
                stack.append((item, path + (index,)))
    return lines


def _yaml_problem(name: str, err: yaml.YAMLError) -> ScenarioError:
    if isinstance(err, _Refused) and err.tag is not None:
        line = err.problem_mark.line + 1
        return ScenarioError(
            f"{name}: line {line}: the tag {excerpt(err.tag)} is not allowed; these files may only hold plain "
            "YAML values (mappings, lists, strings, numbers, booleans, null)", source=name,
            problems=[Problem(f"tag {excerpt(err.tag)} is not allowed", line=line)])
    if isinstance(err, yaml.MarkedYAMLError) and err.problem_mark is not None:
        mark = err.problem_mark
        problem = err.problem or "invalid YAML"
        context = ""
        if err.context:
            context = f" ({err.context}"
            if err.context_mark is not None and err.context_mark.line != mark.line:
                context += f" at line {err.context_mark.line + 1}"
            context += ")"
        what = problem if isinstance(err, _Refused) else f"invalid YAML: {problem}{context}"
        return ScenarioError(f"{name}: line {mark.line + 1}, column {mark.column + 1}: {what}",
                             source=name, problems=[Problem(what, line=mark.line + 1)])
    return ScenarioError(f"{name}: invalid YAML", source=name)


def _compose(text: str, name: str) -> tuple[Any, yaml.Node | None, _Checks]:
    try:
        if _LOADER is not SafeLoader:
            _scan_depth(text)
    except yaml.YAMLError as err:
        raise _yaml_problem(name, err) from None
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        return data, node, loader
    except yaml.YAMLError as err:
        raise _yaml_problem(name, err) from None
    except RecursionError:  # not expected within the limits; a last guard
        raise ScenarioError(f"{name}: nested too deeply to read", source=name) from None
    finally:
        loader.dispose()


def load_value(text: str, name: str) -> Any:
    """One YAML value (an override's value) read within the limits; non-finite numbers are refused."""
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes():
        raise _too_large(name, "value", None, max_bytes())
    check_text(text, name, "value")
    data, _, _ = _compose(text, name)
    bad = non_finite(data)
    if bad:
        where = format_path(bad[0]) or "the value"
        raise ScenarioError(f"{name}: {where} is not a finite number (.inf and .nan are not quantities)",
                            source=name)
    return data


def top_level_keys(text: str) -> set[Any] | None:
    """The keys of a document's top-level mapping, read from the parser's events (nothing is built), or None
    when the text is not a YAML mapping within the limits."""
    try:
        check_text(text, "text")
        events = CParser(text) if CParser is not None else SafeLoader(text)
    except (ScenarioError, yaml.YAMLError):
        return None
    keys: set[Any] = set()
    depth, child = 0, 0
    try:
        while True:
            event = events.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                return keys
            if isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
                continue
            if depth == 1 and isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent, yaml.CollectionStartEvent)):
                if child % 2 == 0 and isinstance(event, yaml.ScalarEvent):
                    keys.add(event.value)
                child += 1
            if isinstance(event, yaml.CollectionStartEvent):
                if depth == 0 and not isinstance(event, yaml.MappingStartEvent):
                    return None
                depth += 1
                if depth > MAX_DEPTH:
                    return None
    except yaml.YAMLError:
        return None
    finally:
        events.dispose()


_EXPECTED = "scenario keys (name, days, population, payment, ...)"


def parse_mapping(text: str, name: str, expected: str = _EXPECTED) -> tuple[dict, dict[Path_, int]]:
    """The top-level mapping of a YAML document and the line of every key in it (by key path); ``expected``
    names what the mapping should hold, for the messages. Refused tags, limits, YAML errors, duplicate keys
    and numbers that are not finite raise :class:`ScenarioError`."""
    check_text(text, name, "file")
    data, node, loader = _compose(text, name)
    if data is None:
        raise ScenarioError(f"{name}: the file is empty; expected a mapping of {expected}", source=name)
    if not isinstance(data, dict):
        kind = {list: "a list", str: "a string", int: "a number", float: "a number",
                bool: "a boolean"}.get(type(data), f"a {type(data).__name__}")
        raise ScenarioError(f"{name}: line {node.start_mark.line + 1}: the top level must be a mapping of "
                            f"{expected}, not {kind}", source=name)
    if loader.duplicates:
        problems = [Problem(f"{_key_text(key)}: duplicate key (first given on line "
                            f"{first}); each key may appear only once in a mapping", line=line)
                    for key, line, first in loader.duplicates[:_MAX_FINITE_PROBLEMS]]
        raise ScenarioError.from_problems(name, problems)
    lines = _key_lines(node, loader)
    problems = finite_problems(data, lines)
    if problems:
        raise ScenarioError.from_problems(name, problems)
    return data, lines


# --------------------------------------------------------------------------------------------- numbers
def non_finite(value: Any, limit: int = _MAX_FINITE_PROBLEMS) -> list[Path_]:
    """Key paths of the numbers in ``value`` (mappings, lists, pydantic models) that are not finite."""
    found: list[Path_] = []
    stack: list[tuple[Any, Path_]] = [(value, ())]
    seen: set[int] = set()  # a value shared by aliases is looked at once
    while stack and len(found) < limit:
        current, path = stack.pop()
        if isinstance(current, float):
            if not math.isfinite(current):
                found.append(path)
            continue
        if isinstance(current, (str, int, bool)) or current is None:
            continue
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, BaseModel):
            items = [(k, getattr(current, k)) for k in type(current).model_fields]
        elif isinstance(current, dict):
            items = list(current.items())
        elif isinstance(current, (list, tuple)):
            items = list(enumerate(current))
        else:
            continue
        stack.extend((child, path + (key,)) for key, child in reversed(items))
    return found


def number_text(number: float) -> str:
    """How YAML spells a number that is not finite."""
    return ".nan" if math.isnan(number) else ".inf" if number > 0 else "-.inf"


def finite_problems(value: Any, lines: dict[Path_, int] | None = None, prefix: Path_ = ()) -> list[Problem]:
    """A problem for each number in ``value`` that is not finite, located by ``lines`` where known."""
    lines = lines or {}
    problems = []
    for path in non_finite(value):
        full = prefix + path
        line = next((lines[full[:d]] for d in range(len(full), 0, -1) if full[:d] in lines), None)
        problems.append(Problem(f"{format_path(full)} = {number_text(value_at(value, path))}: expected a finite "
                                "number", path=format_path(full), line=line))
    return problems


def value_at(value: Any, path: Path_) -> Any:
    """The item of ``value`` (mappings, lists, models) at a key path."""
    for key in path:
        value = value[key] if isinstance(value, (dict, list, tuple)) else getattr(value, key)
    return value


# --------------------------------------------------------------------------------------------- where files may point
ALLOW_OUTSIDE_ENV = "TRIANGLE_ALLOW_OUTSIDE"
_PROJECT = Path(__file__).resolve().parents[2]
# What a file may always name: the bundled scenarios (which extend the seeds' calibrated overlay) and data.
BUNDLED_FOLDERS = tuple(p.resolve() for p in (_PROJECT / "scenarios", _PROJECT / "seeds", _PROJECT / "sim" / "data"))
_OUTSIDE_ALLOWED: ContextVar[bool] = ContextVar("outside_allowed", default=False)


@contextlib.contextmanager
def outside_allowed(allowed: bool = True) -> Iterator[None]:
    """While in this block, files may name files anywhere (``--allow-outside``)."""
    token = _OUTSIDE_ALLOWED.set(bool(allowed))
    try:
        yield
    finally:
        _OUTSIDE_ALLOWED.reset(token)


def may_leave_folder() -> bool:
    """Whether files may name files outside their folder: ``--allow-outside`` or ``TRIANGLE_ALLOW_OUTSIDE=1``."""
    return _OUTSIDE_ALLOWED.get() or os.environ.get(ALLOW_OUTSIDE_ENV, "").strip() == "1"


def folder_of(path: str | os.PathLike) -> Path:
    """The folder a file is read from, with its links resolved: the folder the files it names must stay in."""
    return Path(path).absolute().parent.resolve()


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def leaves(path: Path, root: Path | None) -> bool:
    """Whether ``path`` (resolved), named inside a file read from the folder ``root``, lies outside both that
    folder (and its subfolders) and the bundled scenarios and data, while that is not allowed. A ``root`` of None
    (text given by a program, a path given on the command line) may name any file."""
    if root is None or may_leave_folder():
        return False
    return not (_within(path, root) or any(_within(path, folder) for folder in BUNDLED_FOLDERS))


def leaving(root: Path) -> str:
    """Why a path that :func:`leaves` its folder is refused (the file it names is never read)."""
    return (f"is outside {display(root)}, the folder this file is read from; a file may name only files in that "
            "folder or its subfolders, or bundled with triangle (pass --allow-outside to allow any file)")


def resolve_path(text: str, base: Path) -> Path | None:
    """``text`` as a path from ``base`` (user folders expanded), or None when it cannot name a file."""
    if "\x00" in text:
        return None
    try:
        path = Path(text).expanduser()
        return (path if path.is_absolute() else base / path).resolve()
    except (OSError, RuntimeError, ValueError):
        return None

"""The package's architecture holds: layers import only downward (the import-linter contracts in
pyproject.toml), and no module imports, through any chain, a module that imports it back; every episode column,
tally counter and facility column has one owner, and a module writes only the state it owns or declares it
changes."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import grimp

from sim.core import episodes, facilities, tally

ROOT = Path(__file__).resolve().parents[1]


def test_each_layer_imports_only_from_the_layers_below_it():
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_no_module_is_part_of_an_import_cycle():
    graph = grimp.build_graph("sim")
    cycles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if graph.chain_exists(importer=imported, imported=module):
                cycles.append([module, *graph.find_shortest_chain(importer=imported, imported=module)])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_compiled_loops_import_nothing_else_of_the_package():
    graph = grimp.build_graph("sim")
    loops = {m for m in graph.modules if m == "sim.kernels" or m.startswith("sim.kernels.")}
    outside = {(m, i) for m in loops for i in graph.find_modules_directly_imported_by(m) if i not in loops}
    assert not outside, outside


MAX_POSITIONAL = 8  # arguments of a function of sim/kernels; more tables or numbers go in a record


def test_no_compiled_loop_takes_more_than_a_few_positional_arguments():
    """A compiled loop (and every helper beside it in ``sim/kernels``) takes its tables and numbers as a few named
    records (``sim.kernels.records``), not one positional argument per column or parameter: at most
    ``MAX_POSITIONAL``, and no ``*args``."""
    many = {}
    for path in sorted((ROOT / "sim" / "kernels").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                n = len(node.args.posonlyargs) + len(node.args.args)
                if n > MAX_POSITIONAL or node.args.vararg is not None:
                    name = getattr(node, "name", "<lambda>")
                    many[f"{path.relative_to(ROOT)}:{node.lineno} {name}"] = n
    assert not many, f"more than {MAX_POSITIONAL} positional arguments (or *args): {many}"
    # and so every compiled loop the package offers, as Numba sees it
    from sim import kernels

    loops = {name: getattr(kernels, name) for name in kernels.__dict__ if hasattr(getattr(kernels, name), "py_func")}
    assert {"decide_cases", "finish_treatments", "record_decisions", "count_visits", "observe_outcomes",
            "guideline_row", "write_episodes"} <= loops.keys()
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    counts = {name: sum(p.kind in positional for p in inspect.signature(loop.py_func).parameters.values())
              for name, loop in loops.items()}
    assert max(counts.values()) <= MAX_POSITIONAL, counts


# ----------------------------------------------------------------------------------------------- shared state
# Every piece of shared state by qualified name: "episodes.<column>", "tally.<counter>" (the daily table's columns as
# "tally.daily.<column>"), "facilities.<column>" (the books as "facilities.books.<name>").
STATE = {
    "columns": {f"episodes.{c}" for c in (*episodes.COLUMNS, "taste")},
    "counters": {f"tally.{c}" for c in tally.COUNTERS},
    "facility_columns": {f"facilities.{c}" for c in facilities.COLUMNS},
}
KINDS = {"columns": "episodes", "counters": "tally", "facility_columns": "facilities"}
MODEL_PACKAGES = ("sim.core", "sim.payment", "sim.behaviour", "sim.policies", "sim.engine")


def owners() -> list[type]:
    """Every class of the model that declares shared state (``columns``, ``counters``, ``facility_columns`` or
    ``writes`` in its own body)."""
    found = []
    for package in MODEL_PACKAGES:
        for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__ == info.name and any(k in vars(cls) for k in (*KINDS, "writes")):
                    found.append(cls)
    return found


def owned(cls) -> set[str]:
    return {f"{KINDS[kind]}.{name}" for kind in KINDS for name in vars(cls).get(kind, ())}


def test_every_episode_column_tally_counter_and_facility_column_has_one_owner():
    declared = Counter(name for cls in owners() for name in owned(cls))
    every = set().union(*STATE.values())
    assert not set(declared) - every, f"declared but no such state: {sorted(set(declared) - every)}"
    assert not every - set(declared), f"no owner: {sorted(every - set(declared))}"
    shared = {name: [cls.__qualname__ for cls in owners() if name in owned(cls)] for name, n in declared.items()
              if n > 1}
    assert not shared, f"more than one owner: {shared}"
    written = {name for cls in owners() for name in vars(cls).get("writes", ())}
    assert written <= every, f"declared as written but no such state: {sorted(written - every)}"


class Writes:
    """The shared state a module's source writes, by qualified name: assignments and augmented assignments to
    ``<table>.<column>[...]``, ``<tally>.<counter>``, ``<tally>.day_row(day, "<column>")[...]``,
    ``<facilities>.books["<name>"]``, ``getattr(<table>, "<column>")[...]``, through a name bound to any of these,
    to each of a literal tuple of them looped over, and the first argument of ``count(...)``
    (``sim.engine.model.count``). A table is an attribute ``.episodes``, ``.tally`` or ``.facilities``, a name
    bound to one in the same function, or a parameter of that name. In the compiled loops (``kernels``), the
    records the engine hands them are tables too (``sim.kernels.records``, by the parameters' names in
    ``RECORDS``), their fields named as the records' docstring says."""

    TABLES = {"episodes": "episodes", "tally": "tally", "facilities": "facilities"}
    RECORDS = {"ep": "episodes", "ep_draws": "episodes", "arrivals": "record", "visits": "record", "beds": "record",
               "tally": "tally"}

    def __init__(self, source: str, kernels: bool = False) -> None:
        self.found: set[str] = set()
        names = {**self.TABLES, **(self.RECORDS if kernels else {})}
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                params = {a.arg for a in (*node.args.args, *node.args.kwonlyargs)}
                self._block(node.body, {p: ("table", names[p]) for p in params if p in names})

    @staticmethod
    def _field(table: str, name: str) -> str:
        """The qualified name of a table's field; a record's (``table`` "record" or "tally") by its suffix: ``_today``
        is today's row of the tally's daily column, ``_by_level`` the tally's running total, else a facility
        column, a facility's book or the tally's counter, whichever exists (the tally's first for its records)."""
        if table not in ("record", "tally"):
            return f"{table}.{name}"
        if name.endswith("_today"):
            return f"tally.daily.{name.removesuffix('_today')}"
        if name.endswith("_by_level"):
            return f"tally.{name.removesuffix('_by_level')}"
        order = ("tally.", "facilities.", "facilities.books.") if table == "tally" else (
            "facilities.", "facilities.books.", "tally.")
        every = set().union(*STATE.values())
        return next((prefix + name for prefix in order if prefix + name in every), f"{table}.{name}")

    def _table(self, node, scope):
        if isinstance(node, ast.Attribute):
            if node.attr in self.TABLES:
                return self.TABLES[node.attr]
            if node.attr == "books" and self._table(node.value, scope) == "facilities":
                return "facilities.books"
        if isinstance(node, ast.Name) and scope.get(node.id, ("",))[0] == "table":
            return scope[node.id][1]
        if isinstance(node, ast.Call) and len(node.args) == 1 and isinstance(node.args[0], ast.Starred):
            return self._table(node.args[0].value, scope)  # a record named again: Beds(*beds)
        return None

    @staticmethod
    def _strings(node, scope):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.Name) and scope.get(node.id, ("",))[0] == "strings":
            return scope[node.id][1]
        return []

    def _refs(self, node, scope) -> list[str]:
        """The state an expression denotes (an array of a table, or a counter)."""
        if isinstance(node, ast.Subscript):
            if self._table(node.value, scope) == "facilities.books":
                return [f"facilities.books.{s}" for s in self._strings(node.slice, scope)]
            return self._refs(node.value, scope)
        if isinstance(node, ast.Attribute) and (table := self._table(node.value, scope)):
            return [self._field(table, node.attr)]
        if isinstance(node, ast.Call):
            f, args = node.func, node.args
            if isinstance(f, ast.Attribute) and f.attr == "day_row" and self._table(f.value, scope) == "tally":
                return [f"tally.daily.{s}" for s in self._strings(args[1], scope)]
            if isinstance(f, ast.Name) and f.id == "getattr" and (table := self._table(args[0], scope)):
                return [self._field(table, s) for s in self._strings(args[1], scope)]
        if isinstance(node, ast.Name) and scope.get(node.id, ("",))[0] == "refs":
            return scope[node.id][1]
        return []

    def _bind(self, target, value, scope):
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            for t, v in zip(target.elts, value.elts, strict=False):
                self._bind(t, v, scope)
        elif isinstance(target, ast.Name):
            table = self._table(value, scope)
            refs = self._refs(value, scope) if isinstance(value, ast.Attribute) else []
            scope.pop(target.id, None)
            if table:
                scope[target.id] = ("table", table)
            elif refs:
                scope[target.id] = ("refs", refs)  # an array of a table by a name of its own (not a copy of a part)

    def _write(self, target, scope):
        for t in target.elts if isinstance(target, ast.Tuple) else (target,):
            if not isinstance(t, ast.Name):  # a name bound again writes nothing
                self.found.update(self._refs(t, scope))

    def _block(self, body, scope):
        for st in body:
            if isinstance(st, ast.Assign):
                for target in st.targets:
                    self._write(target, scope)
                    self._bind(target, st.value, scope)
            elif isinstance(st, (ast.AugAssign, ast.AnnAssign)):
                self._write(st.target, scope)
            elif isinstance(st, ast.For):
                inner = dict(scope)
                if isinstance(st.iter, (ast.Tuple, ast.List)):
                    items = st.iter.elts
                    targets = st.target.elts if isinstance(st.target, ast.Tuple) else [st.target]
                    for k, t in enumerate(targets):
                        if not isinstance(t, ast.Name):
                            continue
                        parts = [e.elts[k] if isinstance(st.target, ast.Tuple) and isinstance(e, ast.Tuple) else e
                                 for e in items]
                        strings = [s for p in parts for s in self._strings(p, {})]
                        refs = [r for p in parts for r in self._refs(p, scope)]
                        if strings:
                            inner[t.id] = ("strings", strings)
                        elif refs:
                            inner[t.id] = ("refs", refs)
                self._block(st.body, inner)
                self._block(st.orelse, inner)
            elif isinstance(st, (ast.If, ast.While, ast.With, ast.Try)):
                for part in ("body", "orelse", "finalbody"):
                    self._block(getattr(st, part, []), scope)
                for handler in getattr(st, "handlers", []):
                    self._block(handler.body, scope)
            if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call):
                call = st.value
                if isinstance(call.func, ast.Name) and call.func.id == "count" and call.args:
                    self.found.update(self._refs(call.args[0], scope))


def test_a_module_writes_only_the_state_it_owns_or_declares_it_changes():
    from sim.engine.model import HealthSystemModel

    allowed: dict[Path, set[str]] = {}
    for cls in owners():
        allowed.setdefault(Path(inspect.getsourcefile(cls)), set()).update(owned(cls), vars(cls).get("writes", ()))
    engine = owned(HealthSystemModel) | set(HealthSystemModel.writes)
    wrong = {}
    for path in sorted((ROOT / "sim").rglob("*.py")):
        loops = "kernels" in path.relative_to(ROOT / "sim").parts
        found = Writes(path.read_text(), kernels=loops).found
        # the compiled loops write what the daily step hands them
        extra = found - (engine if loops else allowed.get(path, set()))
        if extra:
            wrong[str(path.relative_to(ROOT))] = sorted(extra)
    assert not wrong, f"state written that the module neither owns nor declares in writes (or no such state): {wrong}"
    # the scan sees the writes it should: the engine's own, its loops' and a policy's
    assert {"episodes.state", "tally.deaths", "tally.daily.queue_length", "facilities.books.revenue"} <= Writes(
        (ROOT / "sim/engine/model.py").read_text()).found
    assert {"episodes.los_days", "facilities.occupied", "facilities.books.admissions", "tally.admissions",
            "tally.daily.discharges", "tally.elective_wait_hist"} <= Writes(
        (ROOT / "sim/kernels/beds.py").read_text(), kernels=True).found
    assert {"tally.treated", "tally.daily.spending", "tally.bed_days"} <= Writes(
        (ROOT / "sim/kernels/completion.py").read_text(), kernels=True).found
    assert {"episodes.down_days", "facilities.occupied", "tally.daily.arrivals"} <= Writes(
        (ROOT / "sim/policies/referral.py").read_text()).found

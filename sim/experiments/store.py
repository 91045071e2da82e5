"""The results store of a sweep: one file per finished run, written atomically, so a sweep can stop anywhere.

Layout of a store folder::

    sweep.yaml              the sweep file as given (for the record; a resume reads plan.json)
    plan.json               the expanded plan: base scenario, points, runs (key, point, replicate, seed)
    runs/ab/ab12....json    one file per finished run, named by its key; status done (with its metrics) or
                            failed (with its error)
    manifest.json           every planned run with its status, rebuilt from runs/ (an index for people and
                            tools; runs/ is the truth)
    analysis/               written by `triangle analyze`

A run's key is a hash of its resolved scenario, its seed and the package version (``sim.experiments.sweep.run_key``), so
a run is stored once however many points resolve to it. Each file is written to a temporary name in the same
folder, flushed to disk, then renamed over its final name: a process killed at any moment leaves either the
whole file or none (a stray temporary file, removed when the store is next opened). Only the process that
holds the store's lock writes to it, so two sweeps cannot interleave in one folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sim.experiments.plan import Plan
from sim.params.loading import ScenarioError
from sim.results.report import json_safe

MANIFEST_EVERY_SECONDS = 5.0


class StoreError(ScenarioError):
    """A store folder that cannot be used for this sweep."""


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def to_json(doc: Any, sort_keys: bool = True) -> str:
    """JSON without NaN (non-finite numbers become null), keys sorted unless their order means something."""
    return json.dumps(json_safe(doc), indent=1, sort_keys=sort_keys, allow_nan=False) + "\n"


def _read_record(path: Path) -> dict | None:
    """A stored run, or None when its file is not a whole, well-formed record of the run it is named for."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or record.get("key") != path.stem or record.get("status") not in (
            "done", "failed"):
        return None
    if record["status"] == "done" and not isinstance(record.get("metrics"), dict):
        return None
    if record["status"] == "failed" and not isinstance(record.get("error"), str):
        return None
    return record


class Store:
    """A store folder. Open it with :meth:`create_or_open` (to run) or :meth:`read` (to analyse)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.runs_dir = self.root / "runs"

    # ----------------------------------------------------------------------------------------- opening
    @classmethod
    def create_or_open(cls, root: Path, plan: Plan, sweep_text: str) -> Store:
        """The store for ``plan`` in ``root``: a new one, or the one already there if it holds the same sweep."""
        store = cls.check(root, plan)
        if store.plan_path.exists():
            return store
        existed = root.exists()
        try:
            root.mkdir(parents=True, exist_ok=True)
            store.runs_dir.mkdir(exist_ok=True)
            write_atomic(root / "sweep.yaml", sweep_text)
            # The order of the parameters is that of the design's columns: keep it. Written last: its presence
            # marks a store.
            write_atomic(store.plan_path, to_json(plan.to_json(), sort_keys=False))
        except BaseException:
            # A store that could not be created whole (a full disk, a read-only folder) is removed, so that
            # running again is not refused as "not a sweep store".
            (root / "sweep.yaml").unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                store.runs_dir.rmdir()
                if not existed:
                    root.rmdir()
            raise
        return store

    @classmethod
    def check(cls, root: Path, plan: Plan) -> Store:
        """Refuse a folder that holds another sweep, or anything but a store; nothing is written."""
        store = cls(root)
        if store.plan_path.exists():
            stored = store.plan()
            if stored.identity != plan.identity:
                raise StoreError(f"{root} holds another sweep ({stored.sweep.name!r}, {len(stored.runs)} runs"
                                 "); choose another --out, or continue that sweep with --resume and no "
                                 "sweep file", source=str(root))
        elif root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise StoreError(f"{root} exists and is not a sweep store (no plan.json); choose another --out",
                             source=str(root))
        return store

    @classmethod
    def read(cls, root: Path) -> Store:
        store = cls(root)
        if not store.plan_path.is_file():
            what = "no such folder" if not Path(root).exists() else "not a sweep store (no plan.json)"
            raise StoreError(f"{root}: {what}; give the --out folder of a `triangle sweep`", source=str(root))
        return store

    @property
    def plan_path(self) -> Path:
        return self.root / "plan.json"

    def plan(self) -> Plan:
        try:
            return Plan.from_json(json.loads(self.plan_path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, IndexError) as err:
            # ValueError covers a truncated file (JSONDecodeError) and a plan the schema refuses.
            raise StoreError(f"{self.plan_path}: the store's plan cannot be read ({type(err).__name__}); the "
                             "store is damaged: run the sweep again into a new --out", source=str(self.root)) from None

    @contextmanager
    def locked(self) -> Iterator[Store]:
        """Hold the store's lock (released by the system if the process dies); clear stray temporary files."""
        with open(self.root / ".lock", "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreError(f"{self.root} is in use by another running sweep; wait for it or stop it",
                                 source=str(self.root)) from None
            for stray in self.runs_dir.glob("*/.*.tmp"):
                stray.unlink(missing_ok=True)
            try:
                yield self
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # ----------------------------------------------------------------------------------------- runs
    def run_path(self, key: str) -> Path:
        return self.runs_dir / key[:2] / f"{key}.json"

    def save(self, record: dict) -> None:
        """Store one finished run (replacing an earlier failure of the same run)."""
        path = self.run_path(record["key"])
        path.parent.mkdir(exist_ok=True)
        write_atomic(path, to_json(record))

    def records(self) -> dict[str, dict]:
        """Every stored run by key. A run file that cannot be read whole (truncated by a full disk or a copy, or
        edited) is not a finished run: it is left out, so the run counts as pending and is run again."""
        out = {}
        for path in sorted(self.runs_dir.glob("*/*.json")):
            record = _read_record(path)
            if record is not None:
                out[record["key"]] = record
        return out

    def write_manifest(self, plan: Plan, records: dict[str, dict]) -> dict:
        """manifest.json: each planned run's status, in plan order, and the counts."""
        entries = []
        for run in plan.runs:
            record = records.get(run.key)
            status = record["status"] if record else "pending"
            entry = {"key": run.key, "point": run.point, "replicate": run.replicate, "seed": run.seed,
                     "status": status}
            if status == "failed":
                entry["error"] = record["error"]
            entries.append(entry)
        counts = {s: sum(e["status"] == s for e in entries) for s in ("done", "failed", "pending")}
        manifest = {"sweep": plan.sweep.name, "planned": len(entries), **counts, "runs": entries}
        write_atomic(self.root / "manifest.json", to_json(manifest))
        return manifest


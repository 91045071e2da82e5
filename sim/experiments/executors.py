"""Running a sweep's plan into its store, on local processes or a Dask distributed cluster.

A run is the pure function ``run_task``: (scenario, seed) -> the kept metrics, computed in a worker. Only the
task (a scenario and a seed) goes to the worker and only the metrics come back; the process that drives the
sweep is the only one that writes to the store. Workers stay up for the whole sweep, so each imports the model
once. A run that raises is returned as a failure with its message; a worker that dies fails only its runs.

- ``LocalProcesses(n)``: a pool of ``n`` spawned processes on this machine (one run in this process when n = 1).
- ``DaskCluster(scheduler=...)``: an existing Dask distributed scheduler, e.g. ``tcp://10.0.0.5:8786``.
- ``DaskCluster(local_workers=n)``: a Dask LocalCluster of ``n`` single-threaded worker processes, listening on
  127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sim.experiments.plan import Plan
from sim.experiments.store import MANIFEST_EVERY_SECONDS, Store
from sim.params.scenario import Scenario


@dataclass(frozen=True)
class Task:
    key: str
    scenario: Scenario
    seed: int
    metrics: tuple[str, ...]


def run_task(task: Task) -> dict:
    """Run one (scenario, seed) and return its record: the kept metrics, or the error it raised."""
    start = time.perf_counter()
    try:
        from sim.engine.model import HealthSystemModel
        from sim.results.metrics import METRICS

        model = HealthSystemModel(task.scenario, seed=task.seed).run()
        values = {name: float(METRICS[name].fn(model)) for name in task.metrics}
        outcome = {"status": "done", "metrics": values}
    except Exception as err:  # recorded, so that the sweep goes on
        lines = traceback.format_exception(err)
        outcome = {"status": "failed", "error": _message(err), "traceback": "".join(lines[-6:])}
    return {"key": task.key, "seed": task.seed, **outcome, "seconds": round(time.perf_counter() - start, 4)}


def _message(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _failure(task: Task, err: BaseException) -> dict:
    return {"key": task.key, "seed": task.seed, "status": "failed", "seconds": None,
            "error": f"the worker running this run was lost: {_message(err)}"}


class LocalProcesses:
    """Runs on ``workers`` processes of this machine. The workers import the model at start-up, die with the
    sweep's own process (even one killed outright) and leave Ctrl-C to it, which stops them, so an interrupted
    run is never recorded as a failure (``sim.results.workers``)."""

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or os.cpu_count() or 1)

    def describe(self) -> str:
        return f"{self.workers} local process{'es' if self.workers > 1 else ''}"

    def results(self, tasks: list[Task]) -> Iterator[dict]:
        if self.workers == 1 or len(tasks) <= 1:
            yield from (run_task(t) for t in tasks)
            return
        from concurrent.futures import as_completed

        from sim.results import workers as pools

        pool = pools.process_pool(min(self.workers, len(tasks)), warm="sim.engine.model")
        try:
            futures = pools.submit_all(pool, run_task, tasks)
            for future in as_completed(futures):
                try:
                    yield future.result()
                except Exception as err:  # a worker killed by the system (e.g. out of memory)
                    yield _failure(futures[future], err)
        except BaseException:  # Ctrl-C, or the sweep stopped reading: running runs are not waited for
            pools.stop(pool)
            raise
        pool.shutdown(wait=True)

    def close(self) -> None:
        pass


class DaskCluster:
    """Runs on a Dask distributed cluster: an existing scheduler, or a LocalCluster on 127.0.0.1."""

    def __init__(self, scheduler: str | None = None, local_workers: int | None = None, timeout: float = 30.0):
        import logging

        from distributed import Client, LocalCluster

        self.cluster = None
        if scheduler:
            address = scheduler_address(scheduler)
            probe(address, timeout)
            self.client = _within(timeout, lambda: Client(address, timeout=f"{timeout}s"),
                                  f"{address}: greeted, but did not complete Dask's handshake within {timeout:g} s")
        else:
            from sim.results.workers import sigint_blocked

            # Ctrl-C is the sweep's to answer: the cluster's event-loop thread, and the worker processes it starts
            # (now or to replace one), keep SIGINT blocked, so no worker prints a traceback of its own; and the
            # workers log only what is critical (a run's error is recorded with the run; a worker that loses the
            # scheduler while the sweep stops is not news).
            with sigint_blocked():
                self.cluster = LocalCluster(n_workers=max(1, local_workers or os.cpu_count() or 1),
                                            threads_per_worker=1, processes=True, host="127.0.0.1",
                                            dashboard_address=None, silence_logs=logging.CRITICAL)
                self.client = Client(self.cluster)

    def describe(self) -> str:
        try:
            info = self.client.scheduler_info(n_workers=-1)  # newer distributed lists only some workers by default
        except TypeError:
            info = self.client.scheduler_info()
        workers = len(info["workers"])
        where = "a local Dask cluster" if self.cluster is not None else f"Dask at {self.client.scheduler.address}"
        return f"{where} ({workers} worker{'s' if workers != 1 else ''})"

    def results(self, tasks: list[Task]) -> Iterator[dict]:
        from distributed import as_completed

        futures = {self.client.submit(run_task, t, key=f"triangle-run-{t.key}"): t for t in tasks}
        try:
            for future in as_completed(futures):
                try:
                    yield future.result()
                except Exception as err:  # KilledWorker and the like
                    yield _failure(futures[future], err)
                future.release()
        finally:
            self.client.cancel(list(futures))

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


# --------------------------------------------------------------------------------------------- scheduler addresses
_ADDRESS = re.compile(r"(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://)?"
                      r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))"
                      r":(?P<port>[0-9]{1,5})")
SCHEMES = ("tcp", "tls")
MAX_GREETING_BYTES = 1 << 20  # a Dask scheduler's first message (its handshake) is far smaller


class SchedulerError(ValueError):
    """A --scheduler address that is malformed, or where no Dask scheduler answers; the message is one line."""


def scheduler_address(text: str) -> str:
    """``tcp://HOST:PORT`` (or ``tls://``) from ``tcp://HOST:PORT``, ``tls://HOST:PORT`` or ``HOST:PORT``;
    anything else raises :class:`SchedulerError`."""
    from sim.params.boundary import excerpt

    found = _ADDRESS.fullmatch(text.strip()) if isinstance(text, str) and text.isascii() else None
    expected = "expected tcp://HOST:PORT or HOST:PORT, e.g. tcp://10.0.0.5:8786"
    if found is None:
        raise SchedulerError(f"{excerpt(text)} is not a scheduler address; {expected}")
    scheme = (found["scheme"] or "tcp").lower()
    if scheme not in SCHEMES:
        raise SchedulerError(f"{excerpt(text)}: the protocol {scheme}:// is not offered; {expected} (or tls://)")
    port = int(found["port"])
    if not 1 <= port <= 65535:
        raise SchedulerError(f"{excerpt(text)}: port {port} is not a port (1 to 65535); {expected}")
    return f"{scheme}://{found['host']}:{port}"


def probe(address: str, timeout: float) -> None:
    """Connect to ``address`` and read the greeting a Dask scheduler sends first (the size of its handshake, 8
    bytes), within ``timeout`` seconds: raises :class:`SchedulerError` when nothing listens, the peer says
    nothing, or it speaks another protocol (an HTTP server, say), before Dask's client would wait without end or
    read "HTTP/1.1" as the size of a message. A tls:// address is only connected to (its greeting is
    encrypted)."""
    import socket
    import struct

    scheme, _, rest = address.partition("://")
    host, _, port = rest.rpartition(":")
    host = host.strip("[]")
    deadline = time.monotonic() + timeout
    try:
        connection = socket.create_connection((host, int(port)), timeout=timeout)
    except socket.gaierror as err:
        raise SchedulerError(f"{address}: unknown host ({err.strerror or err})") from None
    except ConnectionRefusedError:
        raise SchedulerError(f"{address}: connection refused (nothing listens there)") from None
    except TimeoutError:
        raise SchedulerError(f"{address}: no connection within {timeout:g} s") from None
    except OSError as err:
        raise SchedulerError(f"{address}: cannot connect: {err.strerror or type(err).__name__}") from None
    with connection:
        if scheme == "tls":
            return
        greeting = b""
        try:
            while len(greeting) < 8:
                connection.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = connection.recv(8 - len(greeting))
                if not chunk:
                    break
                greeting += chunk
        except TimeoutError:
            raise SchedulerError(f"{address}: accepted the connection but said nothing within {timeout:g} s; a Dask "
                                 "scheduler speaks first (is this a Dask scheduler's address?)") from None
        except OSError as err:
            raise SchedulerError(f"{address}: the connection failed: {err.strerror or type(err).__name__}") from None
    if greeting and b"HTTP/".startswith(greeting[:5]):
        raise SchedulerError(f"{address}: answers as a web server (HTTP), not as a Dask scheduler (the dashboard, "
                             "perhaps? a scheduler usually listens on port 8786)")
    if len(greeting) < 8:
        raise SchedulerError(f"{address}: closed the connection without the greeting of a Dask scheduler")
    (size,) = struct.unpack("<Q", greeting)
    if size > MAX_GREETING_BYTES:
        raise SchedulerError(f"{address}: does not speak Dask's protocol (its first message would be {size:,} "
                             "bytes); is this a Dask scheduler's address?")


def _within(seconds: float, make, message: str):
    """``make()`` in a thread, given ``seconds`` (and one more) to finish, else :class:`SchedulerError` with
    ``message``: a second guard on the connection, after :func:`probe` (the thread is left behind, with the
    process about to exit)."""
    import threading

    done: dict = {}

    def call() -> None:
        try:
            done["value"] = make()
        except BaseException as err:  # passed on below
            done["error"] = err

    thread = threading.Thread(target=call, name="connect-to-scheduler", daemon=True)
    thread.start()
    thread.join(seconds + 1.0)
    if thread.is_alive():
        raise SchedulerError(message)
    if "error" in done:
        raise done["error"]
    return done["value"]


@dataclass
class Outcome:
    planned: int  # distinct runs in the plan
    skipped: int  # already done before this call
    done: int  # done in this call
    failed: int  # failed in this call
    seconds: float  # wall time of this call
    run_seconds: float  # sum of the runs' own times (in their workers)


def tasks_to_run(plan: Plan, records: dict[str, dict]) -> list[Task]:
    """The plan's distinct runs not yet done (failed ones are tried again), in plan order."""
    metrics = tuple(plan.metrics)
    out = []
    for run in plan.unique_runs():
        if records.get(run.key, {}).get("status") != "done":
            out.append(Task(run.key, plan.scenario(plan.points[run.point]), run.seed, metrics))
    return out


def execute(plan: Plan, store: Store, executor, progress: bool = True) -> Outcome:
    """Run what the store lacks, saving each run as it finishes; the manifest is refreshed as it goes."""
    from tqdm import tqdm

    start = time.perf_counter()
    records = store.records()
    tasks = tasks_to_run(plan, records)
    planned = len(plan.unique_runs())
    done = failed = 0
    run_seconds = 0.0
    last_manifest = time.monotonic()
    with tqdm(total=planned, initial=planned - len(tasks), unit="run", desc=f"{plan.sweep.name}: runs done",
              disable=not progress, dynamic_ncols=True) as bar:
        bar.set_postfix(failed=0)
        try:
            for record in _results(executor, tasks):
                store.save(record)
                records[record["key"]] = record
                if record["status"] == "done":
                    done += 1
                else:
                    failed += 1
                    bar.set_postfix(failed=failed)
                run_seconds += record.get("seconds") or 0.0
                bar.update(1)
                if time.monotonic() - last_manifest > MANIFEST_EVERY_SECONDS:
                    store.write_manifest(plan, records)
                    last_manifest = time.monotonic()
        finally:
            store.write_manifest(plan, records)
    return Outcome(planned, planned - len(tasks), done, failed, time.perf_counter() - start, run_seconds)


def _results(executor, tasks: list[Task]) -> Iterable[dict]:
    return executor.results(tasks) if tasks else ()

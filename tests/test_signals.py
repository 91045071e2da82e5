"""What the operating system does to a running command: killed outright (SIGKILL), terminated (SIGTERM),
interrupted (Ctrl-C, SIGINT to the terminal's whole process group) at any moment.

- A sweep or a run with worker processes, killed outright, leaves no process behind: its workers and
  multiprocessing's resource tracker go within seconds (sim.results.workers).
- Ctrl-C prints one line, ``interrupted``, never a traceback (of the command or of its workers), whenever it
  comes, the imports of the first second included; the workers go with it.
- ``triangle demo`` stops its web server on SIGTERM and on Ctrl-C: the port no longer listens.

Real processes and signals, on Linux (the tests read /proc).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
GONE_WITHIN = 10.0  # seconds a process may take to go after its parent is killed
# Python reports a KeyboardInterrupt that reached the interpreter by dying of SIGINT (-2, which a shell shows as
# 130, as it shows exit status 130).
INTERRUPTED = (130, -signal.SIGINT)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def triangle(*args: str, out: Path) -> subprocess.Popen:
    """``triangle args`` in a session of its own (as a shell runs a command: its own process group); stdout and
    stderr to ``out``.stdout / .stderr."""
    return subprocess.Popen([sys.executable, "-m", "sim.apps.cli", *args], env=ENV, cwd=ROOT,
                            stdout=out.with_suffix(".stdout").open("w"), stderr=out.with_suffix(".stderr").open("w"),
                            start_new_session=True)


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead and not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def wait_for(condition, seconds: float, what: str, process: subprocess.Popen | None = None, out: Path | None = None):
    deadline = time.monotonic() + seconds
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the command ended (status {process.returncode}) before {what}:\n"
                                 f"{out.with_suffix('.stderr').read_text()[-2000:] if out else ''}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {seconds} s")
        time.sleep(0.05)


def assert_all_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + GONE_WITHIN
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in pids if alive(p)]
    for pid in left:  # leave the machine clean for the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{len(left)} of {len(pids)} child processes still run {GONE_WITHIN} s after their parent " \
                     "was killed"


@contextlib.contextmanager
def ending(process: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """Run the block with ``process`` and kill it outright on leaving, whether it failed or not, if it still runs;
    it is reaped either way."""
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def interrupt(process: subprocess.Popen, seconds: float = 30) -> int:
    """Ctrl-C as a terminal sends it, to the command's whole process group; its exit status, within ``seconds``."""
    os.killpg(process.pid, signal.SIGINT)
    return process.wait(timeout=seconds)


def assert_interrupted_once(status: int, out: Path) -> None:
    """The command died of Ctrl-C and said so in one line, ``interrupted``, and nothing else on stderr."""
    assert status in INTERRUPTED, stderr_of(out)
    assert stderr_of(out) == "interrupted\n", stderr_of(out)


def small_sweep(folder: Path) -> Path:
    path = folder / "sweep.yaml"
    path.write_text(textwrap.dedent(f"""
        name: small
        base: {BASELINE}
        set: {{population.size: 5000, days: 120}}
        seed: 5
        replicates: 2
        parameters:
          behaviour.provider.profit_weight: {{values: [0.0, 1.0]}}
        metrics: [spending_per_capita, wait_days_mean, health_loss_per_1000]
        """))
    return path


def stderr_of(out: Path) -> str:
    return out.with_suffix(".stderr").read_text()


# --------------------------------------------------------------------------------------------- killed outright
def test_a_sweep_killed_outright_mid_run_leaves_no_worker_behind(tmp_path):
    out = tmp_path / "sweep"
    process = triangle("sweep", str(small_sweep(tmp_path)), "--out", str(tmp_path / "store"), "--workers", "2",
                       "--quiet", out=out)
    with ending(process):  # killed outright at the end of the block
        # two workers and the resource tracker
        wait_for(lambda: len(children(process.pid)) >= 3, 60, "worker processes", process, out)
        time.sleep(3.0)  # the workers have imported the model and run
        workers = children(process.pid)
    assert_all_gone(workers)


@pytest.mark.slow
def test_a_run_killed_outright_while_its_workers_start_leaves_none_behind(tmp_path):
    """Killed while the workers import the model: each notices, when ready, that its parent is gone."""
    out = tmp_path / "run"
    process = triangle("run", str(BASELINE), "--set", "population.size=5000", "--set", "days=60", "--replicates",
                       "2", "--workers", "2", "--quiet", out=out)
    with ending(process):  # killed outright at the end of the block
        wait_for(lambda: len(children(process.pid)) >= 3, 60, "worker processes", process, out)
        workers = children(process.pid)
    assert_all_gone(workers)


# --------------------------------------------------------------------------------------------- Ctrl-C
@pytest.mark.parametrize("when", [0.3, 1.0, "workers started", pytest.param("workers running", marks=pytest.mark.slow)])
def test_ctrl_c_at_any_moment_of_a_run_with_replicates_says_interrupted_once(tmp_path, when):
    """Ctrl-C reaches every process of the group (the command and its workers, as a terminal sends it): only
    the command answers, with one line; no traceback from it or a worker; no worker is left. At 0.3 s the
    command is importing; workers start after about two seconds."""
    out = tmp_path / "run"
    process = triangle("run", str(BASELINE), "--set", "population.size=5000", "--set", "days=200", "--replicates",
                       "2", "--workers", "2", "--quiet", out=out)
    with ending(process):
        if isinstance(when, float):
            time.sleep(when)
        else:
            wait_for(lambda: len(children(process.pid)) >= 3, 60, "worker processes", process, out)
            if when == "workers running":
                time.sleep(3.0)
        workers = children(process.pid)
        status = interrupt(process)
    assert_interrupted_once(status, out)
    assert_all_gone(workers)


@pytest.mark.slow
def test_ctrl_c_during_a_sweep_with_workers_says_interrupted_once_and_keeps_the_store(tmp_path):
    out = tmp_path / "sweep"
    store = tmp_path / "store"
    process = triangle("sweep", str(small_sweep(tmp_path)), "--out", str(store), "--workers", "2", "--quiet",
                       out=out)
    with ending(process):
        wait_for(lambda: len(children(process.pid)) >= 3, 60, "worker processes", process, out)
        time.sleep(2.0)
        workers = children(process.pid)
        status = interrupt(process)
    assert_interrupted_once(status, out)
    assert_all_gone(workers)
    assert (store / "manifest.json").exists() and not list(store.rglob("*.tmp"))


@pytest.mark.slow
def test_ctrl_c_during_a_sweep_on_a_local_dask_cluster_says_interrupted_once(tmp_path):
    out = tmp_path / "sweep"
    process = triangle("sweep", str(small_sweep(tmp_path)), "--out", str(tmp_path / "store"), "--cluster", "local",
                       "--workers", "2", "--quiet", out=out)
    with ending(process):
        wait_for(lambda: len(children(process.pid)) >= 3, 90, "worker processes", process, out)
        time.sleep(3.0)
        workers = children(process.pid)
        status = interrupt(process, 60)
    assert_interrupted_once(status, out)
    assert_all_gone(workers)


# --------------------------------------------------------------------------------------------- the demo
def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


SLOW = pytest.mark.slow


@pytest.mark.parametrize("name, when", [
    ("SIGINT", 0.5), ("SIGTERM", "server starting"), pytest.param("SIGINT", "server starting", marks=SLOW),
    pytest.param("SIGTERM", "listening", marks=SLOW), pytest.param("SIGINT", "listening", marks=SLOW)])
def test_the_demo_stops_its_web_server_on_sigterm_and_ctrl_c(tmp_path, name, when):
    """Ctrl-C goes to the terminal's whole group, SIGTERM to the command alone (as `kill` or a service manager
    sends it). At 0.5 s the command is importing; once it says "serving on", its server is starting (importing
    Solara, some seconds), in a session of its own: the command stops it. "listening" (opt-in, -m slow: the
    server takes about 7 s to listen) checks that the port no longer listens."""
    signum = getattr(signal, name)
    out, port = tmp_path / "demo", free_port()
    process = triangle("demo", "--host", "127.0.0.1", "--port", str(port), out=out)
    server: list[int] = []
    with ending(process):
        if when == "listening":
            wait_for(lambda: listening(port), 90, f"server listening on port {port}", process, out)
            server = children(process.pid)
        elif when == "server starting":
            wait_for(lambda: "serving on" in out.with_suffix(".stdout").read_text(), 60, "serving line", process,
                     out)
            wait_for(lambda: children(process.pid), 10, "server process", process, out)
            time.sleep(1.0)
            server = children(process.pid)
        else:
            time.sleep(when)
        if signum == signal.SIGINT:
            status = interrupt(process, 20)
        else:
            process.send_signal(signum)
            status = process.wait(timeout=20)
    if signum == signal.SIGINT:
        assert_interrupted_once(status, out)
    else:
        assert status == 143 and stderr_of(out) == "terminated\n", stderr_of(out)
    assert_all_gone(server)
    assert not listening(port)

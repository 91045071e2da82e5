"""Worker processes that die with the process that started them and leave Ctrl-C to it.

A pool of spawned processes (``concurrent.futures.ProcessPoolExecutor``) outlives its parent when the parent is
killed outright (``kill -9``, the out-of-memory killer): its workers wait for work that never comes, and
multiprocessing's resource tracker waits with them. Every worker of :func:`process_pool`

- asks Linux to send it SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``) and, as a second guard (and
  where that call does not exist), watches its parent from a thread and exits when the parent is gone; a parent
  that died while the worker was starting is noticed when the worker is ready;
- is started with SIGINT blocked and then ignores it. Ctrl-C at a terminal goes to every process of the
  foreground group; the parent alone answers it (:func:`stop` ends the workers, the command says
  "interrupted"), so no worker prints a traceback of its own.

multiprocessing's resource tracker ends by itself once every process holding its pipe (the parent and the
workers) is gone.

This module imports nothing heavy: it is what a worker imports first.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

__all__ = ["WATCH_SECONDS", "die_with", "process_pool", "sigint_blocked", "stop", "submit_all"]

WATCH_SECONDS = 0.5  # how often a worker looks for its parent
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent() -> None:
    """Ask the kernel for SIGKILL when the thread that started this process ends (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _watch(parent: int) -> None:
    import time

    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)


def _start(parent: int, by_main_thread: bool, warm: str | None) -> None:
    """A worker's start-up: die with the parent, ignore Ctrl-C, then import ``warm`` (a module name)."""
    # The death signal follows the thread that spawned the worker, so it is asked for only when that thread is
    # the parent's main thread (which lives as long as the parent).
    if by_main_thread:
        _die_with_parent()
    if os.getppid() != parent:  # the parent died before the worker was ready
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="watch-parent", daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked from birth; now ignored instead
    if warm:
        importlib.import_module(warm)


def process_pool(workers: int, warm: str | None = None) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes that die with this one and ignore Ctrl-C; each imports the module
    ``warm`` at start-up (so the first task does not pay for it). Submit with :func:`submit_all`, which starts
    the processes with SIGINT blocked; end it with ``shutdown()``, or :func:`stop` on an interrupt."""
    from multiprocessing import get_context

    main = threading.current_thread() is threading.main_thread()
    with sigint_blocked():  # the resource tracker is started here
        return ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_start,
                                   initargs=(os.getpid(), main, warm))


def submit_all(pool: ProcessPoolExecutor, fn: Callable, items: Iterable[Any]) -> dict[Future, Any]:
    """Submit ``fn(item)`` for every item; the pool starts its processes as tasks arrive, so they are all
    started here, with SIGINT blocked (they inherit the mask, so a Ctrl-C during their start-up, before they
    ignore SIGINT, reaches only this process; one that arrives meanwhile is delivered here right after)."""
    with sigint_blocked():
        return {pool.submit(fn, item): item for item in items}


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """SIGINT held back from this (main) thread meanwhile, and from every thread and process started meanwhile,
    which keep the mask; one that arrives is delivered here at the end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # multiprocessing's resource tracker, when it starts, unblocks SIGINT in the thread that starts it (the first
    # spawned process starts it): started first, it leaves the mask alone.
    from multiprocessing import resource_tracker

    with contextlib.suppress(OSError, ValueError):
        resource_tracker.ensure_running()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def stop(pool: ProcessPoolExecutor) -> None:
    """End the pool now: pending tasks cancelled, running ones abandoned, every worker terminated (SIGTERM, then
    SIGKILL for one that does not go within 5 s). For an interrupt: ``shutdown()`` would wait for running
    tasks."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.terminate()
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(1)


def die_with(parent: int) -> None:
    """Make this process end when ``parent`` does (for a child that is not a pool worker, e.g. a server)."""
    _die_with_parent()
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="watch-parent", daemon=True).start()

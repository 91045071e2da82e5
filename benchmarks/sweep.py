"""Speed of sweeps: wall time, speed-up from one worker to two, and the overhead per run.

    python benchmarks/sweep.py                        # the three measurements below, once
    python benchmarks/sweep.py --repeat 2             # each measurement twice
    python benchmarks/sweep.py --only local --runs 200
    python benchmarks/sweep.py --only dask-2          # the 200-run sweep on a 2-worker Dask LocalCluster

Measurements, on a sweep of the baseline county at --residents (50,000) for --days (365):

1. ``local``: --runs (200) runs on local processes (--workers, default 2), the default executor of
   ``triangle sweep``. Target on a 2-core machine: under 3 minutes.
2. ``dask``: the same kind of sweep with --speedup-runs (40) runs on a Dask LocalCluster of 1 worker, then
   of 2 workers. Target: 2 workers at least 1.7x faster than 1.
3. Overhead per run, in each: (wall time x workers - sum of the runs' own times) / sum of the runs' own times,
   where a run's own time is the model's build, run and metrics in its worker. It counts everything else:
   starting workers, sending scenarios, receiving metrics, writing the store, idle workers at the end.
   Target: under 5%.

Wall time includes starting the workers (or the cluster) and ends when the last run is in the store; it leaves
out reading the sweep file. Each measurement writes a fresh store in a temporary folder. The sweep varies the
providers' profit weight so runs differ; replicate seeds follow the sweep seed as in any sweep.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sweep_file(folder: Path, runs: int, residents: int, days: int) -> Path:
    replicates = 2
    points = max(1, runs // replicates)
    weights = [round(0.2 + 1.2 * i / max(1, points - 1), 6) for i in range(points)]
    text = f"""name: benchmark
base: {ROOT / "scenarios" / "baseline.yaml"}
set: {{population.size: {residents}, days: {days}}}
seed: 11
replicates: {replicates}
design: grid
parameters:
  behaviour.provider.profit_weight:
    values: {json.dumps(weights)}
metrics: [spending_per_capita, wait_days_mean, health_loss_per_1000]
"""
    path = folder / f"sweep_{runs}.yaml"
    path.write_text(text)
    return path


def measure(path: Path, executor_name: str, workers: int) -> dict:
    from sim.experiments import executors
    from sim.experiments.store import Store
    from sim.experiments.sweep import load_sweep

    plan = load_sweep(path)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.create_or_open(Path(tmp) / "store", plan, path.read_text())
        start = time.perf_counter()
        executor = (executors.LocalProcesses(workers) if executor_name == "local"
                    else executors.DaskCluster(local_workers=workers))
        with store.locked():
            outcome = executors.execute(plan, store, executor, progress=False)
        wall = time.perf_counter() - start
        executor.close()
    assert outcome.failed == 0, "a run failed"
    overhead = (wall * workers - outcome.run_seconds) / outcome.run_seconds
    return {"executor": executor_name, "workers": workers, "runs": outcome.done, "wall_seconds": round(wall, 1),
            "run_seconds_mean": round(outcome.run_seconds / outcome.done, 3), "overhead": round(overhead, 4)}


def show(r: dict) -> None:
    print(f"{r['executor']:>6} {r['workers']:>7} {r['runs']:>5} {r['wall_seconds']:>8.1f} "
          f"{r['run_seconds_mean']:>10.3f} {100 * r['overhead']:>9.1f}%", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=200, help="runs of the local sweep (default 200)")
    p.add_argument("--speedup-runs", type=int, default=40, help="runs of the 1- vs 2-worker Dask sweep (default 40)")
    p.add_argument("--residents", type=int, default=50_000, help="population.size (default 50,000)")
    p.add_argument("--days", type=int, default=365, help="days (default 365)")
    p.add_argument("--workers", type=int, default=2, help="workers of the local sweep (default 2)")
    p.add_argument("--only", choices=["local", "dask", "dask-2"],
                   help="only one of the measurements; dask-2: a 2-worker LocalCluster on the --runs sweep")
    p.add_argument("--repeat", type=int, default=1, help="repeat each measurement (default 1)")
    p.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = p.parse_args()

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'exec':>6} {'workers':>7} {'runs':>5} {'wall s':>8} {'s/run':>10} {'overhead':>10}", flush=True)
        for _ in range(args.repeat):
            if args.only in (None, "local"):
                r = measure(sweep_file(Path(tmp), args.runs, args.residents, args.days), "local", args.workers)
                show(r)
                results.append(r)
            if args.only == "dask-2":
                r = measure(sweep_file(Path(tmp), args.runs, args.residents, args.days), "dask", 2)
                show(r)
                results.append(r)
            if args.only in (None, "dask"):
                path = sweep_file(Path(tmp), args.speedup_runs, args.residents, args.days)
                one, two = measure(path, "dask", 1), measure(path, "dask", 2)
                show(one)
                show(two)
                speedup = one["wall_seconds"] / two["wall_seconds"]
                print(f"speed-up of 2 Dask workers over 1: {speedup:.2f}x", flush=True)
                results += [one, two, {"speedup_2_over_1": round(speedup, 3)}]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

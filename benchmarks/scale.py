"""Speed and memory of one run of the baseline county: wall seconds, resident-days per second, peak RSS.

    python benchmarks/scale.py                      # 100,000 and 1,000,000 residents x 365 days
    python benchmarks/scale.py --residents 300000 --days 365
    python benchmarks/scale.py --city 4 --residents 250000   # a city of 4 counties of 250,000 (1 M in all)
    python benchmarks/scale.py --city 4 --residents 250000 --threads 2 --beds separate   # counties on 2 threads

Townships scale with the population (scenarios/baseline.yaml uses townships: auto), and hospital capacity
with population / facilities.reference_population, so every size is the same county per resident.
Targets on a 2-core machine, one process: 1,000,000 x 365 in <= 10 s and <= 1.5 GB peak RSS;
100,000 x 365 in <= 1.5 s. Each run is a fresh process so peak RSS is its own; the fastest of --repeat runs
is reported, since other load on the machine only ever slows a run down. Wall seconds run from building the
model to the end of the run; start-up (imports, and loading the compiled loops of ``sim.kernels``, which the
first run on a machine compiles) is once per process and reported apart. ``ms/day`` is the run's seconds per
simulated day: at 2,000 residents (``--residents 2000``) it is the fixed cost of a day, whatever the size.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package beside this script, not another copy installed elsewhere


def measure(residents: int, days: int) -> dict:
    begin = time.perf_counter()
    from sim.engine import warmup
    from sim.engine.model import HealthSystemModel
    from sim.params.loading import load_scenario

    warmup.load()  # the compiled loops, from the cache beside the source (compiled there the first time)
    started = time.perf_counter()

    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml",
                             [f"population.size={residents}", f"days={days}", "replicates=1"])
    start = time.perf_counter()
    model = HealthSystemModel(scenario)
    built = time.perf_counter()
    model.run()
    done = time.perf_counter()
    return _result(residents, days, (begin, started, start, built, done), model.tally.episodes_started)


def _result(residents: int, days: int, times: tuple, episodes: int) -> dict:
    """One run's figures from its clock readings (process start, imports done, scenario loaded, model built, run
    done) and this process's peak RSS."""
    begin, started, start, built, done = times
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"residents": residents, "days": days, "startup_seconds": round(started - begin, 3),
            "build_seconds": round(built - start, 3),
            "run_seconds": round(done - built, 3), "wall_seconds": round(done - start, 3),
            "resident_days_per_second": round(residents * days / (done - start)),
            "peak_rss_mb": round(peak / 2**20), "episodes": episodes}


def measure_city(counties: int, residents: int, days: int, threads: int = 1, beds: str = "shared") -> dict:
    """A city of ``counties`` baseline counties of ``residents`` each under one fund, sharing the tertiary beds or
    not (``beds``), stepped together, ``threads`` counties at once (``sim.engine.city``)."""
    begin = time.perf_counter()
    from sim.engine import warmup
    from sim.engine.city import City
    from sim.params.city import load_city

    warmup.load()
    started = time.perf_counter()
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "city.yaml"
        names = ", ".join(f"{{name: c{i}}}" for i in range(counties))
        path.write_text(f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\n"
                        f"city: {{tertiary_beds: {beds}, fund: city, threads: {threads}, counties: [{names}]}}\n",
                        encoding="utf-8")
        from sim.params.boundary import outside_allowed

        with outside_allowed(True):
            scenario = load_city(path, [f"population.size={residents}", f"days={days}", "replicates=1"])
    start = time.perf_counter()
    city = City(scenario)
    built = time.perf_counter()
    city.run()
    done = time.perf_counter()
    episodes = sum(m.tally.episodes_started for m in city.models.values())
    return {**_result(residents * counties, days, (begin, started, start, built, done), episodes),
            "counties": counties, "threads": threads, "beds": beds}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--residents", type=int, nargs="*", default=[100_000, 1_000_000])
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--repeat", type=int, default=3, help="runs per size; the fastest is reported (default 3)")
    p.add_argument("--city", type=int, metavar="N", help="a city of N counties, each of --residents residents, "
                   "sharing the tertiary beds under one fund (residents are reported for the whole city)")
    p.add_argument("--threads", type=int, default=1, help="a city's counties stepped at once (city.threads; "
                   "default 1)")
    p.add_argument("--beds", choices=("shared", "separate"), default="shared",
                   help="a city's tertiary beds (city.tertiary_beds; default shared, whose care halves run one "
                   "county after another)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        result = (measure_city(args.city, args.residents[0], args.days, args.threads, args.beds) if args.city
                  else measure(args.residents[0], args.days))
        print(json.dumps(result))
        return
    city = (["--city", str(args.city), "--threads", str(args.threads), "--beds", args.beds] if args.city else [])
    if args.city:
        print(f"a city of {args.city} counties, {args.beds} tertiary beds, {args.threads} thread(s); residents are "
              "the city's")
    print(f"{'residents':>10} {'days':>5} {'wall s':>8} {'build s':>8} {'resident-days/s':>16} {'peak RSS MB':>12}"
          f" {'start-up s':>11} {'ms/day':>8}")
    for n in args.residents:
        runs = [_child(n, args.days, city) for _ in range(args.repeat)]
        r = min(runs, key=lambda run: run["wall_seconds"])
        print(f"{r['residents']:>10,} {r['days']:>5} {r['wall_seconds']:>8.2f} {r['build_seconds']:>8.2f} "
              f"{r['resident_days_per_second']:>16,} {r['peak_rss_mb']:>12,} {r['startup_seconds']:>11.2f}"
              f" {1000 * r['run_seconds'] / r['days']:>8.3f}")


def _child(residents: int, days: int, city: list[str]) -> dict:
    """One run in a fresh process; its error, if it fails (a county too large for one map, say), said plainly."""
    done = subprocess.run([sys.executable, __file__, "--child", "--residents", str(residents), "--days", str(days),
                           *city], capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        hint = "" if city else (" (a county's map has at most 3,000 facilities: run more residents as a city, "
                                "--city N)")
        sys.exit(f"the run of {residents:,} residents failed: {last}{hint}")
    return json.loads(done.stdout)


if __name__ == "__main__":
    main()

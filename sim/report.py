"""Turning summaries into a table for people, JSON for programs, and an output folder for both."""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

from sim import __version__
from sim.metrics import GROUPS, METRICS


def _fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.4f}"


def table(name: str, replicates: int, summary: dict[str, dict]) -> str:
    """The summary grouped as cost / access / quality / providers, one metric a line."""
    lines = [f"{name}: {replicates} replicate(s); mean and 95% interval over replicates", ""]
    for group in GROUPS:
        lines.append(group.upper())
        for metric in (m for m in METRICS.values() if m.group == group):
            s = summary[metric.name]
            ci = s["ci95"]
            interval = f"[{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else ""
            lines.append(f"  {metric.name:<32}{_fmt(s['mean']):>12}  {interval:<26}{metric.unit}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _clean(obj):
    """JSON without NaN: non-finite numbers become null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def summary_json(name: str, replicates: int, summary: dict[str, dict]) -> dict:
    return _clean({"scenario": name, "replicates": replicates, "metrics": summary})


def write_outputs(out: Path, *, scenario_yaml: str, summary: dict, results, seed_info: dict,
                  force: bool = False) -> Path:
    """Write the output folder atomically: everything goes to a temporary sibling, renamed at the end, so a
    failure leaves no partial folder."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise FileExistsError(f"{out} exists and is not empty; choose another --out or pass --force")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        (tmp / "scenario.yaml").write_text(scenario_yaml)
        daily = pd.concat([r.daily.assign(replicate=i) for i, r in enumerate(results)], ignore_index=True)
        daily.to_parquet(tmp / "daily.parquet", index=False)
        facilities = pd.concat([r.facilities.assign(replicate=i) for i, r in enumerate(results)],
                               ignore_index=True)
        facilities.to_parquet(tmp / "facilities.parquet", index=False)
        runs = pd.DataFrame([{"replicate": i, "seed": r.seed, **r.metrics} for i, r in enumerate(results)])
        runs.to_parquet(tmp / "runs.parquet", index=False)
        provenance = {
            "package": "triangle-sim", "version": __version__, **seed_info,
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "python": platform.python_version(), "platform": platform.platform(),
        }
        (tmp / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out

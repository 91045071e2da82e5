"""triangle calibrate: only behavioural parameters are fitted, targets and holdout are apart, ABC-SMC moves the
posterior toward the facts and gives the same posterior from the same seed, and the stored fit is the one of
the model as it is (its fingerprint has not moved)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sim.apps.cli import main
from sim.experiments import calibrate as C
from sim.experiments import facts as F
from sim.params.loading import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parent.parent

FACT = """  - id: {id}
    claim: a stay
    observed: {observed}
    unit: days
    place: here
    period: now
    source: 2023 national statistical bulletin
    scenario: county.yaml
    metric: {metric}
    tolerance: {tolerance}
    reasoning: a test
"""
SMALL = "particles: 6\ngenerations: 2\nbudget: 40\n"


def _files(tmp_path: Path, observed: float, parameters: str, budget: str = SMALL, holdout: str = "holdout: [visits]\n"):
    (tmp_path / "county.yaml").write_text("name: county\ndays: 30\nreplicates: 1\npopulation: {size: 2000}\n")
    (tmp_path / "facts.yaml").write_text(
        "facts:\n" + FACT.format(id="stay", observed=observed, metric="los_mean", tolerance=0.5)
        + FACT.format(id="visits", observed=6.8, metric="visits_per_capita", tolerance=1.5))
    cal = tmp_path / "calibration.yaml"
    cal.write_text(f"facts: [stay]\n{holdout}parameters:\n{parameters}\npopulation: 2000\nreplicates: 1\n{budget}")
    return cal


@pytest.mark.parametrize(("parameters", "holdout", "budget", "message"), [
    ("  payment.drg.audit_rate: [0, 1]", "holdout: [visits]\n", SMALL,
     "parameters.payment.drg.audit_rate: is a policy lever"),
    ("  behaviour.provider.profit_weight: [1, 0.5]", "holdout: [visits]\n", SMALL,
     "= [1.0, 0.5]: low must be below high"),
    ("  behaviour.provider.profit_wieght: [0, 1]", "holdout: [visits]\n", SMALL, "profit_wieght"),
    ("  behaviour.provider.profit_weight: [0, 1]", "holdout: [visits, stay]\n", SMALL,
     "holdout: stay is also a target (facts)"),
    ("  behaviour.provider.profit_weight: [0, 1]", "holdout: [visitz]\n", SMALL, "holdout: no such fact 'visitz'"),
    ("  behaviour.provider.profit_weight: [0, 1]", "", SMALL, "holdout: visits of facts.yaml is neither a target"),
    ("  behaviour.provider.profit_weight: [0, 1]", "holdout: [visits]\n", "particles: 10\nbudget: 5\n",
     "budget = 5: must be at least particles = 10"),
])
def test_bad_calibration_files_are_refused(tmp_path, parameters, holdout, budget, message):
    with pytest.raises(ScenarioError) as err:
        C.load_calibration(_files(tmp_path, 8.0, parameters, budget, holdout))
    assert message in str(err.value)


def test_fit_moves_the_posterior_toward_the_fact_and_the_same_seed_gives_the_same_posterior(tmp_path, capsys):
    """Stays lengthen with the weight on profit under fee-for-service: ask for a stay the defaults do not give and
    the posterior leaves the prior's middle the right way, each generation closer to the fact. `triangle
    calibrate` on the same file and seed gives the same particles; it writes the overlay (the posterior mean,
    which a scenario extending it takes) and the posterior beside the calibration file; the holdout is never
    simulated."""
    cal_path = _files(tmp_path, 11.0, "  behaviour.provider.profit_weight: [0.0, 2.0]")
    cal, facts = C.load_calibration(cal_path)
    assert [f.id for f in facts] == ["stay"] and cal.holdout == ["visits"]
    result = C.fit(cal, facts, workers=1, progress=False)
    assert len(result.particles) == cal.particles and result.simulations <= cal.budget
    assert [g["generation"] for g in result.generations] == [0, 1]
    assert result.mean()["behaviour.provider.profit_weight"] > 1.0  # the prior's middle; the default, 0.5, is short
    first = sorted(p["distance"] for p in result.particles)
    assert result.epsilon is not None and max(first) <= result.epsilon
    assert all(set(p["simulated"]) == {"stay"} for p in result.particles)
    assert all(F.CALIBRATION_SEEDS[0] <= p["seed"] < F.CALIBRATION_SEEDS[1] for p in result.particles)

    assert main(["calibrate", str(cal_path), "--quiet", "--workers", "1"]) == 0
    assert "behaviour.provider.profit_weight" in capsys.readouterr().out
    posterior = C.read_posterior(tmp_path / "posterior.yaml")
    assert posterior["particles"] == result.particles  # same seed, same posterior
    assert posterior["holdout"] == ["visits"] and [f["id"] for f in posterior["facts"]] == ["stay"]
    assert set(posterior["fingerprint"]["values"]) == {"stay"}
    text = (tmp_path / "calibrated.yaml").read_text()
    assert "# Fit: ABC-SMC (pyabc" in text and "stay" in text
    (tmp_path / "fitted.yaml").write_text("extends: calibrated.yaml\nname: fitted\n")
    fitted = load_scenario(tmp_path / "fitted.yaml")
    assert fitted.behaviour.provider.profit_weight == pytest.approx(result.mean()["behaviour.provider.profit_weight"])
    assert not list(tmp_path.glob(".*.yaml.*"))  # no temporary left behind
    assert C.stale(posterior, cal, facts) == []


@pytest.mark.slow
def test_the_posterior_does_not_depend_on_the_number_of_workers(tmp_path):
    cal_path = _files(tmp_path, 11.0, "  behaviour.provider.profit_weight: [0.0, 2.0]")
    cal, facts = C.load_calibration(cal_path)
    one = C.fit(cal, facts, workers=1, progress=False)
    two = C.fit(cal, facts, workers=2, progress=False)
    assert one.particles == two.particles and one.generations[-1]["epsilon"] == two.generations[-1]["epsilon"]
    assert one.simulations == two.simulations


def test_options_that_break_the_file_rules_are_refused(tmp_path, capsys):
    cal_path = _files(tmp_path, 9.0, "  behaviour.provider.understay_harm: [5, 30]")
    assert main(["calibrate", str(cal_path), "--budget", "3"]) == 2
    assert "--budget 3: Input should be greater than or equal to 4" in capsys.readouterr().err
    assert main(["calibrate", str(cal_path), "--particles", "50"]) == 2
    assert "budget = 40: must be at least particles = 50" in capsys.readouterr().err


def test_stale_names_what_changed():
    """A fingerprint that moved by more than a tenth of a fact's tolerance, or a calibration whose facts or settings
    are not those of the stored fit, makes the fit stale; a smaller move does not."""
    cal, facts = C.load_calibration()
    posterior = C.read_posterior()
    stored = posterior["fingerprint"]["values"]
    fact = facts[0]
    nudge = {**stored, fact.id: stored[fact.id] + 0.05 * fact.tolerance}
    assert C.stale(posterior, cal, facts, now=nudge) == []
    moved = {**stored, fact.id: stored[fact.id] + 0.2 * fact.tolerance}
    (reason,) = C.stale(posterior, cal, facts, now=moved)
    assert reason.startswith(f"{fact.id}: ") and "0.1 of its tolerance" in reason
    other = cal.model_copy(update={"seed": cal.seed + 1})
    assert any("seed changed" in r for r in C.stale(posterior, other, facts, now=stored))
    assert any("target facts" in r for r in C.stale(posterior, cal, facts[1:], now=stored))


def test_the_stored_fit_is_the_calibration_s_and_the_overlay_is_its_mean():
    """seeds/posterior.yaml was fitted to the targets seeds/calibration.yaml names, never ran its holdout, and
    seeds/calibrated.yaml holds its weighted mean."""
    cal, facts = C.load_calibration()
    posterior = C.read_posterior()
    assert [f["id"] for f in posterior["facts"]] == cal.facts
    assert posterior["holdout"] == cal.holdout
    for particle in posterior["particles"]:
        assert set(particle["simulated"]) == set(cal.facts)
        assert F.CALIBRATION_SEEDS[0] <= particle["seed"] < F.CALIBRATION_SEEDS[1]
    assert sum(p["weight"] for p in posterior["particles"]) == pytest.approx(1, abs=1e-4)
    means = {k: v["mean"] for k, v in posterior["parameters"].items()}
    assert C.current_values(cal, facts) == pytest.approx(means)
    for key, summary in posterior["parameters"].items():
        low, high = cal.parameters[key]
        assert low <= summary["ci95"][0] <= summary["mean"] <= summary["ci95"][1] <= high, key


def test_the_stored_fit_is_not_stale():
    """The model's behavioural fingerprint: the target facts on one replicate of the calibration's county, on a
    fixed seed, at the calibrated values, as when the fit was made. A change of mechanism that moves any of them
    by more than a tenth of its tolerance fails here, until the fit is made again on the new model."""
    cal, facts = C.load_calibration()
    reasons = C.stale(C.read_posterior(), cal, facts)
    assert not reasons, ("seeds/posterior.yaml was fitted on another model or calibration: "
                         + "; ".join(reasons) + ". Run `triangle calibrate` (about 15-20 minutes) and commit "
                         "seeds/posterior.yaml and seeds/calibrated.yaml with the change.")


def test_the_bundled_scenarios_run_with_the_calibrated_values():
    """scenarios/baseline.yaml (and so every scenario extending it) takes every value seeds/calibrated.yaml holds."""
    fitted = yaml.safe_load((ROOT / "seeds" / "calibrated.yaml").read_text())
    baseline = load_scenario(ROOT / "scenarios" / "baseline.yaml").model_dump()
    drg = load_scenario(ROOT / "scenarios" / "drg.yaml").model_dump()

    def leaves(tree, path=()):
        for key, value in tree.items():
            if isinstance(value, dict):
                yield from leaves(value, (*path, key))
            else:
                yield (*path, key), value

    pairs = list(leaves(fitted))
    assert pairs
    for path, value in pairs:
        for scenario in (baseline, drg):
            node = scenario
            for part in path:
                node = node[part]
            assert node == pytest.approx(value), path

"""triangle calibrate: only behavioural parameters are fitted, the search finds a known optimum of the loss, and
the result is a scenario overlay that scenarios can extend."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.apps.cli import main
from sim.experiments import calibrate as C
from sim.params.loading import ScenarioError, load_scenario

FACT = """facts:
  - id: stay
    claim: a stay
    observed: {observed}
    unit: days
    place: here
    period: now
    source: 2023 national statistical bulletin
    scenario: county.yaml
    metric: los_mean
    tolerance: 0.5
    reasoning: a test
"""


def _files(tmp_path: Path, observed: float, parameters: str, budget: str = "evaluations: 7\nstart_samples: 4\n"):
    (tmp_path / "county.yaml").write_text("name: county\ndays: 60\nreplicates: 1\npopulation: {size: 4000}\n")
    (tmp_path / "facts.yaml").write_text(FACT.format(observed=observed))
    cal = tmp_path / "calibration.yaml"
    cal.write_text(f"facts: [stay]\nparameters:\n{parameters}\npopulation: 4000\nreplicates: 1\n{budget}")
    return cal


@pytest.mark.parametrize(("parameters", "message"), [
    ("  payment.drg.audit_rate: [0, 1]", "parameters.payment.drg.audit_rate: is a policy lever"),
    ("  behaviour.provider.profit_weight: [1, 0.5]", "= [1.0, 0.5]: low must be below high"),
    ("  behaviour.provider.profit_wieght: [0, 1]", "profit_wieght"),
])
def test_bad_calibration_files_are_refused(tmp_path, parameters, message):
    with pytest.raises(ScenarioError) as err:
        C.load_calibration(_files(tmp_path, 8.0, parameters))
    assert message in str(err.value)


def test_fit_moves_a_parameter_toward_the_fact_and_writes_an_overlay(tmp_path):
    """Stays lengthen with the weight on profit under fee-for-service: ask for a stay the defaults do not give
    and the fit must move profit_weight the right way and lower the loss; the overlay it writes, extended by a
    scenario, reproduces the fitted values."""
    cal_path = _files(tmp_path, 11.0, "  behaviour.provider.profit_weight: [0.0, 2.0]")
    cal, facts = C.load_calibration(cal_path)
    result = C.fit(cal, facts, workers=1, progress=False)
    assert result.evaluations <= cal.evaluations
    assert result.loss < result.start_loss
    assert result.best["behaviour.provider.profit_weight"] > 0.5  # the default gives shorter stays
    out = C.write_calibrated(result, tmp_path / "calibrated.yaml")
    text = out.read_text()
    assert "# Loss" in text and "stay" in text
    (tmp_path / "fitted.yaml").write_text("extends: calibrated.yaml\nname: fitted\n")
    fitted = load_scenario(tmp_path / "fitted.yaml")
    assert fitted.behaviour.provider.profit_weight == pytest.approx(result.best["behaviour.provider.profit_weight"])
    assert not list(tmp_path.glob(".calibrated.yaml.*"))  # no temporary left behind


def test_cli_writes_beside_the_calibration_file(tmp_path, capsys):
    cal_path = _files(tmp_path, 9.0, "  behaviour.provider.understay_harm: [5, 30]",
                      budget="evaluations: 3\nstart_samples: 2\n")
    assert main(["calibrate", str(cal_path), "--quiet"]) == 0
    assert (tmp_path / "calibrated.yaml").is_file()
    assert "understay_harm" in capsys.readouterr().out


def test_the_bundled_scenarios_run_with_the_calibrated_values():
    """scenarios/baseline.yaml (and so every scenario extending it) takes every value seeds/calibrated.yaml holds."""
    import yaml

    root = Path(__file__).resolve().parent.parent
    fitted = yaml.safe_load((root / "seeds" / "calibrated.yaml").read_text())
    baseline = load_scenario(root / "scenarios" / "baseline.yaml").model_dump()
    drg = load_scenario(root / "scenarios" / "drg.yaml").model_dump()

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

"""The classroom demo: its model and controls in-process, then the real page in a real headless Chromium.

The browser test starts ``triangle demo`` on a free loopback port, drives Debian's ``chromium`` with Playwright
(no browser download), moves two controls, resets, steps, checks that the views changed and that nothing was
fetched from outside the machine, saves a screenshot, and stops the server's process group.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port, run_cli
from test_cli import BASELINE

from sim.apps import demo
from sim.params.loading import ScenarioError, load_scenario_text
from sim.params.scenario import IMPLEMENTED_PAYMENT_MODELS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SMALL = 15_000


# --------------------------------------------------------------------------------------------- the model
def test_controls_start_where_the_base_scenario_stands():
    params = demo.model_params(demo.default_base())
    assert params["payment_model"]["values"] == list(IMPLEMENTED_PAYMENT_MODELS)
    assert params["payment_model"]["value"] == "fee_for_service"
    assert params["primary_reimbursement_gap"]["value"] == pytest.approx(0.85 - 0.72)
    assert params["population_size"]["value"] == demo.DEMO_POPULATION
    assert isinstance(params["base"], type(demo.default_base()))  # fixed, passed on Reset


def test_a_control_whose_key_the_schema_lacks_is_not_offered(monkeypatch):
    missing = demo.Control("teleport", "Teleport patients", "Checkbox", "policies.teleportation.enabled")
    monkeypatch.setattr(demo, "CONTROLS", (*demo.CONTROLS, missing))
    assert not demo.schema_has("policies.teleportation.enabled")
    assert demo.schema_has("behaviour.provider.profit_weight")
    assert "teleport" not in demo.model_params(demo.default_base())
    with pytest.raises(ScenarioError, match="not available"):
        demo.scenario_with(demo.default_base(), {"teleport": True})
    with pytest.raises(ScenarioError, match="unknown control"):
        demo.scenario_with(demo.default_base(), {"warp_speed": 9})


def test_the_reimbursement_gap_sets_primary_above_the_county_hospital():
    spec = demo.scenario_with(demo.default_base(), {"primary_reimbursement_gap": 0.2})
    r = spec.insurance.reimbursement
    assert (r.village, r.township, r.county) == pytest.approx((0.92, 0.92, 0.72))
    capped = demo.scenario_with(demo.default_base(), {"primary_reimbursement_gap": 0.5}).insurance.reimbursement
    assert capped.township == 1.0


def test_with_every_control_at_its_default_the_county_is_its_baseline():
    base = demo.default_base()
    defaults = {name: spec["value"] for name, spec in demo.model_params(base).items() if name != "base"}
    model = demo.DemoModel(base, **{**defaults, "population_size": SMALL})
    for _ in range(10):
        model.step()
    summaries = demo.live_summaries(model)
    assert model.spec == model.baseline_spec
    assert summaries["this county"] == summaries["baseline"]
    assert "same levers as the baseline" in demo.describe(model)


def test_a_lever_moves_this_county_away_from_its_baseline():
    model = demo.DemoModel(population_size=SMALL, payment_model="drg", profit_weight=0.9)
    for _ in range(20):
        model.step()
    assert model.spec.payment.model == "drg" and model.baseline_spec.payment.model == "fee_for_service"
    assert model.baseline_spec.population.size == model.spec.population.size == SMALL
    summaries = demo.live_summaries(model)
    assert summaries["this county"]["los_mean"] != summaries["baseline"]["los_mean"]
    assert "weight on profit: 0.9" in demo.describe(model)
    loads = demo.facility_loads(model.county)
    assert len(loads) == model.county.facilities.n and (loads["load"] >= 0).all()


def test_the_demo_stops_at_the_scenario_end():
    model = demo.DemoModel(load_scenario_text("days: 3"), population_size=SMALL)
    for _ in range(5):
        model.step()
    assert model.day == 3 and not model.running


def test_demo_with_a_missing_scenario_exits_2_with_a_message(tmp_path):
    status, _, stderr = run_cli(["demo", tmp_path / "missing.yaml", "--port", "1"])
    assert status == 2
    assert "missing.yaml: no such scenario file" in stderr and "Traceback" not in stderr


# --------------------------------------------------------------------------------------------- the browser
def chromium() -> str:
    """Debian's chromium, installed with apt when missing (as root or with password-less sudo)."""
    found = shutil.which("chromium")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        pytest.skip("chromium is not installed and apt-get is not available to install it")
    if os.geteuid() == 0:
        prefix = []
    elif shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        prefix = ["sudo", "-n"]
    else:
        pytest.skip("chromium is not installed and installing it with apt-get needs root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in ([apt, "update"], [apt, "install", "-y", "chromium"]):
        done = subprocess.run(prefix + command, capture_output=True, text=True, env=env, timeout=900)
        assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr[-2000:]}"
    found = shutil.which("chromium")
    assert found, "apt-get installed chromium but it is not on PATH"
    return found


def wait_for_server(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the demo server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"the demo server did not answer at {url} within {timeout} s")


@pytest.fixture
def server(tmp_path):
    """``triangle demo scenarios/baseline.yaml`` on a free loopback port; yields its URL."""
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "sim.apps.cli", "demo", str(BASELINE), "--host", "127.0.0.1",
                                "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_server(url, process)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
        print((tmp_path / "server.log").read_text()[-3000:])


def test_the_demo_page_runs_in_a_real_browser_offline(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    executable = chromium()
    outside, failed = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
                (server, "data:", "blob:")) else None)
            page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.on("requestfailed", lambda r: failed.append(f"failed {r.url}"))
            page.goto(server)
            status = page.locator(".triangle-status")
            expect(status).to_contain_text("Day 0 of 365", timeout=60_000)
            expect(status).to_contain_text("60,000 residents")

            # Move two controls: residents one notch up (keyboard on the slider), payment model to DRG.
            slider = page.get_by_role("slider").and_(page.locator("[aria-valuenow='60000']"))
            slider.focus()
            slider.press("ArrowRight")
            expect(page.get_by_role("slider").and_(page.locator("[aria-valuenow='75000']"))).to_have_count(1)
            page.get_by_text("fee_for_service", exact=True).click()
            page.get_by_role("option", name="drg", exact=True).click()
            page.get_by_role("button", name="Reset").click()
            expect(status).to_contain_text("75,000 residents", timeout=30_000)
            expect(status).to_contain_text("payment: drg")

            triangle = page.locator(".v-card").filter(has_text="The triangle").locator("img")
            county = page.locator(".v-card").filter(has_text="The county").locator("img")
            before = (triangle.screenshot(), county.screenshot())
            page.get_by_role("button", name="Step").click()
            expect(status).to_contain_text("Day 7 of 365", timeout=60_000)
            expect(page.locator(".v-card").filter(has_text="Waits and queues").locator("img")).to_be_visible()
            page.wait_for_timeout(500)  # the images follow the text in the same update
            after = (triangle.screenshot(), county.screenshot())
            assert before[0] != after[0], "the triangle did not change after a step"
            assert before[1] != after[1], "the county map did not change after a step"

            shot = tmp_path / "demo.png"
            page.screenshot(path=shot, full_page=True)
            assert shot.read_bytes().startswith(PNG_MAGIC)
        finally:
            browser.close()
    assert not outside, f"the page fetched from outside this machine: {outside[:5]}"
    assert not failed, f"requests failed: {failed[:5]}"


def test_server_environment_serves_the_installed_front_end():
    env = demo.server_environment(Path("scenarios/baseline.yaml"))
    assert env["SOLARA_ASSETS_PROXY"] == "true" and env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "false"
    assert Path(env[demo.SCENARIO_ENV]).is_absolute()
    cdn = Path(sys.prefix) / "share" / "solara" / "cdn" / "@widgetti"
    assert any(cdn.glob("solara-vuetify-app@*/dist/main8.css")), f"solara-assets is not installed under {cdn}"

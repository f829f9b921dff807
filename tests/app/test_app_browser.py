"""End to end in a real browser: `streamlit run` on 127.0.0.1 and Debian's chromium driven
by Playwright. An analyst opens every tab of the 10,000-employee demo, runs an
auto-optimization and sees the converged per-target table. Screenshots of each tab go to
test-artifacts/ (gitignored)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from planwise import application
from planwise.application import (
    WORKSPACE_ENV,
    GenerateCensusRequest,
    SimulateRequest,
    Workspace,
)
from planwise.cli.ui import streamlit_command
from planwise_app import APP_SCRIPT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DEMO_EMPLOYEES = 10_000
DEMO_SEED = 20250101
SECOND = 1_000  # Playwright timeouts are in milliseconds
WIDTH, HEIGHT = 1440, 1000
_CHARTS_DRAWN = (
    "() => Array.from(document.querySelectorAll('[data-testid=stPlotlyChart]'))"
    ".every(chart => chart.querySelector('.main-svg'))"
)

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"streamlit exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"streamlit did not become healthy:\n{log.read_text()}")


@pytest.fixture
def demo_app(tmp_path: Path) -> Iterator[str]:
    """The demo workspace served by `streamlit run` (the command `planwise ui` runs)."""
    workspace = Workspace(tmp_path / "demo")
    application.init_workspace(workspace)
    application.generate_census(workspace, GenerateCensusRequest(DEMO_EMPLOYEES, DEMO_SEED))
    application.simulate(workspace, SimulateRequest())
    port = _free_port()
    log = tmp_path / "streamlit.log"
    environment = {
        **os.environ,
        WORKSPACE_ENV: str(workspace.root),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    with log.open("wb") as output:
        server = subprocess.Popen(
            streamlit_command(str(APP_SCRIPT), str(workspace.root), port),
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, server, log)
        yield url
    finally:
        server.terminate()  # by its PID, nothing else
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def _open_tab(page: Page, name: str, text: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()
    page.get_by_text(text).first.wait_for(timeout=60 * SECOND)


def _screenshot(page: Page, name: str) -> None:
    """The whole tab: Streamlit scrolls inside its main block, so grow the window for it."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = page.evaluate(
        "() => Math.max(...Array.from(document.querySelectorAll('[data-testid=stMain] *'),"
        " element => element.scrollHeight))"
    )
    page.set_viewport_size({"width": WIDTH, "height": max(HEIGHT, min(int(height) + 200, 8000))})
    page.wait_for_function(_CHARTS_DRAWN, timeout=30 * SECOND)
    page.wait_for_timeout(300)  # let the charts redraw at the new size
    page.screenshot(path=str(ARTIFACTS / f"app-{name}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium ('make browser')")
def test_an_analyst_optimizes_the_demo_in_the_browser(demo_app: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            page.goto(demo_app)
            # Streamlit renders over a websocket: wait for text, not for the page load.
            page.get_by_text("Starting headcount").wait_for(timeout=90 * SECOND)
            page.get_by_text("10,000").first.wait_for(timeout=30 * SECOND)
            _screenshot(page, "1-overview")
            _open_tab(page, "Impact", "Projection in memory of 10,000 employees")
            page.get_by_text("Level 5").first.wait_for(timeout=30 * SECOND)
            _screenshot(page, "2-impact")
            _open_tab(page, "Run", "Runs in-process via planwise.application")
            _screenshot(page, "3-run")
            _open_tab(page, "Results", "Event explorer")
            _screenshot(page, "4-results")
            _open_tab(page, "History", "Parameter sets")
            _screenshot(page, "6-history")

            _open_tab(page, "Auto-Optimize", "Start auto-optimization")
            page.get_by_role("button", name="Start auto-optimization").click()
            page.get_by_text("Converged · optimization").wait_for(timeout=180 * SECOND)
            table = page.get_by_test_id("stTable")
            table.get_by_text("compensation_growth_cagr").first.wait_for(timeout=30 * SECOND)
            cells = table.locator("tbody tr").all_inner_texts()
            assert len(cells) == 3 and all(row.rstrip().endswith("yes") for row in cells), cells
            _screenshot(page, "5-auto-optimize")
        finally:
            browser.close()

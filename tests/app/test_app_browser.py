"""The app's defects of issue 14, driven in a real browser: `planwise ui` on 127.0.0.1 and
Debian's chromium through Playwright, on one workspace for the module (3,000 employees,
one run, one finished optimization whose best set holds unrounded lever values).

Each test drives one defect and asserts the fix:
- applying an optimizer set makes no edit on Impact, and Impact ties out with the stored
  run to the dollar (the number inputs had rounded the values and called that an edit);
- an invalid entry is a message under its field and disables Save and Start (the inputs
  had clamped it or kept the last valid value); Reset puts the fields back; one Save
  stores one parameter set with every edit;
- an optimization started in the app finishes after the analyst leaves the tab and closes
  the page; with the server killed mid-run it is listed as interrupted and resumes.

Screenshots of each end state go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from planwise import application
from planwise.application import (
    WORKSPACE_ENV,
    GenerateCensusRequest,
    OptimizeRequest,
    SimulateRequest,
    Workspace,
)
from planwise.errors import DatabaseLockedError
from planwise.metrics import format_metric
from planwise_app.entries import decimal_text

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PLANWISE = Path(sys.executable).with_name("planwise")
EMPLOYEES = 3_000
SECOND = 1_000  # Playwright timeouts are in milliseconds
WIDTH, HEIGHT = 1440, 1000
T = TypeVar("T")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium ('make browser')"),
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Server:
    """`planwise ui` for the workspace (it becomes the Streamlit server: same PID)."""

    def __init__(self, workspace: Workspace, log: Path) -> None:
        self.workspace, self.log = workspace, log
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        environment = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
        environment.pop(WORKSPACE_ENV, None)
        with self.log.open("ab") as output:
            command = ["ui", "--workspace", str(self.workspace.root), "--port", str(self.port)]
            self.process = subprocess.Popen(
                [str(PLANWISE), *command],
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"planwise ui exited early:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as answer:
                    if answer.read().strip() == b"ok":
                        return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"planwise ui did not become healthy:\n{self.log.read_text()}")

    def kill(self) -> None:
        """The server process dies at once (SIGKILL by its PID): its threads die with it."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # by its PID, nothing else
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _read(read: Callable[[], T]) -> T:
    """Read the store from the test process, waiting while the server writes to it."""
    deadline = time.monotonic() + 120
    while True:
        try:
            return read()
        except DatabaseLockedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("browser") / "workspace"
    chosen = Workspace(root)
    application.init_workspace(chosen)
    application.generate_census(chosen, GenerateCensusRequest(EMPLOYEES, 5))
    application.simulate(chosen, SimulateRequest())
    application.optimize(chosen, OptimizeRequest())  # its answer: not applied
    return chosen


@pytest.fixture(scope="module")
def server(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Server]:
    running = _Server(workspace, tmp_path_factory.mktemp("logs") / "planwise-ui.log")
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _open(browser: Browser, server: _Server, tab: str, text: str) -> Page:
    """A new page on a tab (the open tab is in the address: `?tab=Impact`)."""
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.goto(f"{server.url}/?tab={tab}")
    # Streamlit renders over a websocket: wait for text, not for the page load.
    try:
        page.get_by_text(text).first.wait_for(timeout=60 * SECOND)
    except PlaywrightError:
        shown = page.locator("body").inner_text()[:3000]
        log = server.log.read_text()[-3000:]
        raise AssertionError(
            f"{text!r} not shown; the page:\n{shown}\nthe server:\n{log}"
        ) from None
    return page


def _tab(page: Page, tab: str, text: str) -> None:
    page.get_by_role("tab", name=tab, exact=True).click()
    page.get_by_text(text).first.wait_for(timeout=60 * SECOND)


def _type(page: Page, label: str, text: str) -> None:
    """Type into a field and commit it (Enter), as an analyst does."""
    field = page.get_by_label(label, exact=True)
    field.fill(text)
    field.press("Enter")


def _screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"app-{name}.png"))


def test_applying_an_optimizer_set_makes_no_edit_and_impact_ties_out(
    browser: Browser, server: _Server, workspace: Workspace
) -> None:
    result = _read(lambda: application.show_optimization(workspace, 1))
    best = result.best_parameter_set_id
    assert best is not None and result.best_run_id is not None
    levers = _read(lambda: application.lever_view(workspace, "default", best))
    merit = [levers.resolved.value("merit_base", levers.years[0], level) for level in (1, 2, 3)]
    assert any(round(value * 100, 4) != value * 100 for value in merit), merit  # unrounded

    page = _open(browser, server, "Auto-Optimize", "· optimization 1")
    page.get_by_role("button", name=f"Apply the best set ({best})").click()
    page.get_by_text(f"Parameter set {best} is now active").wait_for(timeout=30 * SECOND)
    _tab(page, "Impact", f"against the active parameter set {best}")
    expect(page.get_by_text("No edits: the projection is the active set's.")).to_be_visible()
    save = page.get_by_role("button", name="Save as the new active set")
    expect(save).to_be_disabled()
    # Entering and leaving each field unchanged is not an edit (a number input sent back
    # its rounding of the value here, and called it one).
    for label in ("Merit, Staff", "Merit, Manager", "COLA, Staff"):
        page.get_by_label(label, exact=True).click()
        page.keyboard.press("Tab")
    page.wait_for_timeout(500)
    expect(page.get_by_text("No edits: the projection is the active set's.")).to_be_visible()
    expect(save).to_be_disabled()
    # Impact ties out with the optimizer's stored run of that set, to the dollar.
    expect(
        page.get_by_text(f"Ties out with stored run {result.best_run_id} to the dollar")
    ).to_be_visible()
    stored = _read(lambda: application.run_results(workspace, result.best_run_id)).metrics
    card = page.get_by_test_id("stMetric").filter(has_text="Total compensation cost").first
    expect(card).to_contain_text(
        format_metric("total_compensation_cost", stored.value("total_compensation_cost"))
    )
    _screenshot(page, "impact-after-apply")
    page.close()


def test_invalid_entries_block_save_and_start_reset_clears_and_one_save_is_one_set(
    browser: Browser, server: _Server, workspace: Workspace
) -> None:
    page = _open(browser, server, "Impact", "Projection in memory")
    save = page.get_by_role("button", name="Save as the new active set")
    _type(page, "COLA, Manager", "abc")
    expect(page.get_by_text("“abc” is not a number.")).to_be_visible()
    expect(page.get_by_text("1 field(s) below do not hold a valid value")).to_be_visible()
    expect(save).to_be_disabled()
    _type(page, "COLA, Manager", "40")  # not clamped to the largest allowed value
    expect(page.get_by_text("Allowed: 0.0%–15.0%.")).to_be_visible()
    expect(save).to_be_disabled()
    _type(page, "Merit, Staff", "3.5")
    page.get_by_role("button", name="Reset to the active set").click()
    expect(page.get_by_text("No edits: the projection is the active set's.")).to_be_visible()
    start = _read(lambda: application.lever_view(workspace, "default"))
    cola = start.resolved.value("cola_rate", start.years[0], 2)
    expect(page.get_by_label("COLA, Manager", exact=True)).to_have_value(decimal_text(cola * 100))

    before = _read(lambda: application.lever_history(workspace, "default"))
    _type(page, "Merit, Staff", "3.5")
    _type(page, "COLA, Manager", "2.5")
    expect(page.get_by_text("2 lever(s) edited")).to_be_visible()
    save.click()
    page.get_by_text("with 2 edited lever(s)").wait_for(timeout=30 * SECOND)
    after = _read(lambda: application.lever_history(workspace, "default"))
    assert len(after) == len(before) + 1  # one Save, one parameter set with both edits
    saved = _read(lambda: application.lever_view(workspace, "default", after[-1].parameter_set_id))
    assert saved.resolved.value("merit_base", saved.years[-1], 1) == 0.035
    assert saved.resolved.value("cola_rate", saved.years[-1], 2) == 0.025

    _tab(page, "Auto-Optimize", "Start auto-optimization")
    _type(page, "Target growth rate (%)", "4,5x")
    expect(page.get_by_text("“4,5x” is not a number.")).to_be_visible()
    expect(page.get_by_role("button", name="Start auto-optimization")).to_be_disabled()
    _screenshot(page, "optimize-invalid")
    page.close()


def test_an_optimization_finishes_after_leaving_the_tab_and_closing_the_page(
    browser: Browser, server: _Server, workspace: Workspace
) -> None:
    page = _open(browser, server, "Auto-Optimize", "Start auto-optimization")
    _type(page, "Target growth rate (%)", "19.9")  # out of reach in the usual ranges
    _type(page, "Robustness seeds (re-check the answer on other seeds)", "12")
    page.get_by_role("button", name="Start auto-optimization").click()
    page.get_by_text("Running (optimization").wait_for(timeout=30 * SECOND)
    _tab(page, "Overview", "Starting headcount")  # leave the tab mid-run …
    page.close()  # … and close the browser's page
    records = _wait_for_end(workspace, 2)
    assert records.iterations > 0 and records.finished_at is not None

    page = _open(browser, server, "Auto-Optimize", "· optimization 2")
    expect(page.get_by_text("The form holds the targets of optimization 2")).to_be_visible()
    expect(page.get_by_label("Target growth rate (%)", exact=True)).to_have_value("19.9")
    _screenshot(page, "optimize-finished-in-background")
    page.close()


def _wait_for_end(workspace: Workspace, optimization_id: int) -> application.OptimizationRecord:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        records = _read(lambda: application.list_optimizations(workspace, 50))
        found = {record.optimization_id: record for record in records}.get(optimization_id)
        if found is not None and str(found.status) not in ("running", "interrupted"):
            return found
        time.sleep(0.5)
    raise AssertionError(f"optimization {optimization_id} did not finish in 3 minutes")


def test_an_optimization_whose_server_died_is_interrupted_and_resumes(
    browser: Browser, server: _Server, workspace: Workspace
) -> None:
    page = _open(browser, server, "Auto-Optimize", "· optimization 2")
    page.get_by_role("button", name="Start auto-optimization").click()  # its targets again
    page.get_by_text("Running (optimization").wait_for(timeout=30 * SECOND)
    server.kill()
    page.close()
    server.start()
    page = _open(browser, server, "Auto-Optimize", "Optimization 3 was interrupted")
    page.get_by_role("button", name="Resume optimization 3").click()
    page.get_by_text("· optimization 3").first.wait_for(timeout=120 * SECOND)
    _screenshot(page, "optimize-resumed")
    page.close()
    assert str(_wait_for_end(workspace, 3).status) != "interrupted"

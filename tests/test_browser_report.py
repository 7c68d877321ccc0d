"""The report in a real browser: Debian chromium, headless, through selenium, from file:// with no
network. Skipped with the reason when chromium or chromedriver is absent (`make browser`)."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest
from test_report_synthetic import N_FLIGHTS, XSS_CALLSIGN, XSS_REGISTRATION, make_inputs

from isrwatch.report import SIMULATED_LABEL, write_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian chromium and chromium-driver at /usr/bin (run `make browser`)",
    ),
]

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed")


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1366,900",
    ):
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "report.html"
    return write_report(out, title="Spy flights off Baja (test)", simulated=True, **make_inputs())


@pytest.fixture(scope="module")
def loaded(driver, report):
    driver.get(report.resolve().as_uri())
    logs = driver.get_log("browser")
    return driver, logs


def test_no_console_errors(loaded):
    _, logs = loaded
    severe = [entry for entry in logs if entry.get("level") == "SEVERE"]
    assert severe == [], severe


def test_map_shows_every_track(loaded):
    drv, _ = loaded
    from selenium.webdriver.common.by import By

    tracks = drv.find_elements(By.CSS_SELECTOR, "#map-svg path.trk")
    assert len(tracks) == N_FLIGHTS
    # drawn with a real size on screen
    box = drv.execute_script("return document.getElementById('map-svg').getBoundingClientRect().toJSON()")
    assert box["width"] > 600 and box["height"] > 300
    lengths = drv.execute_script(
        "return Array.from(document.querySelectorAll('#map-svg path.trk')).map(p => p.getBBox().width + p.getBBox().height)"
    )
    assert sum(1 for v in lengths if v > 1) == N_FLIGHTS - 1  # the one-position sortie is a dot


def test_verdicts_table_shows_verdicts(loaded):
    drv, _ = loaded
    from selenium.webdriver.common.by import By

    text = drv.find_element(By.ID, "verdicts-table").text
    for verdict in ("NOT DETERMINABLE", "CONTRADICTED", "SUPPORTED"):  # CSS upper-cases the badges
        assert verdict in text
    assert "No aircraft entered Mexican airspace" in text


def test_hostile_text_did_not_run_and_shows_as_text(loaded):
    drv, _ = loaded
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    assert drv.execute_script("return typeof window.__xss") == "undefined"
    with pytest.raises(NoAlertPresentException):
        drv.switch_to.alert.text  # noqa: B018
    table = drv.find_element(By.ID, "flights-table").text
    assert XSS_CALLSIGN in table and XSS_REGISTRATION in table
    # no element was injected from the feed text
    assert drv.execute_script("return document.querySelectorAll('img').length") == 0
    assert drv.execute_script("return document.scripts.length") == 2


def test_simulated_stamp_visible_on_the_map(loaded):
    drv, _ = loaded
    from selenium.webdriver.common.by import By

    stamp = drv.find_element(By.CSS_SELECTOR, "#map-wrap .sim-stamp")
    assert stamp.is_displayed() and stamp.text == SIMULATED_LABEL
    ribbons = drv.find_elements(By.CSS_SELECTOR, "section .sim-ribbon")
    assert len(ribbons) == len(drv.find_elements(By.CSS_SELECTOR, "main > section"))


def test_tooltip_toggles_zoom(loaded):
    drv, _ = loaded
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    # hover the RC-135's track halfway along: the tooltip shows its callsign, set as text
    i = drv.execute_script(
        "return JSON.parse(document.getElementById('report-data').textContent).flights.findIndex(f => f.callsigns === 'JAKE11')"
    )
    track = drv.find_element(By.ID, f"trk-{i}")
    drv.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", track)
    dx, dy = drv.execute_script(
        """const p = arguments[0], q = p.getPointAtLength(p.getTotalLength() / 2);
        const s = new DOMPoint(q.x, q.y).matrixTransform(p.getScreenCTM()), r = p.getBoundingClientRect();
        return [s.x - (r.left + r.width / 2), s.y - (r.top + r.height / 2)];""",
        track,
    )
    ActionChains(drv).move_to_element_with_offset(track, round(dx), round(dy)).perform()
    tip = drv.find_element(By.ID, "map-tip")
    assert tip.is_displayed() and "JAKE11" in tip.text and "Signals intelligence" in tip.text
    assert "MEX: 18.4 km" in tip.text
    # colour by role switches the class and the legend
    drv.find_element(By.CSS_SELECTOR, 'input[name="colour-by"][value="role"]').click()
    assert "colour-role" in drv.find_element(By.ID, "map-svg").get_attribute("class")
    assert drv.find_element(By.CSS_SELECTOR, ".legend-role").is_displayed()
    # hiding the tracks layer hides them
    drv.find_element(By.CSS_SELECTOR, '#map-controls input[data-layer="tracks"]').click()
    assert not track.is_displayed()
    drv.find_element(By.CSS_SELECTOR, '#map-controls input[data-layer="tracks"]').click()
    # zoom in narrows the view box
    view_box = "return document.getElementById('map-svg').getAttribute('viewBox')"
    before = drv.execute_script(view_box)
    drv.find_element(By.ID, "zoom-in").click()
    after = drv.execute_script(view_box)
    assert float(after.split()[2]) < float(before.split()[2])
    # the flights filter
    box = drv.find_element(By.ID, "flight-filter")
    box.send_keys("PELICAN")
    assert drv.find_element(By.ID, "flight-count").text == "1 flight"
    box.clear()
    box.send_keys(" ")
    # no error along the way
    assert [e for e in drv.get_log("browser") if e.get("level") == "SEVERE"] == []


def test_screenshot_is_not_blank(loaded, tmp_path):
    drv, _ = loaded
    from selenium.webdriver.common.by import By

    drv.find_element(By.ID, "zoom-reset").click()
    drv.execute_script("window.scrollTo({top: 0, behavior: 'instant'})")
    shot = tmp_path / "report.png"
    assert drv.save_screenshot(str(shot))
    data = shot.read_bytes()
    w, h = struct.unpack(">II", data[16:24])
    assert w >= 1000 and h >= 600
    assert len(data) > 50_000  # a blank page compresses to a few kB
    keep = Path(shutil.os.environ.get("ISRWATCH_SCREENSHOT_DIR", ""))
    if keep.parts:  # for a human look: ISRWATCH_SCREENSHOT_DIR=/tmp/x pytest ...
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, keep / "report.png")

"""The labelling page driven in real headless browsers -- Chromium (selenium with the system's
chromium and chromedriver) and Firefox (its Marionette protocol, marionette-driver): open it,
drag a point, press keys, save, and read the CSV it downloads. Both browsers come from
scripts/setup.sh (as root, where missing); without one its tests skip, except under CI."""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pytest
from refine_material import refine_folder, run_cli

from direction_tagger.io import load_labelled
from direction_tagger.refine.labelled_data import read_labels, read_manifest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox")
ARROW_LEFT, ARROW_RIGHT = "\ue012", "\ue014"  # WebDriver's key codes


def _need(found: bool, reason: str) -> None:
    if not found:
        if os.environ.get("CI"):
            pytest.fail(f"CI must drive the labelling page in a browser: {reason}")
        pytest.skip(reason)


class Chromium:
    """The page in headless Chromium through selenium and the system's chromedriver."""

    page = "window.labeller"

    def __init__(self, downloads):
        _need(
            CHROMIUM and DRIVER,
            "needs chromium and chromedriver (apt-get install chromium chromium-driver)",
        )
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
            options.add_argument(arg)
        options.add_argument("--window-size=1200,800")
        options.add_experimental_option(
            "prefs",
            {"download.default_directory": str(downloads), "download.prompt_for_download": False},
        )
        self.driver = webdriver.Chrome(options=options, service=Service(DRIVER))

    def open(self, url):
        self.driver.get(url)

    def js(self, script, *args):
        return self.driver.execute_script(f"const L = {self.page}; {script}", *args)

    def keys(self, text):
        self.driver.find_element("tag name", "body").send_keys(text)

    def text(self, id_):
        return self.driver.find_element("id", id_).text

    def drag(self, x, y, dx, dy):
        """Press at (x, y) of the canvas (CSS px), move by (dx, dy) in two steps, release."""
        from selenium.webdriver.common.action_chains import ActionChains

        canvas = self.driver.find_element("id", "view")
        size = canvas.size
        actions = ActionChains(self.driver)
        actions.move_to_element_with_offset(canvas, x - size["width"] / 2, y - size["height"] / 2)
        actions.click_and_hold().move_by_offset(dx / 2, dy / 2).move_by_offset(dx / 2, dy / 2)
        actions.release().perform()

    def errors(self):
        return [e for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def close(self):
        self.driver.quit()


class Firefox:
    """The page in headless Firefox through its own remote protocol (Marionette; no
    geckodriver needed)."""

    page = "window.wrappedJSObject.labeller"  # the page's own globals, not the sandbox's

    def __init__(self, downloads):
        _need(FIREFOX, "needs firefox (apt-get install firefox-esr)")
        marionette = pytest.importorskip("marionette_driver.marionette")
        prefs = {
            "browser.download.dir": str(downloads),
            "browser.download.folderList": 2,
            "browser.download.useDownloadDir": True,
            "browser.download.always_ask_before_handling_new_types": False,
            "browser.helperApps.neverAsk.saveToDisk": "text/csv",
        }
        with socket.socket() as s:  # a free port: not 2828, which another Firefox may hold
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.client = marionette.Marionette(
            bin=FIREFOX,
            headless=True,
            prefs=prefs,
            port=port,
            gecko_log=str(Path(downloads).parent / "gecko.log"),  # not in the checkout
        )
        self.client.start_session()
        self.client.set_window_rect(width=1200, height=800)

    def open(self, url):
        self.client.navigate(url)

    def js(self, script, *args):
        return self.client.execute_script(f"const L = {self.page}; {script}", script_args=args)

    def keys(self, text):
        self.client.find_element("tag name", "body").send_keys(text)

    def text(self, id_):
        return self.client.find_element("id", id_).text

    def drag(self, x, y, dx, dy):
        left, top = self.js(
            "const r = document.getElementById('view').getBoundingClientRect(); "
            "return [r.left, r.top];"
        )
        x0, y0 = round(left + x), round(top + y)  # WebDriver moves in whole CSS px
        seq = self.client.actions.sequence("pointer", "mouse", {"pointerType": "mouse"})
        seq.pointer_move(x0, y0).pointer_down().pointer_move(x0 + dx // 2, y0 + dy // 2)
        seq.pointer_move(x0 + dx, y0 + dy).pointer_up().perform()

    def errors(self):
        return []  # Marionette has no console log; the page's own checks stand

    def close(self):
        self.client.delete_session()
        self.client.cleanup()


BROWSERS = {"chromium": Chromium, "firefox": Firefox}


@pytest.fixture(scope="module")
def refine_dir(tmp_path_factory):
    return refine_folder(tmp_path_factory.mktemp("page"), frames=6, movie=True)


@pytest.fixture(params=list(BROWSERS))
def browser(request, tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    page = BROWSERS[request.param](downloads)
    yield page, downloads
    page.close()


def _wait_for(path, seconds=20.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if path.is_file() and path.stat().st_size > 0:
            return path
        time.sleep(0.1)
    raise AssertionError(f"{path} never came")


def test_drag_keys_and_save_give_the_corrected_csv(refine_dir, browser, tmp_path):
    page, downloads = browser
    page.open((refine_dir / "label.html").as_uri())
    manifest = read_manifest(refine_dir)
    model = read_labels(refine_dir)  # the model's points, as the folder's CSVs hold them
    assert page.js("return L.frames.length") == len(manifest) == 6

    def screen(k):  # where point k of the frame shown sits, in the canvas's CSS px
        return page.js("return L.toScreen(L.state.points[L.state.index][arguments[0]])", k)

    # frame 1: drag the tail base 30 px right and 20 px down (screen px) -- one drag
    x, y = screen(0)
    page.drag(x, y, 30, 20)
    first = page.js("return L.state.points[0][0]")
    scale = page.js("return L.toScreen([1, 0])[0] - L.toScreen([0, 0])[0]")
    moved = np.array([30, 20]) / scale
    # next frame (key n), choose the nose (3), "not visible" (v); back (<-) and forward (->)
    page.keys("n")
    page.keys("3")
    page.keys("v")
    page.keys(ARROW_LEFT)
    assert page.js("return L.state.index") == 0
    page.keys(ARROW_RIGHT)
    # zoom out to the whole frame and back (z): the points stay where they were
    before = screen(1)
    page.keys("z")
    assert screen(1) != before
    page.keys("z")
    assert screen(1) == pytest.approx(before)
    counter = page.text("counter")
    assert counter.startswith("Frame 2/6 · 2 seen · 2 corrected"), counter
    page.keys("s")
    saved = _wait_for(downloads / "CollectedData_labeller.csv")

    labels = read_labels(saved)
    assert list(zip(labels.recording, labels.image)) == list(
        zip(manifest.recording, manifest.image)
    )
    got = labels.set_index(["recording", "image"])
    want = model.set_index(["recording", "image"]).loc[got.index]
    row0, row1 = got.index[0], got.index[1]
    # the dragged point moved by the drag, in image px; all else is the model's
    expected = want.loc[row0, ["tail_base_x", "tail_base_y"]].to_numpy(float) + moved
    # the pointer lands on whole CSS px: up to half a screen px from the point
    np.testing.assert_allclose(
        got.loc[row0, ["tail_base_x", "tail_base_y"]], expected, atol=0.05 + 0.5 / scale
    )
    np.testing.assert_allclose(got.loc[row0, ["tail_base_x", "tail_base_y"]], first, atol=1e-9)
    assert np.isnan(got.loc[row1, ["nose_x", "nose_y"]].to_numpy(float)).all()
    untouched = got.copy()
    untouched.loc[row0, ["tail_base_x", "tail_base_y"]] = want.loc[
        row0, ["tail_base_x", "tail_base_y"]
    ]
    untouched.loc[row1, ["nose_x", "nose_y"]] = want.loc[row1, ["nose_x", "nose_y"]]
    np.testing.assert_allclose(untouched.to_numpy(float), want.to_numpy(float), atol=1e-9)

    # import-dlc reads the saved CSV as a recording's labels (in place of the model's)
    project = tmp_path / "project"
    shutil.copytree(refine_dir, project)
    shutil.rmtree(project / "labeled-data" / "walk")  # 50x50 crops: for refine.labels only
    video_rows = labels[labels.recording == "arena"]
    text = saved.read_text().splitlines()
    keep = text[:3] + [line for line in text[3:] if line.split(",")[1] == "arena"]
    (project / "labeled-data" / "arena" / "CollectedData_labeller.csv").write_text(
        "\n".join(keep) + "\n"
    )
    run_cli(["import-dlc", project, "--out", tmp_path / "imported.npz", "--quiet"])
    imported = load_labelled(tmp_path / "imported.npz")
    # a frame with a point not visible is skipped by import-dlc, the others come in
    visible = np.isfinite(video_rows.drop(columns=["recording", "image"]).to_numpy(float)).all(1)
    assert len(imported.images) == visible.sum()


def test_the_page_opens_offline_with_every_frame_drawn(refine_dir, browser):
    page, _ = browser
    start = time.monotonic()
    page.open((refine_dir / "label.html").as_uri())
    # no <img>: frames are drawn on the canvas
    assert page.js("return L.frames.length === 6 && document.images.length === 0")
    widths = page.js(
        "return Promise.all(L.frames.map(f => new Promise(ok => {"
        "const im = new Image(); im.onload = () => ok(im.naturalWidth); im.src = f.src; })))"
    )
    assert sorted(set(widths)) == [50, 640]
    assert time.monotonic() - start < 30  # a hang, not a speed test (benchmarks time it)
    html = (refine_dir / "label.html").read_text()
    assert "http://" not in html and "https://" not in html  # nothing fetched from outside
    assert not page.errors()

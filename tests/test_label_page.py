"""The labelling page driven in a real headless Chromium (selenium, the system's chromium and
chromedriver): open it, drag a point, press keys, save, and read the CSV it downloads."""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest
from refine_material import refine_folder, run_cli

from direction_tagger.io import load_labelled
from direction_tagger.refine.labelled_data import read_labels, read_manifest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def _browser(downloads):
    if not (CHROMIUM and DRIVER):
        reason = "needs chromium and chromedriver (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must drive the labelling page in a browser: {reason}")
        pytest.skip(reason)
    webdriver = pytest.importorskip("selenium.webdriver")
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
    return webdriver.Chrome(options=options, service=Service(DRIVER))


@pytest.fixture(scope="module")
def refine_dir(tmp_path_factory):
    return refine_folder(tmp_path_factory.mktemp("page"), frames=6, movie=True)


@pytest.fixture
def browser(tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = _browser(downloads)
    yield driver, downloads
    driver.quit()


def _wait_for(path, seconds=20.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if path.is_file() and path.stat().st_size > 0:
            return path
        time.sleep(0.1)
    raise AssertionError(f"{path} never came")


def test_drag_keys_and_save_give_the_corrected_csv(refine_dir, browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    driver, downloads = browser
    driver.get((refine_dir / "label.html").as_uri())
    manifest = read_manifest(refine_dir)
    model = read_labels(refine_dir)  # the model's points, as the folder's CSVs hold them
    frames = driver.execute_script("return window.labeller.frames.length")
    assert frames == len(manifest) == 6
    canvas = driver.find_element(By.ID, "view")
    body = driver.find_element(By.TAG_NAME, "body")

    def screen(k):  # where point k of the frame shown sits, in the canvas's CSS px
        return driver.execute_script(
            "const l = window.labeller; return l.toScreen(l.state.points[l.state.index][arguments[0]])",
            k,
        )

    def scale():
        a = driver.execute_script("return window.labeller.toScreen([0, 0])")
        b = driver.execute_script("return window.labeller.toScreen([1, 0])")
        return b[0] - a[0]

    # frame 1: drag the tail base 30 px right and 20 px down (screen px) -- one drag
    x, y = screen(0)
    size = canvas.size
    actions = ActionChains(driver)
    actions.move_to_element_with_offset(canvas, x - size["width"] / 2, y - size["height"] / 2)
    actions.click_and_hold().move_by_offset(15, 10).move_by_offset(15, 10).release().perform()
    first = driver.execute_script("return window.labeller.state.points[0][0]")
    moved = np.array([30, 20]) / scale()
    # next frame (key n), choose the nose (3), "not visible" (v); back (<-) and forward (->)
    body.send_keys("n")
    body.send_keys("3")
    body.send_keys("v")
    body.send_keys("\ue012")  # arrow left
    assert driver.execute_script("return window.labeller.state.index") == 0
    body.send_keys("\ue014")  # arrow right
    # zoom out to the whole frame and back (z): the points stay where they were
    before = screen(1)
    body.send_keys("z")
    assert screen(1) != before
    body.send_keys("z")
    assert screen(1) == pytest.approx(before)
    counter = driver.find_element(By.ID, "counter").text
    assert "Frame 2 of 6" in counter and "2 looked at" in counter and "2 corrected" in counter
    body.send_keys("s")
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
    np.testing.assert_allclose(got.loc[row0, ["tail_base_x", "tail_base_y"]], expected, atol=0.05)
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
    driver, _ = browser
    start = time.monotonic()
    driver.get((refine_dir / "label.html").as_uri())
    loaded = driver.execute_script(
        "return window.labeller.frames.length === 6 && "
        "Array.from(document.images).length === 0"  # no <img>: frames are drawn on the canvas
    )
    assert loaded
    ready = driver.execute_script(
        "return await Promise.all(window.labeller.frames.map(f => new Promise(ok => {"
        "const im = new Image(); im.onload = () => ok(im.naturalWidth); im.src = f.src; })))"
    )
    assert sorted(set(ready)) == [50, 640]
    assert time.monotonic() - start < 30  # a hang, not a speed test (benchmarks time it)
    html = (refine_dir / "label.html").read_text()
    assert "http://" not in html and "https://" not in html  # nothing fetched from outside
    logs = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not logs, logs

"""How fast the labelling page opens: time from navigation to every frame decoded and the first
frame drawn, in a headless Chromium (the system's chromium + chromedriver, driven by selenium).

    python benchmarks/bench_label_page.py --folder results/demo/refine [--repeats 5]

The issue's target: 20 frames open in under a second. Prints the page's size, its frames and
their sizes, and the median / max over the repeats (a fresh browser profile each time, so
nothing is cached).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

READY = """
const done = arguments[arguments.length - 1];
Promise.all(window.labeller.frames.map(f => {
  const im = new Image(); im.src = f.src; return im.decode();
})).then(() => { window.labeller.draw(); done(performance.now()); });
"""


def open_once(page: Path) -> float:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory() as profile:
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
            options.add_argument(arg)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument("--window-size=1200,800")
        driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
        try:
            driver.set_script_timeout(60)
            driver.get(page.resolve().as_uri())
            return driver.execute_async_script(READY) / 1000.0  # ms since navigation start
        finally:
            driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", required=True, type=Path, help="a refine folder")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    page = args.folder / "label.html"
    from PIL import Image

    sizes = [Image.open(p).size for p in sorted(args.folder.glob("labeled-data/*/*.png"))]
    print(
        f"{page}: {page.stat().st_size / 1e6:.1f} MB, {len(sizes)} frames "
        f"({', '.join(sorted({f'{w}x{h}' for w, h in sizes}))})"
    )
    times = [open_once(page) for _ in range(args.repeats)]
    print(
        f"open -> every frame decoded and drawn: median {statistics.median(times):.2f} s, "
        f"max {max(times):.2f} s over {len(times)} opens"
    )


if __name__ == "__main__":
    main()

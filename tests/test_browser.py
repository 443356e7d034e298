"""Real-browser check of the built book: every page of the table of contents loads in headless
Chromium from a local HTTP server, with no JavaScript error, no broken image and no empty figure.

Skipped when the book has not been built, unless ARTLIB_REQUIRE_BOOK=1 (as in .ci/run, which
runs this file after ``jupyter-book build``). The machine is offline, so failed loads of
resources from other hosts (the CDN copy of MathJax) are not counted; local ones are.
Two messages are not ours and are ignored by exact match: the browser's own request for
/favicon.ico, and jupyter-book 1.0.4's theme emitting sphinx-thebe's inline configuration
twice ("Identifier 'THEBE_JS_URL' has already been declared"; Thebe is unused here), and
pydata-sphinx-theme's console notice on a fresh profile with no stored theme mode.
"""
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "book" / "_build" / "html"
ARTIFACTS = ROOT / "artifacts"
KNOWN_UPSTREAM = ("/favicon.ico - Failed to load resource",
                  "Identifier 'THEBE_JS_URL' has already been declared",
                  "Got invalid theme mode: . Resetting to auto.")


def toc_pages():
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for c in toc.get("chapters", [])]


@pytest.fixture(scope="module")
def browser():
    if not (HTML / "index.html").is_file():
        if os.environ.get("ARTLIB_REQUIRE_BOOK") == "1":
            pytest.fail(f"the book is not built: {HTML / 'index.html'} is missing")
        pytest.skip("book not built (run jupyter-book build book/ first)")
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not Path(driver_path).exists():
        if os.environ.get("ARTLIB_REQUIRE_BOOK") == "1":
            pytest.fail("chromedriver not found (apt-get install chromium chromium-driver)")
        pytest.skip("chromium-driver not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1600"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        driver.quit()
        server.shutdown()


@pytest.mark.parametrize("page", toc_pages())
def test_page_renders(browser, page):
    driver, base = browser
    assert (HTML / f"{page}.html").is_file(), f"page missing from the build: {page}.html"
    driver.get(f"{base}/{page}.html")
    assert "404" not in driver.title
    local_errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"
                    and ("127.0.0.1" in e["message"] or "Uncaught" in e["message"])
                    and not any(known in e["message"] for known in KNOWN_UPSTREAM)]
    assert not local_errors, local_errors
    broken = driver.execute_script(
        "return Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
    assert not broken, f"broken images on {page}: {broken}"
    if page.startswith("executed/") and page != "executed/status":
        sizes = driver.execute_script(
            "return Array.from(document.querySelectorAll('.cell_output img')).map(i => [i.naturalWidth, i.naturalHeight])")
        assert sizes, f"{page} shows no figure"
        assert all(w > 50 and h > 50 for w, h in sizes), f"empty figure on {page}: {sizes}"
    if page == toc_pages()[0]:
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "landing.png"))

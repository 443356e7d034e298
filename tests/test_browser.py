"""Real-browser check of the built book: every page of the table of contents loads in headless
Chromium from a local HTTP server, and fails on what a reader would notice: a JavaScript error,
a broken, blank or alt-less image, a results table shown as raw pipe text, maths shown as raw
LaTeX (MathJax is served from the book itself, so it must typeset offline), and a chapter
without its verdict box.

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


#: Per figure: natural size and the spread (max − min) of its pixels' grey levels, read through a
#: canvas; a blank (single-colour) figure has spread 0.
PIXEL_SPREAD = """
return Array.from(document.querySelectorAll('.cell_output img')).map(img => {
  const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data; let lo = 255, hi = 0;
  for (let i = 0; i < d.length; i += 4 * 7) { const g = (d[i] + d[i + 1] + d[i + 2]) / 3; lo = Math.min(lo, g); hi = Math.max(hi, g); }
  return [img.naturalWidth, img.naturalHeight, hi - lo];
});
"""


def wait_for_mathjax(driver, timeout: float = 20.0) -> bool:
    """Wait until MathJax (when the page loads it) has typeset the page."""
    import time
    t0 = time.time()
    while time.time() - t0 < timeout:
        state = driver.execute_script(
            "if (!window.MathJax) return 'none';"
            "if (!MathJax.startup || !MathJax.startup.promise) return 'loading';"
            "if (window.__mjdone === undefined) { window.__mjdone = false;"
            " MathJax.startup.promise.then(() => { window.__mjdone = true; }); }"
            "return window.__mjdone ? 'done' : 'loading';")
        if state in ("none", "done"):
            return True
        time.sleep(0.2)
    return False


def page_problems(driver, chapter: bool) -> list[str]:
    """What a reader would notice on the loaded page: images without alt text, raw pipe-table
    text, raw LaTeX, and (chapters) blank or missing figures and a missing verdict box."""
    problems = []
    no_alt = driver.execute_script(
        "return Array.from(document.querySelectorAll('main img')).filter(i => !(i.alt || '').trim()"
        " || /^[0-9a-f]{16,}/.test(i.alt)).map(i => i.src.slice(0, 60))")
    if no_alt:
        problems.append(f"images without alt text: {no_alt}")
    path_alt = driver.execute_script(
        "return Array.from(document.querySelectorAll('main img')).map(i => (i.alt || '').trim())"
        ".filter(a => /[\\/]|\\.(png|svg|jpe?g)$/i.test(a))")
    if path_alt:
        problems.append(f"alt text that is a file path: {path_alt[:2]}")
    long_numbers = driver.execute_script(
        "return Array.from(document.querySelectorAll('main table td')).map(td => td.innerText.trim())"
        ".filter(t => /^[-+]?[0-9,]*\\.?[0-9]+(e[-+]?[0-9]+)?$/i.test(t))"
        ".filter(t => { const m = t.split(/e/i)[0].replace(/[-+,]/g, '');"   # an integer's trailing zeros
        " const d = m.includes('.') ? m.replace('.', '').replace(/^0+/, '')"    # are not significant
        " : m.replace(/^0+/, '').replace(/0+$/, ''); return d.length > 6; })")
    if long_numbers:
        problems.append(f"table numbers with more than 6 significant digits: {long_numbers[:3]}")
    text = driver.execute_script("return (document.querySelector('main') || document.body).innerText")
    pipe_rows = [ln for ln in text.splitlines() if ln.strip().startswith("|") and ln.strip().count("|") >= 3]
    if pipe_rows:
        problems.append(f"raw pipe-table text: {pipe_rows[:2]}")
    if not wait_for_mathjax(driver):
        problems.append("MathJax did not finish")
    raw_tex = [m for m in ("\\(", "\\[", "$$", "\\frac", "\\theta") if m in text]
    if raw_tex:
        problems.append(f"raw LaTeX: {raw_tex}")
    if chapter:
        spreads = driver.execute_script(PIXEL_SPREAD)
        if not spreads:
            problems.append("no figure")
        if any(w <= 50 or h <= 50 for w, h, _ in spreads):
            problems.append(f"tiny figure: {spreads}")
        if any(spread <= 20 for _, _, spread in spreads):
            problems.append(f"blank figure: {spreads}")
        uncaptioned = driver.execute_script(
            "return Array.from(document.querySelectorAll('.cell_output img')).filter(i => {"
            " const f = i.closest('figure'); const c = f && f.querySelector('figcaption');"
            " return !(c && c.innerText.trim()); }).length")
        if uncaptioned:
            problems.append(f"{uncaptioned} figures without a caption")
        verdicts = driver.execute_script("return document.querySelectorAll('.artlib-verdict').length")
        if verdicts < 1:
            problems.append(f"{verdicts} verdict boxes, expected at least 1")
    return problems


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
    problems = page_problems(driver, page.startswith("executed/") and page != "executed/status")
    assert not problems, f"{page}: {problems}"
    if page == toc_pages()[0]:
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "landing.png"))


def test_the_checks_catch_a_bad_page(browser, tmp_path):
    # a page with every fault the checks look for: each must be reported
    import base64
    import io

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    plt.figure(figsize=(2, 2)).savefig(buf, format="png")          # a blank white figure
    png = base64.b64encode(buf.getvalue()).decode()
    html = ("<html><body><main><p>| NFE | 3 | 9 |</p><p>\\(x^2\\) and $$y$$</p>"
            f"<div class='cell_output'><img src='data:image/png;base64,{png}'></div>"
            f"<div class='cell_output'><figure><img alt='../_build/jupyter_execute/fig.png' src='data:image/png;base64,{png}'>"
            "</figure></div><table><tr><td>101332.842</td><td>0.0123</td><td>7,700,000</td><td>1936244</td>"
            "</tr></table></main></body></html>")
    driver, _ = browser
    driver.get("data:text/html;base64," + base64.b64encode(html.encode()).decode())
    problems = " ".join(page_problems(driver, chapter=True))
    for fault in ("images without alt text", "alt text that is a file path", "pipe-table", "raw LaTeX", "blank figure",
                  "2 figures without a caption", "more than 6 significant digits: ['101332.842', '1936244']", "0 verdict boxes"):
        assert fault in problems, (fault, problems)


def executed_tables(name: str) -> dict[str, dict[str, list[str]]]:
    """The tables a chapter shows, as caption → row label → its cells' text (header row included)."""
    import html.parser
    import json

    class Tables(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.tables, self.caption, self.row, self.cell = {}, None, None, None

        def handle_starttag(self, tag, attrs):
            if tag == "caption" or tag in ("td", "th"):
                self.cell = ""
            elif tag == "tr":
                self.row = []

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

        def handle_endtag(self, tag):
            if tag == "caption":
                self.caption, self.cell = self.cell.strip(), None
                self.tables[self.caption] = {}
            elif tag in ("td", "th") and self.row is not None:
                self.row.append(self.cell.strip())
                self.cell = None
            elif tag == "tr":
                self.tables.setdefault(self.caption, {})[self.row[0]] = self.row[1:]

    nb = json.loads((ROOT / "book" / "executed" / f"{name}.ipynb").read_text())
    parser = Tables()
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if "text/html" in out.get("data", {}):
                parser.caption = None
                parser.feed("".join(out["data"]["text/html"]))
    return parser.tables


def test_a_number_shown_on_two_pages_is_the_same():
    """One number, one source: the Table 2 chapter and the Heun chapter train the digits learner once
    (the ci profile's shared workdir) and score it against the same reference, so the rows they
    both show must agree cell for cell."""
    if not (ROOT / "book" / "executed" / "heun_gap.ipynb").is_file():
        if os.environ.get("ARTLIB_REQUIRE_BOOK") == "1":
            pytest.fail("book/executed/heun_gap.ipynb is missing: run python -m artlib reproduce --profile ci")
        pytest.skip("the chapters have not been executed")
    table2 = executed_tables("cifar10_nfe_sweep")
    gap = executed_tables("heun_gap")
    heun2 = next(t for c, t in table2.items() if c.startswith("Here: endpoint RMSE") and "(Heun)" in c)
    both = next(t for c, t in gap.items() if c.startswith("Endpoint RMSE over"))
    heun_only = next(t for c, t in gap.items() if c.startswith("Heun: endpoint RMSE"))
    assert heun2["NFE"] == both["NFE"] == heun_only["NFE"]
    for row in ("ART-RL", "EDM (rho=7)", "Closed-form optimum"):
        assert heun2[row] == both[f"{row}, heun"] == heun_only[row], row

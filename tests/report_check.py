"""Build `snakemake --report` for a finished run and look at it in a real headless browser (Debian's chromium).

Snakemake's report is a React app that carries every result as a data URI in a global ``results`` and shows one
at a time. A copy of the report gets a probe script that shows every image result through the app itself
(``app.setView``, what clicking a result does), waits for the ``<img>`` to decode, and writes what it saw into the
DOM; ``--dump-dom`` reads that back. A second pass leaves the app on the held-out accuracy figure and takes a
screenshot, kept under tests/artifacts/ with the report.
"""

import json
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from .conftest import REPO

ARTIFACTS = REPO / "tests" / "artifacts"
# The figures rules/report.smk draws for every protocol (tribe and debate add ratings_<scheme>).
REPORT_FIGURES = ["accuracy", "win_rates", "training", "pairs"]

# Runs after the app has mounted: shows each image result in turn, then opens the Accuracy category on the
# accuracy figure for the screenshot. ``naturalWidth`` > 0 only once the browser decoded the PNG.
PROBE = """
<script id="agon-probe">
window.addEventListener("load", async () => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  for (let k = 0; k < 100 && typeof app === "undefined"; k++) await sleep(50);
  const shown = async (uri) => {
    for (let k = 0; k < 100; k++) {
      await sleep(50);
      const img = [...document.querySelectorAll("#app img")].find((i) => i.getAttribute("src") === uri);
      if (img && img.complete) return img;
    }
    return null;
  };
  const seen = {};
  for (const [path, entry] of Object.entries(results)) {
    if (!String(entry.mime_type).startsWith("image/")) continue;
    app.setView({ content: "img", contentPath: entry.data_uri });
    const img = await shown(entry.data_uri);
    seen[path] = { width: img ? img.naturalWidth : 0, height: img ? img.naturalHeight : 0,
                   caption: entry.caption || "", mime: entry.mime_type };
  }
  const accuracy = Object.keys(results).find((p) => p.endsWith("/report/accuracy.png"));
  app.showCategory("Accuracy");
  await sleep(200);
  if (accuracy) app.setView({ content: "img", contentPath: results[accuracy].data_uri });
  await sleep(200);
  const probe = document.createElement("pre");
  probe.id = "agon-probe";
  probe.style.display = "none";
  probe.textContent = JSON.stringify({ seen, categories });
  document.body.appendChild(probe);
});
</script>
"""


def chromium() -> str:
    """The browser; its absence fails the test (CI installs it: apt-get install -y chromium)."""
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    pytest.fail("chromium is not installed: apt-get install -y chromium (the report test opens the report in it)")


def _browse(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        chromium(),
        "--headless=new",
        "--no-sandbox",  # root in CI containers
        "--disable-gpu",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
        "--virtual-time-budget=20000",
        *args,
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def render_report(report_html: Path, name: str, workdir: Path) -> dict:
    """Open the report in headless chromium; return what the probe saw (``seen``: result path -> width, height,
    caption, mime; ``categories``: category -> subcategory -> paths) and keep a screenshot and the report."""
    probed = workdir / "probed.html"
    # The last </body>: the report's embedded sources contain the string too.
    head, body_end, tail = report_html.read_text().rpartition("</body>")
    assert body_end, f"{report_html}: no </body>"
    probed.write_text(head + PROBE + body_end + tail)
    dom = _browse(probed.as_uri(), workdir / "profile", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-3000:]
    match = re.search(r'<pre id="agon-probe"[^>]*>(.*?)</pre>', dom.stdout, flags=re.DOTALL)
    assert match, "the probe left no result: the report's app did not run\n" + dom.stderr[-3000:]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / f"report_{name}.png"
    shot = _browse(probed.as_uri(), workdir / "profile", f"--screenshot={screenshot}")
    assert shot.returncode == 0 and screenshot.stat().st_size > 0, shot.stderr[-3000:]
    shutil.copyfile(report_html, ARTIFACTS / f"report_{name}.html")
    print(f"report screenshot: {screenshot}")
    return json.loads(unescape(match.group(1)))


def assert_every_figure_renders(probe: dict, figures: list[str], categories: set[str]) -> None:
    """Every expected figure (path) is a result that the browser decoded, with a caption, under the categories."""
    seen = probe["seen"]
    missing = sorted(set(figures) - set(seen))
    assert not missing, f"figures missing from the report: {missing}; it has {sorted(seen)}"
    for path in figures:
        assert seen[path]["width"] > 0 and seen[path]["height"] > 0, f"{path} did not render: {seen[path]}"
        assert seen[path]["caption"].strip(), f"{path} has no caption"
    assert set(probe["categories"]) == categories

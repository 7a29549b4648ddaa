"""Full-page screenshots of the demo workspace's Insights pages, for reading them as a marketer would.

    python scripts/devenv.py run            # in another terminal: the demo on http://localhost:8000
    python scripts/insights_screenshots.py [--base http://demo.localhost:8000] [--out artifacts/insights]

Signs in as the demo user through the real login form, opens the overview, the anomalies list,
the first incident's detail, forecasts, events, attribution (importing the sample paths when the
workspace has none) and the budget planner at 1280 px, and saves each as a 256-colour PNG
(each well under 400 KB). Uses Debian's chromium (BOSCO_CHROMIUM).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

DEMO_EMAIL = "demo@bosco.local"
DEMO_PASSWORD = "bosco-demo-2026"  # noqa: S105 - the demo login, printed by make run too
WIDTH = 1280


def _shrink(path: Path) -> None:
    """256 colours are plenty for a UI screenshot and cut a long page to a third of its size.

    The palette is the page's most frequent exact colours (background, cards, borders, text)
    plus an octree palette of the rest, mapped without dithering. Median cut alone spent the
    palette on greys and mapped the small channel swatches onto each other (orange "Organic
    Search" drawn in Meta's pink); octree alone washed the grey page background out to white.
    """
    from PIL import Image

    with Image.open(path) as image:
        rgb = image.convert("RGB")
    frequent = [color for _, color in sorted(rgb.getcolors(maxcolors=1 << 24) or [], reverse=True)[:32]]
    rest = 256 - len(frequent)
    hues = (rgb.quantize(colors=rest, method=Image.Quantize.FASTOCTREE).getpalette() or [])[: 3 * rest]
    palette = Image.new("P", (1, 1))
    palette.putpalette([channel for color in frequent for channel in color] + hues)
    rgb.quantize(palette=palette, dither=Image.Dither.NONE).save(path, optimize=True)


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=f"http://demo.localhost:{os.environ.get('PORT', '8000')}")
    parser.add_argument("--out", type=Path, default=REPO / "artifacts" / "insights")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    chromium = os.environ.get("BOSCO_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        page = browser.new_context(viewport={"width": WIDTH, "height": 900}, locale="en-US").new_page()
        page.set_default_timeout(60_000)

        def shot(path: str, name: str, wait: str | None = None) -> None:
            page.goto(args.base + path, wait_until="networkidle")
            if wait:
                page.wait_for_selector(wait)
            page.wait_for_timeout(500)
            target = args.out / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            _shrink(target)
            shown = target.relative_to(REPO) if target.is_relative_to(REPO) else target  # --out may be elsewhere
            print(f"{shown}  {target.stat().st_size // 1024} KB  {path}")

        page.goto(args.base + "/accounts/login/", wait_until="networkidle")
        page.fill("input[name=login]", DEMO_EMAIL)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_load_state("networkidle")

        drawn = '[data-drawn="true"] .main-svg'
        shot("/insights/", "01-overview", drawn)
        shot("/insights/anomalies/", "02-anomalies")
        first = page.locator("#incident-list li.incident li[data-metric] a").first
        if first.count():
            shot(first.get_attribute("href") or "/insights/anomalies/", "03-incident", drawn)
        shot("/insights/forecasts/", "04-forecasts", drawn)
        shot("/insights/forecasts/events/", "05-events")
        page.goto(args.base + "/insights/attribution/", wait_until="networkidle")
        if page.locator("#upload-form").count() and not page.locator("#imports").count():
            sample = page.evaluate("async (u) => (await fetch(u)).text()", "/insights/attribution/sample.csv")
            with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as handle:
                handle.write(sample)
            page.set_input_files("#path-file", handle.name)
            page.fill("#import-name", "Sample journeys")
            page.click("#upload-form button[type=submit]")
            page.wait_for_load_state("networkidle")
        shot("/insights/attribution/", "06-attribution", drawn)
        # revenue, whatever target the planner was last opened on (it reopens on the newest fit's)
        shot("/insights/budget/?target=conversion_value", "07-budget", drawn)
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

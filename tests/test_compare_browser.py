"""The compare HTML page as a reader sees it: Debian's chromium through Playwright, opened from disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support import SAMPLE_CORPUS
from test_review_browser import ARGS, CHROMIUM

from evaluator.cli import main
from evaluator.compare import Comparison

pytestmark = [
    pytest.mark.browser,
    pytest.mark.model,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]


def test_the_compare_page_renders_levels_and_changes_without_the_network(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    out = tmp_path / "changes.html"
    old, new = SAMPLE_CORPUS / "fenwick-hws-2019.pdf", SAMPLE_CORPUS / "fenwick-hws-2025.pdf"
    result = CliRunner().invoke(main, ["compare", str(old), str(new), "--format", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    as_json = CliRunner().invoke(main, ["compare", str(old), str(new), "--format", "json"])
    moved_up = {h.id for h in Comparison.model_validate_json(as_json.stdout).hallmarks if h.move == "up"}
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.goto(out.as_uri())
            assert "Fenwick Health and Wellbeing Strategy 2019-2024" in page.title()
            rows = page.locator("#levels tbody tr")
            assert rows.count() == 7
            ups = page.locator("#levels tr.up")
            shown_up = {ups.nth(i).get_attribute("data-hallmark") for i in range(ups.count())}
            assert shown_up and shown_up == moved_up  # every hallmark that moved up, and only those
            first = ups.first
            assert first.is_visible()
            assert "▲" in first.inner_text()
            changed = page.locator("tr.descriptor.up")
            assert changed.count() > 0 and changed.first.is_visible()
            assert "hallmark(s) up" in page.locator("#summary").inner_text()
            box = page.locator("table.descriptors").first.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 50
        finally:
            browser.close()
    assert requests and all(url.startswith("file://") for url in requests), requests

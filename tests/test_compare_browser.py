"""The compare HTML page as a reader sees it: Debian's chromium through Playwright, opened from disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from support import SAMPLE_CORPUS
from test_review_browser import ARGS, CHROMIUM

from evaluator.cli import main

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
            first = page.locator("#levels tr.up").first  # the authors' later version moves several up
            assert first.is_visible() and first.get_attribute("data-hallmark") in {
                "2",
                "3a",
                "3b",
                "4",
                "5",
                "6",
            }
            assert "▲" in first.inner_text()
            changed = page.locator("tr.descriptor.up")
            assert changed.count() > 0 and changed.first.is_visible()
            assert "hallmark(s) up" in page.locator("#summary").inner_text()
            box = page.locator("table.descriptors").first.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 50
        finally:
            browser.close()
    assert requests and all(url.startswith("file://") for url in requests), requests

"""The demo's frozen report renders in Chromium with its charts and text alternatives, prints
to PDF, and its package verifies on the public verification page."""

import pytest
import requests
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_report_renders_prints_and_verifies(browser, demo_server, tmp_path):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(demo_server.url + "/reports/")
    page.get_by_role("link", name="Report on “Improving Bowling Green / Warren County”").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Improving Bowling Green")
    expect(page.get_by_text("SHA-256:", exact=False).first).to_be_visible()
    expect(page.get_by_text("Transmission package SHA-256:")).to_be_visible()  # what an uploaded package must equal
    expect(page.get_by_role("heading", name="What they said: themes")).to_be_visible()
    # the demo's Pol.is participants declared no profile: the balance is unknown, not "not stated 100 %"
    expect(page.get_by_text("Balance unknown.")).to_be_visible()
    charts = page.locator("svg[role=img]")
    assert charts.count() >= 2  # theme sizes and the map of submissions
    assert charts.first.locator("title").text_content() and charts.first.locator("desc").text_content()
    expect(page.get_by_text("Transmitted to Demonstration forum")).to_be_visible()

    pdf = requests.get(demo_server.url + page.url.replace(demo_server.url, "") + ".pdf", timeout=60)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and len(pdf.content) > 10_000

    with page.expect_download() as download:
        page.get_by_role("link", name="transmission package (zip)").click()
    package = tmp_path / "package.zip"
    download.value.save_as(package)
    page.goto(demo_server.url + "/reports/verify")
    page.get_by_label("…or a transmission package (.zip)").set_input_files(str(package))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("status")).to_contain_text("This package matches report")
    context.close()

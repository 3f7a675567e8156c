"""Arabic pages show English text the way it was written: a question mark typed at the end of an
English view stays at its end ("Which uses…?"), not at the start ("?Which uses…"), wherever the
text is shown: lists, headings, tables, quotes, the hearing's thread, the report.

Checked on the rendered layout: the box of the final "?" must lie to the right of the box of the
first letter. Dates and ISO timestamps keep their digits in order in the same pages."""

import pytest

from tests.browser.small_site import small_site  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

# For every text node of <main> holding `needle`: where its first letter and its final "?" are drawn.
BOXES = """needle => {
  const found = [];
  const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(needle);
    if (at < 0) continue;
    const box = (i) => { const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1); return r.getBoundingClientRect(); };
    const first = box(at), last = box(at + needle.length - 1);
    if (Math.abs(first.top - last.top) > 2) continue;  // wrapped over lines: compare only one-line cases
    found.push({ where: node.parentElement.tagName.toLowerCase() + '.' + node.parentElement.className,
                 first: first.left, last: last.left });
  }
  return found;
}"""


def _question_marks_at_the_end(page, needle: str) -> list[dict]:
    return page.evaluate(BOXES, needle)


@pytest.mark.parametrize(
    "where,needle",
    [
        ("/consultations/", "How should AI be governed?"),
        ("/consultations/{slug}", "How should AI be governed?"),
        ("/consultations/{slug}", "Which uses of artificial intelligence should need a public licence?"),
        ("/hearings/{hearing_id}", "Which regions still lack shared data centres?"),
        (
            "/consultations/{closed_slug}/opinions",
            "Which uses of artificial intelligence should need a public licence?",
        ),
        ("/reports/{report_id}", "Which uses of artificial intelligence should need a public licence?"),
        ("/reports/{report_id}", "What has worked, what has not?"),
    ],
    ids=["card", "summary", "view", "hearing", "opinion-table", "report", "report-summary"],
)
def test_english_text_on_an_arabic_page_keeps_its_punctuation(browser, small_site, where, needle):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ar")
    page = context.new_page()
    page.goto(small_site["base"] + where.format(**small_site) + "?lang=ar")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    found = _question_marks_at_the_end(page, needle)
    context.close()
    assert found, f"{needle!r} is not on {where}"
    wrong = [f for f in found if f["last"] < f["first"]]
    assert not wrong, f"English text drawn right-to-left on {where}: {wrong}"


def test_dates_and_timestamps_read_in_order_on_arabic_pages(browser, small_site):
    """A <time> keeps the machine-readable ISO value, and the text shown is drawn as one isolated run."""
    context = browser.new_context(locale="ar")
    page = context.new_page()
    page.goto(small_site["base"] + f"/hearings/{small_site['past_hearing_id']}/transcript?lang=ar")
    times = page.locator("main time")
    assert times.count() > 0
    for i in range(times.count()):
        item = times.nth(i)
        assert item.get_attribute("datetime").endswith("Z")
        assert page.evaluate("e => getComputedStyle(e).unicodeBidi", item.element_handle()) in (
            "isolate",
            "plaintext",
            "isolate-override",
        )
    context.close()


CHART_GEOMETRY = """() => [...document.querySelectorAll('svg.chart')].map(svg => {
  const box = svg.getBoundingClientRect();
  const ids = (svg.getAttribute('aria-labelledby') || '').split(' ').filter(Boolean);
  const labels = [...svg.querySelectorAll('text[text-anchor=end]')].map(t => t.getBoundingClientRect());
  const bars = [...svg.querySelectorAll('rect')].map(r => r.getBoundingClientRect());
  return { ids, idsFound: ids.filter(id => document.getElementById(id) && svg.contains(document.getElementById(id))).length,
           clipped: labels.filter(l => l.left < box.left - 0.5 || l.right > box.right + 0.5).length,
           labelsRightOfBars: labels.length > 0 && labels.every((l, i) => !bars[i] || l.left >= bars[i].right - 0.5),
           labelsLeftOfBars: labels.length > 0 && labels.every((l, i) => !bars[i] || l.right <= bars[i].left + 0.5),
           bars: bars.length, labels: labels.length };
})"""


@pytest.mark.parametrize("lang", ["ar", "zh", "en"])
def test_report_charts_are_named_mirrored_in_rtl_and_not_clipped(browser, small_site, lang):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(small_site["base"] + f"/reports/{small_site['report_id']}?lang={lang}")
    charts = page.evaluate(CHART_GEOMETRY)
    context.close()
    for chart in charts:  # bar charts and the map alike are named by their own title and description
        assert len(chart["ids"]) == 2 and chart["idsFound"] == 2, chart
    bars = [c for c in charts if c["labels"]]
    assert len(bars) >= 2, "the report has no bar charts"
    for chart in bars:
        assert chart["clipped"] == 0, chart
        assert chart["labelsRightOfBars"] if lang == "ar" else chart["labelsLeftOfBars"], chart

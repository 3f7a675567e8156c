"""Slow links: the consultation and hearing pages each transfer at most 100 KB compressed on a first
load (HTML + CSS + JS, measured by Chromium's network stack), a second load fetches no static file
again, and nothing is ever fetched from another origin (no external fonts, CDNs or trackers)."""

from urllib.parse import urlparse

import pytest

from tests.browser.showcase import showcase, sign_in  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

BUDGET = 100 * 1024
COUNTED = {"Document", "Stylesheet", "Script"}


def measure(context, url: str) -> dict:
    """Bytes on the wire (encodedDataLength: headers + compressed body) per resource type, cache empty."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.clearBrowserCache")
    kinds, sizes = {}, {}
    cdp.on(
        "Network.responseReceived",
        lambda e: kinds.__setitem__(
            e["requestId"], (e["type"], e["response"]["url"], e["response"].get("headers", {}))
        ),
    )
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    page.goto(url, wait_until="load")
    page.wait_for_timeout(500)
    resources = [
        {
            "type": kinds[r][0],
            "url": kinds[r][1],
            "bytes": sizes[r],
            "encoding": {k.lower(): v for k, v in kinds[r][2].items()}.get("content-encoding", ""),
        }
        for r in sizes
        if r in kinds
    ]
    page.close()
    counted = [r for r in resources if r["type"] in COUNTED]
    return {"total": sum(r["bytes"] for r in counted), "resources": counted}


def _report(name, result):
    lines = [f"{name}: {result['total'] / 1024:.1f} KB"] + [
        f"  {r['type']:<10} {r['bytes'] / 1024:7.1f} KB {r['encoding'] or 'identity':<8} {urlparse(r['url']).path}"
        for r in result["resources"]
    ]
    print("\n".join(lines))
    return "\n".join(lines)


@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "participant"])
@pytest.mark.parametrize("which", ["consultation", "hearing"])
def test_first_load_fits_the_budget(browser, showcase, which, signed_in):  # noqa: F811
    context = browser.new_context(locale="en-GB")
    if signed_in:
        sign_in(context, showcase["base"], "a11y-participant@example.org")
    path = (
        f"/consultations/{showcase['open_slug']}" if which == "consultation" else f"/hearings/{showcase['hearing_id']}"
    )
    result = measure(context, showcase["base"] + path)
    text = _report(f"{which} ({'participant' if signed_in else 'visitor'})", result)
    assert {r["type"] for r in result["resources"]} >= {"Document", "Stylesheet", "Script"}
    for r in result["resources"]:
        if r["bytes"] > 1024:
            assert r["encoding"] in ("br", "gzip", "zstd", "deflate"), f"sent uncompressed: {r['url']}"
    assert result["total"] <= BUDGET, text
    context.close()


def test_the_big_demo_consultation_fits_the_budget_too(browser, showcase):  # noqa: F811
    context = browser.new_context(locale="ar")
    result = measure(context, showcase["base"] + "/consultations/improving-bowling-green?sort=agreed&lang=ar")
    assert result["total"] <= BUDGET, _report("Bowling Green (ar)", result)
    context.close()


def test_static_files_are_cached_for_good_and_not_fetched_again(browser, showcase):  # noqa: F811
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    url = f"{showcase['base']}/consultations/{showcase['open_slug']}"
    page.goto(url)
    statics = [
        u
        for u in page.eval_on_selector_all("link[rel=stylesheet], script[src]", "els => els.map(e => e.href || e.src)")
    ]
    assert statics and all("?v=" in u for u in statics), statics  # content-hashed URLs
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    from_network, from_cache = [], set()
    cdp.on("Network.requestServedFromCache", lambda e: from_cache.add(e["requestId"]))
    cdp.on(
        "Network.responseReceived",
        lambda e: from_network.append(
            (
                e["requestId"],
                e["response"]["url"],
                e["response"].get("fromDiskCache") or e["response"].get("fromPrefetchCache"),
            )
        ),
    )
    page.goto(url)
    page.wait_for_timeout(300)
    refetched = [u for rid, u, cached in from_network if "/static/" in u and not cached and rid not in from_cache]
    assert not refetched, f"fetched again despite immutable caching: {refetched}"
    context.close()


def test_nothing_comes_from_another_origin(browser, showcase):  # noqa: F811
    from tests.browser.test_accessibility import CREDENTIALS, pages

    origin = urlparse(showcase["base"]).netloc
    foreign = []
    for role, paths in pages(showcase).items():
        context = browser.new_context(locale="en-GB")
        if role in CREDENTIALS:
            email, password = CREDENTIALS[role]
            sign_in(context, showcase["base"], email, *([password] if password else []))
        page = context.new_page()
        page.on(
            "request",
            lambda r: (
                foreign.append(r.url)
                if urlparse(r.url).scheme in ("http", "https", "ws", "wss") and urlparse(r.url).netloc != origin
                else None
            ),
        )
        for path in paths:
            page.goto(showcase["base"] + path)
            for selector, attribute in (
                ("link[href]", "href"),
                ("script[src]", "src"),
                ("img[src]", "src"),
                ("iframe[src]", "src"),
                ("source[src]", "src"),
            ):
                for value in page.eval_on_selector_all(selector, f"els => els.map(e => e.{attribute})"):
                    parsed = urlparse(value)
                    if parsed.scheme in ("http", "https") and parsed.netloc != origin:
                        foreign.append(f"{path}: {value}")
        context.close()
    assert not foreign, foreign

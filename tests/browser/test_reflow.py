"""Reflow at 320 CSS px (WCAG 1.4.10): no page of the site scrolls sideways.

The list of pages is the app's own URL map (every GET route that renders HTML), filled in from a
small seeded site, so a page added later is checked too (or the test says which value it lacks).
Wide tables may scroll inside their own labelled, focusable region: that region is not the page.
One browser, one context: visitor first, then each role signed in."""

import pytest

from tests.browser.small_site import sign_in, sign_out, small_site  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

WIDTH = 320
# Not pages: machine formats, redirects and probes.
NOT_PAGES = {
    "static",
    "main.healthz",
    "main.readyz",
    "main.set_language",
    "main.favicon",
    "auth.export_data",
    "moderation.audit_export",
}
# Routes whose only stored instance the small site cannot make (a spam campaign needs dozens of
# near-identical views); checked by tests/browser/test_accessibility.py on the demo instead.
UNSEEDED = {"moderation.campaign", "notifications.unsubscribe"}  # the second: a token only an email carries
# Who opens a page when a visitor cannot.
ROLE_OF = {
    "admin.": "admin",
    "reports.admin_index": "admin",
    "hearings.new": "admin",
    "offline.": "admin",
    "sms.": "admin",
    "moderation.queue": "moderator",
    "moderation.appeals": "moderator",
    "moderation.item": "moderator",
    "moderation.audit_log": "admin",
    "organisations.accreditation_requests": "admin",
    "organisations.new": "participant",
    "auth.profile": "participant",
    "auth.security": "participant",
    "auth.two_factor": "participant",
    "moderation.my_views": "participant",
    "main.dashboard": "admin",
}


def _values(s: dict) -> dict:
    return {
        "slug": s["slug"],
        "consultation_id": s["consultation_id"],
        "hearing_id": s["hearing_id"],
        "report_id": s["report_id"],
        "organisation_id": s["organisation_id"],
        "submission_id": s["submission_id"],
    }


def _pages(app, s: dict) -> tuple[dict[str, list[str]], list[str]]:
    """Paths by role, from the URL map; and the routes it could not fill in.

    The URL map is the test session's app (never a second create_app here: that rebinds the one
    Socket.IO server to a throwaway app, and every later socket test's connect is refused)."""
    values = _values(s)
    by_role: dict[str, list[str]] = {"visitor": [], "participant": [], "moderator": [], "chair": [], "admin": []}
    missing = []
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        if "GET" not in rule.methods or endpoint in NOT_PAGES or endpoint in UNSEEDED or endpoint.startswith("api_"):
            continue
        if any(rule.rule.endswith(ext) for ext in (".json", ".csv", ".pdf", ".zip", ".ico")):
            continue
        if any(arg not in values for arg in rule.arguments):
            missing.append(f"{endpoint} ({', '.join(sorted(rule.arguments - values.keys()))})")
            continue
        with app.test_request_context():
            from flask import url_for

            args = {arg: values[arg] for arg in rule.arguments}
            if endpoint == "organisations.statement":
                args["submission_id"] = s["statement_id"]  # an organisation's statement, not the held view
            path = url_for(endpoint, **args)
        role = next(
            (
                r
                for prefix, r in ROLE_OF.items()
                if endpoint == prefix or (prefix.endswith(".") and endpoint.startswith(prefix))
            ),
            "visitor",
        )
        by_role[role].append(path)
    # The pages that look different for someone: the closed consultation and its analyses, the
    # ended hearing, the chair's console, the draft report on the desk.
    closed = s["closed_slug"]
    by_role["visitor"] += [
        f"/consultations/{closed}",
        f"/consultations/{closed}/themes",
        f"/consultations/{closed}/opinions",
        f"/consultations/{closed}/balance",
        f"/hearings/{s['past_hearing_id']}/transcript",
    ]
    by_role["chair"] += [f"/hearings/{s['hearing_id']}"]
    by_role["admin"] += [f"/reports/{s['draft_report_id']}", f"/admin/consultations/{s['closed_id']}"]
    return by_role, missing


SCROLL_WIDTH = """() => {
  const doc = document.documentElement;
  const wide = [...document.querySelectorAll('body *')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && (r.right > doc.clientWidth + 1 || r.left < -1) && !e.closest('.table-scroll');
  }).slice(0, 3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ')[0] : '')
                          + ' ' + Math.round(e.getBoundingClientRect().width) + 'px');
  return [doc.scrollWidth, wide];
}"""


def test_every_page_reflows_at_320_px(app, browser, small_site):
    pages, missing = _pages(app, small_site)
    assert not missing, f"the reflow check has no value for these routes' arguments: {missing}"
    base = small_site["base"]
    context = browser.new_context(viewport={"width": WIDTH, "height": 640}, locale="en-GB")
    page = context.new_page()
    too_wide, failed, checked = [], [], 0
    for role in ("visitor", "participant", "moderator", "chair", "admin"):
        if role != "visitor":
            sign_in(page, base, role)
        for lang in ("en", "ar"):
            for path in pages[role]:
                response = page.goto(base + path + ("&" if "?" in path else "?") + f"lang={lang}")
                if response.status >= 400:
                    failed.append(f"{role} {path}: {response.status}")
                    continue
                width, culprits = page.evaluate(SCROLL_WIDTH)
                checked += 1
                if width > WIDTH:
                    too_wide.append(f"{role} {lang} {path}: {width}px ({'; '.join(culprits)})")
        # Tables that scroll in their own region say what they are and can be reached by keyboard.
        for region in page.locator(".table-scroll").all():
            assert region.get_attribute("tabindex") == "0" and region.get_attribute("role") == "region"
            assert region.get_attribute("aria-labelledby") or region.get_attribute("aria-label")
        if role != "visitor":
            sign_out(page)
    context.close()
    assert not too_wide, "pages that scroll sideways at 320 px:\n" + "\n".join(too_wide)
    assert not failed, failed
    assert checked > 60, checked

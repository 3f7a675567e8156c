"""WCAG 2.1 AA, checked by axe-core in headless Chromium on every main page in English and Arabic
(zero serious or critical violations), and keyboard-only submitting and voting with visible focus.

axe is vendored in tests/vendor/axe-core (test-only, never served). The app's CSP forbids inline
scripts, so only the contexts that inject axe bypass it."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from agora.services.demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD
from tests.browser.showcase import showcase, sign_in  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

AXE = (Path(__file__).resolve().parent.parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations"],
}
LANGUAGES = ("en", "ar")


def pages(s: dict) -> dict[str, list[str]]:
    """Who sees which page: every main page of the site, by the role that can open it."""
    slug, hid, rid = s["open_slug"], s["hearing_id"], s["report_id"]
    return {
        "visitor": [
            "/",
            "/about",
            "/consultations/",
            f"/consultations/{slug}",
            "/consultations/improving-bowling-green?sort=agreed",
            "/consultations/improving-bowling-green/themes",
            "/consultations/improving-bowling-green/opinions",
            "/consultations/improving-bowling-green/balance",
            "/account/register",
            "/account/login",
            "/reports/",
            *([f"/reports/{rid}"] if rid else []),
            "/reports/verify",
            "/hearings/",
            f"/hearings/{hid}",
            f"/hearings/{hid}/transcript",
            "/organisations/",
            "/organisations/accreditation-criteria",
            "/organisations/accreditation-log",
        ],
        "participant": [
            f"/consultations/{slug}",
            "/account/profile",
            "/account/views",
            "/account/security",
            f"/hearings/{hid}",
            "/organisations/new",
        ],
        "moderator": ["/moderation/", "/moderation/appeals"],
        "admin": [
            "/admin/",
            "/admin/consultations/new",
            f"/admin/consultations/{s['open_id']}",
            f"/admin/consultations/{s['open_id']}/translations",
            "/admin/roles",
            "/admin/reports",
            "/admin/audit",
            "/hearings/new",
            "/organisations/accreditation",
            "/sms/keywords",
            f"/consultations/{slug}/import",
            f"/hearings/{hid}",
        ],
    }


CREDENTIALS = {
    "participant": ("a11y-participant@example.org", None),
    "moderator": ("a11y-moderator@example.org", None),
    "admin": (DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD),
}


def _with_lang(path: str, lang: str) -> str:
    return path + ("&" if "?" in path else "?") + f"lang={lang}"


def _axe(page) -> list[dict]:
    page.add_script_tag(content=AXE)
    result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("role", ["visitor", "participant", "moderator", "admin"])
def test_no_serious_or_critical_axe_violations(browser, showcase, role):  # noqa: F811
    context = browser.new_context(bypass_csp=True, locale="en-GB")
    if role in CREDENTIALS:
        email, password = CREDENTIALS[role]
        sign_in(context, showcase["base"], email, *([password] if password else []))
    page = context.new_page()
    problems, checked = [], 0
    for path in pages(showcase)[role]:
        for lang in LANGUAGES:
            response = page.goto(showcase["base"] + _with_lang(path, lang))
            assert response.status == 200, f"{path} ({role}) answered {response.status}"
            assert page.locator("html").get_attribute("lang") == lang
            checked += 1
            for violation in _axe(page):
                targets = [" ".join(map(str, n["target"])) for n in violation["nodes"][:3]]
                problems.append(
                    f"{path} [{lang}] {violation['id']} ({violation['impact']}): {violation['help']} — {targets}"
                )
    context.close()
    assert checked and not problems, json.dumps(problems, indent=1, ensure_ascii=False)


def _tab_to(page, selector: str, limit: int = 250) -> None:
    """Press Tab until the element matching ``selector`` has the focus (never click)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the keyboard")


def _focus_is_visible(page) -> bool:
    return page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none'; }"""
    )


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_submitting_and_voting_with_the_keyboard_alone(browser, showcase, javascript):  # noqa: F811
    context = browser.new_context(java_script_enabled=javascript, locale="en-GB")
    sign_in(context, showcase["base"], "a11y-participant@example.org")
    page = context.new_page()
    page.goto(f"{showcase['base']}/consultations/{showcase['open_slug']}?lang=en")
    # The skip link comes first and is visible when focused.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('skip-link')")
    assert _focus_is_visible(page)
    _tab_to(page, "textarea[name=text]")
    assert _focus_is_visible(page)
    text = f"Keyboard users must be able to take part in every consultation ({'js' if javascript else 'no-js'})."
    page.keyboard.type(text)
    _tab_to(page, "form.form [type=submit]")
    assert _focus_is_visible(page)
    page.keyboard.press("Enter")
    view = page.locator("li.view", has_text=text)
    expect(view).to_have_count(1)
    view_id = view.get_attribute("id")
    _tab_to(page, f"#{view_id} button.vote.agree")
    assert _focus_is_visible(page)
    page.keyboard.press("Enter" if javascript else "Space")
    expect(page.locator(f"#{view_id} button.vote.agree")).to_have_attribute("aria-pressed", "true")
    context.close()


def test_posting_in_a_hearing_with_the_keyboard_alone(browser, showcase):  # noqa: F811
    context = browser.new_context(locale="en-GB")
    sign_in(context, showcase["base"], "a11y-participant@example.org")
    page = context.new_page()
    page.goto(f"{showcase['base']}/hearings/{showcase['hearing_id']}?lang=en")
    _tab_to(page, "textarea[name=text]")
    assert _focus_is_visible(page)
    text = "Typed and sent without a mouse."
    page.keyboard.type(text)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    assert _focus_is_visible(page)
    page.keyboard.press("Enter")
    expect(page.locator("#thread li.message", has_text=text)).to_have_count(1)
    # Voting on a message, from the top of a fresh page.
    page.goto(f"{showcase['base']}/hearings/{showcase['hearing_id']}?lang=en")
    message = page.locator("#thread li.message", has_text="Regional data centres").first
    message_id = message.get_attribute("id")
    _tab_to(page, f"#{message_id} button.vote[value=agree]")
    assert _focus_is_visible(page)
    page.keyboard.press("Enter")
    expect(page.locator(f"#{message_id} button.vote[value=agree]")).to_have_attribute("aria-pressed", "true")
    context.close()

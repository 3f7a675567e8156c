"""Closing the loop by email, in Chromium: an Arabic-speaking participant asks, on the
notification preferences page, for an email when a moderator decides on a view of theirs; posts
an insult that screening holds; a moderator rejects it from the queue. The server process's
mail job hands the email to a real local SMTP server (aiosmtpd): to the participant only, in
Arabic, saying what was decided and why, with a link to the view on the server's PUBLIC_URL
that opens it, and an unsubscribe link. The other author whose view the moderator rejected,
who never asked for email, gets none; nor does the moderator."""

import json
import re

import pytest
from babel.support import Translations
from playwright.sync_api import expect

from tests.browser.small_site import PASSWORD, ROLES, run_seed, sign_in, sign_out
from tests.live_server import ROOT, LiveServer, free_port, separate_database
from tests.mailbox import Inbox, smtp_server

pytestmark = pytest.mark.browser
ARABIC = Translations.load(str(ROOT / "agora" / "translations"), ["ar"])
INSULT = "أنت حمار وحقير، اخرس يا كلب، لا أحد يريد سماع كلامك القذر"  # tests/browser/test_moderation_languages.py
SPAM = "Buy cheap pills now http://spam.example http://spam.example http://spam.example"
QUIET = "quiet-author@example.org"  # wrote a view that is rejected too; never asked for email
TITLE_AR = "حوكمة الذكاء الاصطناعي من أجل التنمية المستدامة"
MAIL_WAIT_SECONDS = 15  # the decision's request starts the job process's mail run; it usually lands in a second or two
SEED = r"""
import json, sys
from agora import create_app
from agora.services.accounts import accounts
from agora.services.participation import consultations, submissions
password, roles, quiet, spam, title_ar = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
app = create_app()
with app.app_context():
    moderator = accounts.register(roles["moderator"], password, "Moderator Ken")
    accounts.assign_role(moderator, "moderator", None, None)
    layla = accounts.register(roles["participant"], password, "ليلى")
    accounts.update_profile(layla, accounts.Profile(display_name="ليلى", constituency=None, country="EG",
                            gender=None, languages="ar", locale="ar"))
    quiet_author = accounts.register(quiet, password, "Quiet")
    consultation = consultations.create(consultations.ConsultationInput(
        title="Governing artificial intelligence for sustainable development", summary="How should AI be governed?",
        status="open", languages="en,ar"))
    consultations.save_translation(consultation, "ar", title_ar, "كيف ينبغي حوكمة الذكاء الاصطناعي؟")
    held, _ = submissions.submit(consultation.id, quiet_author, spam)
    assert held.state == "held", held.state
    print(json.dumps({"slug": consultation.slug}))
"""


def ar(message: str) -> str:
    """What an Arabic reader sees for ``message`` (the site's own catalogue)."""
    translated = ARABIC.gettext(message)
    assert translated != message, f"not translated into Arabic: {message}"
    return translated


@pytest.fixture(scope="module")
def mail_site():
    inbox = Inbox()
    with smtp_server(inbox) as smtp_port:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        database_url = separate_database("mail")
        server = LiveServer(
            database_url,
            port=port,
            env={
                "AGORA_SMTP_HOST": "127.0.0.1",
                "AGORA_SMTP_PORT": str(smtp_port),
                "AGORA_SMTP_SECURITY": "none",
                "AGORA_MAIL_FROM": "Agora <agora@example.org>",
                "AGORA_PUBLIC_URL": url,
            },
        ).wait(timeout=240)
        server.database_url = database_url
        try:
            data = run_seed(server, SEED, PASSWORD, json.dumps(ROLES), QUIET, SPAM, TITLE_AR)
            yield {**data, "base": url, "inbox": inbox}
        finally:
            server.stop()


def test_a_moderators_decision_reaches_the_author_by_email_in_arabic(browser, mail_site):
    base, inbox = mail_site["base"], mail_site["inbox"]
    participant = browser.new_context(locale="ar")
    page = participant.new_page()
    sign_in(page, base, "participant")

    page.goto(base + "/account/notifications/preferences")  # in her language: her account's
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    choice = page.locator("fieldset", has=page.locator("legend", has_text=ar("A moderator decided on a view of yours")))
    choice.get_by_label(ar("In the app and by email")).check()
    page.get_by_role("button", name=ar("Save preferences")).click()
    expect(page.locator(".flashes")).to_contain_text(ar("Your notification preferences are saved."))
    expect(choice.get_by_label(ar("In the app and by email"))).to_be_checked()

    page.goto(f"{base}/consultations/{mail_site['slug']}")
    page.get_by_role("textbox", name=ar("Your view")).fill(INSULT)
    page.get_by_role("button", name=ar("Submit my view")).click()
    expect(page.locator(".flashes")).to_contain_text(
        ar("Thank you: your view is saved and will be published once a moderator has reviewed it.")
    )

    moderator = browser.new_context(locale="en-GB")
    queue = moderator.new_page()
    sign_in(queue, base, "moderator")
    for text in (SPAM, INSULT):  # the other author's first: an email wrongly made for it would arrive first
        queue.goto(base + "/moderation/?lang=en")
        queue.locator("tr", has_text=text).get_by_role("link").first.click()
        reject = queue.locator("form.decide-form", has=queue.locator("input[name=action][value=reject]"))
        reject.get_by_label("Reason (code of conduct)").select_option(
            label="Spam: advertising, link floods, repeated posting"
            if text == SPAM
            else "Abuse: hate, harassment, threats or insults"
        )
        reject.get_by_role("button", name="Reject").click()
        expect(queue.locator(".flashes")).to_contain_text("Decision recorded.")
    moderator.close()

    received = inbox.wait_for(ROLES["participant"], timeout=MAIL_WAIT_SECONDS)
    assert len(received) == 1, (
        f"{len(received)} email(s) to the participant in {MAIL_WAIT_SECONDS} s; all received: {inbox.messages}"
    )
    [message] = received
    assert message["To"] == ROLES["participant"]
    assert message["Subject"].startswith(ar("Agora: %(text)s") % {"text": ""})
    said = ar("A moderator rejected your view in “%(title)s” (%(reason)s). You may appeal once, from “My views”.") % {
        "title": TITLE_AR,
        "reason": ar("Abuse: hate, harassment, threats or insults"),
    }
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert said in text and ar("Here is what happened to your input on Agora.") in text
    assert '<html lang="ar" dir="rtl">' in html
    link = re.search(re.escape(base) + r"/account/views\?view=(\d+)#v\1", text).group(0)
    assert f'href="{link}"' in html
    unsubscribe = message["List-Unsubscribe"]
    assert (
        unsubscribe.startswith(f"<{base}/notifications/unsubscribe/")
        and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    )
    assert [rcpt for rcpt, _message in inbox.messages] == [
        [ROLES["participant"]]
    ]  # not the moderator, not the other author

    sign_out(page)  # she reads her mail elsewhere: the link asks her to sign in, then opens at her view
    page.goto(link)
    page.get_by_label(ar("Email")).fill(ROLES["participant"])
    page.get_by_label(ar("Password"), exact=True).fill(PASSWORD)
    page.get_by_role("button", name=ar("Sign in")).click()
    fragment = link.rpartition("#")[2]
    expect(page).to_have_url(f"{base}/account/views#{fragment}")  # at her view, not the top of the page
    view = page.locator(f"article#{fragment}")
    expect(view).to_contain_text(INSULT)
    expect(view).to_contain_text(ar("Rejected by a moderator"))
    sign_out(page)
    page.goto(unsubscribe.strip("<>"))  # works without signing in; a GET only shows the button
    expect(page.get_by_role("button", name=ar("Unsubscribe from all email"))).to_be_visible()
    participant.close()

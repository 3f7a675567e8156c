"""Closing the loop: notifications in the app and by email through a real local SMTP server
(aiosmtpd), in the recipient's language; one-click unsubscribe; digests; retries and the
per-recipient limit; and the secretariat's record of what a forum did with a report."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from flask_babel import force_locale, gettext

from agora.extensions import db
from agora.models import Notification, OutgoingEmail, User
from agora.models._base import utcnow
from agora.services import audit, moderation
from agora.services.accounts import accounts, mail, notifications
from agora.services.reporting import reports
from tests.conftest import csrf_from, login
from tests.live_server import free_port
from tests.mailbox import Inbox, smtp_server

ABUSIVE = "You are all worthless idiots and stupid bitches, shut up"
TITLE = "Eau <b>potable</b> & assainissement"


@pytest.fixture
def inbox(app, monkeypatch):
    handler = Inbox()
    with smtp_server(handler) as port:
        for key, value in {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": port,
            "SMTP_SECURITY": "none",
            "JOBS_BACKEND": "inline",
            "MAIL_FROM": "Agora <agora@example.org>",
            "PUBLIC_URL": "https://agora.example.org",
            "MAIL_RETRY_SECONDS": 0,
            "MAIL_WAIT_SECONDS": 0,
        }.items():
            monkeypatch.setitem(app.config, key, value)
        yield handler


@pytest.fixture
def world(app, make):
    cid = make.consultation(title=TITLE)
    ids = {
        "fr": make.user(email="amelie@example.org", name="Amélie"),
        "ar": make.user(email="layla@example.org", name="ليلى"),
        "quiet": make.user(email="quiet@example.org", name="Quiet"),
        "mod": make.user(email="mod@example.org", role="moderator"),
        "admin": make.user(email="admin@example.org", role="admin"),
    }
    with app.app_context():
        for key, locale in (("fr", "fr"), ("ar", "ar")):
            user = db.session.get(User, ids[key])
            user.locale = locale
        db.session.commit()
    return cid, ids


def _opt_in(client, email_address, **channels):
    """Through the real preferences form, signed in as the person."""
    login(client, email_address)
    data = {"csrf_token": csrf_from(client, "/account/notifications/preferences"), **channels}
    response = client.post("/account/notifications/preferences", data=data)
    assert response.status_code == 303
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})


def _user(app, user_id):
    return db.session.get(User, user_id)


def _translated(app, locale, message, **values):
    with app.test_request_context(), force_locale(locale):
        return gettext(message, **values)


def test_moderator_decision_on_a_held_view_emails_its_author_in_french(app, client, make, world, inbox):
    cid, ids = world
    _opt_in(client, "amelie@example.org", view_held="in_app", view_decided="email")
    sid = make.submission(cid, ids["fr"], ABUSIVE)
    with app.app_context():
        kinds = [n.kind for n in db.session.query(Notification).filter_by(user_id=ids["fr"])]
        assert kinds == ["view_held"]  # in the app: no email was asked for this kind
        assert inbox.messages == []
        moderation.decide(_user(app, ids["mod"]), sid, "approve", "within_rules")
    [message] = inbox.to("amelie@example.org")
    assert message["Subject"].startswith("Agora : ") or message["Subject"].startswith("Agora: ")
    assert "Un modérateur a publié votre avis" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert (
        "Un modérateur a publié votre avis" in text
        and f"https://agora.example.org/account/views?view={sid}#v{sid}" in text
    )
    assert "Eau <b>potable</b>" in text  # plain text is plain
    assert "Eau &lt;b&gt;potable&lt;/b&gt; &amp; assainissement" in html and "<b>potable" not in html  # HTML escapes it
    assert '<html lang="fr" dir="ltr">' in html
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://agora.example.org/notifications/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_emails_link_to_a_view_survives_signing_in(app, client, make, world, inbox):
    """Browsers never send a fragment: the link names the view in its query too, so that the sign-in's
    ``next`` keeps it, and My views sends the browser on to the fragment."""
    cid, ids = world
    _opt_in(client, "amelie@example.org", view_held="email")
    sid = make.submission(cid, ids["fr"], ABUSIVE)
    [message] = inbox.to("amelie@example.org")
    link = re.search(r"https://agora\.example\.org(/account/views\S*)", message.get_body(("plain",)).get_content())
    assert link.group(1).endswith(f"#v{sid}")
    path = urlsplit(link.group(1))
    signed_out = app.test_client()
    to_sign_in = signed_out.get(f"{path.path}?{path.query}")  # what a browser sends: no fragment
    assert to_sign_in.status_code == 302
    next_ = parse_qs(urlsplit(to_sign_in.location).query)["next"][0]
    form = {"email": "amelie@example.org", "password": "correct horse battery", "next": next_}
    signed_in = signed_out.post("/account/login", data={**form, "csrf_token": csrf_from(signed_out)})
    assert signed_in.status_code == 302
    landing = signed_out.get(signed_in.location)
    assert landing.status_code == 302 and landing.location.endswith(f"/account/views#v{sid}")
    assert f'id="v{sid}"' in signed_out.get(landing.location).get_data(as_text=True)
    # the rest of the query is kept as it came, never read as Flask's own url_for options
    odd = signed_out.get(f"/account/views?view={sid}&lang=fr&_anchor=x&_external=1")
    assert odd.status_code == 302 and odd.location == f"/account/views?lang=fr&_anchor=x&_external=1#v{sid}"


def test_report_transmitted_reaches_an_arabic_participant_in_arabic_and_never_a_non_opted_in_one(
    app, client, make, world, inbox
):
    cid, ids = world
    _opt_in(client, "layla@example.org", report_transmitted="email")
    make.submission(cid, ids["ar"], "نحتاج إلى مياه شرب نظيفة في كل قرية.")
    make.submission(cid, ids["quiet"], "Every village needs a safe water point.")
    with app.app_context():
        from agora.services.participation import consultations

        consultations.set_status(consultations.get(cid), "closed")
        report = reports.freeze(reports.create_draft(cid, None).id, None)
        forum = reports.create_forum("المنتدى السياسي الرفيع المستوى")
        reports.transmit(report.id, forum.id, None)
        reports.transmit(report.id, forum.id, None)  # transmitted again (say its webhook failed): told once
        assert db.session.query(Notification).filter_by(user_id=ids["quiet"], kind="report_transmitted").count() == 1
    assert inbox.to("quiet@example.org") == []  # in the app only: email is off by default
    [message] = inbox.to("layla@example.org")
    expected = _translated(
        app,
        "ar",
        "The report on “%(title)s”, a consultation you took part in, was sent to %(forum)s.",
        title=TITLE,
        forum="المنتدى السياسي الرفيع المستوى",
    )
    assert expected != "The report on “%(title)s”, a consultation you took part in, was sent to %(forum)s." % {
        "title": TITLE,
        "forum": "المنتدى السياسي الرفيع المستوى",
    }
    assert expected in message.get_body(("plain",)).get_content()
    assert '<html lang="ar" dir="rtl">' in message.get_body(("html",)).get_content()
    assert len(inbox.messages) == 1


def test_unsubscribe_link_works_without_signing_in_and_stops_further_mail(app, client, make, world, inbox):
    cid, ids = world
    _opt_in(client, "amelie@example.org", view_held="email")
    make.submission(cid, ids["fr"], ABUSIVE)
    [message] = inbox.to("amelie@example.org")
    link = re.search(
        r"https://agora\.example\.org(/notifications/unsubscribe/\S+)", message.get_body(("plain",)).get_content()
    ).group(1)
    anonymous = app.test_client()
    page = anonymous.get(link)
    assert page.status_code == 200 and "Unsubscribe from all email" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, ids["fr"]) is not None
        assert (
            notifications.preferences(_user(app, ids["fr"])).channels["view_held"] == "email"
        )  # a GET changes nothing
    done = anonymous.post(link)  # the page's button: no session, no CSRF token, the signed link is enough
    assert done.status_code == 200
    make.submission(cid, ids["fr"], ABUSIVE + " again")
    assert len(inbox.to("amelie@example.org")) == 1  # nothing more
    with app.app_context():
        assert notifications.preferences(_user(app, ids["fr"])).channels["view_held"] == "in_app"
        assert db.session.query(Notification).filter_by(user_id=ids["fr"]).count() == 2  # still told in the app
    assert anonymous.post(link[:-3] + "xyz").status_code == 404  # a tampered token does nothing


def test_one_click_unsubscribe_post_from_a_mail_client(app, client, make, world, inbox):
    cid, ids = world
    _opt_in(client, "amelie@example.org", view_held="email")
    make.submission(cid, ids["fr"], ABUSIVE)
    [message] = inbox.to("amelie@example.org")
    url = message["List-Unsubscribe"].strip("<>").replace("https://agora.example.org", "")
    response = app.test_client().post(url, data={"List-Unsubscribe": "One-Click"})  # RFC 8058
    assert response.status_code == 204
    with app.app_context():
        assert notifications.preferences(_user(app, ids["fr"])).channels["view_held"] == "in_app"


def test_the_daily_digest_gathers_several_events_into_one_email(app, client, make, world, inbox):
    cid, ids = world
    _opt_in(client, "amelie@example.org", view_held="email", view_decided="email", digest="1")
    held = [make.submission(cid, ids["fr"], f"{ABUSIVE} ({i})") for i in range(2)]
    with app.app_context():
        moderation.decide(_user(app, ids["mod"]), held[0], "reject", "abuse")
        assert inbox.messages == []  # waits for the digest
        mail.process(now=utcnow() + timedelta(hours=1))
        assert inbox.messages == []  # not a day yet
        mail.process(now=utcnow() + timedelta(hours=25))
    [message] = inbox.to("amelie@example.org")
    text = message.get_body(("plain",)).get_content()
    assert "3" in message["Subject"]
    assert text.count("* ") == 3
    assert "Un modérateur a rejeté votre avis" in text


def test_a_retried_fan_out_job_tells_each_participant_once(app, make, world, monkeypatch):
    """The job that tells a large consultation's participants commits batch by batch; run again
    after its process died part-way, it tells only those it had not reached."""
    cid, ids = world
    for key in ("fr", "ar", "quiet"):
        make.submission(cid, ids[key], f"A view on safe water from {key}.")
    monkeypatch.setattr(notifications, "FAN_OUT_BATCH", 2)  # three people: two batches
    calls = {"n": 0}
    real_add = notifications.add

    def dies_after_the_first_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the job process was killed")
        return real_add(*args, **kwargs)

    params = '{"report_id": 7, "forum": "HLPF"}'
    with app.app_context():
        monkeypatch.setattr(notifications, "add", dies_after_the_first_batch)
        with pytest.raises(RuntimeError):
            notifications.fan_out("report_transmitted", cid, params)
        db.session.rollback()
        monkeypatch.setattr(notifications, "add", real_add)
        assert notifications.fan_out("report_transmitted", cid, params) == 1  # the one not reached
        counts = [
            db.session.query(Notification).filter_by(user_id=ids[key], kind="report_transmitted").count()
            for key in ("fr", "ar", "quiet")
        ]
    assert counts == [1, 1, 1]


def test_turning_email_off_stops_what_was_waiting_for_the_digest(app, client, make, world, inbox):
    cid, ids = world
    _opt_in(client, "amelie@example.org", view_held="email", view_decided="email", digest="1")
    make.submission(cid, ids["fr"], ABUSIVE)  # held: waits for tomorrow's digest
    _opt_in(client, "amelie@example.org", view_held="in_app", view_decided="in_app", digest="1")
    with app.app_context():
        mail.process(now=utcnow() + timedelta(hours=25))
        assert db.session.query(Notification).filter_by(user_id=ids["fr"]).count() == 1  # still in the app
    assert inbox.to("amelie@example.org") == []


def test_a_deleted_account_is_emailed_nothing_more_and_the_outbox_forgets_its_address(
    app, client, make, world, inbox, monkeypatch
):
    cid, ids = world
    _opt_in(client, "amelie@example.org", view_held="email")
    monkeypatch.setattr(notifications, "schedule_mail", lambda: None)  # this test runs the job itself
    make.submission(cid, ids["fr"], ABUSIVE)
    inbox.refuse = 1
    with app.app_context():
        assert mail.process(wait=False)["retry"] == 1  # the mail server refused it: it waits for a retry
        accounts.delete_account(_user(app, ids["fr"]), "correct horse battery")
        assert mail.process(now=utcnow() + timedelta(hours=2), wait=False)["sent"] == 0
        [row] = db.session.query(OutgoingEmail).filter_by(user_id=ids["fr"]).all()
        assert (row.state, row.to_address, row.text_body) == ("cancelled", "", "")
    assert inbox.to("amelie@example.org") == []


def test_a_refused_email_is_retried_with_the_reason_logged_and_the_recipient_limit_holds(
    app, client, make, world, inbox, monkeypatch, caplog
):
    cid, ids = world
    monkeypatch.setitem(app.config, "MAIL_PER_RECIPIENT_PER_HOUR", 2)
    _opt_in(client, "amelie@example.org", view_held="email")
    monkeypatch.setattr(notifications, "schedule_mail", lambda: None)  # this test runs the job itself
    for i in range(3):
        make.submission(cid, ids["fr"], f"{ABUSIVE} [{i}]")
    inbox.refuse = 1
    with app.app_context():
        first = mail.process(wait=False)
        # the first is refused and waits; the other two go; the limit of 2 an hour then holds it back
        assert first == {"sent": 2, "failed": 0, "retry": 1, "deferred": 0}
        waiting = db.session.query(OutgoingEmail).filter_by(state="queued").one()
        assert "451" in waiting.last_error and "451" in caplog.text
        second = mail.process(wait=False)
        assert second["sent"] == 0 and second["deferred"] == 1
        assert len(inbox.to("amelie@example.org")) == 2
        assert db.session.query(OutgoingEmail).filter_by(state="queued").count() == 1  # kept for the next hour
        third = mail.process(now=utcnow() + timedelta(hours=1, minutes=1))
        assert third["sent"] == 1 and len(inbox.to("amelie@example.org")) == 3


def test_notifications_in_the_app_unread_count_and_mark_read(app, client, make, world):
    cid, ids = world
    make.submission(cid, ids["fr"], ABUSIVE)
    login(client, "amelie@example.org")
    page = client.get("/account/notifications?lang=fr").get_data(as_text=True)
    assert "1 non lue" in page  # the header's count, in French
    assert "Eau &lt;b&gt;potable&lt;/b&gt; &amp; assainissement" in page  # the title, escaped
    response = client.post(
        "/account/notifications/read", data={"csrf_token": csrf_from(client, "/account/notifications")}
    )
    assert response.status_code == 303
    assert "unread-count" not in client.get("/account/notifications").get_data(as_text=True)
    assert client.post("/account/notifications/read", data={}).status_code == 400  # CSRF


def test_secretariat_records_a_forum_response_shown_on_the_consultation_and_my_views(app, client, make, world):
    cid, ids = world
    make.submission(cid, ids["ar"], "نحتاج إلى مياه شرب نظيفة في كل قرية.")
    with app.app_context():
        from agora.services.participation import consultations

        consultations.set_status(consultations.get(cid), "closed")
        report = reports.freeze(reports.create_draft(cid, None).id, None)
        forum = reports.create_forum("High-level political forum")
        reports.transmit(report.id, forum.id, None)
        report_id, slug = report.id, consultations.get(cid).slug
    url = f"/admin/reports/{report_id}/responses"
    text = "اعتمد المنتدى التوصيات (see the SDG 6 review?) بالإجماع."
    form = {
        "forum_id": str(forum.id),
        "decision": "adopted",
        "decided_on": "2026-07-15",
        "document": "E/HLPF/2026/L.3",
        "url": "javascript:alert(1)",
        "text": text,
        "text_language": "ar",
    }

    login(client, "amelie@example.org")  # a participant may not
    assert client.post(url, data={**form, "csrf_token": csrf_from(client, "/")}).status_code == 403
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})

    login(client, "admin@example.org")
    assert client.post(url, data=form).status_code == 400  # no CSRF token
    bad = client.post(url, data={**form, "csrf_token": csrf_from(client, "/")})
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert (
        "https://" in body and "E/HLPF/2026/L.3" in body and "بالإجماع" in body
    )  # the message, and nothing typed is lost
    good = client.post(
        url, data={**form, "url": "https://undocs.org/E/HLPF/2026/L.3", "csrf_token": csrf_from(client, "/")}
    )
    assert good.status_code == 303
    with app.app_context():
        assert audit.verify().ok
        entry = [r for r in moderation.audit_rows(_user(app, ids["admin"]), limit=5) if r["action"] == "forum_response"]
        assert entry and entry[0]["to_state"] == "adopted" and entry[0]["submission_id"] is None
        assert db.session.query(Notification).filter_by(user_id=ids["ar"], kind="forum_response").count() == 1
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})

    page = app.test_client().get(f"/consultations/{slug}?lang=fr").get_data(as_text=True)
    assert _translated(app, "fr", "What happened with your input") in page and _translated(app, "fr", "Adopted") in page
    assert (
        f'<blockquote lang="ar" dir="auto">{text}</blockquote>' in page
    )  # isolated: its English keeps its punctuation
    assert 'href="https://undocs.org/E/HLPF/2026/L.3"' in page

    login(client, "layla@example.org")
    mine = client.get("/account/views").get_data(as_text=True)
    assert _translated(app, "ar", "What happened with your input") in mine and "E/HLPF/2026/L.3" in mine


def test_the_language_picked_in_the_header_is_the_language_of_the_emails(app, client, make, world, inbox):
    cid, ids = world
    _opt_in(client, "quiet@example.org", view_held="email")
    login(client, "quiet@example.org")
    assert client.get("/language/ru?next=/").status_code == 302
    make.submission(cid, ids["quiet"], ABUSIVE)
    [message] = inbox.to("quiet@example.org")
    assert "ждёт модератора" in message["Subject"]
    assert '<html lang="ru" dir="ltr">' in message.get_body(("html",)).get_content()


def test_a_view_that_waited_for_screening_tells_its_author_when_it_is_published(app, make, world):
    """Screening was unavailable (the view stayed pending); when it runs again, the author is told."""
    from agora.models import Submission
    from agora.services.moderation import screening

    cid, ids = world
    with app.app_context():
        waiting = Submission(
            consultation_id=cid,
            author_id=ids["fr"],
            text="Chaque village a besoin d'un point d'eau potable.",
            state="pending",
        )
        db.session.add(waiting)
        db.session.commit()
        assert screening.rescreen_pending() == 1
        assert db.session.get(Submission, waiting.id).state == "published"
        [told] = db.session.query(Notification).filter_by(user_id=ids["fr"]).all()
        assert told.kind == "view_published"
        with app.test_request_context("/?lang=fr"):
            [described] = notifications.describe([told], "fr")
        assert described.text.startswith(
            "Votre avis dans « Eau <b>potable</b> & assainissement » a été vérifié et publié"
        )
        assert described.url.endswith(f"/account/views?view={waiting.id}#v{waiting.id}")


def test_an_appeal_decided_by_another_moderator_emails_the_author_in_arabic(app, client, make, world, inbox):
    cid, ids = world
    second = make.user(email="mod2@example.org", role="moderator")
    _opt_in(client, "layla@example.org", view_held="off", view_decided="in_app", appeal_decided="email")
    sid = make.submission(cid, ids["ar"], ABUSIVE)
    with app.app_context():
        moderation.decide(_user(app, ids["mod"]), sid, "reject", "abuse")
        appeal = moderation.appeal(_user(app, ids["ar"]), sid, "هذا رأي مشروع.")
        assert inbox.messages == []  # the rejection: in the app only, as chosen
        moderation.decide_appeal(_user(app, second), appeal.id, "restored", "within_rules")
        kinds = [n.kind for n in db.session.query(Notification).filter_by(user_id=ids["ar"]).order_by(Notification.id)]
    assert kinds == ["view_decided", "appeal_decided"]  # "held" was turned off
    [message] = inbox.to("layla@example.org")
    assert "صدر قرار في تظلّمك" in message["Subject"]
    assert "أُعيد رأيك" in message.get_body(("plain",)).get_content()


def _tls_server(handler, tmp_path, *, implicit: bool):
    """aiosmtpd with a certificate from a test CA (trustme): STARTTLS required and a login, or
    TLS from the first byte (SMTPS). Returns the controller and the CA's PEM file."""
    import ssl

    import trustme
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"agora",
            b"s3cret-pass",
        )
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    port = free_port()
    if implicit:
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            ssl_context=context,
            authenticator=authenticator,
            auth_required=True,
            auth_require_tls=False,
        )
    else:
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            tls_context=context,
            require_starttls=True,
            authenticator=authenticator,
            auth_required=True,
        )
    controller.start()
    return controller, port, ca_file


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_mail_goes_over_starttls_or_ssl_with_a_login_and_a_checked_certificate(
    app, client, make, world, inbox, monkeypatch, tmp_path, security
):
    cid, ids = world
    handler = Inbox()
    controller, port, ca_file = _tls_server(handler, tmp_path, implicit=security == "ssl")
    try:
        for key, value in {
            "SMTP_PORT": port,
            "SMTP_SECURITY": security,
            "SMTP_USER": "agora",
            "SMTP_PASSWORD": "s3cret-pass",
        }.items():
            monkeypatch.setitem(app.config, key, value)
        monkeypatch.setattr(notifications, "schedule_mail", lambda: None)
        _opt_in(client, "amelie@example.org", view_held="email")
        make.submission(cid, ids["fr"], ABUSIVE)
        with app.app_context():
            monkeypatch.setitem(app.config, "SMTP_CA_FILE", str(ca_file))
            monkeypatch.setitem(app.config, "SMTP_PASSWORD", "wrong")
            assert mail.process(wait=False)["retry"] == 1  # a wrong password: logged, retried, not lost
            assert "535" in db.session.query(OutgoingEmail).one().last_error
            monkeypatch.setitem(app.config, "SMTP_PASSWORD", "s3cret-pass")
            assert mail.process(now=utcnow() + timedelta(minutes=5))["sent"] == 1
    finally:
        controller.stop()
    [message] = handler.to("amelie@example.org")
    assert "attend un modérateur" in message["Subject"]


def test_a_mail_server_whose_certificate_is_not_trusted_gets_nothing_and_the_email_waits(
    app, client, make, world, inbox, monkeypatch, tmp_path
):
    cid, ids = world
    handler = Inbox()
    controller, port, _ca_file = _tls_server(handler, tmp_path, implicit=True)
    try:
        for key, value in {
            "SMTP_PORT": port,
            "SMTP_SECURITY": "ssl",
            "SMTP_USER": "agora",
            "SMTP_PASSWORD": "s3cret-pass",
        }.items():
            monkeypatch.setitem(app.config, key, value)
        monkeypatch.setattr(notifications, "schedule_mail", lambda: None)
        _opt_in(client, "amelie@example.org", view_held="email")
        make.submission(cid, ids["fr"], ABUSIVE)
        with app.app_context():
            assert mail.process(wait=False)["retry"] == 1  # the test CA is not trusted: refused before any login
            waiting = db.session.query(OutgoingEmail).one()
            assert waiting.state == "queued" and "CERTIFICATE_VERIFY_FAILED" in waiting.last_error
    finally:
        controller.stop()
    assert handler.messages == []

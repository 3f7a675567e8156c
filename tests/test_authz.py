"""The authorization matrix: every route and method of the app × ten roles, with the exact outcome
written down for each (a status code, or "login" for the sign-in redirect), so a refusal (403), a
hidden item (404), a state conflict (409), a form error (422) and success are told apart, and a
refusal that turns into an answer (an IDOR: another user's token revoked, another's view appealed,
a moderator deciding on their own view) fails here. Every action of a multi-action route is tried
(approve, hide, reject and keep; restore and uphold; accredit and refuse; each report and chair
action). The test reads the app's URL map, so a new route or method without a line here fails it;
and a permission broken on purpose is shown to fail it.

Roles: anonymous; participant; author (of every object acted on: views, appeal, token,
organisation); facilitator of consultation A; moderator_other (scoped to B); moderator_author (a
moderator of A who wrote the objects); moderator (of A); chair_other (of a hearing of B); chair (of
A's hearings); admin (the secretariat). Objects belong to A. Each role gets a fresh world."""

import functools
import io

import pytest

from agora.extensions import db, limiter
from tests.conftest import civic_statements, csrf_from, login

ROLES = (
    "anonymous",
    "participant",
    "author",
    "facilitator",
    "moderator_other",
    "moderator_author",
    "moderator",
    "chair_other",
    "chair",
    "admin",
)
OWNERS = ("author", "moderator_author")  # in their worlds, they wrote the objects
MODERATORS_A = ("moderator", "admin")
MODERATORS_ANY = ("moderator", "moderator_other", "moderator_author", "admin")
CHAIRS = ("chair", "admin")
FACILITATORS = ("facilitator", "admin")
LOGIN = "login"  # a redirect to the sign-in page with ?next= (Flask-Login's refusal)


def everyone(outcome):
    return {role: outcome for role in ROLES}


def signed_in(outcome, **special):
    """Every signed-in role gets ``outcome`` (unless named); anonymous visitors are sent to sign in."""
    return {role: special.get(role, LOGIN if role == "anonymous" else outcome) for role in ROLES}


def only(roles, outcome, *, others=403, **special):
    """``roles`` get ``outcome``, other signed-in roles ``others``, anonymous visitors sign in."""
    return signed_in(others, **{role: outcome for role in roles}, **special)


ABUSE = {"action": "hide", "reason": "abuse"}
WITHIN = "within_rules"

# (endpoint, method, path template, data, {role: outcome}), run in this order for each role. Methods:
# GET; POST (a form, with the CSRF token); JSON (with X-CSRFToken); RAW (bytes: an upload or the
# SMS gateway); FILE (a multipart upload). The last three routes end the session.
CASES = [
    # -- public pages ------------------------------------------------------------------------
    ("main.index", "GET", "/", None, everyone(200)),
    ("main.about", "GET", "/about", None, everyone(200)),
    ("main.favicon", "GET", "/favicon.ico", None, everyone(200)),
    ("main.healthz", "GET", "/healthz", None, everyone(200)),
    ("main.readyz", "GET", "/readyz", None, everyone(200)),
    ("main.set_language", "GET", "/language/fr", None, everyone(302)),
    ("static", "GET", "/static/css/agora.css", None, everyone(200)),
    ("consultations.index", "GET", "/consultations/", None, everyone(200)),
    ("consultations.detail", "GET", "/consultations/{slug}", None, everyone(200)),
    ("consultations.detail", "GET", "/consultations/{draft_slug}", None, everyone(404)),  # a draft is not public
    ("themes.themes_page", "GET", "/consultations/{slug}/themes", None, everyone(200)),
    ("themes.opinions_page", "GET", "/consultations/{slug}/opinions", None, everyone(200)),
    ("themes.balance_page", "GET", "/consultations/{slug}/balance", None, everyone(200)),
    ("themes.themes_page", "GET", "/consultations/{draft_slug}/themes", None, everyone(404)),
    ("reports.index", "GET", "/reports/", None, everyone(200)),
    ("reports.show", "GET", "/reports/{frozen}", None, everyone(200)),
    (
        "reports.show",
        "GET",
        "/reports/{draft1}",
        None,
        signed_in(404, anonymous=404, admin=200),
    ),  # drafts: the secretariat's
    ("reports.json_download", "GET", "/reports/{frozen}.json", None, everyone(200)),
    ("reports.pdf_download", "GET", "/reports/{frozen}.pdf", None, everyone(200)),
    ("reports.csv_download", "GET", "/reports/{frozen}/tables/themes.csv", None, everyone(200)),
    ("reports.package_download", "GET", "/reports/{frozen}/package.zip", None, everyone(200)),
    ("reports.package_download", "GET", "/reports/{draft1}/package.zip", None, everyone(404)),
    ("reports.verify", "GET", "/reports/verify", None, everyone(200)),
    ("reports.verify", "POST", "/reports/verify", {}, everyone(422)),  # no file chosen
    ("hearings.index", "GET", "/hearings/", None, everyone(200)),
    ("hearings.detail", "GET", "/hearings/{hearing}", None, everyone(200)),
    ("hearings.latest", "GET", "/hearings/{hearing}/latest", None, everyone(200)),
    ("hearings.transcript", "GET", "/hearings/{hearing}/transcript", None, everyone(200)),
    ("organisations.index", "GET", "/organisations/", None, everyone(200)),
    ("organisations.show", "GET", "/organisations/{org}", None, everyone(200)),
    ("organisations.criteria", "GET", "/organisations/accreditation-criteria", None, everyone(200)),
    ("organisations.accreditation_log", "GET", "/organisations/accreditation-log", None, everyone(200)),
    ("organisations.statement", "GET", "/organisations/statements/999999", None, everyone(404)),
    # -- the JSON API with a session (bearer tokens: tests/test_api_authz.py) ---------------------
    ("api_v1.openapi", "GET", "/api/v1/openapi.json", None, everyone(200)),
    ("api_v1.list_consultations", "GET", "/api/v1/consultations", None, everyone(200)),
    ("api_v1.get_consultation", "GET", "/api/v1/consultations/{cid}", None, everyone(200)),
    ("api_v1.get_consultation", "GET", "/api/v1/consultations/{draft}", None, everyone(404)),
    ("api_v1.list_submissions", "GET", "/api/v1/consultations/{cid}/submissions", None, everyone(200)),
    ("api_v1.get_submission", "GET", "/api/v1/submissions/{published}", None, everyone(200)),
    # A held view: its author sees it; to anyone else (moderators included, here) it does not exist.
    ("api_v1.get_submission", "GET", "/api/v1/submissions/{held_item}", None, everyone(404) | {r: 200 for r in OWNERS}),
    (
        "api_v1.create_submission",
        "JSON",
        "/api/v1/consultations/{cid}/submissions",
        {"text": "text:api"},
        signed_in(201, anonymous=401),
    ),
    ("api_v1.vote", "JSON", "/api/v1/submissions/{published}/vote", {"vote": "agree"}, signed_in(200, anonymous=401)),
    ("api_v1.list_reports", "GET", "/api/v1/reports", None, everyone(200)),
    ("api_v1.get_report", "GET", "/api/v1/reports/{frozen}", None, everyone(200)),
    ("api_v1.get_report", "GET", "/api/v1/reports/{draft1}", None, everyone(404)),
    ("api_v1.get_package", "GET", "/api/v1/reports/{frozen}/package", None, everyone(200)),
    ("api_v1.verify_stored", "GET", "/api/v1/reports/{frozen}/verify", None, everyone(200)),
    ("api_v1.verify_upload", "RAW", "/api/v1/reports/verify", b"not a zip", everyone(200)),  # answers "not a package"
    # -- accounts --------------------------------------------------------------------------------
    ("auth.register", "GET", "/account/register", None, everyone(200)),
    ("auth.register", "POST", "/account/register", {"email": "not an email"}, everyone(422)),
    ("auth.login", "GET", "/account/login", None, everyone(200)),
    (
        "auth.login",
        "POST",
        "/account/login",
        {"email": "nobody@example.org", "password": "not the password"},
        everyone(401),
    ),
    # Outside a two-factor sign-in it sends to the sign-in page (a plain redirect, not a refusal).
    ("auth.verify_code", "GET", "/account/login/code", None, everyone(302)),
    ("auth.verify_code", "POST", "/account/login/code", {"code": "123456"}, everyone(302)),
    ("auth.profile", "GET", "/account/profile", None, signed_in(200)),
    ("auth.profile", "POST", "/account/profile", {"display_name": ""}, signed_in(422)),
    ("auth.create_token", "POST", "/account/tokens", {"name": "t"}, signed_in(200)),
    # Someone else's token is not found (an IDOR if it were revoked); the owner revokes their own.
    ("auth.revoke_token", "POST", "/account/tokens/{token}/revoke", {}, signed_in(404, **{r: 302 for r in OWNERS})),
    ("auth.security", "GET", "/account/security", None, signed_in(200)),
    (
        "auth.change_password",
        "POST",
        "/account/security/password",
        {"current": "not it"},
        signed_in(303),
    ),  # back, with the error
    ("auth.two_factor", "GET", "/account/security/two-factor", None, signed_in(200)),
    ("auth.two_factor", "POST", "/account/security/two-factor", {"code": "000000"}, signed_in(422)),
    ("auth.export_data", "GET", "/account/security/export", None, signed_in(200)),
    ("auth.delete_account", "POST", "/account/security/delete", {"password": "not it"}, signed_in(303)),
    # -- participating ---------------------------------------------------------------------------
    ("consultations.submit", "POST", "/consultations/{slug}/submissions", {"text": "text:form"}, signed_in(302)),
    (
        "consultations.submit",
        "POST",
        "/consultations/{closed_slug}/submissions",
        {"text": "text:closed"},
        signed_in(409),
    ),
    (
        "consultations.vote",
        "POST",
        "/consultations/{slug}/submissions/{published}/vote",
        {"vote": "agree"},
        signed_in(302),
    ),
    (
        "consultations.vote",
        "POST",
        "/consultations/{slug}/submissions/{held_item}/vote",
        {"vote": "agree"},
        signed_in(404),
    ),
    ("moderation.flag", "POST", "/submissions/{published}/flag", {"reason": "spam"}, signed_in(302)),
    ("moderation.flag", "POST", "/submissions/{held_item}/flag", {"reason": "spam"}, signed_in(404)),
    ("moderation.my_views", "GET", "/account/views", None, signed_in(200)),
    (
        "notifications.preferences",
        "POST",
        "/account/notifications/preferences",
        {"view_held": "loud"},
        signed_in(422),
    ),  # not a channel
    ("voting.card", "GET", "/consultations/{slug}/vote", None, everyone(200)),
    ("voting.card", "GET", "/consultations/{draft_slug}/vote", None, everyone(404)),
    (
        "voting.vote",
        "POST",
        "/consultations/{slug}/vote",
        {"vote": "disagree", "submission_id": "published"},
        signed_in(302),
    ),
    (
        "voting.vote",
        "POST",
        "/consultations/{slug}/vote",
        {"vote": "agree", "submission_id": "held_item"},
        signed_in(404),
    ),
    ("notifications.index", "GET", "/account/notifications", None, signed_in(200)),
    ("notifications.mark_read", "POST", "/account/notifications/read", {}, signed_in(303)),
    ("notifications.preferences", "GET", "/account/notifications/preferences", None, signed_in(200)),
    ("notifications.preferences", "POST", "/account/notifications/preferences", {"digest": "1"}, signed_in(303)),
    # The signed token is the credential (RFC 8058 one-click, no session): a forged one is not found.
    ("notifications.unsubscribe", "GET", "/notifications/unsubscribe/forged.token", None, everyone(404)),
    ("notifications.unsubscribe", "POST", "/notifications/unsubscribe/forged.token", {}, everyone(404)),
    # Only the author appeals (a moderator who wrote the view too); nobody appeals for someone else.
    (
        "moderation.appeal",
        "POST",
        "/account/views/{hidden_open}/appeal",
        {"statement": "Please look again: it quotes a law."},
        only(OWNERS, 302),
    ),
    ("organisations.new", "GET", "/organisations/new", None, signed_in(200)),
    ("organisations.new", "POST", "/organisations/new", {"name": ""}, signed_in(422)),
    # The organisation's admins (its author) only; the role is checked before the form (422).
    ("organisations.add_member", "POST", "/organisations/{org}/members", {"email": ""}, only(OWNERS, 422)),
    ("organisations.request_accreditation", "POST", "/organisations/{org}/accreditations", {}, only(OWNERS, 422)),
    ("organisations.join_network", "POST", "/organisations/{org}/networks", {}, only(OWNERS, 422)),
    ("organisations.publish_statement", "POST", "/organisations/{org}/statements", {}, only(OWNERS, 422)),
    ("organisations.endorse", "POST", "/organisations/statements/999999/endorse", {}, signed_in(404)),
    # -- moderation: moderators of A; nobody on their own views (moderator_author) ------------------
    ("moderation.queue", "GET", "/moderation/", None, only(MODERATORS_ANY, 200)),
    ("moderation.appeals", "GET", "/moderation/appeals", None, only(MODERATORS_ANY, 200)),
    ("moderation.item", "GET", "/moderation/items/{held_item}", None, only((*MODERATORS_A, "moderator_author"), 200)),
    ("moderation.item", "GET", "/moderation/items/999999", None, signed_in(404)),
    ("moderation.claim", "POST", "/moderation/items/{held_claim}/claim", {}, only(MODERATORS_A, 302)),
    (
        "moderation.decide",
        "POST",
        "/moderation/items/{held_approve}/decide",
        {"action": "approve", "reason": WITHIN},
        only(MODERATORS_A, 302),
    ),
    ("moderation.decide", "POST", "/moderation/items/{held_hide}/decide", ABUSE, only(MODERATORS_A, 302)),
    (
        "moderation.decide",
        "POST",
        "/moderation/items/{held_reject}/decide",
        {"action": "reject", "reason": "spam"},
        only(MODERATORS_A, 302),
    ),
    (
        "moderation.decide",
        "POST",
        "/moderation/items/{flagged}/decide",
        {"action": "keep", "reason": WITHIN},
        only(MODERATORS_A, 302),
    ),
    # What was sent is judged after who sent it: a wrong reason is the moderator's 303, others' 403.
    (
        "moderation.decide",
        "POST",
        "/moderation/items/{held_item}/decide",
        {"action": "approve", "reason": "abuse"},
        only(MODERATORS_A, 303),
    ),
    (
        "moderation.decide",
        "POST",
        "/moderation/items/{held_approve}/decide",
        {"action": "hide", "reason": "abuse"},
        only(MODERATORS_A, 303),
    ),  # decided already
    (
        "moderation.campaign",
        "GET",
        "/moderation/campaigns/{camp_approve}",
        None,
        only((*MODERATORS_A, "moderator_author"), 200),
    ),
    *[
        (
            "moderation.decide_campaign",
            "POST",
            f"/moderation/campaigns/{{camp_{action}}}/decide",
            {"ids": f"camp_{action}_ids", "decision": f"{action}:{reason}"},
            only(MODERATORS_A, 302),
        )
        for action, reason in (("approve", WITHIN), ("hide", "abuse"), ("reject", "spam"), ("keep", WITHIN))
    ],
    (
        "moderation.decide_appeal",
        "POST",
        "/moderation/appeals/{appeal_restore}/decide",
        {"outcome": "restored", "reason": WITHIN},
        only(MODERATORS_A, 302),
    ),
    (
        "moderation.decide_appeal",
        "POST",
        "/moderation/appeals/{appeal_uphold}/decide",
        {"outcome": "upheld", "reason": "abuse"},
        only(MODERATORS_A, 302),
    ),
    (
        "moderation.decide_appeal",
        "POST",
        "/moderation/appeals/{appeal_uphold}/decide",
        {"outcome": "restored", "reason": WITHIN},
        only(MODERATORS_A, 303),
    ),  # final
    ("moderation.audit_log", "GET", "/admin/audit", None, only(("admin",), 200)),
    ("moderation.audit_export", "GET", "/admin/audit.csv", None, only(("admin",), 200)),
    # -- offline import: facilitators of A ------------------------------------------------------------
    ("offline.import_page", "GET", "/consultations/{slug}/import", None, only(FACILITATORS, 200)),
    (
        "offline.import_upload",
        "FILE",
        "/consultations/{slug}/import",
        b"not,the,columns\n1,2,3\n",
        only(FACILITATORS, 422),
    ),
    # -- hearings: chairs of hearing A (not of B's hearing), the secretariat -----------------------------
    ("hearings.post_message", "POST", "/hearings/{hearing}/messages", {"text": "text:hearing"}, signed_in(302)),
    ("hearings.vote", "POST", "/hearings/{hearing}/messages/{message}/vote", {"vote": "agree"}, signed_in(302)),
    (
        "hearings.request_floor",
        "POST",
        "/hearings/{hearing}/floor",
        {"constituency": "ngo", "topic": "oceans"},
        signed_in(302),
    ),
    ("hearings.chair_action", "POST", "/hearings/{hearing}/chair/next", {}, only(CHAIRS, 302)),
    ("hearings.chair_action", "POST", "/hearings/{hearing}/chair/end_turn", {}, only(CHAIRS, 302)),
    ("hearings.withdraw_floor", "POST", "/hearings/{hearing}/floor/withdraw", {}, signed_in(302)),
    ("hearings.chair_action", "POST", "/hearings/{hearing}/chair/close", {}, only(CHAIRS, 302)),
    ("hearings.chair_action", "POST", "/hearings/{scheduled}/chair/open", {}, only(CHAIRS, 302)),
    (
        "hearings.chair_action",
        "POST",
        "/hearings/{hearing}/chair/open",
        {},
        only(CHAIRS, 409),
    ),  # a closed hearing stays closed
    ("hearings.chair_action", "POST", "/hearings/{hearing}/chair/explode", {}, signed_in(404)),
    ("hearings.new", "GET", "/hearings/new", None, only(("admin",), 200)),
    ("hearings.new", "POST", "/hearings/new", {"title": ""}, only(("admin",), 422)),
    (
        "hearings.appoint_chair",
        "POST",
        "/hearings/{hearing}/chairs",
        {"email": "participant@example.org"},
        only(("admin",), 302),
    ),
    # -- the secretariat --------------------------------------------------------------------------------
    ("admin.index", "GET", "/admin/", None, only(("admin",), 200)),
    ("admin.new_consultation", "GET", "/admin/consultations/new", None, only(("admin",), 200)),
    ("admin.new_consultation", "POST", "/admin/consultations/new", {"title": ""}, only(("admin",), 422)),
    ("admin.edit_consultation", "GET", "/admin/consultations/{cid}", None, only(("admin",), 200)),
    ("admin.edit_consultation", "POST", "/admin/consultations/{cid}", {"title": ""}, only(("admin",), 422)),
    ("admin.consultation_translations", "GET", "/admin/consultations/{cid}/translations", None, only(("admin",), 200)),
    (
        "admin.consultation_translations",
        "POST",
        "/admin/consultations/{cid}/translations",
        {"language": "fr"},
        only(("admin",), 422),
    ),
    (
        "admin.delete_consultation_translation",
        "POST",
        "/admin/consultations/{cid}/translations/fr/delete",
        {},
        only(("admin",), 404),
    ),
    ("admin.roles", "GET", "/admin/roles", None, only(("admin",), 200)),
    ("admin.roles", "POST", "/admin/roles", {"email": ""}, only(("admin",), 422)),
    ("admin.revoke_role", "POST", "/admin/roles/{spare_role}/revoke", {}, only(("admin",), 302)),
    ("organisations.accreditation_requests", "GET", "/organisations/accreditation", None, only(("admin",), 200)),
    *[
        (
            "organisations.decide",
            "POST",
            f"/organisations/accreditation/{{{key}}}/decide",
            {"prefix": key, "decision": decision, "criteria": "criteria", "reason": "The criteria are met, or not."},
            only(("admin",), 302),
        )
        for key, decision in (("accreditation_accredit", "accredit"), ("accreditation_refuse", "refuse"))
    ],
    ("sms.keywords", "GET", "/sms/keywords", None, only(("admin",), 200)),
    ("sms.keywords", "POST", "/sms/keywords", {"consultation_id": "cid", "keyword": "OCEAN"}, only(("admin",), 302)),
    ("sms.inbound", "RAW", "/sms/inbound", b"from=%2B254700000000&text=OCEAN+hi", everyone(403)),  # unsigned
    ("reports.admin_index", "GET", "/admin/reports", None, only(("admin",), 200)),
    ("reports.create", "POST", "/admin/reports", {"consultation_id": "closed"}, only(("admin",), 302)),
    ("reports.create_forum", "POST", "/admin/forums", {"name": "High-level political forum"}, only(("admin",), 302)),
    ("reports.act", "POST", "/admin/reports/{draft1}/regenerate", {}, only(("admin",), 302)),
    ("reports.act", "POST", "/admin/reports/{draft2}/freeze", {}, only(("admin",), 302)),
    ("reports.act", "POST", "/admin/reports/{frozen}/transmit", {"forum_id": "forum"}, only(("admin",), 302)),
    ("reports.act", "POST", "/admin/reports/{frozen}/new-version", {}, only(("admin",), 302)),
    ("reports.record_response", "POST", "/admin/reports/{frozen}/responses", {"decision": ""}, only(("admin",), 422)),
    ("reports.act", "POST", "/admin/reports/{frozen}/explode", {}, only(("admin",), 404)),
    # -- they end the session: last, in this order ----------------------------------------------------
    ("auth.sign_out_everywhere", "POST", "/account/security/sign-out-everywhere", {}, signed_in(302)),
    ("auth.logout", "POST", "/account/logout", {}, everyone(302)),
]
ENDS_SESSION = ("auth.sign_out_everywhere", "auth.logout")


@functools.cache
def _password_hash() -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash("correct horse battery")


def _user(app, name: str) -> int:
    """A registered user, ``name``@example.org with the tests' password: its hash is computed once
    (scrypt takes a third of a second; the world has twelve people and there are ten worlds)."""
    from agora.models import User
    from agora.models._base import utcnow

    with app.app_context():
        user = User(
            email=f"{name}@example.org",
            password_hash=_password_hash(),
            display_name=name.replace("_", " ").title(),
            password_changed_at=utcnow(),
        )
        db.session.add(user)
        db.session.commit()
        return user.id


@pytest.fixture
def world(app, make, request):
    """Consultations A (open), B (open), C (closed, reported) and D (draft); in A, hearings, views in
    every state, campaigns, appeals, a token, an organisation; the objects' author depends on the role."""
    from agora.models import Consultation, Flag, Organisation, OrganisationMember, Submission, User
    from agora.services import hearings, moderation
    from agora.services.accounts import accounts, organisations
    from agora.services.reporting import reports

    role = request.param
    a, b = make.consultation("Consultation A"), make.consultation("Consultation B")
    c, d = make.consultation("Consultation C (closed)"), make.consultation("Consultation D (draft)", status="draft")
    people = {
        name: _user(app, name)
        for name in (
            "participant",
            "author",
            "chair_other",
            "chair",
            "someone",
            "spare",
            "moderator_other",
            "moderator_author",
            "moderator",
            "facilitator",
            "first_moderator",
            "admin",
        )
    }
    with app.app_context():
        for name, role_name, scope in (
            ("facilitator", "facilitator", a),
            ("moderator_other", "moderator", b),
            ("moderator_author", "moderator", a),
            ("moderator", "moderator", a),
            ("first_moderator", "moderator", None),
            ("admin", "admin", None),
        ):
            accounts.assign_role(db.session.get(User, people[name]), role_name, scope, None)
    owner_id = people[role] if role in OWNERS else people["someone"]
    texts = iter(civic_statements(40))
    ids = {"cid": a, "draft": d, "closed": c}
    with app.app_context():
        get = lambda key: db.session.get(User, people[key])  # noqa: E731
        owner = db.session.get(User, owner_id)

        def view(state="published", campaign=None):
            """A view of the owner's in A, in the state the case needs (the first through the service)."""
            if "published" not in ids:
                return make.submission(a, owner_id, next(texts))
            submission = Submission(
                consultation_id=a,
                author_id=owner_id,
                text=next(texts),
                language="en",
                state=state,
                campaign_id=campaign,
            )
            db.session.add(submission)
            db.session.commit()
            return submission.id

        ids["published"] = view()
        for key in ("held_item", "held_claim", "held_approve", "held_hide", "held_reject"):
            ids[key] = view("held")
        ids["flagged"] = view()
        db.session.add(Flag(submission_id=ids["flagged"], user_id=people["participant"], reason="spam"))
        for action in ("approve", "hide", "reject", "keep"):
            first = view("held")
            db.session.get(Submission, first).campaign_id = first
            db.session.commit()
            second = view("held", campaign=first)
            ids[f"camp_{action}"], ids[f"camp_{action}_ids"] = first, [first, second]
        for key in ("hidden_open", "hidden_restore", "hidden_uphold"):
            ids[key] = view("held")
            moderation.decide(get("first_moderator"), ids[key], "hide", "abuse")
        ids["appeal_restore"] = moderation.appeal(owner, ids["hidden_restore"], "It quotes the law.").id
        ids["appeal_uphold"] = moderation.appeal(owner, ids["hidden_uphold"], "It is within the rules.").id
        ids["token"] = accounts.create_token(owner, "mine")[0].id
        org = Organisation(name="Coastal NGO", name_key="coastal ngo", constituency="ngo", created_by_id=owner_id)
        db.session.add(org)
        db.session.flush()
        db.session.add(OrganisationMember(organisation_id=org.id, user_id=owner_id, role="admin"))
        db.session.commit()
        ids["org"] = org.id
        ids["accreditation_accredit"] = organisations.request_accreditation(
            org.id, a, owner, "We work on the coast."
        ).id
        ids["accreditation_refuse"] = organisations.request_accreditation(org.id, b, owner, "We work at sea.").id

        hearing = hearings.create(a, "Hearing A")
        scheduled = hearings.create(a, "Hearing A, later")
        hearing_b = hearings.create(b, "Hearing B")
        for h, chair in ((hearing, "chair"), (scheduled, "chair"), (hearing_b, "chair_other")):
            hearings.appoint_chair(h, get(chair), None)
        hearings.open_hearing(hearing, get("chair"))
        message = hearings.post_message(hearing, get("spare"), next(texts))
        assert message.state == "published"
        ids["message"] = message.id
        hearings.request_floor(hearing, get("spare"), "youth", "quotas")
        ids["hearing"], ids["scheduled"] = hearing.id, scheduled.id

        make.submission(c, people["someone"], next(texts))
        db.session.get(Consultation, c).status = "closed"
        db.session.commit()
        ids["frozen"] = reports.freeze(reports.create_draft(c, None).id, None).id
        ids["draft1"] = reports.create_draft(c, None).id
        ids["draft2"] = reports.create_draft(c, None).id
        ids["forum"] = reports.create_forum("UN Ocean Conference", None, None).id
        ids["spare_role"] = accounts.assign_role(get("spare"), "moderator", b, None).id
        for key, cid in (("slug", a), ("draft_slug", d), ("closed_slug", c)):
            ids[key] = db.session.get(Consultation, cid).slug
    return role, ids


def _outcome(response):
    if response.status_code in (301, 302, 303):
        location = response.headers.get("Location", "")
        if "/account/login" in location and "next=" in location:
            return LOGIN
    return response.status_code


def _form(data: dict, ids: dict, texts) -> dict:
    """Fill a case's form: ids by name, texts fresh (near-duplicates are held), a prefixed form."""
    from agora.services.accounts import organisations

    data = dict(data)
    prefix = data.pop("prefix", None)
    prefix = prefix and f"a{ids[prefix]}"  # the secretariat's page has one form per request
    filled = {}
    for key, value in data.items():
        if isinstance(value, str) and value.startswith("text:"):
            value = next(texts)
        elif key in ("ids", "consultation_id", "forum_id", "submission_id") and value in ids:
            value = [str(i) for i in ids[value]] if isinstance(ids[value], list) else str(ids[value])
        elif key == "criteria":
            value = list(organisations.CRITERIA)
        filled[f"{prefix}-{key}" if prefix else key] = value
    return filled


def _run(app, role, ids) -> list[str]:
    """Every case as ``role``; one line per outcome that differs from the one written down."""
    app.config["RATELIMIT_ENABLED"] = False
    app.config["SMS_SECRET"] = "gateway-secret"  # configured, so an unsigned post is refused (403)
    limiter.enabled = False
    texts = iter(civic_statements(80)[40:])
    wrong = []
    try:
        client = app.test_client()
        if role != "anonymous":
            login(client, f"{role}@example.org")
        token = csrf_from(client, "/account/login")
        for endpoint, method, template, data, expected in CASES:
            path = template.format(**ids)
            if endpoint in ENDS_SESSION:
                token = csrf_from(client, "/account/login")  # the previous one may have ended the session
            if method == "GET":
                response = client.get(path)
            elif method == "JSON":
                response = client.post(path, json=_form(data, ids, texts), headers={"X-CSRFToken": token})
            elif method == "RAW":
                kind = "application/zip" if "reports" in path else "application/x-www-form-urlencoded"
                response = client.post(path, data=data, content_type=kind, headers={"X-CSRFToken": token})
            elif method == "FILE":
                upload = {"csrf_token": token, "file": (io.BytesIO(data), "rows.csv")}
                response = client.post(path, data=upload, content_type="multipart/form-data")
            else:
                response = client.post(path, data={**_form(data, ids, texts), "csrf_token": token})
            got = _outcome(response)
            if got != expected[role]:
                wrong.append(
                    f"{endpoint} {method} {template}: expected {expected[role]}, got {got} {response.headers.get('Location', '')}"
                )
    finally:
        limiter.enabled = True
        app.config["RATELIMIT_ENABLED"] = True
        app.config["SMS_SECRET"] = None
    return wrong


def test_every_route_and_method_is_in_the_matrix(app):
    kinds = {"JSON": "POST", "RAW": "POST", "FILE": "POST"}
    routes = {
        (rule.endpoint, method) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    covered = {(endpoint, kinds.get(method, method)) for endpoint, method, *_ in CASES}
    assert not sorted(routes - covered), (
        f"routes without a written-down outcome in tests/test_authz.py: {sorted(routes - covered)}"
    )
    assert not sorted(covered - routes), f"outcomes for routes that no longer exist: {sorted(covered - routes)}"
    assert all(set(expected) == set(ROLES) for *_, expected in CASES)


@pytest.mark.parametrize("world", ROLES, indirect=True)
def test_every_route_answers_every_role_as_written_down(app, world):
    role, ids = world
    wrong = _run(app, role, ids)
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("world", ["moderator_other"], indirect=True)
def test_a_broken_permission_check_makes_the_matrix_fail(app, world, monkeypatch):
    """The matrix has teeth: let a moderator of any consultation moderate every one (the scope
    check removed), and the scoped moderator's decisions on A are reported, by name."""
    from agora import permissions

    monkeypatch.setattr(
        permissions, "can_moderate", lambda user, consultation_id: permissions.can_moderate_anywhere(user)
    )
    role, ids = world
    wrong = _run(app, role, ids)
    assert "moderation.decide POST /moderation/items/{held_hide}/decide: expected 403, got 302 /moderation/" in wrong
    assert any(
        line.startswith("moderation.decide_appeal POST /moderation/appeals/{appeal_restore}/decide: expected 403")
        for line in wrong
    )


def test_marking_someone_elses_notification_read_answers_alike_and_changes_nothing(app, make):
    """A status cannot tell here (both answer 303, so nobody learns which ids exist): the owner's
    notification must still be unread after another user sends its id."""
    from agora.models import Notification
    from agora.services.accounts import notifications

    owner_id = make.user(email="owner@example.org")
    make.user(email="intruder@example.org")
    with app.app_context():
        notifications.add([owner_id], "view_published", {"consultation": "Oceans"})
        db.session.commit()
        notification_id = db.session.query(Notification.id).filter_by(user_id=owner_id).scalar()
    intruder = app.test_client()
    login(intruder, "intruder@example.org")
    token = csrf_from(intruder, "/account/notifications")
    assert (
        intruder.post("/account/notifications/read", data={"id": str(notification_id), "csrf_token": token}).status_code
        == 303
    )
    with app.app_context():
        assert db.session.get(Notification, notification_id).read_at is None

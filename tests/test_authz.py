"""The authorization matrix: every route of the app × every role, allowed or refused as specified.
The test enumerates the app's URL map, so a new route without a line here fails it."""

import pytest

from agora.extensions import db, limiter
from tests.conftest import csrf_from, login

ROLES = ("anonymous", "participant", "facilitator", "moderator_other", "moderator", "chair_other", "chair", "admin")
EVERYONE = set(ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}
ADMIN = {"admin"}
MODERATOR_A = {"moderator", "admin"}
MODERATOR_ANY = {"moderator", "moderator_other", "admin"}
CHAIR_A = {"chair", "admin"}
FACILITATOR_A = {"facilitator", "admin"}
AUTHOR = {"participant"}  # the author of the hidden view that may be appealed
NOBODY = set()  # e.g. the SMS gateway endpoint without its signature

# endpoint: (method, path template, who is allowed, form data)
SPEC = {
    "main.index": ("GET", "/", EVERYONE, None),
    "main.about": ("GET", "/about", EVERYONE, None),
    "main.healthz": ("GET", "/healthz", EVERYONE, None),
    "main.readyz": ("GET", "/readyz", EVERYONE, None),
    "main.set_language": ("GET", "/language/fr", EVERYONE, None),
    "static": ("GET", "/static/css/agora.css", EVERYONE, None),
    "auth.register": ("GET", "/account/register", EVERYONE, None),
    "auth.login": ("GET", "/account/login", EVERYONE, None),
    # Outside a two-factor sign-in it sends to the sign-in page (a redirect, not a refusal).
    "auth.verify_code": ("GET", "/account/login/code", EVERYONE, None),
    "auth.logout": ("POST", "/account/logout", EVERYONE, {}),
    "auth.profile": ("GET", "/account/profile", SIGNED_IN, None),
    "auth.create_token": ("POST", "/account/tokens", SIGNED_IN, {"name": "t"}),
    "auth.revoke_token": ("POST", "/account/tokens/{token}/revoke", SIGNED_IN, {}),
    "auth.security": ("GET", "/account/security", SIGNED_IN, None),
    "auth.change_password": ("POST", "/account/security/password", SIGNED_IN, {}),
    "auth.sign_out_everywhere": ("POST", "/account/security/sign-out-everywhere", SIGNED_IN, {}),
    "auth.two_factor": ("GET", "/account/security/two-factor", SIGNED_IN, None),
    "auth.export_data": ("GET", "/account/security/export", SIGNED_IN, None),
    "auth.delete_account": ("POST", "/account/security/delete", SIGNED_IN, {"password": "not it"}),
    "consultations.index": ("GET", "/consultations/", EVERYONE, None),
    "consultations.detail": ("GET", "/consultations/{slug}", EVERYONE, None),
    "consultations.submit": ("POST", "/consultations/{slug}/submissions", SIGNED_IN, {"text": ""}),
    "consultations.vote": ("POST", "/consultations/{slug}/submissions/{published}/vote", SIGNED_IN, {"vote": "maybe"}),
    "moderation.queue": ("GET", "/moderation/", MODERATOR_ANY, None),
    "moderation.item": ("GET", "/moderation/items/{held}", MODERATOR_A, None),
    "moderation.claim": ("POST", "/moderation/items/{held}/claim", MODERATOR_A, {}),
    "moderation.decide": ("POST", "/moderation/items/{held}/decide", MODERATOR_A, {"action": "none", "reason": "none"}),
    "moderation.campaign": ("GET", "/moderation/campaigns/{campaign}", MODERATOR_A, None),
    "moderation.decide_campaign": ("POST", "/moderation/campaigns/{campaign}/decide", MODERATOR_A, {"action": "none"}),
    "moderation.appeals": ("GET", "/moderation/appeals", MODERATOR_ANY, None),
    "moderation.decide_appeal": ("POST", "/moderation/appeals/{appeal}/decide", MODERATOR_A, {"outcome": "none"}),
    "moderation.audit_log": ("GET", "/admin/audit", ADMIN, None),
    "moderation.audit_export": ("GET", "/admin/audit.csv", ADMIN, None),
    "moderation.flag": ("POST", "/submissions/{published}/flag", SIGNED_IN, {"reason": "none"}),
    "moderation.my_views": ("GET", "/account/views", SIGNED_IN, None),
    "moderation.appeal": ("POST", "/account/views/{hidden}/appeal", AUTHOR, {"statement": ""}),
    "admin.index": ("GET", "/admin/", ADMIN, None),
    "admin.new_consultation": ("GET", "/admin/consultations/new", ADMIN, None),
    "admin.edit_consultation": ("GET", "/admin/consultations/{cid}", ADMIN, None),
    "admin.consultation_translations": ("GET", "/admin/consultations/{cid}/translations", ADMIN, None),
    "admin.delete_consultation_translation": ("POST", "/admin/consultations/{cid}/translations/fr/delete", ADMIN, {}),
    "admin.roles": ("GET", "/admin/roles", ADMIN, None),
    "admin.revoke_role": ("POST", "/admin/roles/999999/revoke", ADMIN, {}),
    "reports.index": ("GET", "/reports/", EVERYONE, None),
    "reports.show": ("GET", "/reports/{report}", EVERYONE, None),
    "reports.json_download": ("GET", "/reports/{report}.json", EVERYONE, None),
    "reports.pdf_download": ("GET", "/reports/{report}.pdf", EVERYONE, None),
    "reports.csv_download": ("GET", "/reports/{report}/tables/themes.csv", EVERYONE, None),
    "reports.package_download": ("GET", "/reports/{report}/package.zip", EVERYONE, None),
    "reports.verify": ("GET", "/reports/verify", EVERYONE, None),
    "reports.admin_index": ("GET", "/admin/reports", ADMIN, None),
    "reports.create": ("POST", "/admin/reports", ADMIN, {"consultation_id": "x"}),
    "reports.act": ("POST", "/admin/reports/{report}/regenerate", ADMIN, {}),
    "reports.create_forum": ("POST", "/admin/forums", ADMIN, {"name": ""}),
    "api_v1.openapi": ("GET", "/api/v1/openapi.json", EVERYONE, None),
    "api_v1.list_consultations": ("GET", "/api/v1/consultations", EVERYONE, None),
    "api_v1.get_consultation": ("GET", "/api/v1/consultations/{cid}", EVERYONE, None),
    "api_v1.list_submissions": ("GET", "/api/v1/consultations/{cid}/submissions", EVERYONE, None),
    "api_v1.create_submission": ("JSON", "/api/v1/consultations/{cid}/submissions", SIGNED_IN, {"text": ""}),
    "api_v1.get_submission": ("GET", "/api/v1/submissions/{published}", EVERYONE, None),
    "api_v1.vote": ("JSON", "/api/v1/submissions/{published}/vote", SIGNED_IN, {"vote": "maybe"}),
    "api_v1.list_reports": ("GET", "/api/v1/reports", EVERYONE, None),
    "api_v1.get_report": ("GET", "/api/v1/reports/{report}", EVERYONE, None),
    "api_v1.get_package": ("GET", "/api/v1/reports/{report}/package", EVERYONE, None),
    "api_v1.verify_stored": ("GET", "/api/v1/reports/{report}/verify", EVERYONE, None),
    "api_v1.verify_upload": ("RAW", "/api/v1/reports/verify", EVERYONE, b"not a zip"),
    "hearings.index": ("GET", "/hearings/", EVERYONE, None),
    "hearings.detail": ("GET", "/hearings/{hearing}", EVERYONE, None),
    "hearings.transcript": ("GET", "/hearings/{hearing}/transcript", EVERYONE, None),
    "hearings.new": ("GET", "/hearings/new", ADMIN, None),
    "hearings.appoint_chair": ("POST", "/hearings/{hearing}/chairs", ADMIN, {"email": "nobody@example.org"}),
    "hearings.chair_action": ("POST", "/hearings/{hearing}/chair/end_turn", CHAIR_A, {}),
    "hearings.post_message": ("POST", "/hearings/{hearing}/messages", SIGNED_IN, {"text": ""}),
    "hearings.vote": ("POST", "/hearings/{hearing}/messages/999999/vote", SIGNED_IN, {"vote": "maybe"}),
    "hearings.request_floor": ("POST", "/hearings/{hearing}/floor", SIGNED_IN, {"constituency": ""}),
    "hearings.withdraw_floor": ("POST", "/hearings/{hearing}/floor/withdraw", SIGNED_IN, {}),
    "themes.themes_page": ("GET", "/consultations/{slug}/themes", EVERYONE, None),
    "themes.opinions_page": ("GET", "/consultations/{slug}/opinions", EVERYONE, None),
    "themes.balance_page": ("GET", "/consultations/{slug}/balance", EVERYONE, None),
    "offline.import_page": ("GET", "/consultations/{slug}/import", FACILITATOR_A, None),
    "offline.import_upload": ("POST", "/consultations/{slug}/import", FACILITATOR_A, {}),
    "organisations.index": ("GET", "/organisations/", EVERYONE, None),
    "organisations.show": ("GET", "/organisations/{org}", EVERYONE, None),
    "organisations.new": ("GET", "/organisations/new", SIGNED_IN, None),
    "organisations.criteria": ("GET", "/organisations/accreditation-criteria", EVERYONE, None),
    "organisations.accreditation_log": ("GET", "/organisations/accreditation-log", EVERYONE, None),
    "organisations.accreditation_requests": ("GET", "/organisations/accreditation", ADMIN, None),
    "organisations.decide": ("POST", "/organisations/accreditation/{accreditation}/decide", ADMIN, {"decision": "none"}),
    "organisations.request_accreditation": ("POST", "/organisations/{org}/accreditations", AUTHOR, {"consultation_id": "x"}),
    "organisations.add_member": ("POST", "/organisations/{org}/members", AUTHOR, {"email": "nobody@example.org"}),
    "organisations.join_network": ("POST", "/organisations/{org}/networks", AUTHOR, {"network_id": "x"}),
    "organisations.publish_statement": ("POST", "/organisations/{org}/statements", AUTHOR, {"text": ""}),
    "organisations.statement": ("GET", "/organisations/statements/999999", EVERYONE, None),
    "organisations.endorse": ("POST", "/organisations/statements/999999/endorse", SIGNED_IN, {"organisation_id": "x"}),
    "sms.inbound": ("RAW", "/sms/inbound", NOBODY, b"from=%2B254700000000&text=HELLO+hi"),
    "sms.keywords": ("GET", "/sms/keywords", ADMIN, None),
}
# Refusals that are not 401/403: drafts and private items are hidden as "not found".
NOT_FOUND_MEANS_REFUSED = set()


@pytest.fixture
def world(app, make):
    """Two consultations (A, where the roles apply, and B), a hearing in each, and the items the routes act on."""
    from agora.models import Consultation, Organisation, OrganisationMember, Submission, User
    from agora.services import accounts, hearings, moderation, reports
    from tests.conftest import civic_statements

    a = make.consultation("Consultation A")
    b = make.consultation("Consultation B")
    c = make.consultation("Consultation C (closed)")
    with app.app_context():
        hearing_a = hearings.create(a, "Hearing A").id
        hearing_b = hearings.create(b, "Hearing B").id
    users = {
        "participant": make.user(email="participant@example.org"),
        "facilitator": make.user(email="facilitator@example.org", role="facilitator", scope=a),
        "moderator_other": make.user(email="moderator_other@example.org", role="moderator", scope=b),
        "moderator": make.user(email="moderator@example.org", role="moderator", scope=a),
        "chair_other": make.user(email="chair_other@example.org"),
        "chair": make.user(email="chair@example.org"),
        "admin": make.user(email="admin@example.org", role="admin"),
    }
    texts = civic_statements(4)
    author = make.user(email="author@example.org")
    published = make.submission(a, author, texts[0])
    held = make.submission(a, author, "You worthless idiots, shut up and go away you stupid bitches")
    hidden = make.submission(a, users["participant"], "You are all stupid idiots and worthless bitches")
    make.submission(c, author, texts[1])
    with app.app_context():
        hearings.appoint_chair(hearings.get(hearing_a), db.session.get(User, users["chair"]), None)
        hearings.appoint_chair(hearings.get(hearing_b), db.session.get(User, users["chair_other"]), None)
        first_moderator = db.session.get(User, make.user(email="first-moderator@example.org", role="moderator"))
        moderation.decide(first_moderator, hidden, "hide", "abuse")
        appeal = moderation.appeal(db.session.get(User, users["participant"]), hidden, "Please look again.")
        sub = db.session.get(Submission, held)
        sub.campaign_id = sub.id
        db.session.get(Consultation, c).status = "closed"
        db.session.commit()
        report = reports.freeze(reports.create_draft(c, None).id, None).id
        org = Organisation(name="Participant's NGO", name_key="participant's ngo", constituency="ngo", created_by_id=users["participant"])
        db.session.add(org)
        db.session.flush()
        db.session.add(OrganisationMember(organisation_id=org.id, user_id=users["participant"], role="admin"))
        db.session.commit()
        token = accounts.create_token(db.session.get(User, users["participant"]), "t")[0].id
        ids = {
            "cid": a, "slug": db.session.get(Consultation, a).slug, "published": published, "held": held, "hidden": hidden,
            "campaign": held, "appeal": appeal.id, "report": report, "hearing": hearing_a, "org": org.id,
            "accreditation": 999999, "token": token,
        }
    return ids


def _is_refused(response) -> bool:
    if response.status_code in (401, 403):
        return True
    location = response.headers.get("Location", "")
    # Flask-Login's refusal sends to the sign-in page with ?next=; a plain redirect there is not one.
    return response.status_code in (301, 302, 303) and "/account/login" in location and "next=" in location


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = sorted(endpoints - set(SPEC))
    assert not missing, f"routes without an authorization rule in tests/test_authz.py: {missing}"
    stale = sorted(set(SPEC) - endpoints)
    assert not stale, f"rules for routes that no longer exist: {stale}"


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(app, world, role):
    app.config["RATELIMIT_ENABLED"] = False
    app.config["SMS_SECRET"] = "gateway-secret"  # configured, so an unsigned post is refused (403)
    limiter.enabled = False
    try:
        client = app.test_client()
        if role != "anonymous":
            login(client, f"{role}@example.org")
        token = csrf_from(client, "/account/login")
        problems = []
        ending = ("auth.sign_out_everywhere", "auth.logout")  # they end the session: last, in this order
        for endpoint in sorted(SPEC, key=lambda e: ending.index(e) + 1 if e in ending else 0):
            method, template, allowed, data = SPEC[endpoint]
            path = template.format(**world)
            if endpoint in ending:
                token = csrf_from(client, "/account/login")  # the previous one may have ended the session
            if method == "GET":
                response = client.get(path)
            elif method == "JSON":
                response = client.post(path, json=data, headers={"X-CSRFToken": token})
            elif method == "RAW":
                response = client.post(path, data=data, content_type="application/zip" if "reports" in path else "application/x-www-form-urlencoded")
            else:
                response = client.post(path, data={**data, "csrf_token": token})
            refused = _is_refused(response) or (response.status_code == 404 and endpoint in NOT_FOUND_MEANS_REFUSED)
            if response.status_code >= 500:
                problems.append(f"{endpoint} {method} {path}: {response.status_code}")
            elif (role in allowed) == refused:
                expected = "allowed" if role in allowed else "refused"
                problems.append(f"{endpoint} {method} {path}: expected {expected}, got {response.status_code} {response.headers.get('Location', '')}")
        assert not problems, f"{role}:\n" + "\n".join(problems)
    finally:
        limiter.enabled = True
        app.config["RATELIMIT_ENABLED"] = True
        app.config["SMS_SECRET"] = None

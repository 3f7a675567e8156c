"""Fuzzing every text field of every input path with invalid Unicode: lone surrogates (what JSON's
"\\ud800" escape decodes to) and bytes that are not UTF-8 (a UTF-8-encoded surrogate, an overlong
encoding, stray bytes). Forms (every POST form of the authorization matrix), the API (every string
field of its OpenAPI document), every /hearing socket event's string fields, the offline CSV import
and the SMS gateway: never a 500 or a server error, a lone surrogate is always refused as such, and
whatever is stored is valid UTF-8. (tests/test_invalid_unicode.py has the targeted cases; this file
generates them with hypothesis.)"""

import json
import re
import time
from urllib.parse import quote_from_bytes, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from agora.extensions import db, limiter, socketio
from agora.models import Submission, User
from agora.services import hearings
from agora.services.accounts import accounts
from agora.services.errors import AgoraError
from agora.services.participation import offline, sms
from tests.conftest import civic_statements, csrf_from, login
from tests.test_authz import CASES, ENDS_SESSION, _form, world  # noqa: F401 (world: the matrix's fixture)
from tests.test_invalid_unicode import ANY_CODE_POINT
from tests.test_socket_authz import EVENTS

# Bytes a form, a CSV file or an SMS body may carry that are not UTF-8.
NOT_UTF8 = [b"\xed\xa0\x80", b"\xff\xfe", b"\xc0\xaf", b"\x80", b"\xf4\x90\x80\x80"]
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
TEXTS = st.text(ANY_CODE_POINT, min_size=1, max_size=30)
BYTES = st.lists(st.one_of(st.sampled_from(NOT_UTF8), st.text(max_size=6).map(str.encode)), min_size=1, max_size=6).map(
    b"".join
)


def _has_surrogate(text: str) -> bool:
    """Whether the server gets a lone surrogate once ``text`` travels as JSON (which writes each
    surrogate as an escape: a high one followed by a low one is read back as one valid character)."""
    return any(0xD800 <= ord(c) <= 0xDFFF for c in json.loads(json.dumps(text)))


def _stored_texts_are_utf8(app):
    with app.app_context():
        for table, column in (
            ("submissions", "text"),
            ("users", "display_name"),
            ("organisations", "name"),
            ("consultations", "title"),
        ):
            for (value,) in db.session.execute(db.text(f"SELECT {column} FROM {table}")):  # noqa: S608 (names above)
                if value is not None:
                    value.encode("utf-8")


@pytest.fixture
def unlimited(app):
    app.config["RATELIMIT_ENABLED"] = False
    limiter.enabled = False
    yield
    limiter.enabled = True
    app.config["RATELIMIT_ENABLED"] = True


@pytest.mark.parametrize("world", ["admin", "author"], indirect=True)
def test_every_form_text_field_takes_bytes_that_are_not_utf8(app, world, unlimited):
    """Each string field of each POST form of tests/test_authz.py, sent as bytes that are not UTF-8
    (percent-encoded, as a browser would): refused with 422, never replaced and stored changed."""
    role, ids = world
    client = app.test_client()
    login(client, f"{role}@example.org")
    texts = iter(civic_statements(200)[80:])
    tried = 0
    for endpoint, method, template, data, _expected in CASES:
        if method != "POST" or endpoint in ENDS_SESSION:
            continue
        fields = _form(data, ids, texts)
        for name, value in fields.items():
            if not isinstance(value, str):
                continue
            for bad in NOT_UTF8[:3]:
                token = csrf_from(client, "/account/login")
                body = "&".join(
                    f"{k}={quote_from_bytes(bad) if k == name else quote_from_bytes(str(v).encode())}"
                    for k, v in {**fields, "csrf_token": token}.items()
                    if not isinstance(v, list)
                )
                response = client.post(
                    template.format(**ids), data=body, content_type="application/x-www-form-urlencoded"
                )
                if (
                    endpoint == "notifications.unsubscribe"
                ):  # CSRF-exempt; a forged token is not found before the form is read
                    assert response.status_code == 404
                else:  # refused as not UTF-8 when the form is first read, whoever sends it
                    assert response.status_code == 422 and b"not valid UTF-8" in response.data, (
                        endpoint,
                        name,
                        bad,
                        response.status_code,
                    )
                tried += 1
    assert tried > 40
    _stored_texts_are_utf8(app)


def test_every_api_text_field_refuses_lone_surrogates_whatever_else_it_holds(app, make, unlimited):
    from agora.api.v1.openapi import spec

    cid = make.consultation()
    sid = make.submission(cid, make.user())
    with app.app_context():
        secret = accounts.create_token(db.session.get(User, make.user()), "fuzz")[1]
        document = spec("/api/v1")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    fields = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            schema = (
                (operation.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema")
                if isinstance(operation, dict)
                else None
            )
            for name, field in (schema or {}).get("properties", {}).items():
                if field.get("type") == "string":
                    fields.append(
                        (
                            "/api/v1" + path.format(consultation_id=cid, submission_id=sid, report_id=1),
                            method.upper(),
                            name,
                        )
                    )
    assert len(fields) >= 2

    @FUZZ
    @given(st.sampled_from(fields), TEXTS)
    def check(field, raw):
        url, method, name = field
        response = client.open(
            url, method=method, data=json.dumps({name: raw}), headers=headers
        )  # json.dumps escapes surrogates
        assert response.status_code < 500, (field, raw, response.get_data(as_text=True)[:200])
        if _has_surrogate(raw):
            assert response.status_code == 422 and response.get_json()["error"]["code"] == "encoding", (field, raw)

    check()
    _stored_texts_are_utf8(app)


def test_every_string_field_of_every_hearing_event_refuses_lone_surrogates(app, client, make, unlimited):
    consultation_id = make.consultation()
    chair_id = make.user(email="chair@example.org", name="Chair")
    with app.app_context():
        hearing = hearings.create(consultation_id, "Review of SDG 14")
        hearings.appoint_chair(hearing, db.session.get(User, chair_id), None)
        hearings.open_hearing(hearing, db.session.get(User, chair_id))
        hearing_id = hearing.id
    login(client, "chair@example.org")  # the chair: every event gets past the role checks
    token = re.search(r'data-csrf="([^"]*)"', client.get(f"/hearings/{hearing_id}").get_data(as_text=True)).group(1)
    sock = socketio.test_client(app, namespace="/hearing", flask_test_client=client, auth={"csrf": token})
    assert sock.emit("join", {"hearing_id": hearing_id}, namespace="/hearing", callback=True)["ok"]
    # every string field of every event (from the socket matrix), and the optional ones it omits
    fields = sorted(
        {
            (event, key)
            for event, payload, *_ in EVENTS
            for key, value in payload.items()
            if isinstance(value, str) and key != "id"
        }
        | {("post_message", "client_id"), ("join", "since"), ("request_floor", "topic"), ("post_message", "text")}
    )

    @FUZZ
    @given(st.sampled_from(fields), TEXTS)
    def check(field, raw):
        event, key = field
        ack = sock.emit(
            event,
            {"hearing_id": hearing_id, "text": "A fair point on quotas.", **{key: raw}}
            if event in ("post_message", "chair_summary")
            else {"hearing_id": hearing_id, key: raw},
            namespace="/hearing",
            callback=True,
        )
        assert ack.get("code") != "server_error", (field, raw, ack)
        if _has_surrogate(raw):
            assert ack == {"ok": False, "error": ack["error"], "code": "encoding"}, (field, raw, ack)

    check()
    sock.disconnect(namespace="/hearing")
    _stored_texts_are_utf8(app)


def test_a_csv_cell_that_is_not_utf8_is_refused_with_its_line_never_a_crash(app, make):
    cid = make.consultation()
    facilitator_id = make.user(email="facilitator@example.org", role="facilitator", scope=cid)
    header = b"text,language,constituency,country,gender,channel,date,note\n"

    @FUZZ
    @given(BYTES, st.sampled_from(["text", "note", "constituency", "country"]))
    def check(cell, column):
        row = {
            "text": b"Clean water for every village.",
            "language": b"en",
            "constituency": b"youth",
            "country": b"KE",
            "gender": b"woman",
            "channel": b"radio",
            "date": b"2026-10-10",
            "note": b"Meeting",
        }
        row[column] = b'"' + cell.replace(b'"', b'""') + b'"'
        data = header + b",".join(row.values()) + b"\n"
        with app.app_context():
            try:
                outcome = offline.import_csv(cid, db.session.get(User, facilitator_id), data, announce=False)
            except AgoraError as error:  # refused whole (e.g. not UTF-8): a clear message, a 4xx
                assert 400 <= error.status < 500
                return
            finally:
                db.session.rollback()
            assert outcome.status in ("imported", "invalid", "duplicate_file"), (
                outcome
            )  # the same bytes twice: "duplicate_file"
        _stored_texts_are_utf8(app)

    check()


def test_an_sms_body_that_is_not_utf8_is_refused_never_a_crash(app, client, make, monkeypatch):
    from agora.models import Consultation

    monkeypatch.setitem(app.config, "SMS_SECRET", "gateway-secret")
    monkeypatch.setitem(app.config, "SMS_SALT", None)
    cid = make.consultation()
    with app.app_context():
        sms.set_keyword(db.session.get(Consultation, cid), "WATER")
    app.config["RATELIMIT_ENABLED"] = False
    counter = iter(range(10**6))

    @FUZZ
    @given(BYTES)
    def check(text):
        body = (
            urlencode({"from": "+254712345678", "id": f"gw-{next(counter)}"}).encode()
            + b"&text="
            + quote_from_bytes(b"WATER " + text).encode()
        )
        stamp = str(int(time.time()))
        response = client.post(
            "/sms/inbound",
            data=body,
            content_type="application/x-www-form-urlencoded",
            headers={"X-Agora-Signature": sms.signature("gateway-secret", body, stamp), "X-Agora-Timestamp": stamp},
        )
        assert response.status_code < 500, (text, response.get_data(as_text=True))
        try:
            (b"WATER " + text).decode("utf-8")
        except UnicodeDecodeError:
            assert response.status_code == 400, (text, response.status_code)

    try:
        check()
    finally:
        app.config["RATELIMIT_ENABLED"] = True
    with app.app_context():
        assert all(s.text.encode("utf-8") for s in db.session.scalars(select(Submission)))

"""What the moderation record says must be true: a decision's reason fits the decision (no reason
is preselected, each action offers only its reasons, the server refuses the others), and no
moderator decides on their own content."""

from html.parser import HTMLParser

import pytest

from agora.extensions import db
from agora.models import Appeal, ModerationDecision, Submission
from agora.models.moderation import CODE_OF_CONDUCT
from tests.conftest import csrf_from, login

ABUSIVE = "You are all worthless idiots and stupid bitches, shut up"
CIVIC = "The county should fund more after-school programmes for teenagers."
VIOLATIONS = [k for k in CODE_OF_CONDUCT if k != "within_rules"]


class _Selects(HTMLParser):
    """Every <select> of a page: its name, the hidden inputs of its form, its options and which
    one a browser would show chosen (the one marked selected, else the first)."""

    def __init__(self):
        super().__init__()
        self.selects, self._hidden, self._current = [], {}, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._hidden = {}
        elif tag == "input" and attrs.get("type") == "hidden":
            self._hidden[attrs.get("name")] = attrs.get("value")
        elif tag == "select":
            self._current = {"name": attrs.get("name"), "form": dict(self._hidden), "options": [], "selected": []}
            self.selects.append(self._current)
        elif tag == "option" and self._current is not None:
            self._current["options"].append(attrs.get("value"))
            if "selected" in attrs:
                self._current["selected"].append(attrs.get("value"))

    def handle_endtag(self, tag):
        if tag == "select":
            self._current = None


def _selects(html, name="reason"):
    parser = _Selects()
    parser.feed(html)
    found = [s for s in parser.selects if s["name"] == name]
    for select in found:
        shown = select["selected"][0] if select["selected"] else select["options"][0]
        assert shown == "", f"a reason is preselected: {select}"
    return found


@pytest.fixture
def world(app, make):
    cid = make.consultation()
    ids = {
        "author": make.user(email="author@example.org"),
        "mod1": make.user(email="mod1@example.org", role="moderator"),
        "mod2": make.user(email="mod2@example.org", role="moderator"),
        "other": make.user(email="other@example.org"),
    }
    return cid, make.slug(cid), ids


def _post(client, url, data, page="/account/profile"):
    return client.post(url, data={**data, "csrf_token": csrf_from(client, page)})


def _state(app, sid):
    with app.app_context():
        return db.session.get(Submission, sid).state


def _logout(client):
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})


def test_decision_forms_preselect_no_reason_and_offer_only_the_reasons_that_fit(app, client, make, world):
    cid, slug, ids = world
    held = make.submission(cid, ids["author"], ABUSIVE)
    flagged = make.submission(cid, ids["author"], CIVIC)
    login(client, "other@example.org")
    page = client.get(f"/consultations/{slug}").get_data(as_text=True)
    (report_form,) = _selects(page)
    assert report_form["options"] == ["", *VIOLATIONS]  # a participant reports a broken rule, none chosen for them
    assert (
        _post(client, f"/submissions/{flagged}/flag", {"reason": ""}, page=f"/consultations/{slug}").status_code == 422
    )
    assert (
        _post(
            client, f"/submissions/{flagged}/flag", {"reason": "within_rules"}, page=f"/consultations/{slug}"
        ).status_code
        == 422
    )
    assert (
        _post(
            client, f"/submissions/{flagged}/flag", {"reason": "off_topic"}, page=f"/consultations/{slug}"
        ).status_code
        == 302
    )
    _logout(client)

    login(client, "mod1@example.org")
    offered = {
        s["form"]["action"]: s["options"]
        for s in _selects(client.get(f"/moderation/items/{held}").get_data(as_text=True))
    }
    assert offered == {"approve": ["", "within_rules"], "hide": ["", *VIOLATIONS], "reject": ["", *VIOLATIONS]}
    offered = {
        s["form"]["action"]: s["options"]
        for s in _selects(client.get(f"/moderation/items/{flagged}").get_data(as_text=True))
    }
    assert offered == {"keep": ["", "within_rules"], "hide": ["", *VIOLATIONS], "reject": ["", *VIOLATIONS]}

    # the server refuses a reason that does not fit, and no reason at all
    for action, reason in (("approve", "abuse"), ("approve", ""), ("hide", "within_rules"), ("reject", "within_rules")):
        assert (
            _post(client, f"/moderation/items/{held}/decide", {"action": action, "reason": reason}).status_code == 303
        )
    assert _state(app, held) == "held"
    for reason in ("abuse", "spam", ""):
        assert (
            _post(client, f"/moderation/items/{flagged}/decide", {"action": "keep", "reason": reason}).status_code
            == 303
        )
    assert _state(app, flagged) == "published"
    assert (
        _post(client, f"/moderation/items/{flagged}/decide", {"action": "keep", "reason": "within_rules"}).status_code
        == 302
    )
    assert _post(client, f"/moderation/items/{held}/decide", {"action": "reject", "reason": "abuse"}).status_code == 302
    with app.app_context():
        human = [
            (d.action, d.reason)
            for d in db.session.query(ModerationDecision).filter_by(automatic=False).order_by(ModerationDecision.id)
        ]
    assert human == [("keep", "within_rules"), ("reject", "abuse")]
    _logout(client)

    login(client, "author@example.org")
    assert (
        _post(
            client, f"/account/views/{held}/appeal", {"statement": "I was quoting someone to condemn it."}
        ).status_code
        == 302
    )
    _logout(client)
    login(client, "mod2@example.org")
    with app.app_context():
        appeal_id = db.session.query(Appeal).one().id
    offered = {
        s["form"]["outcome"]: s["options"] for s in _selects(client.get("/moderation/appeals").get_data(as_text=True))
    }
    assert offered == {"restored": ["", "within_rules"], "upheld": ["", *VIOLATIONS]}
    assert (
        _post(client, f"/moderation/appeals/{appeal_id}/decide", {"outcome": "restored", "reason": "abuse"}).status_code
        == 303
    )
    assert (
        _post(
            client, f"/moderation/appeals/{appeal_id}/decide", {"outcome": "upheld", "reason": "within_rules"}
        ).status_code
        == 303
    )
    assert _state(app, held) == "rejected"
    assert (
        _post(
            client, f"/moderation/appeals/{appeal_id}/decide", {"outcome": "restored", "reason": "within_rules"}
        ).status_code
        == 302
    )
    assert _state(app, held) == "published"


def test_a_campaign_is_decided_with_one_choice_of_decision_and_fitting_reason(app, client, make, world):
    cid, slug, ids = world
    author = make.user()
    sids = [
        make.submission(
            cid, author, "BUY CHEAP PILLS http://spam.example http://spam.example/2 http://spam.example/3 " + str(i)
        )
        for i in range(3)
    ]
    with app.app_context():
        campaign_id = db.session.get(Submission, sids[0]).campaign_id
    login(client, "mod1@example.org")
    page = client.get(f"/moderation/campaigns/{campaign_id}").get_data(as_text=True)
    (choice,) = _selects(page, name="decision")
    assert choice["options"] == [
        "",
        "approve:within_rules",
        *(f"hide:{k}" for k in VIOLATIONS),
        *(f"reject:{k}" for k in VIOLATIONS),
    ]
    url = f"/moderation/campaigns/{campaign_id}/decide"
    assert _post(client, url, {"decision": "approve:spam", "ids": [str(s) for s in sids]}).status_code == 303
    assert {_state(app, s) for s in sids} == {"held"}
    assert _post(client, url, {"decision": "reject:spam", "ids": [str(s) for s in sids]}).status_code == 302
    assert {_state(app, s) for s in sids} == {"rejected"}


def test_a_moderator_never_decides_on_their_own_held_view_or_reports_on_it(app, client, make, world):
    cid, slug, ids = world
    held = make.submission(cid, ids["mod1"], ABUSIVE)
    reported = make.submission(cid, ids["mod1"], CIVIC)
    assert _state(app, held) == "held" and _state(app, reported) == "published"
    login(client, "other@example.org")
    assert (
        _post(
            client, f"/submissions/{reported}/flag", {"reason": "off_topic"}, page=f"/consultations/{slug}"
        ).status_code
        == 302
    )
    _logout(client)

    login(client, "mod1@example.org")
    queue = client.get("/moderation/").get_data(as_text=True)
    rows = {sid: row for sid in (held, reported) for row in queue.split("<tr>") if f"#{sid}</a>" in row}
    assert all("yours — another moderator decides" in row for row in rows.values()) and len(rows) == 2
    page = client.get(f"/moderation/items/{held}").get_data(as_text=True)
    assert "yours — another moderator decides" in page and not _selects(page)
    for sid, action, reason in ((held, "approve", "within_rules"), (reported, "keep", "within_rules")):
        refused = _post(client, f"/moderation/items/{sid}/decide", {"action": action, "reason": reason})
        assert refused.status_code == 403
        assert "You wrote this item: another moderator decides it." in refused.get_data(as_text=True)
    assert _post(client, f"/moderation/items/{held}/claim", {}).status_code == 403
    assert (_state(app, held), _state(app, reported)) == ("held", "published")
    with app.app_context():
        assert db.session.query(ModerationDecision).filter_by(automatic=False).count() == 0
    _logout(client)

    login(client, "mod2@example.org")  # another moderator decides them
    assert "yours — another moderator decides" not in client.get("/moderation/").get_data(as_text=True)
    assert _post(client, f"/moderation/items/{held}/decide", {"action": "hide", "reason": "abuse"}).status_code == 302
    assert (
        _post(client, f"/moderation/items/{reported}/decide", {"action": "keep", "reason": "within_rules"}).status_code
        == 302
    )
    assert (_state(app, held), _state(app, reported)) == ("hidden", "published")


def test_a_moderator_never_decides_the_appeal_on_their_own_view(app, client, make, world):
    cid, slug, ids = world
    make.user(email="mod3@example.org", role="moderator")
    sid = make.submission(cid, ids["mod1"], ABUSIVE)
    login(client, "mod2@example.org")
    assert _post(client, f"/moderation/items/{sid}/decide", {"action": "hide", "reason": "abuse"}).status_code == 302
    _logout(client)

    login(client, "mod1@example.org")  # the author appeals, then tries to decide their own appeal
    assert _post(client, f"/account/views/{sid}/appeal", {"statement": "This was satire."}).status_code == 302
    with app.app_context():
        appeal_id = db.session.query(Appeal).one().id
    page = client.get("/moderation/appeals").get_data(as_text=True)
    assert "yours — another moderator decides" in page and not _selects(page)
    refused = _post(
        client, f"/moderation/appeals/{appeal_id}/decide", {"outcome": "restored", "reason": "within_rules"}
    )
    assert refused.status_code == 403
    assert "This appeal is on your own view: another moderator decides it." in refused.get_data(as_text=True)
    assert _state(app, sid) == "hidden"
    _logout(client)

    login(client, "mod3@example.org")  # neither the author nor the first moderator
    assert (
        _post(client, f"/moderation/appeals/{appeal_id}/decide", {"outcome": "upheld", "reason": "abuse"}).status_code
        == 302
    )
    with app.app_context():
        assert db.session.query(Appeal).one().decided_by_id != ids["mod1"]


def test_a_campaign_member_of_the_moderators_own_is_left_to_another_moderator(app, client, make, world):
    cid, slug, ids = world
    text = "BUY CHEAP PILLS http://spam.example http://spam.example/2 http://spam.example/3 "
    own = make.submission(cid, ids["mod1"], text + "0")
    others = [make.submission(cid, make.user(), text + str(i)) for i in range(1, 3)]
    with app.app_context():
        campaign_id = db.session.get(Submission, own).campaign_id
    login(client, "mod1@example.org")
    page = client.get(f"/moderation/campaigns/{campaign_id}").get_data(as_text=True)
    assert f'value="{own}" id="m{own}" disabled' in page and "yours — another moderator decides" in page
    url = f"/moderation/campaigns/{campaign_id}/decide"
    assert _post(client, url, {"decision": "reject:spam", "ids": [str(s) for s in [own, *others]]}).status_code == 403
    assert {_state(app, s) for s in [own, *others]} == {"held"}
    assert _post(client, url, {"decision": "reject:spam", "ids": [str(s) for s in others]}).status_code == 302
    assert [_state(app, s) for s in [own, *others]] == ["held", "rejected", "rejected"]

"""The voting card (one view at a time, routed as in Pol.is) and the opinion map, through the
services and the real pages: routing order, never a view voted on or one's own, pass counts,
skips, the plain form and its JSON answer, closed consultations, the map with "you" on it."""

import re

import pytest

from agora.extensions import db
from agora.models import Submission, User
from agora.services.analysis import opinion_map, opinions, themes
from agora.services.participation import submissions, voting_card
from tests.conftest import csrf_from, login

# One view per UN language, plus a second of each, so routing is tested on real text in all six.
VIEWS = [
    "Rural clinics need reliable electricity before anything else.",
    "Les données de santé publique doivent rester sous contrôle public.",
    "El agua potable debe ser gratuita para los hogares más pobres.",
    "يجب أن تكون المياه النظيفة حقا مكفولا لكل أسرة.",
    "农村地区需要更多的公共交通。",
    "Городам нужны зелёные зоны для охлаждения летом.",
    "Small island states should chair the ocean negotiations.",
    "Les jeunes doivent avoir un siège dans chaque délégation.",
]


@pytest.fixture(autouse=True)
def _fresh(app):
    themes.reset_caches()
    voting_card._EXTREMITY.clear()
    opinion_map._AREAS.clear()
    yield
    themes.reset_caches()


def _publish(app, consultation_id, texts, author_id=None, state="published"):
    with app.app_context():
        ids = []
        for text in texts:
            s = Submission(consultation_id=consultation_id, text=text, state=state, channel="web", author_id=author_id)
            db.session.add(s)
            db.session.flush()
            ids.append(s.id)
        db.session.commit()
        return ids


def _vote(app, user_id, submission_id, choice):
    with app.app_context():
        submissions.vote(submission_id, db.session.get(User, user_id), choice)


def _next(app, consultation_id, user_id, skipped=()):
    with app.app_context():
        from agora.services.participation import consultations

        user = db.session.get(User, user_id) if user_id else None
        card = voting_card.next_card(consultations.get(consultation_id), user, skipped)
        return (card.statement.id if card.statement else None), card.voted, card.total, card.skipped


def test_a_view_with_few_votes_comes_first(app, make):
    cid = make.consultation()
    ids = _publish(app, cid, VIEWS[:6])
    crowd = [make.user() for _ in range(4)]
    for i, person in enumerate(crowd):  # every view but the Russian one has split votes
        for sid in ids[:5]:
            _vote(app, person, sid, "agree" if i % 2 else "disagree")
    me = make.user()
    first, voted, total, _ = _next(app, cid, me)
    assert first == ids[5]
    assert (voted, total) == (0, 6)
    with app.app_context():
        assert "зелёные" in db.session.get(Submission, first).text


def test_a_view_hidden_since_the_ranking_was_kept_is_not_shown(app, make):
    """The ranking is kept for a few seconds; a view a moderator hid meanwhile (in another server
    process, or by a bulk update that no flush hook sees) gives its place to the next one."""
    from sqlalchemy import update

    cid = make.consultation()
    ids = _publish(app, cid, VIEWS[:3])
    me = make.user()
    first, *_ = _next(app, cid, me)
    with app.app_context():
        db.session.execute(update(Submission).where(Submission.id == first).values(state="hidden"))
        db.session.commit()
    shown, *_ = _next(app, cid, me)
    assert shown in ids and shown != first


def test_never_one_already_voted_or_ones_own_and_pass_counts_as_voted(app, make):
    cid = make.consultation()
    me = make.user()
    mine = _publish(app, cid, [VIEWS[0]], author_id=me)[0]
    others = _publish(app, cid, VIEWS[1:6])
    held = _publish(app, cid, ["Held: buy pills now"], state="held")[0]
    shown = []
    for choice in ("agree", "disagree", "pass", "agree", "pass"):
        sid, voted, total, _ = _next(app, cid, me)
        assert sid not in (mine, held, *shown)
        assert (voted, total) == (len(shown), 5)  # one's own view is not counted as votable
        shown.append(sid)
        _vote(app, me, sid, choice)
    assert sorted(shown) == sorted(others)
    sid, voted, total, _ = _next(app, cid, me)
    assert sid is None and (voted, total) == (5, 5)  # two passes count as votes


def test_a_skipped_view_comes_back_after_the_others(app, make):
    cid = make.consultation()
    ids = _publish(app, cid, VIEWS[2:5])
    me = make.user()
    first = _next(app, cid, me)[0]
    second = _next(app, cid, me, (first,))[0]
    assert second != first
    third = _next(app, cid, me, (first, second))[0]
    assert third not in (first, second)
    _vote(app, me, third, "agree")
    # only skipped ones left: the oldest skip comes back, and the round starts again
    again, _voted, _total, skipped = _next(app, cid, me, (first, second))
    assert again == first and skipped == ()
    assert voting_card.parse_skipped("5,x,7,5,-1,99999999999999") == (5, 7)
    assert set(ids) == {first, second, third}


def test_a_view_that_divides_the_groups_comes_before_one_everyone_agrees_on(app, make):
    """With an opinions snapshot, extremity (how far a view pulls the groups apart) breaks the tie
    between views with the same number of votes."""
    cid = make.consultation()
    ids = _publish(app, cid, VIEWS)
    people = [make.user() for _ in range(16)]
    for i, person in enumerate(people):
        side = "agree" if i < 8 else "disagree"
        other = "disagree" if i < 8 else "agree"
        for sid in ids[:4]:
            _vote(app, person, sid, side)
        for sid in ids[4:7]:
            _vote(app, person, sid, other)
        _vote(app, person, ids[7], "agree")  # common ground: everyone agrees
    with app.app_context():
        assert opinions.refit(cid).status == "ready"
        ranked = voting_card.ranking(cid)
    order = [sid for sid, _author, _score in ranked]
    assert order.index(ids[7]) > order.index(ids[0])
    # a brand-new view, with no vote yet, still comes first
    fresh = _publish(app, cid, ["Новые взгляды: нужен общий фонд для адаптации."])[0]
    me = make.user()
    assert _next(app, cid, me)[0] == fresh


def _card_form(html):
    sid = re.search(r'name="submission_id" value="(\d+)"', html)
    return int(sid.group(1)) if sid else None


def test_the_plain_form_votes_and_shows_the_next_card(app, make, signed_in):
    cid = make.consultation()
    slug = make.slug(cid)
    ids = _publish(app, cid, VIEWS[:4])
    page = signed_in.get(f"/consultations/{slug}/vote").get_data(as_text=True)
    assert "You have voted on 0 of 4 views." in page
    first = _card_form(page)
    token = csrf_from(signed_in, f"/consultations/{slug}/vote")
    response = signed_in.post(
        f"/consultations/{slug}/vote", data={"csrf_token": token, "submission_id": first, "vote": "agree"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/consultations/{slug}/vote")
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "You have voted on 1 of 4 views." in page and "Agreed." in page
    second = _card_form(page)
    assert second in ids and second != first
    # "next" skips without voting; the skip travels in the URL
    response = signed_in.post(
        f"/consultations/{slug}/vote", data={"csrf_token": token, "submission_id": second, "vote": "skip"}
    )
    assert response.status_code == 302 and f"skipped={second}" in response.headers["Location"]
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "You have voted on 1 of 4 views." in page and _card_form(page) not in (first, second)
    with app.app_context():
        assert db.session.get(Submission, first).agree_count == 1
        assert db.session.get(Submission, second).agree_count + db.session.get(Submission, second).pass_count == 0
    # JSON: the same endpoint answers with the next card's HTML and the progress
    third = _card_form(page)
    response = signed_in.post(
        f"/consultations/{slug}/vote",
        data={"csrf_token": token, "submission_id": third, "vote": "pass", "skipped": str(second)},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    data = response.get_json()
    assert (data["voted"], data["total"], data["vote"]) == (2, 4, "pass")
    assert "You have voted on 2 of 4 views." in data["card"] and data["votes_total"] == "2 votes"
    assert _card_form(data["card"]) not in (first, third)
    # bad input: a clear 4xx, nothing recorded
    response = signed_in.post(
        f"/consultations/{slug}/vote",
        data={"csrf_token": token, "submission_id": ids[3], "vote": "maybe"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400 and "agree, disagree or pass" in response.get_json()["error"]
    assert (
        signed_in.post(f"/consultations/{slug}/vote", data={"submission_id": ids[3], "vote": "agree"}).status_code
        == 400
    )  # no CSRF token


def test_anonymous_readers_are_asked_to_sign_in_and_come_back(app, make, client):
    cid = make.consultation()
    slug = make.slug(cid)
    _publish(app, cid, VIEWS[3:4])
    response = client.get(f"/consultations/{slug}/vote")
    page = response.get_data(as_text=True)
    assert "يجب أن تكون المياه" in page and 'name="vote"' not in page
    assert "Set-Cookie" not in response.headers  # nothing to post yet: no session is started
    assert f"/account/login?next=/consultations/{slug}/vote" in page.replace("%2F", "/").replace("%3F", "?")
    response = client.post(f"/consultations/{slug}/vote", data={"vote": "agree"})
    assert response.status_code in (302, 400)


def test_closed_consultations_do_not_invite_votes(app, make, signed_in):
    open_id, closed_id = make.consultation(title="Open one"), make.consultation(title="Closed one", status="closed")
    sid = _publish(app, closed_id, VIEWS[4:5])[0]
    _publish(app, open_id, VIEWS[5:6])
    assert f"/consultations/{make.slug(open_id)}/vote" in signed_in.get(
        f"/consultations/{make.slug(open_id)}"
    ).get_data(as_text=True)
    closed_page = signed_in.get(f"/consultations/{make.slug(closed_id)}").get_data(as_text=True)
    assert f"/consultations/{make.slug(closed_id)}/vote" not in closed_page
    card = signed_in.get(f"/consultations/{make.slug(closed_id)}/vote").get_data(as_text=True)
    assert "This consultation is closed" in card and 'name="vote"' not in card
    token = csrf_from(signed_in, f"/consultations/{make.slug(open_id)}/vote")
    response = signed_in.post(
        f"/consultations/{make.slug(closed_id)}/vote", data={"csrf_token": token, "submission_id": sid, "vote": "agree"}
    )
    assert response.status_code == 409
    with app.app_context():
        assert db.session.get(Submission, sid).agree_count == 0


def test_the_opinion_map_shows_groups_and_you_after_voting(app, make, client):
    cid = make.consultation()
    slug = make.slug(cid)
    ids = _publish(app, cid, VIEWS)
    for i in range(16):
        person = make.user()
        for j, sid in enumerate(ids):
            _vote(app, person, sid, "agree" if (i < 8) == (j < 4) else "disagree")
    with app.app_context():
        opinions.refit(cid)
    make.user(email="newcomer@example.org")
    login(client, "newcomer@example.org")
    page = client.get(f"/consultations/{slug}/opinions").get_data(as_text=True)
    assert '<svg class="opinion-map"' in page and "Group A" in page and "Group B" in page
    assert "Vote on 7 more views to appear on the map." in page
    assert re.search(r'id="opinion-map-you"[^>]*visibility="hidden"', page)
    for sid in ids[:7]:  # votes like the first group, after the groups were computed
        token = csrf_from(client, f"/consultations/{slug}/vote")
        client.post(
            f"/consultations/{slug}/vote",
            data={"csrf_token": token, "submission_id": sid, "vote": "agree" if sid in ids[:4] else "disagree"},
        )
    for url, map_id in (
        (f"/consultations/{slug}/opinions", "opinion-map"),
        (f"/consultations/{slug}/vote", "card-map"),
    ):
        page = client.get(url).get_data(as_text=True)
        assert not re.search(rf'id="{map_id}-you"[^>]*visibility="hidden"', page), url
        assert "closest to Group A" in page, url
        row = re.search(
            r'<tr data-group="0" class="map-you-row"><th scope="row">Group A</th><td>8</td>.*?Closest to you', page
        )
        assert row, url
        assert re.search(
            rf'<desc id="{map_id}-desc">16 participants with enough votes are on the map\. 2 opinion groups \(Group A: 8 and Group B: 8\)',
            page,
        ), url


def test_votes_on_the_card_bring_the_groups_and_the_map_up_to_date(app, make, signed_in):
    """Reading the card checks whether the opinion groups are due (as the opinions page does), so
    votes cast on the card refit the groups the routing and the map use."""
    saved = {k: app.config.get(k) for k in ("THEMES_AUTO_REFIT", "JOBS_BACKEND", "OPINIONS_CHECK_SECONDS")}
    app.config.update(THEMES_AUTO_REFIT=True, JOBS_BACKEND="inline", OPINIONS_CHECK_SECONDS=0)
    opinions._CHECKED.clear()
    try:
        cid = make.consultation()
        slug = make.slug(cid)
        ids = _publish(app, cid, VIEWS)
        for i in range(16):
            person = make.user()
            for j, sid in enumerate(ids):
                _vote(app, person, sid, "agree" if (i < 8) == (j < 4) else "disagree")
        with app.app_context():
            assert themes.latest_snapshot(cid, None, "opinions") is None
        for _ in range(7):
            page = signed_in.get(f"/consultations/{slug}/vote").get_data(as_text=True)
            token = csrf_from(signed_in, f"/consultations/{slug}/vote")
            signed_in.post(
                f"/consultations/{slug}/vote",
                data={"csrf_token": token, "submission_id": _card_form(page), "vote": "agree"},
            )
        page = signed_in.get(f"/consultations/{slug}/vote").get_data(as_text=True)
        with app.app_context():
            assert themes.latest_snapshot(cid, None, "opinions") is not None
        assert '<svg class="opinion-map"' in page and "You are the ringed dot marked “You”" in page
    finally:
        for key, value in saved.items():
            if value is None:
                app.config.pop(key, None)
            else:
                app.config[key] = value
        opinions._CHECKED.clear()

"""Search a consultation's views by meaning (stored embeddings) and by words, in the six languages:
the service, the JSON API and the page without JavaScript; "views like this one"."""

from markupsafe import escape

from agora.extensions import db
from agora.models import Submission
from agora.services import embeddings
from agora.services.participation import search

VIEWS = [  # (concern, text): the same three concerns in six languages, and one held view
    ("water", "Clean drinking water for every village"),
    ("water", "Agua potable limpia para cada aldea"),
    ("water", "مياه شرب نظيفة لكل قرية"),
    ("water", "每个村庄都要有干净的饮用水"),
    ("school", "Il faut plus d'enseignants dans les écoles primaires"),
    ("school", "В начальных школах нужно больше учителей"),
    ("school", "小学需要更多的老师"),
    ("internet", "Mobile internet is far too expensive"),
    ("internet", "Мобильный интернет слишком дорогой"),
    ("internet", "El internet móvil es demasiado caro"),
]


def _consultation(app, make, *, hidden=True):
    cid = make.consultation(title="Services in rural areas")
    with app.app_context():
        ids = {}
        for concern, text in VIEWS:
            submission = Submission(consultation_id=cid, text=text, state="published", channel="import")
            db.session.add(submission)
            db.session.flush()
            ids[text] = (submission.id, concern)
        if hidden:
            secret = Submission(
                consultation_id=cid, text="Clean water pipes: a hidden view", state="hidden", channel="import"
            )
            db.session.add(secret)
            db.session.flush()
            ids[secret.text] = (secret.id, "hidden")
        db.session.commit()
        assert embeddings.embed_pending() == len(ids)  # the background job, run here
    return cid, ids


def _concerns(ids, found):
    by_id = {i: c for i, c in ids.values()}
    return [by_id[s.id] for s in found]


def test_a_query_finds_views_that_mean_the_same_in_every_language(app, make):
    cid, ids = _consultation(app, make)
    with app.app_context():
        for query in ("safe water for villages", "eau potable", "饮用水", "agua"):
            found = search.search(cid, query).items
            concerns = _concerns(ids, found)
            assert concerns[:4] == ["water"] * 4, (query, [s.text for s in found])
            assert "hidden" not in concerns  # only published views are ever found
        teachers = _concerns(ids, search.search(cid, "teachers for schools").items)
        assert teachers[:3] == ["school"] * 3


def test_exact_words_are_found_in_any_script_even_when_meaning_is_far(app, make):
    cid, ids = _consultation(app, make)
    with app.app_context():
        # a word that occurs in one view only: first, whatever the embedding says
        assert search.search(cid, "enseignants").items[0].text.startswith("Il faut plus d'enseignants")
        assert search.search(cid, "老师").items[0].text == "小学需要更多的老师"  # two characters: substring
        assert search.search(cid, "Мобильный").items[0].text.startswith("Мобильный")


def test_views_like_this_one(app, make):
    cid, ids = _consultation(app, make)
    with app.app_context():
        source_id = ids["Mobile internet is far too expensive"][0]
        similar = search.similar(source_id).items
        assert source_id not in [s.id for s in similar]
        assert _concerns(ids, similar)[:2] == ["internet", "internet"]


def test_bad_queries_are_refused_with_a_reason(app, make):
    cid, _ids = _consultation(app, make, hidden=False)
    with app.app_context():
        for bad in ("", "   ", "x" * 201):
            try:
                search.search(cid, bad)
            except search.Invalid as error:
                assert error.field == "q"
            else:
                raise AssertionError(f"{bad!r} was searched")


def test_the_api_searches_with_q(app, make, client):
    cid, ids = _consultation(app, make)
    answer = client.get(f"/api/v1/consultations/{cid}/submissions?q=drinking+water&per_page=4")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["total"] >= 4 and len(body["items"]) == 4
    assert _concerns(ids, [type("S", (), {"id": item["id"]}) for item in body["items"]]) == ["water"] * 4
    refused = client.get(f"/api/v1/consultations/{cid}/submissions?q=")
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "q"


def test_the_page_searches_without_javascript(app, make, client):
    cid, ids = _consultation(app, make)
    slug = make.slug(cid)
    page = client.get(f"/consultations/{slug}?q=internet+m%C3%B3vil")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'role="search"' in html
    assert (
        html.index("El internet móvil es demasiado caro") < html.index("Clean drinking water")
        if "Clean drinking water" in html
        else "El internet móvil es demasiado caro" in html
    )
    assert "Clean water pipes: a hidden view" not in html
    like = client.get(f"/consultations/{slug}?like={ids['Agua potable limpia para cada aldea'][0]}")
    assert "每个村庄都要有干净的饮用水" in like.get_data(as_text=True)
    refused = client.get(f"/consultations/{slug}?q=" + "x" * 201)
    assert refused.status_code == 200 and "at most 200 characters" in refused.get_data(as_text=True)


def test_a_hearings_messages_are_searched_in_any_language_without_javascript(app, make, client):
    from agora.models import Hearing, User
    from agora.services import hearings
    from tests.hearing_messages import MESSAGES

    cid = make.consultation()
    chair = make.user(email="chair@example.org")
    authors = [make.user(email=f"m{i}@example.org") for i in range(len(MESSAGES))]
    with app.app_context():
        hearing = hearings.create(cid, "Oceans review")
        hearings.appoint_chair(hearing, db.session.get(User, chair), None)
        hearings.open_hearing(hearing, db.session.get(User, chair))
        for author, (_concern, _language, text) in zip(authors, MESSAGES):
            assert (
                hearings.post_message(db.session.get(Hearing, hearing.id), db.session.get(User, author), text).state
                == "published"
            )
        hid = hearing.id
    page = client.get(f"/hearings/{hid}")
    assert 'role="search"' in page.get_data(as_text=True)  # the live page offers it too
    found = client.get(f"/hearings/{hid}/transcript?q=quotas+de+pesca").get_data(as_text=True)
    fish = [t for c, _, t in MESSAGES if c == "fish"]
    plastic = [t for c, _, t in MESSAGES if c == "plastic"]
    positions = [found.find(escape(t)) for t in fish + plastic]
    assert all(p > 0 for p in positions[:6]), "every fishing message, in every language"
    assert max(positions[:6]) < min(p for p in positions[6:] if p > 0) if any(p > 0 for p in positions[6:]) else True
    assert client.get(f"/hearings/{hid}/transcript?q=").status_code == 200

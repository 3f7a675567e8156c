"""Group commit: submissions stored together in one transaction behave as if stored one by one."""

import threading

from agora.extensions import db
from agora.models import ModerationDecision, Submission, User
from agora.services import audit
from agora.services.errors import Closed
from agora.services.participation import consultations, group_commit, submissions
from tests.conftest import civic_statements

ARABIC_ABUSE = "أنت حمار وحقير، اخرس يا كلب، لا أحد يريد سماع كلامك القذر"
CAMPAIGN = "Protect the mangroves of the northern coast: stop the new port dredging now, before the breeding season."


def _draft(cid, user, text, key=None):
    return submissions.Draft(
        consultation_id=cid,
        author_id=user.id,
        text=text,
        flood_key=f"author-{text[:12]}",  # distinct keys: this test is not about posting floods
        language=None,
        idempotency=(key, submissions.request_fingerprint(cid, text)) if key else None,
        values={"channel": "api", "kind": "view"},
    )


def test_one_batch_stores_each_view_with_its_own_audit_entry_in_one_chain(app, make):
    cid = make.consultation()
    uid = make.user()
    texts = civic_statements(6)
    with app.app_context():
        user = db.session.get(User, uid)
        outcomes = group_commit._store_and_commit([_draft(cid, user, t) for t in texts], submissions.STORAGE)
        db.session.remove()
        assert [o.created for o in outcomes] == [True] * 6
        stored = db.session.query(Submission).order_by(Submission.id).all()
        assert [s.text for s in stored] == texts
        assert [o.submission.id for o in outcomes] == [s.id for s in stored]
        decisions = db.session.query(ModerationDecision).order_by(ModerationDecision.id).all()
        assert [d.submission_id for d in decisions] == [s.id for s in stored]
        assert audit.verify().ok


def test_near_duplicates_within_one_batch_form_a_campaign(app, make):
    cid = make.consultation()
    uid = make.user()
    with app.app_context():
        user = db.session.get(User, uid)
        texts = [CAMPAIGN, CAMPAIGN.replace("now", "today"), "Teachers in rural schools need fair pay and training."]
        outcomes = group_commit._store_and_commit([_draft(cid, user, t) for t in texts], submissions.STORAGE)
        db.session.remove()
        first, second, other = (db.session.get(Submission, o.submission.id) for o in outcomes)
        assert first.campaign_id == first.id and second.campaign_id == first.id
        assert "near_duplicate" in second.reasons.split(",")
        assert other.campaign_id is None


def test_a_reused_idempotency_key_in_a_batch_does_not_sink_the_others(app, make):
    cid = make.consultation()
    uid = make.user()
    texts = civic_statements(3)
    with app.app_context():
        user = db.session.get(User, uid)
        group_commit._store_and_commit([_draft(cid, user, texts[0], key="k-1")], submissions.STORAGE)
        db.session.remove()
        # The same request retried (same key, same text) beside two new views, in one batch.
        outcomes = group_commit._store_and_commit(
            [
                _draft(cid, user, texts[0], key="k-1"),
                _draft(cid, user, texts[1]),
                _draft(cid, user, texts[2], key="k-2"),
            ],
            submissions.STORAGE,
        )
        db.session.remove()
        assert [o.created for o in outcomes] == [False, True, True]
        assert sorted(s.text for s in db.session.query(Submission)) == sorted(texts)
        assert audit.verify().ok


def test_a_consultation_closed_meanwhile_refuses_only_its_own_drafts(app, make):
    open_id, closing_id = make.consultation(title="Still open"), make.consultation(title="Closing")
    uid = make.user()
    texts = civic_statements(2)
    with app.app_context():
        user = db.session.get(User, uid)
        drafts = [_draft(open_id, user, texts[0]), _draft(closing_id, user, texts[1])]
        consultations.get(closing_id).status = "closed"
        db.session.commit()
        outcomes = group_commit._store_and_commit(drafts, submissions.STORAGE)
        db.session.remove()
        assert outcomes[0].created and isinstance(outcomes[1], Closed)
        assert [s.consultation_id for s in db.session.query(Submission)] == [open_id]


def test_concurrent_api_posts_are_all_stored_once(app, make):
    """Through the API with the writer: eight clients at once, each 201 names its own stored view."""
    from agora.services.accounts import accounts

    cid = make.consultation()
    secrets = []
    with app.app_context():
        for _ in range(8):
            user = db.session.get(User, make.user())
            secrets.append(accounts.create_token(user, "tests")[1])
    texts = civic_statements(8)
    answers = []

    def post(n):
        with app.test_client() as c:
            r = c.post(
                f"/api/v1/consultations/{cid}/submissions",
                json={"text": texts[n]},
                headers={"Authorization": f"Bearer {secrets[n]}"},
            )
            answers.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    assert sorted(status for status, _ in answers) == [201] * 8
    with app.app_context():
        stored = {s.id: s.text for s in db.session.query(Submission)}
        assert {body["id"]: body["text"] for _, body in answers} == stored
        assert audit.verify().ok


def test_each_author_of_a_held_view_in_a_batch_is_told_once_and_the_others_not(app, make):
    from agora.models import Notification

    cid = make.consultation()
    uids = [make.user() for _ in range(3)]
    texts = [
        ARABIC_ABUSE,  # held
        "每个村庄的学校都需要干净的饮用水，请议会公布预算。",  # published
        "你这个白痴，滚出去，你们这些垃圾都该去死",  # held
    ]
    with app.app_context():
        users = [db.session.get(User, uid) for uid in uids]
        outcomes = group_commit._store_and_commit(
            [_draft(cid, u, t) for u, t in zip(users, texts)], submissions.STORAGE
        )
        db.session.remove()
        states = [db.session.get(Submission, o.submission.id).state for o in outcomes]
        assert states == ["held", "published", "held"]
        told = (
            db.session.query(Notification.user_id, Notification.kind, Notification.params)
            .order_by(Notification.user_id)
            .all()
        )
        assert [(u, k) for u, k, _p in told] == [(uids[0], "view_held"), (uids[2], "view_held")]
        assert [f'"submission_id":{outcomes[i].submission.id}' in p for i, (_u, _k, p) in zip((0, 2), told)] == [
            True,
            True,
        ]


def test_the_next_batch_is_screened_while_the_batch_before_is_stored(app, make):
    """The writer's pipeline: the drafts that arrived while a batch was being embedded and scored
    are embedded and scored (``prepare``) while that batch is stored, not after it; each batch is
    still stored with its own scores and vectors."""
    from agora.models import SubmissionVector

    cid = make.consultation()
    uids = [make.user() for _ in range(2)]
    texts = ["Чистая вода нужна каждой сельской школе.", "Les écoles rurales ont besoin d'eau potable."]
    first_taken, first_queued, storing_first = threading.Event(), threading.Event(), threading.Event()
    overlapped: list[bool] = []

    def prepare(drafts):
        if drafts[0].text == texts[0]:
            first_taken.set()
            first_queued.wait(10)  # the second draft arrives while the first batch is screened
        else:
            overlapped.append(storing_first.wait(10))  # the first batch is being stored meanwhile
        return submissions.score(drafts)

    def store(drafts, scored):
        if drafts[0].text == texts[0]:
            storing_first.set()
        return submissions.store(drafts, scored)

    storage = group_commit.Storage(
        store=store, committed=submissions.announce_committed, replay=lambda draft: None, prepare=prepare
    )
    writer = group_commit.Writer(app, storage)
    with app.app_context():
        users = [db.session.get(User, uid) for uid in uids]
        drafts = [_draft(cid, user, text) for user, text in zip(users, texts)]
    outcomes = {}

    def submit(n):
        outcomes[n] = writer.submit(drafts[n])

    first = threading.Thread(target=submit, args=(0,))
    first.start()
    assert first_taken.wait(10)
    second = threading.Thread(target=submit, args=(1,))
    second.start()
    for _ in range(1000):  # until the second draft waits for the writer
        if writer.waiting.qsize():
            break
        threading.Event().wait(0.01)
    first_queued.set()
    first.join(30), second.join(30)
    assert overlapped == [True]
    with app.app_context():
        stored = [db.session.get(Submission, outcomes[n].submission.id) for n in (0, 1)]
        assert [s.text for s in stored] == texts and [s.state for s in stored] == ["published", "published"]
        assert [s.language for s in stored] == ["ru", "fr"]
        vectors = db.session.query(SubmissionVector.submission_id).order_by(SubmissionVector.submission_id).all()
        assert [v for (v,) in vectors] == [s.id for s in stored]
        assert audit.verify().ok


def test_a_failed_prepare_is_done_again_when_the_batch_is_stored(app, make, caplog):
    """If the writer's look-ahead fails (the embedding process, a bug), the view is screened when
    stored: published or held on its own score, never lost, never left unscreened."""
    cid = make.consultation()
    uid = make.user()

    def prepare(drafts):
        raise RuntimeError("the look-ahead failed")

    storage = group_commit.Storage(
        store=submissions.store, committed=submissions.announce_committed, replay=lambda draft: None, prepare=prepare
    )
    writer = group_commit.Writer(app, storage)
    with app.app_context():
        draft = _draft(cid, db.session.get(User, uid), "你这个白痴，滚出去，你们这些垃圾都该去死")
    outcome = writer.submit(draft)
    assert "the look-ahead failed" in caplog.text
    with app.app_context():
        stored = db.session.get(Submission, outcome.submission.id)
        assert (stored.state, stored.language) == ("held", "zh") and stored.abuse_score is not None


def test_scores_computed_ahead_stay_with_their_own_drafts_when_one_is_refused(app, make):
    """A batch scored ahead, then one of its drafts refused (its consultation closed meanwhile):
    each remaining draft is stored with its own score, language and vector."""
    from agora.models import SubmissionVector
    from moderation.embeddings import from_bytes

    closing_id, open_id = make.consultation(title="Closing"), make.consultation(title="Still open")
    uid = make.user()
    texts = ["Las escuelas rurales necesitan agua potable y maestros bien pagados.", ARABIC_ABUSE]
    with app.app_context():
        user = db.session.get(User, uid)
        drafts = [_draft(closing_id, user, texts[0]), _draft(open_id, user, texts[1])]
        scored = submissions.score(drafts)
        consultations.get(closing_id).status = "closed"
        db.session.commit()
        refused, stored = submissions.store(drafts, scored)
        db.session.commit()
        assert isinstance(refused, Closed)
        assert (stored.state, stored.language) == ("held", "ar")
        [vector] = from_bytes([db.session.scalar(db.select(SubmissionVector.vector))])
        assert float(vector @ scored.vectors[1]) > 0.999

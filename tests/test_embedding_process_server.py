"""A real server embeds in its embedding process: views are screened with the vector that process
computed (abuse in Arabic is held, a Chinese proposal is published), each view's vector is stored,
and a killed embedding process is replaced without a view lost or left unscreened."""

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.live_server import LiveServer, separate_database
from tests.scaleout_support import bearer, seed

pytestmark = pytest.mark.server

ARABIC_ABUSE = "أنت حمار وحقير، اخرس يا كلب، لا أحد يريد سماع كلامك القذر"
CHINESE_PROPOSAL = "我们建议在每个村庄的学校修建安全的饮用水设施，并由地方议会每年公布水质检测结果。"
FRENCH_PROPOSAL = "Nous proposons que chaque école rurale publie chaque année les analyses de son eau potable."


def embedding_children(server_pid: int) -> list[int]:
    """The server's child processes running the embedding process."""
    found = []
    for task in Path(f"/proc/{server_pid}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue
            if b"moderation.embedding_process" in command:
                found.append(int(pid))
    return found


def stored(database_url: str, submission_id: int) -> tuple[str, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            state = conn.execute(text("SELECT state FROM submissions WHERE id = :i"), {"i": submission_id}).scalar_one()
            vectors = conn.execute(
                text("SELECT count(*) FROM submission_vectors WHERE submission_id = :i"), {"i": submission_id}
            ).scalar_one()
    finally:
        engine.dispose()
    return state, vectors


def test_views_are_screened_with_the_embedding_process_and_survive_its_death():
    database_url = separate_database("embedding-process")
    world = seed(database_url, n_users=1)
    server = LiveServer(database_url).wait()
    try:
        cid, token = world["consultation_id"], world["tokens"][0]

        def post(view: str) -> int:
            r = requests.post(
                f"{server.url}/api/v1/consultations/{cid}/submissions",
                json={"text": view},
                headers=bearer(token),
                timeout=30,
            )
            assert r.status_code == 201, r.text
            return r.json()["id"]

        children = embedding_children(server.process.pid)
        assert len(children) == 1, "the server starts its embedding process before it serves"
        abuse, proposal = post(ARABIC_ABUSE), post(CHINESE_PROPOSAL)
        assert stored(database_url, abuse) == ("held", 1)
        assert stored(database_url, proposal) == ("published", 1)

        os.kill(children[0], signal.SIGKILL)
        after = post(FRENCH_PROPOSAL)
        assert stored(database_url, after) == ("published", 1)
        replaced = embedding_children(server.process.pid)
        assert len(replaced) == 1 and replaced != children
    finally:
        server.stop()


CAMPAIGN = "Остановите строительство нового порта на северном побережье: мангровые леса и рыболовство погибнут."
BURST = [
    ("ar", "ينبغي أن تنشر كل بلدية ميزانية المياه والصرف الصحي كل عام بلغة يفهمها السكان."),
    ("zh", "城市应当为骑自行车的人修建安全的道路，并公布每年的交通事故数据。"),
    ("en", "Small farmers need weather forecasts by text message in their own language."),
    ("fr", "Les jeunes doivent siéger au conseil municipal avec un droit de vote sur le budget."),
    ("ru", "Каждая больница должна публиковать время ожидания приёма у врача."),
    ("es", "Las comunidades indígenas deben aprobar cualquier proyecto minero en su territorio."),
    ("ar", "نقترح تدريب المعلمين في المناطق الريفية على التعليم عن بعد وتزويدهم بالإنترنت."),
    ("zh", "我们希望政府为农村妇女提供小额贷款和职业培训。"),
    ("en", "Publish the air quality readings of every school on a public map, updated daily."),
    ("fr", "Chaque village devrait avoir un point d'eau potable à moins de cinq cents mètres."),
    ("ru", "Нужны бесплатные курсы цифровой грамотности для пожилых людей в библиотеках."),
    ("es", "Los mercados locales necesitan cámaras frigoríficas compartidas para los pescadores."),
    ("ar", "أنت حمار وحقير، اخرس يا كلب، لا أحد يريد سماع كلامك القذر"),
    ("zh", "你这个白痴，滚出去，你们这些垃圾都该去死"),
    ("ru", CAMPAIGN.replace("погибнут", "исчезнут")),
    ("ru", CAMPAIGN.replace("Остановите", "Прекратите")),
]


def test_a_burst_of_views_in_six_languages_is_screened_batch_after_batch():
    """Sixteen views at once from eight people: the writer screens the next batch while it stores
    the one before, and each view keeps its own verdict, vector and campaign."""
    database_url = separate_database("embedding-burst")
    world = seed(database_url, n_users=8)  # new accounts may post 3 views a minute
    server = LiveServer(database_url).wait()
    try:
        cid, tokens = world["consultation_id"], world["tokens"]

        def post(n: int, view: str) -> dict:
            r = requests.post(
                f"{server.url}/api/v1/consultations/{cid}/submissions",
                json={"text": view},
                headers=bearer(tokens[n % len(tokens)]),
                timeout=60,
            )
            assert r.status_code == 201, r.text
            return r.json()

        first = post(0, CAMPAIGN)
        with ThreadPoolExecutor(len(BURST)) as pool:
            answers = list(pool.map(post, range(len(BURST)), [text for _lang, text in BURST]))
        engine = create_engine(database_url)
        try:
            with engine.connect() as conn:
                rows = {
                    r.id: r
                    for r in conn.execute(
                        text(
                            "SELECT s.id, s.text, s.state, s.language, s.campaign_id, count(v.submission_id) AS vectors"
                            " FROM submissions s LEFT JOIN submission_vectors v ON v.submission_id = s.id"
                            " GROUP BY s.id, s.text, s.state, s.language, s.campaign_id"
                        )
                    )
                }
        finally:
            engine.dispose()
        assert len(rows) == len(BURST) + 1 and all(r.vectors == 1 for r in rows.values())
        assert [rows[a["id"]].text for a in answers] == [view for _lang, view in BURST]
        states = [rows[a["id"]].state for a in answers]
        assert states[:12] == ["published"] * 12 and states[12:14] == ["held", "held"]
        assert [rows[a["id"]].language for a in answers[:12]] == [lang for lang, _text in BURST[:12]]
        assert [rows[a["id"]].campaign_id for a in answers[14:]] == [first["id"], first["id"]]
        assert {r.campaign_id for r in rows.values()} == {None, first["id"]}
    finally:
        server.stop()

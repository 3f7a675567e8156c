"""Sentence embeddings computed in a process of their own, so a server's core only waits for them.

Embedding costs ~1.5 ms of CPU a short text (``moderation.embeddings``). In a server's process it
shares the core (and, for the tokenizer, the GIL) with every request and socket: posting fell from
446 to ~260 views a second once screening read embeddings (``bench/http.py``). ``EmbeddingProcess``
starts ``python -m moderation.embedding_process`` on first use and asks it over a pipe, and the
operating system runs it on whichever core is free. Under gevent the pipe is cooperative (the
``subprocess`` module is patched), so the event loop serves everyone else while a batch is embedded.

The child also scores (``screen``): the abuse model's features (hashed n-grams, the language
identifier, the rules) cost ~0.4 ms of CPU a view more, which would otherwise be spent on the
server's core while every request waits. It loads the model the caller names (its directory, or
the shipped one), keeps the last one loaded, and says which version scored; a caller whose own
model is another version scores itself.

The line between them is framed: a request is a 4-byte little-endian length, then JSON: a list of
texts (embed them), or ``{"texts": [...], "model": directory or null}`` (embed and score them);
an answer is a 4-byte count, then count × 512 little-endian float32 (and, for a scoring request, a
4-byte length and JSON ``{"version": ..., "scores": [[abuse, spam, language, reasons, decision],
...]}``), or the count 0xFFFFFFFF, a 4-byte length and an error message. If the child dies, the next call starts a new
one and asks it again, once; if that fails too, ``EmbeddingUnavailable`` tells the caller to embed
some other way. The child exits when its input closes (its parent is gone).
"""

from __future__ import annotations

import json
import logging
import os
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import IO, cast

import numpy as np

from moderation.classify import Moderator, Score
from moderation.embeddings import DIMENSIONS, encode

log = logging.getLogger(__name__)

__all__ = ["EmbeddingProcess", "EmbeddingUnavailable"]

_ERROR = 0xFFFFFFFF
_HEADER = struct.Struct("<I")


class EmbeddingUnavailable(RuntimeError):
    """The embedding process could not answer (it could not start, or died twice in a row)."""


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError(f"the embedding process closed its output ({size - left} of {size} bytes read)")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class EmbeddingProcess:
    """The caller's side: one child process, asked one batch at a time (calls queue on a lock)."""

    def __init__(self, command: list[str] | None = None):
        self._command = command or [sys.executable, "-m", "moderation.embedding_process"]
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.pid if child is not None and child.poll() is None else None

    def start(self) -> None:
        """Start the child now and wait until its model is loaded (a server does this before it
        serves, so the first view does not wait a second for the model)."""
        self.encode(["warm up"])

    def encode(self, texts: Sequence[str | None]) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text, exactly as ``embeddings.encode``."""
        clean = ["" if t is None else str(t) for t in texts]
        if not clean:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        vectors, _scored = self._call(clean, clean)
        return vectors

    def screen(self, texts: Sequence[str], model: str | None) -> tuple[np.ndarray, list[Score] | None, str | None]:
        """The texts' embeddings and the abuse model's scores, exactly as ``Moderator.score(texts,
        vectors=embeddings)`` here, with the model loaded from ``model`` (None: the shipped one);
        and the version that scored. A model the child cannot load is not a dead child: the
        embeddings come back with no scores and no version (the caller scores), and the reason is
        in the child's log."""
        vectors, scored = self._call(list(texts), {"texts": list(texts), "model": model})
        assert scored is not None  # a scoring request's answer has its scores (_ask checks it)
        return vectors, scored[0], scored[1]

    def _call(
        self, texts: list[str], payload: object
    ) -> tuple[np.ndarray, tuple[list[Score] | None, str | None] | None]:
        request = json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass")
        with self._lock:
            for attempt in (1, 2):
                try:
                    return self._ask(request, len(texts), scoring=isinstance(payload, dict))
                except (OSError, EOFError, ValueError) as error:
                    log.warning(
                        "the embedding process failed (%s: %s); attempt %d", type(error).__name__, error, attempt
                    )
                    self._stop_child()
        raise EmbeddingUnavailable("the embedding process could not answer twice in a row")

    def _ask(
        self, request: bytes, count: int, *, scoring: bool
    ) -> tuple[np.ndarray, tuple[list[Score] | None, str | None] | None]:
        child = self._running_child()
        # Started with stdin and stdout as pipes, so neither is None (the types cannot say so).
        stdin, stdout = cast(IO[bytes], child.stdin), cast(IO[bytes], child.stdout)
        stdin.write(_HEADER.pack(len(request)) + request)
        stdin.flush()
        (answered,) = _HEADER.unpack(_read_exactly(stdout, _HEADER.size))
        if answered == _ERROR:
            (size,) = _HEADER.unpack(_read_exactly(stdout, _HEADER.size))
            message = _read_exactly(stdout, size).decode("utf-8", "replace")
            raise ValueError(f"the embedding process refused the batch: {message}")
        if answered != count:
            raise ValueError(f"the embedding process answered {answered} vectors for {count} texts")
        raw = _read_exactly(stdout, count * DIMENSIONS * 4)
        vectors = np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(count, DIMENSIONS)
        if not scoring:
            return vectors, None
        (size,) = _HEADER.unpack(_read_exactly(stdout, _HEADER.size))
        answer = json.loads(_read_exactly(stdout, size).decode("utf-8"))
        if answer["version"] is None:  # the model could not be loaded there
            return vectors, (None, None)
        scores = [
            Score(float(a), float(s), lang, tuple(reasons), decision)
            for a, s, lang, reasons, decision in answer["scores"]
        ]
        if len(scores) != count:
            raise ValueError(f"the embedding process answered {len(scores)} scores for {count} texts")
        return vectors, (scores, str(answer["version"]))

    def _running_child(self) -> subprocess.Popen[bytes]:
        if self._child is None or self._child.poll() is not None:
            self._child = subprocess.Popen(self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
            log.info("started the embedding process (pid %s)", self._child.pid)
        return self._child

    def _stop_child(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        try:
            child.kill()
            child.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass

    def stop(self) -> None:
        """Close the child's input: it exits."""
        with self._lock:
            child, self._child = self._child, None
        if child is not None and child.poll() is None:
            try:
                cast(IO[bytes], child.stdin).close()
                child.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                child.kill()


# -------------------------------------------------------------------------- the child's side


class _Models:
    """The child's abuse model: the one last asked for, loaded once (a retrained model is a new
    directory, so a new name means a new model)."""

    def __init__(self) -> None:
        self._name: str | None = None
        self._model: Moderator | None = None

    def get(self, name: str | None) -> Moderator:
        if self._model is None or name != self._name:
            self._model, self._name = Moderator.load(name or None), name
        return self._model


def _answer(request: object, models: _Models) -> bytes:
    """The answer frame (without its errors) to one decoded request."""
    if isinstance(request, dict):
        texts, name = request.get("texts"), request.get("model")
        if set(request) != {"texts", "model"} or not (name is None or isinstance(name, str)):
            raise ValueError('a scoring request is {"texts": [...], "model": directory or null}')
    else:
        texts, name = request, None
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise ValueError("a request's texts must be a JSON list of strings")
    vectors = np.ascontiguousarray(encode(texts), dtype="<f4")
    frame = _HEADER.pack(len(texts)) + vectors.tobytes()
    if isinstance(request, dict):
        try:
            model = models.get(name)
        except Exception:  # a missing or damaged model directory: the caller scores with its own
            log.exception("could not load the abuse model %s; answering the embeddings only", name or "(shipped)")
            body = json.dumps({"version": None, "scores": []}).encode("utf-8")
            return frame + _HEADER.pack(len(body)) + body
        scores = [
            [s.abuse, s.spam, s.language, list(s.reasons), s.decision] for s in model.score(texts, vectors=vectors)
        ]
        body = json.dumps({"version": model.version, "scores": scores}).encode("utf-8")
        frame += _HEADER.pack(len(body)) + body
    return frame


def serve(requests: IO[bytes], answers: IO[bytes]) -> int:
    """Answer framed requests from ``requests`` on ``answers`` until the input ends."""
    models = _Models()
    while True:
        head = requests.read(_HEADER.size)
        if len(head) < _HEADER.size:
            return 0
        (size,) = _HEADER.unpack(head)
        try:
            body = _read_exactly(requests, size)
        except EOFError:
            return 0
        try:
            answers.write(_answer(json.loads(body.decode("utf-8", "surrogatepass")), models))
        except Exception as error:  # a batch it cannot embed is that batch's answer, not the end
            log.exception("could not embed a batch")
            message = f"{type(error).__name__}: {error}".encode("utf-8", "replace")[:2000]
            answers.write(_HEADER.pack(_ERROR) + _HEADER.pack(len(message)) + message)
        answers.flush()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s embedding-process: %(message)s")
    # Our standard output is the parent's line to us: anything else printed goes to stderr.
    answers = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    sys.exit(main())

"""Group commit: submissions arriving at the same moment share one transaction.

Under load most of a submission's cost is per transaction, not per row: the commit, the audit
chain's look-up of the previous entry, the model's set-up for scoring one text. So the busy paths
(the API and the form) hand their validated draft to one writer per process, which takes whatever
is waiting (up to MAX_BATCH), screens it in one batch, stores it and commits once; each request
waits for its own result and answers only after the commit, so an acknowledged view is stored.

The writer is a pipeline of two: a batch's ``prepare`` (screening's embeddings and scores, which
read no stored state and are computed by the embedding process on another core) runs while the
batch before it is stored, so neither core waits for the other. Everything that depends on what is
stored (thresholds, near-duplicates, floods, the audit chain) stays in the store step, batch after
batch, in order.

One bad draft never sinks the others: if storing the batch fails for any reason that can belong
to one draft (a constraint, such as a concurrent retry with the same Idempotency-Key; a text the
database cannot encode; a bug the draft's text triggers), the batch is stored again one draft at
a time, and only the draft that fails alone gets its error. Only a failure of the database
itself (locked past its budget, or gone: `shared_failure`) reaches every request of the batch,
which answers 503 and stores nothing. The writer is a greenlet under the gevent server and a thread
elsewhere; it stops after IDLE_SECONDS without work and starts again on the next draft.

This module is the layer below the service whose drafts it stores: it knows nothing of
submissions, and the service hands it a ``Storage`` (how to store a batch, what to do after the
commit, how to find the earlier result of a replayed request).
"""

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import Flask, current_app
from sqlalchemy.exc import DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from agora.extensions import db
from agora.jobs import gevent_patched
from agora.services.errors import AgoraError

log = logging.getLogger(__name__)

MAX_BATCH = 16
IDLE_SECONDS = 5.0

DraftT = TypeVar("DraftT")  # what the service hands over (submissions.Draft)
StoredT = TypeVar("StoredT")  # what it stores (a Submission)


@dataclass(frozen=True)
class Storage(Generic[DraftT, StoredT]):
    """What the writer does with drafts, given by the service that owns them."""

    store: Callable[
        [list[DraftT], Any], Sequence[StoredT | Exception]
    ]  # (drafts, their prepare or None): a stored object or an exception each, in one (uncommitted) transaction
    committed: Callable[[StoredT], None]  # after the commit, for each stored object (never raises)
    replay: Callable[[DraftT], StoredT | None]  # a draft refused as a duplicate: the earlier stored object, or None
    # what store would compute first without reading stored state (screening's scores): computed
    # while the batch before is stored; store computes it itself when given None
    prepare: Callable[[list[DraftT]], Any] | None = None


@dataclass(frozen=True)
class Outcome(Generic[StoredT]):
    submission: StoredT  # the stored Submission, detached from the writer's session
    created: bool  # False: an earlier submission with the same Idempotency-Key


ResultT = TypeVar("ResultT")


class _Result(Generic[ResultT]):
    """Where one request waits for its result: gevent's AsyncResult under the server, else a Future."""

    def __init__(self) -> None:
        self.wait: Callable[[], ResultT]
        self.succeed: Callable[[ResultT], None]
        self.fail: Callable[[BaseException], None]
        if gevent_patched():
            from gevent.event import AsyncResult

            box = AsyncResult()
            self.wait, self.succeed = box.get, box.set
        else:
            box = Future()
            self.wait, self.succeed = box.result, box.set_result
        self.fail = box.set_exception


def _start(run: Callable[[], None]) -> None:
    if gevent_patched():
        import gevent

        gevent.spawn(run)
    else:
        threading.Thread(target=run, name="agora-group-commit", daemon=True).start()


class Writer(Generic[DraftT, StoredT]):
    def __init__(self, app: Flask, storage: Storage[DraftT, StoredT]):
        self.app = app
        self.storage = storage
        self.waiting: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.running = False
        self.preparer: ThreadPoolExecutor | None = None  # without gevent: prepares in a thread of its own

    def submit(self, draft: DraftT) -> Outcome[StoredT]:
        result: _Result[Outcome[StoredT]] = _Result()
        self.waiting.put((draft, result))
        with self.lock:
            if not self.running:
                self.running = True
                _start(self._run)
        return result.wait()

    def _run(self) -> None:
        ahead: tuple[list, Callable[[], Any]] | None = None  # the next batch, its prepare under way
        while True:
            if ahead is None:
                try:
                    first = self.waiting.get(timeout=IDLE_SECONDS)
                except queue.Empty:
                    with self.lock:
                        if self.waiting.empty():
                            self.running = False
                            if self.preparer is not None:  # its thread ends with the writer's
                                self.preparer.shutdown(wait=False)
                                self.preparer = None
                            return
                    continue
                ahead = self._begin([first, *self._waiting_now()])
            batch, prepared = ahead
            try:
                ready = prepared()
            except Exception:  # never let the writer die (its drafts would wait forever): store prepares
                log.exception("waiting for the prepare of %d submission(s) failed", len(batch))
                ready = None
            # what arrived meanwhile is prepared (its embedding, in the embedding process) while
            # this batch is stored on this process's core: the two overlap instead of alternating
            following = self._waiting_now()
            ahead = self._begin(following) if following else None
            self._store(batch, ready)

    def _waiting_now(self) -> list:
        batch: list = []
        while len(batch) < MAX_BATCH:
            try:
                batch.append(self.waiting.get_nowait())
            except queue.Empty:
                break
        return batch

    def _begin(self, batch: list) -> tuple[list, Callable[[], Any]]:
        """Start preparing a batch (a greenlet, or a thread); returns it with a call that waits for
        its prepare (None if it failed: the store step then computes it itself)."""
        drafts = [draft for draft, _waiter in batch]
        if self.storage.prepare is None:
            return batch, lambda: None
        if not gevent_patched():
            if self.preparer is None:
                self.preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agora-group-commit-prepare")
            try:
                return batch, self.preparer.submit(self._prepare, drafts).result
            except RuntimeError:  # the interpreter is shutting down: the store step prepares
                return batch, lambda: None
        import gevent

        job = gevent.spawn(self._prepare, drafts)
        gevent.sleep(0)  # let it send its batch to the embedding process before this greenlet goes on
        return batch, job.get

    def _prepare(self, drafts: list) -> Any:
        assert self.storage.prepare is not None
        try:
            with self.app.app_context():
                try:
                    return self.storage.prepare(drafts)
                finally:
                    db.session.remove()
        except Exception:
            log.exception("preparing %d submission(s) failed; they are prepared when stored", len(drafts))
            return None

    def _store(self, batch: list, prepared: Any) -> None:
        drafts = [draft for draft, _waiter in batch]
        try:
            with self.app.app_context():
                try:
                    results = _store_and_commit(drafts, self.storage, prepared)
                finally:
                    db.session.remove()
        except Exception as error:  # never let the writer die: every waiter gets the error
            log.exception("group commit of %d submission(s) failed", len(drafts))
            results = [error] * len(drafts)
        for (_draft, waiter), result in zip(batch, results):
            if isinstance(result, BaseException):
                waiter.fail(result)
            else:
                waiter.succeed(result)


def shared_failure(error: BaseException) -> bool:
    """Whether the error is the database's (locked, unreachable, out of connections), so it would
    fail any draft alike; anything else may belong to one draft and is retried draft by draft."""
    return isinstance(error, (OperationalError, InterfaceError, DisconnectionError, PoolTimeout))


def _store_and_commit(
    drafts: list[DraftT], storage: Storage[DraftT, StoredT], prepared: Any = None
) -> list[Outcome[StoredT] | Exception]:
    """Store drafts in one transaction; one Outcome or exception per draft, in order. ``prepared``:
    the drafts' ``storage.prepare``, if computed ahead (the one-by-one retry computes its own)."""
    try:
        results = storage.store(drafts, prepared)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        if shared_failure(error):
            raise
        if len(drafts) > 1:
            log.info(
                "group commit of %d drafts failed (%s); storing them one by one", len(drafts), type(error).__name__
            )
            return [_alone(draft, storage) for draft in drafts]
        draft = drafts[0]
        if isinstance(error, IntegrityError):
            try:
                earlier = storage.replay(draft)
            except AgoraError as conflict:  # the key was taken meanwhile for another text
                return [conflict]
            if earlier is not None:
                return [Outcome(earlier, False)]
        if not isinstance(error, IntegrityError):
            log.error("a draft failed alone in the group commit", exc_info=error)
        return [error]
    outcomes: list[Outcome | Exception] = []
    for result in results:
        if isinstance(result, Exception):
            outcomes.append(result)
        else:
            storage.committed(result)
            outcomes.append(Outcome(result, True))
    return outcomes


def _alone(draft: DraftT, storage: Storage[DraftT, StoredT]) -> Outcome[StoredT] | Exception:
    """One draft in its own transaction: its Outcome, or the exception that is its alone (a
    database failure here is this draft's answer: the drafts stored before it stay stored)."""
    try:
        return _store_and_commit([draft], storage)[0]
    except Exception as error:
        return error


def submit(draft: DraftT, storage: Storage[DraftT, StoredT]) -> Outcome[StoredT]:
    """Store a draft with whatever else is waiting; returns once it is committed (or raises)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's app, for the writer
    writers = app.extensions.setdefault("agora_group_commit", {})
    writer = writers.get(storage)
    if writer is None:
        writer = writers.setdefault(storage, Writer(app, storage))
    return writer.submit(draft)

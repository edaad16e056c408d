"""Group commit: one thread stores queued deliveries, several per transaction.

A batch is first stored in one plain transaction by one ``models.mail.deliver_many`` call
(a handful of statements for the whole batch; a SAVEPOINT per message would cost about a
third of the delivery time). Only when a message fails (a constraint, a bug) is the batch
rolled back and stored again with a SAVEPOINT per message, so the failing one is answered
451 alone while the rest commits. A caller's future resolves
only after the COMMIT that contains its message returned: the SMTP side sends 250
from that, never earlier (RFC 5321 §6.1). Notifications go out after the commit,
from this thread, so a slow Redis never delays a 250 or blocks the event loop.
"""

from __future__ import annotations

import fcntl
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext

from sqlalchemy.engine import make_url

from models import mail
from models.db import Database

from . import metrics

log = logging.getLogger("otpinbox.smtp")

_STOP = object()

Job = tuple[mail.InboundMessage, "Future[mail.Delivery]"]


class GroupCommitter:
    def __init__(
        self,
        db: Database,
        *,
        max_batch: int = 64,
        after_commit: Callable[[list[mail.Delivery]], None] | None = None,
    ) -> None:
        self.db = db
        self.max_batch = max(1, max_batch)
        self.after_commit = after_commit
        self._writer_lock = writer_lock(db)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="smtp-committer", daemon=True)
        self._thread.start()

    def submit(self, inbound: mail.InboundMessage) -> Future[mail.Delivery]:
        future: Future[mail.Delivery] = Future()
        metrics.QUEUE_DEPTH.inc()
        self._queue.put((inbound, future))
        return future

    def close(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop the thread."""
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch: list[Job] = [item]  # type: ignore[list-item]
            stopping = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)  # type: ignore[arg-type]
            metrics.QUEUE_DEPTH.dec(len(batch))
            self._commit(batch)
            if stopping:
                return

    def _commit(self, batch: list[Job]) -> None:
        started = time.perf_counter()
        try:
            done = self._store(batch, isolate=False)
        except _MessageFailed:
            done = None
        except Exception as exc:  # the COMMIT itself failed: nothing in the batch is stored
            self._fail(batch, exc)
            return
        if done is None:  # a message failed: redo the batch with one SAVEPOINT per message
            try:
                done = self._store(batch, isolate=True)
            except Exception as exc:
                self._fail([job for job in batch if not job[1].done()], exc)
                return
        metrics.COMMIT_SECONDS.observe(time.perf_counter() - started)
        metrics.BATCH_SIZE.observe(len(batch))
        for future, delivery in done:
            future.set_result(delivery)
        if self.after_commit is not None and done:
            try:
                self.after_commit([delivery for _, delivery in done])
            except Exception:  # a notification failure never un-stores mail
                log.exception("after-commit notification failed")

    def _store(
        self, batch: list[Job], *, isolate: bool
    ) -> list[tuple[Future[mail.Delivery], mail.Delivery]]:
        """Deliver the batch in one transaction; return only after its COMMIT.

        Without ``isolate`` the first failing message aborts the whole transaction
        (:class:`_MessageFailed`); with it, that message's future gets the error and the
        others are committed.
        """
        done: list[tuple[Future[mail.Delivery], mail.Delivery]] = []
        with self._writer_lock, self.db.transaction() as session:
            if not isolate:
                try:
                    deliveries = mail.deliver_many(session, [inbound for inbound, _ in batch])
                except Exception as exc:
                    raise _MessageFailed from exc
                done = list(zip((future for _, future in batch), deliveries, strict=True))
            for inbound, future in batch if isolate else ():
                try:
                    with session.begin_nested():
                        done.append((future, mail.deliver(session, inbound)))
                except Exception as exc:  # this message alone is refused (451)
                    log.exception("delivery failed peer=%s", inbound.peer)
                    future.set_exception(exc)
        return done

    @staticmethod
    def _fail(batch: list[Job], exc: Exception) -> None:
        log.error("commit of %d message(s) failed: %s", len(batch), exc)
        for _, future in batch:
            if not future.done():
                future.set_exception(exc)


class _FileLock:
    """An exclusive ``flock`` held around each write transaction (re-entrant per use only)."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "a+b")  # noqa: SIM115 - held for the process's lifetime

    def __enter__(self) -> None:
        fcntl.flock(self._file, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._file, fcntl.LOCK_UN)


def writer_lock(db: Database) -> AbstractContextManager[None]:
    """With ``--workers N`` on one SQLite file, the committers take turns through a lock file.

    SQLite's busy handler polls with sleeps of up to 100 ms while another process holds
    the write lock; a blocking ``flock`` wakes the next committer as soon as the COMMIT is
    done. PostgreSQL (row locks) and in-memory SQLite need nothing.
    """
    database = make_url(db.url).database if db.is_sqlite else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return nullcontext()
    return _FileLock(f"{database}.smtp-writer-lock")


class _MessageFailed(Exception):
    """One message of an optimistic batch failed; the transaction was rolled back."""

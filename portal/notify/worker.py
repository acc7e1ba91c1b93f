"""The worker: deliver what is due, record each attempt, back off and finally give up.

Several workers may run at once, on one machine or several, on PostgreSQL and on SQLite alike: a
worker first *claims* a message — one conditional UPDATE (still pending, still due) that only one
transaction can win, which also moves ``next_attempt_at`` a lease ahead and counts the attempt —
commits, and only then sends, outside any transaction; the outcome is recorded only if the claim is
still its own (the attempt count it set is unchanged). No database lock or transaction is held
during an SMTP conversation, so a slow mail server stalls no other writer (on SQLite there is only
one writer at a time).

Delivery is at least once: a worker that dies after claiming leaves the message pending; it is due
again when the lease ends and another worker sends it then, rather than never. The lease is far
longer than a send can take (every network step is bounded by the senders' timeouts), so a message
is sent twice only if a worker dies between the send and the record of it.
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.models.outbox import OutboxMessage
from portal.models.types import utcnow
from portal.notify import senders

log = logging.getLogger(__name__)

FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=1)
# A claimed message is due again after this long if its worker never recorded the outcome (it died):
# at least LEASE_FLOOR, and LEASE_TIMEOUTS times the longest network timeout, since one send is a
# handful of steps (connect, greeting, TLS, login, envelope, data) each bounded by that timeout.
LEASE_FLOOR = timedelta(minutes=10)
LEASE_TIMEOUTS = 30


@dataclass
class DeliveryReport:
    """What one or more delivery runs did: messages sent, given up on, and left for a retry."""

    sent: int = 0
    failed: int = 0
    retrying: int = 0

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(self.sent + other.sent, self.failed + other.failed,
                              self.retrying + other.retrying)

    def __bool__(self) -> bool:
        return bool(self.sent or self.failed or self.retrying)

    def summary(self) -> str:
        """The report in the operator's words."""
        return f"已发送 {self.sent} 条，失败 {self.failed} 条，待重试 {self.retrying} 条"


def backoff(attempts: int) -> timedelta:
    """How long to wait after the given number of failed attempts: 1, 2, 4, 8 … minutes, at most 1 h."""
    return min(FIRST_BACKOFF * 2 ** (attempts - 1), MAX_BACKOFF)


def claim_lease(config) -> timedelta:
    """How long a claimed message stays with its worker before another may take it (see LEASE_FLOOR)."""
    longest = max(config["NOTIFY_TIMEOUT_SECONDS"], config["SMS_TIMEOUT_SECONDS"])
    return max(LEASE_FLOOR, timedelta(seconds=LEASE_TIMEOUTS * longest))


def deliver_due(limit: int = 100, now: datetime | None = None,
                should_stop: Callable[[], bool] | None = None) -> DeliveryReport:
    """Send up to ``limit`` pending messages that are due at ``now``, each claimed before it is sent
    and recorded after, so that any number of workers may run at once (see the module's docstring).

    ``should_stop`` is asked before each message, so a worker told to stop ends between two.
    """
    now = now or utcnow()
    config = current_app.config
    max_attempts = config["NOTIFY_MAX_ATTEMPTS"]
    lease = claim_lease(config)
    report = DeliveryReport()
    for _ in range(limit):
        if should_stop is not None and should_stop():
            break
        claimed = claim_next(now, lease)
        if claimed is None:
            break
        error, hopeless = _send(config, claimed)
        if error is None:
            outcome = {"status": "sent", "sent_at": utcnow(), "last_error": None}
            report.sent += 1
        elif hopeless or claimed.attempts >= max_attempts:
            outcome = {"status": "failed", "last_error": error}
            report.failed += 1
        else:
            outcome = {"last_error": error, "next_attempt_at": now + backoff(claimed.attempts)}
            report.retrying += 1
        if error is not None:
            log.warning("outbox message %s (%s) attempt %s failed: %s",
                        claimed.id, claimed.channel, claimed.attempts, error)
        _record(claimed, outcome)
    return report


def claim_next(now: datetime, lease: timedelta):
    """Claim the next message due at ``now`` for this worker and commit; None when none is left.

    The candidate is read first (on PostgreSQL skipping rows another worker is claiming this very
    moment), then claimed by an UPDATE that repeats the conditions: of two workers that read the
    same candidate, the second's UPDATE matches no row — PostgreSQL re-reads the row after the
    first commits, SQLite runs one writer at a time — and it looks for the next candidate.
    Returns the claimed message's columns as they stand after the claim (``attempts`` counts this one).
    """
    due = (OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
    while True:
        candidate = db.session.scalar(
            select(OutboxMessage.id).where(*due)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1).with_for_update(skip_locked=True))
        if candidate is None:
            db.session.commit()  # ends the read of an empty queue, so no transaction is left open
            return None
        won = db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == candidate, *due)
            .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=now + lease)
            .execution_options(synchronize_session=False)).rowcount
        claimed = db.session.execute(
            select(OutboxMessage.id, OutboxMessage.channel, OutboxMessage.recipient, OutboxMessage.subject,
                   OutboxMessage.body, OutboxMessage.payload, OutboxMessage.attempts)
            .where(OutboxMessage.id == candidate)).one() if won else None
        db.session.commit()
        if claimed is not None:
            return claimed


def _record(claimed, outcome: dict) -> None:
    """Write a send's outcome, if the claim is still this worker's (the attempt it counted is the last)."""
    kept = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == claimed.id, OutboxMessage.status == "pending",
               OutboxMessage.attempts == claimed.attempts)
        .values(**outcome).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if not kept:
        # Only after a stall longer than the lease: another worker has claimed it since.
        log.error("outbox message %s: its claim lapsed during the send; another worker may send it again",
                  claimed.id)


def run_forever(interval: float = 30, on_round: Callable[[DeliveryReport], None] | None = None,
                stop: threading.Event | None = None) -> DeliveryReport:
    """Deliver due messages every ``interval`` seconds until SIGTERM, SIGINT or ``stop``; return totals.

    A signal lets the message being sent finish and be recorded before the loop ends.
    """
    signalled = []
    # The handler only appends: setting an Event there could deadlock on the lock the
    # interrupted main thread may be holding inside that same Event.
    restore = _on_stop_signals(lambda *_: signalled.append(True))

    def should_stop() -> bool:
        return bool(signalled) or (stop is not None and stop.is_set())

    total = DeliveryReport()
    try:
        while not should_stop():
            try:
                report = deliver_due(should_stop=should_stop)
            except OperationalError as error:
                # The database is away (restart, network): say so and try again next round.
                db.session.rollback()
                log.error("outbox worker: database unavailable: %s", error)
                report = DeliveryReport()
            total += report
            if on_round and report:
                on_round(report)
            db.session.remove()  # hand the connection back to the pool between rounds
            _sleep(interval, should_stop)
    finally:
        restore()
    return total


def _sleep(seconds: float, should_stop: Callable[[], bool]) -> None:
    """Wait ``seconds``, in short naps so that a stop request is seen within a quarter second."""
    deadline = time.monotonic() + seconds
    while not should_stop() and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.25))


def _send(config, message) -> tuple[str | None, bool]:
    """Send one message: (None, False) when it went through, else why not and whether waiting is futile."""
    try:
        if message.channel == "email":
            senders.send_email(config, message.recipient, message.subject, message.body)
        elif message.channel == "webhook":
            senders.post_webhook(config, message.recipient, message.payload or "{}")
        elif message.channel == "sms":
            senders.send_sms(config, message.recipient, message.body or "")
        else:
            raise senders.DeliveryError(f"unknown channel {message.channel!r}")
    except senders.ChannelDisabled as error:
        return str(error), True
    except Exception as error:  # noqa: BLE001  any failure is recorded; one bad message stops nothing
        return senders.describe(error), False
    return None, False


def _on_stop_signals(handler) -> Callable[[], None]:
    """Route SIGTERM and SIGINT to ``handler``; returns what puts the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals reach the main thread only; the caller's ``stop`` still works
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore():
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore

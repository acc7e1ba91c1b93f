"""The worker: deliver what is due, record each attempt, back off and finally give up.

Delivery is at least once: a message is marked sent in the transaction that held its row while it
was sent, so a crash between the two sends it again on the next run rather than never.
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
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.models.outbox import OutboxMessage
from portal.models.types import utcnow
from portal.notify import senders

log = logging.getLogger(__name__)

FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=1)


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


def deliver_due(limit: int = 100, now: datetime | None = None,
                should_stop: Callable[[], bool] | None = None) -> DeliveryReport:
    """Send up to ``limit`` pending messages that are due at ``now``, committing after each one.

    On PostgreSQL each message's row stays locked (FOR UPDATE SKIP LOCKED) while it is sent, so
    several workers never send the same message; SQLite ignores the lock: run one worker there.
    ``should_stop`` is asked before each message, so a worker told to stop ends between two.
    """
    now = now or utcnow()
    config = current_app.config
    max_attempts = config["NOTIFY_MAX_ATTEMPTS"]
    report = DeliveryReport()
    due = (
        select(OutboxMessage)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    for _ in range(limit):
        if should_stop is not None and should_stop():
            break
        message = db.session.scalars(due).first()
        if message is None:
            break
        error, hopeless = _send(config, message)
        message.attempts += 1
        if error is None:
            message.status, message.sent_at, message.last_error = "sent", utcnow(), None
            report.sent += 1
        else:
            message.last_error = error
            if hopeless or message.attempts >= max_attempts:
                message.status = "failed"
                report.failed += 1
            else:
                message.next_attempt_at = now + backoff(message.attempts)
                report.retrying += 1
            log.warning("outbox message %s (%s) attempt %s failed: %s",
                        message.id, message.channel, message.attempts, error)
        db.session.commit()
    db.session.commit()  # ends the read of an empty queue, so no transaction is left open
    return report


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


def _send(config, message: OutboxMessage) -> tuple[str | None, bool]:
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

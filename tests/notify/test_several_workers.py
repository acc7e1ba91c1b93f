"""Two outbox workers at once, on SQLite and PostgreSQL: every message sent once, none lost, and a
message whose worker died mid-send sent again once its claim's lease is over."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import OutboxMessage
from portal.models.types import utcnow
from portal.notify import deliver_due, enqueue_webhook
from portal.notify.worker import claim_lease, claim_next

from test_outbox import webhook  # noqa: F401  (the real HTTP server fixture)


def test_two_workers_sending_at_once_send_each_message_exactly_once(app, webhook):  # noqa: F811
    for number in range(30):
        enqueue_webhook(webhook.url, {"n": number})
    db.session.commit()
    start = threading.Barrier(2)
    reports = {}

    def worker(name):
        with app.app_context():
            start.wait()
            reports[name] = deliver_due()
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    import json

    sent = Counter(json.loads(body)["n"] for _, _, body in webhook.requests)
    assert sent == Counter(range(30))  # none twice, none lost
    assert reports["one"].sent + reports["two"].sent == 30
    db.session.expire_all()
    assert {m.status for m in db.session.scalars(select(OutboxMessage))} == {"sent"}


def test_a_message_whose_worker_died_mid_send_is_sent_after_the_lease(app, webhook):  # noqa: F811
    message = enqueue_webhook(webhook.url, {"n": 1})
    db.session.commit()
    now = utcnow()
    lease = claim_lease(app.config)

    assert claim_next(now, lease) is not None  # claimed … and the worker dies before sending

    assert not deliver_due(now=now + lease - timedelta(seconds=1))  # still the dead worker's
    assert webhook.requests == []
    assert deliver_due(now=now + lease).sent == 1
    db.session.expire_all()
    kept = db.session.get(OutboxMessage, message.id)
    assert (kept.status, kept.attempts) == ("sent", 2) and len(webhook.requests) == 1

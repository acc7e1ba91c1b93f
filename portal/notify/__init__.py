"""Notifications through an outbox: callers queue messages in their own transaction; a worker sends.

Sending never happens inside a citizen's request (FixMyStreet's shape): ``enqueue_email``,
``enqueue_webhook`` and ``enqueue_sms`` only add rows to the caller's session, and
``portal send-notifications`` (once, from cron, or ``--loop`` as a long-running worker) delivers what
is due, retrying with backoff.
"""
from portal.notify.outbox import SmsRefused, enqueue_email, enqueue_sms, enqueue_webhook, failed_messages, retry
from portal.notify.senders import group_robot_text
from portal.notify.worker import DeliveryReport, deliver_due, run_forever

__all__ = [
    "DeliveryReport", "SmsRefused", "deliver_due", "enqueue_email", "enqueue_sms", "enqueue_webhook",
    "failed_messages", "group_robot_text", "retry", "run_forever",
]

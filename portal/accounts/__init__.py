"""Staff accounts as a domain: passwords, the second factor, sign-in with lock-out, and the operations
administrators and the CLI perform. No Flask views here (they live in ``portal.admin``).

Every operation only adds and flushes, and writes exactly one ``portal.audit.record`` entry; the
caller (a view or a command) wraps it in ``portal.db.transaction()``.
"""
from portal.accounts.errors import AccountError, message_text

__all__ = ["AccountError", "message_text"]

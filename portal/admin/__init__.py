"""The back office under /admin: staff sign-in, accounts, the audit log and the outbox (the lead adds
the report views). Every view declares what it needs (``guard.requires``) and one before_request
enforces it; ``blueprint.py`` is the URL map."""
from portal.admin.blueprint import bp

__all__ = ["bp"]

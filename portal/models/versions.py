"""How far the published data have moved: one counter per scope, raised by every commit that changes it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow


class DataVersion(db.Model):
    """The version of one scope of data (``registry``, ``reports``): portal.data_version keeps it.

    Cached pages and the ETag and Last-Modified of data downloads are keyed to these numbers, so a
    change committed by any process on any server shows at once everywhere.
    """

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, default=1)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

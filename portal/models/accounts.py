"""Staff accounts of the back office: who signs in, in which role, answering for which place."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow


class Account(db.Model):
    """One member of staff. ``role`` is one of ``portal.access.ROLES``; the scope columns say where.

    - admin (district administrator, the bureau) and auditor (read-only): the whole district;
    - town: ``town_id``; department: ``department_code``;
    - chief: the river ``water_body_id`` and/or the town ``town_id`` they answer for, and ``chief_id``,
      the river-chief record they are (reports routed to that chief on duty reach them too).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(16))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("town.id"))
    water_body_id: Mapped[int | None] = mapped_column(ForeignKey("water_body.id"))
    department_code: Mapped[str | None] = mapped_column(ForeignKey("department.code"))
    chief_id: Mapped[int | None] = mapped_column(ForeignKey("river_chief.id"))
    # Where the back office notifies this person of reports assigned to them (staff's work contact).
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))

    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of the session's identity: raising it (password change, lock, reset) signs out every session.
    session_version: Mapped[int] = mapped_column(default=1)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The TOTP secret, sealed like reporters' contact (portal.reports.privacy); None until enrolled.
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    # The last 30-second time step whose code was accepted: a code is refused if it is not newer (no replay).
    totp_last_step: Mapped[int | None] = mapped_column()
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    town = relationship("Town")
    water_body = relationship("WaterBody")
    department = relationship("Department")
    chief = relationship("RiverChief")

    # Flask-Login's user protocol: the session identity carries the version, so raising it signs out.
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        """A loaded account is a signed-in one (the loader refuses stale and inactive ones)."""
        return True

    @property
    def is_active(self) -> bool:
        """Flask-Login refuses to sign in an inactive account."""
        return bool(self.active)

    def get_id(self) -> str:
        """The session identity: "id:session_version"."""
        return f"{self.id}:{self.session_version}"

    def __repr__(self):
        return f"<Account {self.username} {self.role}>"

"""The district calendar: working days across holidays and 调休, past the package's data, and today's date."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from portal import calendar
from portal.db import transaction
from portal.extensions import db
from portal.models import CalendarDay


def load_notice(*rows):
    """Store CalendarDay rows as ``portal import-holidays`` would: (day, working, name)."""
    with transaction():
        for day, working, name in rows:
            db.session.add(CalendarDay(day=day, working=working, name=name, source="test"))


def test_two_working_days_after_30_september_skip_the_national_day_holiday(app):
    assert calendar.add_working_days(date(2026, 9, 30), 2) == date(2026, 10, 9)


def test_start_day_never_counts_and_zero_days_is_the_start(app):
    assert calendar.add_working_days(date(2026, 12, 1), 1) == date(2026, 12, 2)
    assert calendar.add_working_days(date(2026, 12, 1), 0) == date(2026, 12, 1)


def test_adjusted_working_saturdays_of_2026_are_working_days(app):
    assert calendar.is_working_day(date(2026, 10, 10)) and calendar.is_working_day(date(2026, 2, 14))
    assert not calendar.is_working_day(date(2026, 10, 3)) and not calendar.is_working_day(date(2026, 10, 11))
    assert not calendar.is_working_day(date(2026, 10, 7))  # a weekday, off in the notice


def test_adjusted_saturday_is_counted_as_a_working_day(app):
    # 9 Oct (Fri), 10 Oct (adjusted Sat), 12 Oct (Mon)
    assert calendar.add_working_days(date(2026, 10, 8), 2) == date(2026, 10, 10)
    assert calendar.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)


def test_working_days_between_counts_across_the_holiday_and_adjusted_saturday(app):
    assert calendar.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4  # 8, 9, 10 (Sat) and 12 Oct
    assert calendar.working_days_between(date(2026, 2, 13), date(2026, 2, 16)) == 1  # 14 Feb only
    assert calendar.working_days_between(date(2026, 10, 12), date(2026, 10, 12)) == 0
    assert calendar.working_days_between(date(2026, 10, 12), date(2026, 10, 9)) == 0


def test_working_days_between_undoes_add_working_days(app):
    start = date(2026, 9, 25)
    for days in (1, 2, 5, 10, 60):
        assert calendar.working_days_between(start, calendar.add_working_days(start, days)) == days


def test_2026_notice_is_carried_by_the_package_and_2027_is_not(app):
    assert calendar.notice_loaded(2026)
    assert not calendar.notice_loaded(2027)
    assert calendar.years_without_notice(date(2027, 1, 5), date(2026, 10, 9), None, date(2027, 3, 1)) == [2027]
    assert calendar.years_without_notice(date(2026, 10, 9)) == []


def test_past_notices_in_the_package_count_even_across_the_new_year(app):
    assert calendar.notice_loaded(2019) and calendar.notice_loaded(2002)
    assert calendar.is_working_day(date(2018, 12, 29))  # a Saturday worked for New Year 2019
    assert calendar.is_working_day(date(2001, 12, 29))  # worked by 2002's notice, in 2001


def test_year_past_the_package_counts_monday_to_friday_and_its_computed_holidays(app):
    assert calendar.is_working_day(date(2027, 1, 4))  # a Monday
    assert not calendar.is_working_day(date(2027, 1, 1))  # New Year's Day, a fixed date
    assert not calendar.is_working_day(date(2027, 1, 9))  # a Saturday, no notice to move it


def test_loaded_notice_decides_its_year_wholly(app):
    # An invented notice for 2027: 4–5 Jan off, Saturday 9 Jan worked; nothing else listed.
    load_notice((date(2027, 1, 4), False, "元旦"), (date(2027, 1, 5), False, "元旦"),
                (date(2027, 1, 9), True, "元旦调休"))
    assert calendar.notice_loaded(2027) and calendar.years_without_notice(date(2027, 1, 6)) == []
    assert not calendar.is_working_day(date(2027, 1, 4))
    assert calendar.is_working_day(date(2027, 1, 9))
    # The package's own guesses for the year no longer count: 1 Jan is a Friday not in the file.
    assert calendar.is_working_day(date(2027, 1, 1))
    assert not calendar.is_working_day(date(2027, 1, 10))  # weekends rest unless listed
    assert calendar.add_working_days(date(2027, 1, 1), 2) == date(2027, 1, 7)  # 6, 7 Jan
    assert calendar.add_working_days(date(2027, 1, 7), 2) == date(2027, 1, 9)  # 8, 9 (Sat) Jan
    # Other years are untouched.
    assert calendar.add_working_days(date(2026, 9, 30), 2) == date(2026, 10, 9)


def test_a_deadline_across_the_new_year_reads_both_years(app):
    load_notice((date(2027, 1, 1), False, "元旦"), (date(2027, 1, 4), False, "元旦"))
    # 31 Dec 2026 (Thu) → 1 Jan off, weekend, 4 Jan off → 5 Jan, 6 Jan.
    assert calendar.add_working_days(date(2026, 12, 30), 3) == date(2027, 1, 6)
    assert calendar.working_days_between(date(2026, 12, 30), date(2027, 1, 6)) == 3


def test_working_days_take_one_query(app):
    from sqlalchemy import event

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        calendar.add_working_days(date(2026, 9, 30), 60)
        calendar.working_days_between(date(2026, 1, 1), date(2027, 6, 1))
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 2


@pytest.fixture
def clock(monkeypatch):
    """Sets the instant calendar.now() reads."""
    def set_to(instant: datetime):
        monkeypatch.setattr(calendar, "_clock", lambda: instant)
    return set_to


def test_today_is_the_district_date_not_the_utc_date(app, clock):
    clock(datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc))
    assert calendar.today() == date(2027, 1, 1)
    assert calendar.now() == datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc)
    clock(datetime(2026, 12, 31, 15, 59, tzinfo=timezone.utc))
    assert calendar.today() == date(2026, 12, 31)


def test_today_follows_the_clock_at_every_call(app, clock):
    clock(datetime(2026, 3, 1, 4, 0, tzinfo=timezone.utc))
    assert calendar.today() == date(2026, 3, 1)
    clock(datetime(2026, 3, 1, 4, 0, tzinfo=timezone.utc) + timedelta(days=40))
    assert calendar.today() == date(2026, 4, 10)


def test_today_follows_the_configured_time_zone(app, clock):
    clock(datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc))
    app.config["TIMEZONE"] = "UTC"
    assert calendar.today() == date(2026, 12, 31)



def test_real_clock_gives_an_aware_utc_now(app):
    instant = calendar.now()
    assert instant.tzinfo is not None and instant.utcoffset() == timedelta(0)
    assert abs((instant - datetime.now(timezone.utc)).total_seconds()) < 5

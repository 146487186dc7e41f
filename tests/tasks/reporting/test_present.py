"""Tests for tasks/reporting/present.py: how instants are shown."""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel

from tasks.reporting.present import format_value, table_view


class OpenRow(BaseModel):
    incident_id: str
    opened_at: pd.Timestamp

    model_config = {"arbitrary_types_allowed": True}


def test_an_instant_is_shown_in_the_workspace_time_zone_with_its_abbreviation() -> None:
    # 26 Nov 23:10 UTC is 27 Nov 00:10 in Berlin (CET, UTC+1): the incident belongs to the 27th there.
    opened = pd.Timestamp("2026-11-26 23:10", tz="UTC")
    assert format_value(opened, tz="Europe/Berlin") == "2026-11-27 00:10 CET"
    # Summer time: 1 Jul 12:00 UTC is 14:00 CEST.
    assert format_value(pd.Timestamp("2026-07-01 12:00", tz="UTC"), tz="Europe/Berlin") == "2026-07-01 14:00 CEST"
    view = table_view("open", "Open", [OpenRow(incident_id="INC1", opened_at=opened)], tz="Europe/Berlin")
    assert view.rows == [["INC1", "2026-11-27 00:10 CET"]]
    # Without the workspace's zone an instant is still labelled: UTC.
    assert format_value(opened) == "2026-11-26 23:10 UTC"
    # A date (no time zone) stays a date.
    assert format_value(pd.Timestamp("2026-11-27"), tz="Europe/Berlin") == "2026-11-27"

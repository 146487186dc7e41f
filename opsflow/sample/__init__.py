"""The sample company: a year of Northwind Supply's operations data, written as a workspace ready to run.

`write_sample` writes it; STORIES and DIRTY_ROWS say what the flows must find in it. One module per dataset builds the
tables (services, vendors, incidents, operations for process events, SLA events and vendor deliveries, projects, risks,
KPIs); `config`, `drills` and `initiative` write the files around them.
"""

from opsflow.sample.common import COMPANY, DAYS, TIMEZONE
from opsflow.sample.stories import DIRTY_ROWS, FLOWS, STORIES
from opsflow.sample.workspace import write_sample

__all__ = ["COMPANY", "DAYS", "DIRTY_ROWS", "FLOWS", "STORIES", "TIMEZONE", "write_sample"]

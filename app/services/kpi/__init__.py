"""The praise KPI (SPEC §6): unit × month counts rolled up the org tree, year on year, month
close with frozen snapshots and corrections, engagement, and the お客さまの声 受付状況 table.

- `rollup`: what every figure is built from (numbers and months, the unit tree and the cache
  per data version, live counts from the maintained roll-up, frozen snapshots);
- `matrix`: the praise matrix; `close`: month close and reopen; `engagement`: activity per
  unit; `voices`: the お客さまの声 table; `report`: the published report (table (1) with the
  year before, its notes, the year's 好取組; imported as `app.services.kpi.report`);
  `export`: the same tables as CSV or XLSX.

The names below are the package's interface: `from app.services import kpi;
kpi.praise_matrix(...)`.
"""

from app.services.kpi.close import Actions, MonthClose, close_month, month_status, reopen_month
from app.services.kpi.engagement import Engagement, EngagementRow, engagement
from app.services.kpi.matrix import (
    MatrixRow,
    PraiseMatrix,
    chosen_month,
    comparable_months,
    default_month,
    fiscal_years_offered,
    matrix_json,
    praise_matrix,
)
from app.services.kpi.rollup import (
    MAX_DEPTH,
    Frozen,
    clear_cache,
    data_version,
    fiscal_year_or_current,
    live_counts,
    load_frozen,
    load_tree,
    month_key,
    month_or_none,
    parse_month,
    percent,
    recount,
    unit_at,
)
from app.services.kpi.voices import (
    CategoryShare,
    VoicesTable,
    praise_total,
    voices_json,
    voices_table,
)

__all__ = [
    "MAX_DEPTH",
    "Actions",
    "CategoryShare",
    "Engagement",
    "EngagementRow",
    "Frozen",
    "MatrixRow",
    "MonthClose",
    "PraiseMatrix",
    "VoicesTable",
    "chosen_month",
    "clear_cache",
    "close_month",
    "comparable_months",
    "data_version",
    "default_month",
    "engagement",
    "fiscal_year_or_current",
    "fiscal_years_offered",
    "live_counts",
    "load_frozen",
    "load_tree",
    "matrix_json",
    "month_key",
    "month_or_none",
    "month_status",
    "parse_month",
    "percent",
    "praise_matrix",
    "praise_total",
    "recount",
    "reopen_month",
    "unit_at",
    "voices_json",
    "voices_table",
]

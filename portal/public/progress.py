"""/progress for the press: totals, shares finished, overdue per town, completions per month; and /data."""

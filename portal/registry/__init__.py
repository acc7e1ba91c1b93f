"""The outfall ledger: its vocabularies, import and export, queries and history; used by every audience."""

"""What every importer of the bureau's files shares: a refusal names each bad row and column, and
refuses the file as a whole, so nothing is half written (ledger, roster, chiefs, sections, lab
results, photo manifests).

Messages are in the reader's language (the CLI's is the default, Chinese); the cell messages
themselves come from each importer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

# A refusal lists this many bad rows at most (a wrong file would otherwise list thousands).
MAX_ERRORS_LISTED = 200


@dataclass
class RowError:
    """One problem in one row (and column) of a file."""

    row: int
    column: str | None
    message: str

    def __str__(self):
        """第 N 行「列」：… in the reader's language."""
        if self.column:
            return _("第 %(row)s 行「%(column)s」：%(message)s", row=self.row, column=self.column,
                     message=self.message)
        return _("第 %(row)s 行：%(message)s", row=self.row, message=self.message)


class FileRejected(Exception):
    """A file refused whole, for its rows' ``errors`` or for one ``problem`` of the whole; nothing
    was written. Subclasses name what the file is (``noun``)."""

    noun: ClassVar = _l("文件")
    # What a refusal leaves as it was; an importer that also stores files says so.
    untouched: ClassVar = _l("数据库未作任何更改")

    def __init__(self, filename: str, errors: list[RowError] | None = None, problem: str | None = None):
        self.filename = filename
        self.errors = errors or []
        self.problem = problem
        super().__init__(self.report())

    def report(self) -> str:
        """The refusal as the clerk reads it, every bad row on its own line."""
        names = {"noun": str(self.noun), "file": self.filename, "untouched": str(self.untouched)}
        if self.problem:
            return _("%(noun)s“%(file)s”未导入：%(problem)s。%(untouched)s。", problem=self.problem, **names)
        lines = [_("%(noun)s“%(file)s”未导入：发现 %(n)s 处错误，%(untouched)s。请改正后重新导入：",
                   n=len(self.errors), **names)]
        lines += [f"  {error}" for error in self.errors[:MAX_ERRORS_LISTED]]
        if len(self.errors) > MAX_ERRORS_LISTED:
            lines.append(_("  ……另有 %(n)s 处错误未列出", n=len(self.errors) - MAX_ERRORS_LISTED))
        return "\n".join(lines)

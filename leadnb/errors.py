"""One exception root for the package, with structured fields and a readable message.

Every error a user can cause (a bad params file, a bad column in a CRM export) is a
``LeadnbError``. Its fields say where the problem is (file, table, column, a few offending rows)
and how to fix it; ``str(err)`` renders them as a short, readable block. Warnings are values
(:class:`Issue` with ``level="warning"``) that the validator collects and reports, never silent.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

MAX_ROWS_SHOWN = 5


def _fmt_rows(rows: Any) -> str:
    """Render up to five offending rows (a DataFrame, Series or list) as indented text."""
    if rows is None:
        return ""
    # pandas only when it is loaded already (rows cannot be pandas' otherwise): importing it
    # here cost the run's worker processes, which never handle data, 0.4 s each
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(rows, pd.Series):
        rows = rows.to_frame()
    if pd is not None and isinstance(rows, pd.DataFrame):
        shown = rows.head(MAX_ROWS_SHOWN)
        text = shown.to_string(max_colwidth=40)
        more = len(rows) - len(shown)
    else:
        seq = list(rows)
        shown_list = seq[:MAX_ROWS_SHOWN]
        text = "\n".join(str(r) for r in shown_list)
        more = len(seq) - len(shown_list)
    text = "\n".join("      " + line for line in text.splitlines())
    if more > 0:
        text += f"\n      ... and {more} more"
    return text


@dataclass
class Issue:
    """One problem found in the inputs or the params.

    ``level`` is "error" (stops the run, exit 2) or "warning" (reported and counted).
    ``rows`` holds a few offending rows; ``count`` is how many rows are affected in total.
    """

    message: str
    level: Literal["error", "warning"] = "error"
    file: str | None = None
    table: str | None = None
    column: str | None = None
    rows: Any = None
    count: int | None = None
    fix: str | None = None

    def render(self) -> str:
        where = ", ".join(
            f"{k} {v!s}"
            for k, v in (("file", self.file), ("table", self.table), ("column", self.column))
            if v
        )
        head = f"{self.level.upper()}: {self.message}"
        lines = [head]
        if where:
            lines.append(f"  where: {where}")
        if self.count is not None:
            lines.append(f"  rows affected: {self.count}")
        rows = _fmt_rows(self.rows)
        if rows:
            lines.append("  offending rows:")
            lines.append(rows)
        if self.fix:
            lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


class LeadnbError(Exception):
    """Root of every error leadnb raises on purpose.

    Carries one or more :class:`Issue`; ``str()`` lists them all.
    """

    exit_code = 1

    def __init__(
        self,
        message: str = "",
        *,
        file: str | None = None,
        table: str | None = None,
        column: str | None = None,
        rows: Any = None,
        count: int | None = None,
        fix: str | None = None,
        issues: Sequence[Issue] | None = None,
    ) -> None:
        if issues:
            self.issues = list(issues)
        else:
            self.issues = [
                Issue(
                    message,
                    file=file,
                    table=table,
                    column=column,
                    rows=rows,
                    count=count,
                    fix=fix,
                )
            ]
        first = self.issues[0]
        self.file, self.table, self.column = first.file, first.table, first.column
        self.rows, self.fix = first.rows, first.fix
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(i.render() for i in self.issues)


class ParamsError(LeadnbError):
    """The params file (or a rules / registration file) is wrong. Exit code 2."""

    exit_code = 2


class DataError(LeadnbError):
    """An input table is wrong: missing column, bad values, bad keys. Exit code 2."""

    exit_code = 2


class NotebookError(LeadnbError):
    """A notebook failed while running. Exit code 1; its outputs are kept."""

    exit_code = 1


class NotEnoughData(LeadnbError):
    """A section lacks what it needs: a normal state of real data, not a failure.

    ``what`` says what is missing and ``when`` when or how it will appear, each as plain words;
    :meth:`sentence` joins them into the one sentence a report shows in place of the section
    (``leadnb.report.notebook.section`` catches this error and prints it; the rest of the report runs).
    Exit code 0 when it escapes to the command line: nothing was wrong with the input.
    """

    exit_code = 0

    def __init__(self, what: str, when: str = "", **kw: Any) -> None:
        self.what = what.strip().rstrip(".")
        self.when = when.strip().rstrip(".")
        super().__init__(self.sentence(), **kw)

    def sentence(self) -> str:
        """``"<what>; <when>."`` with a capital first letter."""
        text = self.what + (f"; {self.when}" if self.when else "") + "."
        return text[:1].upper() + text[1:]


@dataclass
class Report:
    """Collects issues during validation; errors and warnings are both kept and counted."""

    issues: list[Issue] = field(default_factory=list)
    #: the issues :func:`leadnb.data.validation.validate_tables` found in the tables themselves
    #: (also in :attr:`issues`): what a notebook's data notes list, table by table, when the run
    #: hands it the tables validated once (:mod:`leadnb.data.cache`)
    table_issues: list[Issue] = field(default_factory=list, compare=False, repr=False)
    #: what :func:`leadnb.scoring.rules.validate_rules` found (also in :attr:`issues`), kept for
    #: the scoring notebook of the same run, which would otherwise find it again
    rule_issues: list[Issue] | None = field(default=None, compare=False, repr=False)
    #: :func:`leadnb.funnel.stages.stage_quality` of the tables, as the checks computed it,
    #: kept for the cohort notebook of the same run (a second pass over every stage row)
    stage_quality: pd.DataFrame | None = field(default=None, compare=False, repr=False)

    def add(self, issue: Issue) -> None:
        self.issues.append(issue)

    def error(self, message: str, **kw: Any) -> None:
        self.issues.append(Issue(message, level="error", **kw))

    def warn(self, message: str, **kw: Any) -> None:
        self.issues.append(Issue(message, level="warning", **kw))

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_if_errors(self, cls: type[LeadnbError] = DataError) -> None:
        if self.errors:
            raise cls(issues=self.errors)

    def render(self) -> str:
        parts = [i.render() for i in self.errors + self.warnings]
        parts.append(f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)")
        return "\n\n".join(parts)

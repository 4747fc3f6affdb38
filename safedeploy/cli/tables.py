"""Tables that read well in a terminal and in a cron log, from the same rows.

Off a terminal (a pipe, a file, cron) a table is plain text: a header line, one line per row,
columns aligned by padding, never wrapped, no trailing spaces, so `grep` finds a service on
one line and an id can be copied whole. On a terminal the same rows go through rich and fit
the width by wrapping the free-text columns (reasons, changes); columns marked `whole` (ids,
names, numbers) are never split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

from safedeploy.cli.terminal import stdout

GAP = "  "
# A free-text column narrower than this wraps a word or two a line: cards read better.
FREE_TEXT_MIN = 30
# What a rich table without outer edges puts between two columns (" │ ").
SEPARATOR = 3


@dataclass(frozen=True)
class Column:
    header: str
    # Ids, names, states and numbers: never split. Free text (reasons) wraps instead.
    whole: bool = True
    right: bool = False


# A tuple is a list of whole items (proposal ids): on one line, comma-separated, off a
# terminal; one item per line inside the cell on it.
Cell = str | Text | tuple[str, ...]


def print_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    *,
    title: str | None = None,
    console: Console | None = None,
) -> None:
    console = console or stdout()
    if not console.is_terminal:
        lines = ([title] if title else []) + plain_lines(columns, rows)
        console.file.write("".join(f"{line}\n" for line in lines))
        return
    widths = [
        max([_widest(row[index]) for row in rows] + [len(column.header)])
        for index, column in enumerate(columns)
    ]
    needed = sum(
        width if column.whole else FREE_TEXT_MIN
        for column, width in zip(columns, widths, strict=True)
    ) + SEPARATOR * (len(columns) - 1)
    if needed > console.width:
        _print_cards(columns, rows, title=title, console=console)
        return
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column, widest in zip(columns, widths, strict=True):
        table.add_column(
            column.header,
            justify="right" if column.right else "left",
            no_wrap=column.whole,
            min_width=widest if column.whole else None,
            overflow="ignore" if column.whole else "fold",
        )
    for row in rows:
        table.add_row(*(_rich(c) for c in row))
    console.print(table)


def _print_cards(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    *,
    title: str | None,
    console: Console,
) -> None:
    """Too narrow for a table without splitting an id: one card per row, its first cell as
    the heading and the others as labelled lines, free text wrapped at words."""
    if title:
        console.print(title, highlight=False)
    for row in rows:
        heading = row[0]
        console.print(heading if isinstance(heading, Text) else Text(_plain(heading), "bold"))
        grid = Table.grid(padding=(0, 2), pad_edge=True)
        grid.add_column(no_wrap=True, style="dim")
        grid.add_column(overflow="fold")
        for column, cell in zip(columns[1:], row[1:], strict=True):
            grid.add_row(column.header, _rich(cell))
        console.print(grid)


def plain_lines(columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> list[str]:
    """The header and one line per row, aligned, each line without trailing spaces."""
    texts = [[_plain(cell) for cell in row] for row in rows]
    widths = [
        max([len(column.header)] + [len(row[i]) for row in texts])
        for i, column in enumerate(columns)
    ]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(widths[i]) if columns[i].right else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return GAP.join(padded).rstrip()

    return [line([c.header for c in columns]), *(line(row) for row in texts)]


def _plain(cell: Cell) -> str:
    if isinstance(cell, tuple):
        return ", ".join(cell) or "-"
    text = cell.plain if isinstance(cell, Text) else cell
    return " ".join(text.split())


def _rich(cell: Cell) -> str | Text:
    return ("\n".join(cell) or "-") if isinstance(cell, tuple) else cell


def _widest(cell: Cell) -> int:
    """The width a whole cell needs on a terminal: its longest item."""
    if isinstance(cell, tuple):
        return max((len(item) for item in cell), default=1)
    return len(_plain(cell))


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 incident`, `2 incidents`, `0 proposals`."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"

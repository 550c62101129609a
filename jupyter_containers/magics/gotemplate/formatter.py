"""The docker CLI's formatter around a template: tables, headers, json; and go-units' sizes and durations."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, tzinfo

from .exec import Template, parse
from .funcs import HEADER_FUNCS
from .values import Header, TemplateError


def render(format: str, items, header: Header, template: Template | None = None) -> str:
    """docker's formatter.Context.Write: ``table ...`` as aligned columns under a header row (the
    same template run over the column titles), ``json`` as ``{{json .}}``, else one line per item."""
    table = format.startswith("table")
    template = template or parse(template_text(format))
    rows = "".join(template.execute(item) + "\n" for item in items)
    if not table:
        return rows
    title: list[str] = []
    try:  # as the CLI, a header that does not render is cut where it failed
        template.execute(header, HEADER_FUNCS, title)
    except TemplateError:
        pass
    return tabwrite("".join(title) + "\n" + rows)


def template_text(format: str) -> str:
    """What the CLI runs for a --format value: without ``table``, ``json`` spelled out, ``\\t`` a tab."""
    text = "{{json .}}" if format == "json" else format[5:] if format.startswith("table") else format
    return text.strip(" ").replace("\\t", "\t").replace("\\n", "\n")


def _width(text: str) -> int:
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)


def tabwrite(text: str, minwidth: int = 10, padding: int = 3) -> str:
    """Go's text/tabwriter (docker's copy, padded with spaces): tab-terminated cells in a column
    block share one width; the last cell of a line is not part of a column."""
    out: list[str] = []
    lines: list[list[tuple[str, int]]] = [[]]
    cell: list[str] = []

    def write_lines(widths: list[int], first: int, last: int) -> None:
        for i in range(first, last):
            for j, (content, width) in enumerate(lines[i]):
                out.append(content)
                if j < len(widths):
                    out.append(" " * (widths[j] - width))
            if i + 1 < len(lines):
                out.append("\n")

    def layout(widths: list[int], first: int, last: int) -> None:
        column, this = len(widths), first
        while this < last:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(widths, first, this)
            first, width = this, minwidth
            while this < last and column < len(lines[this]) - 1:
                width = max(width, lines[this][column][1] + padding)
                this += 1
            layout(widths + [width], first, this)
            first = this
        write_lines(widths, first, last)

    def flush() -> None:
        layout([], 0, len(lines))
        lines[:] = [[]]

    for ch in text:
        if ch in "\t\v\n\f":
            content = "".join(cell)
            lines[-1].append((content, _width(content)))
            cell.clear()
            if ch in "\n\f":
                cells = len(lines[-1])
                lines.append([])
                if ch == "\f" or cells == 1:
                    flush()
        else:
            cell.append(ch)
    if cell:
        content = "".join(cell)
        lines[-1].append((content, _width(content)))
    flush()
    return "".join(out)


# -- go-units and Go's time, as the CLI prints them ---------------------------------------------------
def human_duration(seconds: float) -> str:
    """go-units' HumanDuration ("2 seconds", "About a minute", "3 days")."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def human_size(size: float, precision: int = 4) -> str:
    """go-units' HumanSizeWithPrecision: decimal units, %g ("1.23MB", "0B")."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size, i = size / 1000, i + 1
    return f"{size:.{precision}g}{units[i]}"


def go_time(seconds: int, nanos: int = 0, zone: tzinfo | None = None) -> str:
    """Go's Time.String(): ``2006-01-02 15:04:05.999999999 -0700 MST``, local time unless ``zone``."""

    moment = datetime.fromtimestamp(seconds, zone).astimezone(zone)
    fraction = f".{nanos:09d}".rstrip("0") if nanos else ""
    offset = moment.strftime("%z")
    name = moment.tzname() or offset
    if name.startswith(("UTC+", "UTC-")) or name == offset:
        name = offset
    return f"{moment:%Y-%m-%d %H:%M:%S}{fraction} {offset} {name}"


def resolve(format: str, table: str, raw: str | None = None) -> str:
    """A command's --format value as the CLI reads it: ``table`` and ``raw`` name its own formats."""
    return {"table": table, "raw": raw or format}.get(format, format)


def go_timestamp(stamp: str) -> str:
    """An RFC 3339 time from the engine as Go's Time.String() prints it (fraction and zone kept)."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", stamp or "")
    if not match:
        return stamp
    fraction = (match[3] or "").rstrip("0")
    zone = "+0000 UTC" if match[4] == "Z" else match[4].replace(":", "") + " " + match[4].replace(":", "")
    return f"{match[1]} {match[2]}{'.' + fraction if fraction else ''} {zone}"


def ellipsis(text: str, width: int) -> str:
    """docker's Ellipsis: at most ``width`` columns (wide characters count two), ending in …."""
    if width <= 1:
        return text[:width]
    used = 0
    for i, ch in enumerate(text):
        used += _width(ch)
        if used > width - 1 and _width(text) > width:
            return text[:i] + "…"
    return text

"""One way to hand out a CSV file: every export of the portal goes through `csv_response`.

The files are for Norwegian spreadsheet programs: UTF-8 with a byte-order mark (so they read it
as UTF-8), semicolons between cells (the decimal mark is a comma), CRLF line ends, and a file
name that may hold Norwegian letters (RFC 6266 `filename*`).

Every cell passes `cell`, which keeps a spreadsheet from running text as a formula (CSV
injection, OWASP): a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
leading apostrophe, unless it is a plain number (`-5`, `37,5`), which no program reads as a
formula. That covers text we did not write: reasons clinicians typed, names, and the coded or
free-text values (`valueString`) a municipality's system sent.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence

from django.http import HttpResponse
from django.utils.http import content_disposition_header

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
DELIMITER = ";"


def cell(value: object) -> str:
    """The text of one cell, guarded against being read as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_response(*, filename: str, rows: Iterable[Sequence[object]]) -> HttpResponse:
    """A downloadable CSV file of `rows`, every cell guarded."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename) or "attachment"
    response.write("\ufeff")  # so spreadsheet programs read the file as UTF-8
    writer = csv.writer(response, delimiter=DELIMITER, lineterminator="\r\n")
    writer.writerows([cell(value) for value in row] for row in rows)
    return response

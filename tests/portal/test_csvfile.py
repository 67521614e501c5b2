"""The one CSV helper: every cell that a spreadsheet could run as a formula is defused (OWASP)."""

from __future__ import annotations

import csv
import io

import pytest

from portal.csvfile import cell, csv_response


@pytest.mark.parametrize(
    "text",
    ["=1+1", "+47 22 00 00 00", "-2+3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x")', "-", "--5"],
)
def test_a_cell_that_starts_a_formula_gets_an_apostrophe(text: str) -> None:
    assert cell(text) == "'" + text


@pytest.mark.parametrize("text", ["72", "-5", "37,5", "-0.25", "Kari Nordmann", "", "141/83", " =1"])
def test_numbers_and_plain_text_are_left_alone(text: str) -> None:
    assert cell(text) == text


def test_the_response_is_a_guarded_semicolon_file_with_a_norwegian_name() -> None:
    response = csv_response(filename="målinger-kari.csv", rows=[["Verdi", "Notat"], [-5, "=cmd|' /C calc'!A0"]])
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''m%C3%A5linger-kari.csv"
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff") and "\r\n" in text
    assert list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";")) == [
        ["Verdi", "Notat"],
        ["-5", "'=cmd|' /C calc'!A0"],
    ]

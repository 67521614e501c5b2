"""How the API words what it says: a stable code, and a text in the caller's language.

docs/fhir-api.md, "Errors and their language": every message the API words itself carries a code
in ``ERROR_SYSTEM`` (for a program) and is worded in Norwegian (bokmål), or in English when the
caller's Accept-Language prefers it. A ``Said`` keeps the gettext message and its values until the
answer is rendered, so the words are chosen once the language is known.
"""

from __future__ import annotations

from typing import Any, Literal

from django.utils import translation

Severity = Literal["fatal", "error", "warning", "information"]

# The stable machine codes of the API's own messages (a refusal's codes are in access-denial).
ERROR_SYSTEM = "https://maaledata.no/fhir/CodeSystem/api-error"


class Said:
    """A message the API words in the caller's language: a stable code, a gettext text and its values.

    A value may be a lazy gettext string or another ``Said``: both are worded in the same language.
    """

    __slots__ = ("code", "message", "values")

    def __init__(self, code: str, message: Any, /, **values: Any) -> None:
        self.code, self.message, self.values = code, message, values

    def worded(self) -> str:
        """The text in the active language (see ``text`` for a language of one's choice)."""
        if not self.values:
            return str(self.message)
        values = {k: v.worded() if isinstance(v, Said) else v for k, v in self.values.items()}
        return str(self.message) % values

    def text(self, language: str) -> str:
        with translation.override(language):
            return self.worded()

    def __str__(self) -> str:
        """English: for logs, the access log's reasons and command output."""
        return self.text("en")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Said):
            return NotImplemented
        return (self.code, self.message, self.values) == (other.code, other.message, other.values)

    def __hash__(self) -> int:
        return hash((self.code, self.message))

    def __repr__(self) -> str:
        return f"Said({self.code!r}, {str(self)!r})"

    def issue(self, issue_code: str, severity: Severity = "error", **extra: Any) -> dict[str, Any]:
        """One OperationOutcome issue in the active language: `issue_code` from FHIR's IssueType,
        our code in details.coding, the text in details.text and diagnostics."""
        text = self.worded()
        return {
            "severity": severity,
            "code": issue_code,
            "details": {"coding": [{"system": ERROR_SYSTEM, "code": self.code}], "text": text},
            "diagnostics": text,
            **extra,
        }

    def outcome(self, language: str, issue_code: str, severity: Severity = "error", **extra: Any) -> dict[str, Any]:
        """The OperationOutcome with this one issue, worded in `language`."""
        with translation.override(language):
            return {"resourceType": "OperationOutcome", "issue": [self.issue(issue_code, severity, **extra)]}

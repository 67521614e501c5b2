"""What ingest tells a sender: OperationOutcome-style issues, and the rejection that carries them.

Each issue's words are a ``Said``: a stable code (for a warning, its flag) and a gettext message,
worded in the sender's language only when the answer is rendered (docs/fhir-api.md, "Errors and
their language"). ``diagnostics`` is the English text, for logs and the access log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sharing.fhir.wording import Said

MAX_ISSUES = 20  # errors reported per resource; warnings follow them in full


@dataclass(frozen=True)
class Issue:
    severity: Literal["fatal", "error", "warning", "information"]
    code: str  # FHIR IssueType
    expression: str  # FHIRPath
    said: Said
    flag: str = ""  # warnings: stable flag code stored with the measurement

    @property
    def diagnostics(self) -> str:
        return str(self.said)

    def as_fhir(self) -> dict[str, Any]:
        """The OperationOutcome issue, worded in the active language."""
        return self.said.issue(
            self.code, self.severity, **({"expression": [self.expression]} if self.expression else {})
        )


def error(code: str, expression: str, said: str | Said, message: Any = "", /, **values: Any) -> Issue:
    """An error: `code` from FHIR's IssueType; `said` our stable code and `message` a gettext text
    with its `values`, or a ``Said`` made already."""
    return Issue("error", code, expression, said if isinstance(said, Said) else Said(said, message, **values))


class RejectedObservation(Exception):
    """The Observation cannot be stored; ``issues`` holds at least one error (errors first)."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("; ".join(i.diagnostics for i in issues if i.severity == "error"))


@dataclass
class Report:
    """Collects every problem found in one resource, so the sender can fix them in one round."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def error(self, code: str, expression: str, said: str | Said, message: Any = "", /, **values: Any) -> None:
        """An error (see ``error``)."""
        self.errors.append(error(code, expression, said, message, **values))

    def warn(self, flag: str, code: str, expression: str, message: Any, /, **values: Any) -> None:
        """A warning, stored as `flag` with the measurement; the flag is its code for the sender too."""
        self.warnings.append(Issue("warning", code, expression, Said(flag, message, **values), flag))

    def reject(self) -> RejectedObservation:
        return RejectedObservation(self.errors[:MAX_ISSUES] + self.warnings)

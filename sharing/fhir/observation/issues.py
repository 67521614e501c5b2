"""What ingest tells a sender: OperationOutcome-style issues, and the rejection that carries them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MAX_ISSUES = 20  # errors reported per resource; warnings follow them in full


@dataclass(frozen=True)
class Issue:
    severity: Literal["fatal", "error", "warning", "information"]
    code: str  # FHIR IssueType
    expression: str  # FHIRPath
    diagnostics: str
    flag: str = ""  # warnings: stable flag code stored with the measurement


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

    def error(self, code: str, expression: str, diagnostics: str) -> None:
        self.errors.append(Issue("error", code, expression, diagnostics))

    def warn(self, flag: str, code: str, expression: str, diagnostics: str) -> None:
        self.warnings.append(Issue("warning", code, expression, diagnostics, flag))

    def reject(self) -> RejectedObservation:
        return RejectedObservation(self.errors[:MAX_ISSUES] + self.warnings)

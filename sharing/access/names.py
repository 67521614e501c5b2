"""Patients' names as a municipality's own system sent them, for that municipality's own pages.

The reservation list (a municipality admin's register) shows each reserving patient by name and a
masked number (docs/audit.md, "Identifiers in lists"). The names are the municipality's own data
(it is the data controller), so no agreement is involved; the caller has already checked that
the person administers `municipality`. Read here because only the access layer reads the
measurement side's tables (ADR 0006, the one door).
"""

from __future__ import annotations

from collections.abc import Iterable

from sharing.measurements.models import PatientSource


def names_sent_by(*, municipality: str, patients: Iterable[str]) -> dict[str, str]:
    """{patient number: name} for those of `patients` that `municipality`'s system sent a name for."""
    return dict(
        PatientSource.objects.filter(source_orgnr=municipality, patient_value__in=set(patients))
        .exclude(display="")
        .values_list("patient_value", "display")
    )

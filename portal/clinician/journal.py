""" "Kopier til journal": a plain-text note of one period, ready to paste into the hospital record.

Made from what `sharing.access.actions.copy_to_journal` returned (decided and logged as its own
patient.export record); every text through Django's i18n, numbers in the reader's locale.
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from sharing.access.decision import Decision
from sharing.core.actor import Actor
from sharing.measurements.journal import JournalBasis, KindPeriod
from sharing.measurements.overview import KindSummary, parts_of

from . import present
from .pages import Header


def _values(values: dict[str, float], kind: str, extra: int = 0) -> str:
    decimals = present.DECIMALS.get(kind, 0) + extra
    return "/".join(present.number(values.get(p), decimals) for p in parts_of(kind))


def _kind_line(k: KindPeriod, card: KindSummary | None) -> list[str]:
    unit = present.unit_label(k.latest.unit)
    unit_text = f" {unit}" if unit else ""
    latest = present.value_text(k.latest)
    line = _("%(kind)s: latest %(value)s%(unit)s (%(time)s)") % {
        "kind": present.kind_name(k.kind),
        "value": latest,
        "unit": unit_text,
        "time": present.local_time(k.latest.effective),
    }
    if k.mean:
        line += "; " + _("mean %(mean)s, lowest %(low)s, highest %(high)s (%(count)s measurements)") % {
            "mean": _values(k.mean, k.kind, extra=1),
            "low": _values(k.low, k.kind),
            "high": _values(k.high, k.kind),
            "count": k.count,
        }
    lines = [line + "."]
    if card is not None:
        ranges = [present.range_text(p.range, k.kind) for p in card.parts if p.range is not None]
        if ranges:
            source = present.range_source_text(card.parts)
            lines.append("  " + _("Range %(range)s (%(source)s).") % {"range": " / ".join(ranges), "source": source})
        alerts = [present.alert_text(a, k.kind) for a in card.alerts]
        if alerts:
            lines.append("  " + _("Trend: %(alerts)s.") % {"alerts": "; ".join(alerts)})
    return lines


def note_text(basis: JournalBasis, decision: Decision, header: Header, by: Actor, now: dt.datetime) -> str:
    """The note: who and which period, the agreement, then one paragraph per kind."""
    start = basis.start or (min(k.first for k in basis.kinds) if basis.kinds else basis.end)
    lines = [
        _("Home measurements (digital home follow-up), %(name)s, %(id_kind)s %(number)s")
        % {"name": header.name or "–", "id_kind": header.id_kind.lower(), "number": header.national_id},
        _("Period: %(start)s–%(end)s.")
        % {
            "start": present.oslo(start).strftime("%d.%m.%Y"),
            "end": present.oslo(basis.end).strftime("%d.%m.%Y"),
        },  # fmt: skip
        _("Data from: %(municipalities)s.") % {"municipalities": ", ".join(header.municipalities) or "–"},
    ]
    for a in header.agreements:
        lines.append(_("Agreement: %(municipality)s: %(scope)s; %(valid)s.") % {
            "municipality": a.municipality, "scope": a.scope, "valid": a.valid})  # fmt: skip
    org = by.org_child_name or by.org_parent_name
    lines.append(
        _("Looked up %(time)s by %(who)s, %(org)s (%(basis)s).")
        % {"time": present.local_time(now), "who": by.name or "–", "org": org or "–", "basis": header.basis}
    )
    lines.append("")
    cards = {k.kind: k for k in basis.overview.kinds}
    if not basis.kinds:
        lines.append(_("No measurements in this period."))
    for k in basis.kinds:
        lines.extend(_kind_line(k, cards.get(k.kind)))
    lines += [
        "",
        _("Measured by the patient at home and sent by the municipality; thresholds flag values for attention."),
    ]
    return "\n".join(lines)

"""Template contexts for the patient pages, built from what the access actions returned."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sharing.access.actions import Access, PatientPage
from sharing.access.decision import BASIS_LABELS, AgreementInForce, Decision
from sharing.core.actor import Actor
from sharing.identifiers import IdKind, NationalId, age_on
from sharing.measurements.journal import JournalBasis
from sharing.measurements.series import Series, alerts

from . import charts, present
from .forms import PERIODS, PeriodForm, period_errors
from .opened import Opened

ID_KIND_LABELS = {
    IdKind.FNR: gettext_lazy("National identity number"),
    IdKind.DNR: gettext_lazy("D-number"),
    IdKind.FHN: gettext_lazy("Common auxiliary number"),
    IdKind.HNR: gettext_lazy("H-number"),
}


@dataclass(frozen=True)
class AgreementLine:
    municipality: str
    scope: str
    valid: str
    purpose: str


@dataclass(frozen=True)
class Header:
    name: str
    national_id: str
    id_kind: str
    age: int | None
    basis: str
    reason: str
    municipalities: list[str]
    agreements: list[AgreementLine]


def _grouped(nid: NationalId) -> str:
    return f"{nid.value[:6]} {nid.value[6:]}"


def _scope(agreement: AgreementInForce) -> str:
    kinds = ", ".join(present.kind_name(k) for k in agreement.kinds) if agreement.kinds else _("all measurement kinds")
    if agreement.lookback_from_start:
        return _("%(kinds)s, measured since the agreement began on %(day)s") % {
            "kinds": kinds,
            "day": agreement.valid_from.strftime("%d.%m.%Y"),
        }
    if agreement.lookback_days is None:
        return _("%(kinds)s, the whole period") % {"kinds": kinds}
    return _("%(kinds)s, the last %(days)s days") % {"kinds": kinds, "days": agreement.lookback_days}


def _valid(agreement: AgreementInForce) -> str:
    start = formats.date_format(agreement.valid_from, "d.m.Y")
    if agreement.valid_to is None:
        return _("in force from %(start)s, no end date") % {"start": start}
    return _("in force %(start)s–%(end)s") % {"start": start, "end": formats.date_format(agreement.valid_to, "d.m.Y")}


def header(entry: Opened, name: str, agreements: tuple[AgreementInForce, ...] = ()) -> Header:
    nid = entry.national_id
    return Header(
        name=name or entry.name,
        national_id=_grouped(nid),
        id_kind=str(ID_KIND_LABELS[nid.kind]),
        age=age_on(nid, timezone.localdate()),
        basis=str(BASIS_LABELS[entry.access_basis]),
        reason=entry.reason,
        municipalities=sorted({a.municipality_name for a in agreements}),
        agreements=[AgreementLine(a.municipality_name, _scope(a), _valid(a), a.purpose) for a in agreements],
    )


def _emergency(decision: Decision) -> dict[str, Any]:
    # Emergency access (issue 4) may add these to the decision; until then they are absent.
    return {"emergency": getattr(decision, "emergency", False), "expires_at": getattr(decision, "expires_at", None)}


def patient_context(entry: Opened, decision: Decision, page: PatientPage) -> dict[str, Any]:
    now = page.overview.now
    base = reverse("clinician:patient", kwargs={"key": entry.key})
    return {
        "entry": entry,
        "header": header(entry, page.overview.patient_display, page.agreements),
        "cards": [(present.card(k, now), f"{base}{k.kind}/") for k in page.overview.kinds],
        "journal_periods": [(key, label) for key, (label, _days) in PERIODS.items()],
        "now": now,
        **_emergency(decision),
    }


def _scope_start(decision: Decision) -> dt.datetime | None:
    """The oldest time any granting agreement reaches back to; None when one has no limit."""
    starts = [s.since for s in decision.scopes]
    return None if not starts or any(s is None for s in starts) else min(s for s in starts if s is not None)


def series_context(entry: Opened, decision: Decision, series: Series, period: PeriodForm) -> dict[str, Any]:
    base = reverse("clinician:series", kwargs={"key": entry.key, "kind": series.kind})
    links = [
        {"key": key, "label": label, "url": f"{base}?{urlencode({'periode': key})}", "selected": period.selected == key}
        for key, (label, _days) in PERIODS.items()
    ]
    scope_start = _scope_start(decision)
    limited = scope_start is not None and (series.start is None or series.start < scope_start)
    tabs = [
        {"kind": k, "name": present.kind_name(k), "url": reverse("clinician:series", args=[entry.key, k])}
        for k in entry.kinds
    ]
    chart = charts.chart_data(series)
    return {
        "entry": entry,
        "header": header(entry, ""),
        "kind": series.kind,
        "kind_name": present.kind_name(series.kind),
        "tabs": tabs,
        "period": period,
        "period_links": links,
        "period_query": period.query(),
        "period_errors": period_errors(period),
        "scope_note": formats.date_format(timezone.localtime(scope_start), "d.m.Y") if limited and scope_start else "",
        "chart": chart,
        "chart_script": charts.chart_script(chart),
        "table_page": series.page,
        "alerts": [present.alert_text(a, series.kind) for a in alerts(series)],
        "chart_summary": charts.chart_summary(series),
        "resolution": series.resolution,
        "table": charts.table_html(series),
        "rows_total": series.count,
        "paging": _paging(series, base, period.query()),
        **_emergency(decision),
    }


@dataclass(frozen=True)
class PageLink:
    number: int
    url: str
    current: bool


@dataclass(frozen=True)
class Paging:
    """The table's pages: where this one starts and ends, and links to others (none when one page)."""

    page: int
    pages: int
    first_row: int
    last_row: int
    previous: str
    next: str
    links: list[PageLink | None]  # None: a gap ("…")


def _paging(series: Series, base: str, query: dict[str, str]) -> Paging:
    page, pages = series.page, series.pages

    def url(number: int) -> str:
        return f"{base}?{urlencode({**query, 'side': number} if number > 1 else query)}"

    shown = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    links: list[PageLink | None] = []
    for number in shown:
        if links and (previous := links[-1]) is not None and number > previous.number + 1:
            links.append(None)
        links.append(PageLink(number, url(number), number == page))
    first = (page - 1) * series.page_size + 1 if series.rows else 0
    return Paging(
        page=page,
        pages=pages,
        first_row=first,
        last_row=first + len(series.rows) - 1 if series.rows else 0,
        previous=url(page - 1) if page > 1 else "",
        next=url(page + 1) if page < pages else "",
        links=links if pages > 1 else [],
    )


def denied_page(request: HttpRequest, entry: Opened, decision: Decision) -> HttpResponse:
    """Access ended since the lookup (an agreement ended, a reservation was recorded): 403, no data."""
    return render(request, "clinician/denied.html", {"entry": entry, "denied": decision}, status=403)


def journal_context(
    by: Actor, entry: Opened, access: Access[JournalBasis], period: PeriodForm, now: dt.datetime
) -> dict[str, Any]:
    from . import journal  # the note's text uses this module's Header

    assert access.result is not None  # noqa: S101 - the view renders this only when granted
    head = header(entry, access.result.overview.patient_display, access.decision.agreements)
    text = journal.note_text(access.result, access.decision, head, by, now)
    return {
        "entry": entry,
        "header": head,
        "note": text,
        "period": period,
        "periods": PERIODS,
        **_emergency(access.decision),
    }

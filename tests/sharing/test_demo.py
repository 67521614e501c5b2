"""The demo data tells the stories the README names, and conforms to the VKP profiles (no flags)."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from devdata import demo
from sharing.measurements import overview as reads
from sharing.measurements.models import Measurement

DAYS = 45  # enough for the trend rules (30-day window, 7-day means); the full demo is a year


def _seed():
    demo.seed_measurements(days=DAYS)
    now = timezone.now()
    return {
        p.name: {k.kind: k for k in reads.overview(Measurement.objects.for_patient(p.pid), now=now).kinds}
        for p in demo.PATIENTS
    }


@pytest.fixture
def seeded(oslo):
    return _seed()


def _alerts(summary: reads.KindSummary) -> set[str]:
    return {f"{a.code}:{a.part}" for a in summary.alerts}


def _sources(summary: reads.KindSummary) -> list[tuple[str | None, int | None]]:
    return [(p.range.source if p.range else None, p.range.scale if p.range else None) for p in summary.parts]


@pytest.mark.django_db
def test_every_demo_observation_conforms_to_its_profile(seeded):
    assert Measurement.objects.count() > 0
    assert not [f for f in Measurement.objects.values_list("flags", flat=True) if f]
    assert Measurement.objects.exclude(device="").count() == Measurement.objects.exclude(kind="news2").count()


@pytest.mark.django_db
def test_kari_decompensates(seeded):
    kari = seeded["Kari Nordmann"]
    assert "weight-gain:value" in _alerts(kari["body_weight"])
    assert {"mean-high:systolic", "mean-high:diastolic"} <= _alerts(kari["blood_pressure"])
    assert _sources(kari["blood_pressure"]) == [("default", None), ("default", None)]
    assert kari["body_weight"].latest.note  # "Tung i pusten i trapper"


@pytest.mark.django_db
def test_per_has_a_copd_exacerbation_within_scale_2(seeded):
    per = seeded["Per Olsen"]
    assert _sources(per["oxygen_saturation"]) == [("municipality", 2)]
    assert "spo2-falling:value" in _alerts(per["oxygen_saturation"])
    assert "news2-rising:value" in _alerts(per["news2"])


@pytest.mark.django_db
def test_aud_is_judged_by_the_municipalitys_own_ranges(seeded):
    aud = seeded["Aud Johansen"]
    assert _sources(aud["glucose"]) == [("municipality", None)]
    assert _sources(aud["blood_pressure"]) == [("municipality", None), ("municipality", None)]
    assert aud["glucose"].parts[0].range.high == 12.0
    assert aud["glucose"].latest.interpretation in {"N", "A", "AA"}


@pytest.mark.django_db
@pytest.mark.parametrize("hour", [0, 7])
def test_the_stories_do_not_wait_for_the_morning_round(oslo, hour):
    """Before today's readings are in (08:00-08:55), the stories end yesterday rather than lose
    their point (CI once ran at 00:30 and Kari's weight gain was not there)."""
    at = dt.datetime.combine(timezone.localdate(), dt.time(hour, 30), tzinfo=demo.TZ)
    with time_machine.travel(at, tick=False):
        seeded = _seed()
    kari, per = seeded["Kari Nordmann"], seeded["Per Olsen"]
    assert "weight-gain:value" in _alerts(kari["body_weight"])
    assert "spo2-falling:value" in _alerts(per["oxygen_saturation"])
    assert timezone.localtime(kari["body_weight"].latest.effective).date() == at.date() - dt.timedelta(days=1)

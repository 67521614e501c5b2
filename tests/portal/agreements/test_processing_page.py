"""The processing register page: the municipality's own agreements and senders, nobody else's."""

import datetime as dt

import pytest
from django.utils import timezone

from devdata import demo
from sharing.agreements.models import ProcessingAgreement
from sharing.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_the_admin_sees_own_register_and_what_is_in_force(login):
    ProcessingAgreement.objects.filter(municipality__orgnr=demo.OSLO).update(
        valid_to=timezone.localdate() - dt.timedelta(days=1)
    )
    page = login("astrid").get("/kommune/databehandling/").content.decode()
    assert "DBA-0301-2025" in page and "DBA-3201-2025" not in page
    assert "Ikke i kraft" in page
    assert "vkp-hub" in page and "vkp-baerum" not in page
    assert not AuditEvent.objects.filter(event__startswith="patient.").exists()


def test_a_clinician_is_refused(login):
    assert login("ingrid").get("/kommune/databehandling/").status_code == 403

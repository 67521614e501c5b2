"""The soak's simulated clinicians are persons of their own: devidp takes the generated persons
file, and each logs in to the portal as a distinct clinician (so the lookup limit can stay on)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bench.common import add_soak_members, clinician_persons
from portal.login.devclient import run_devidp
from portal.login.devsetup import write_clients_file
from portal.login.models import Profile
from sharing import oidc
from sharing.identifiers import is_valid_national_id
from tests.conftest import ROOT, DevIdP, IdPBrowser

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_generated_clinicians_are_distinct_and_valid():
    persons = clinician_persons(50)["persons"]
    soak = [p for p in persons if p["id"].startswith("soak-")]
    assert len(soak) == 50
    assert len({p["pid"] for p in persons}) == len(persons)
    assert all(is_valid_national_id(p["pid"]) and p["security_level"] == "4" and p["hpr_number"] for p in soak)


@pytest.fixture
def soak_idp(tmp_path, settings: Any) -> Iterator[DevIdP]:
    (tmp_path / "persons.json").write_text(json.dumps(clinician_persons(3)))
    clients = write_clients_file(
        path=tmp_path / "clients.json", keys_dir=tmp_path / "keys", portal_urls=["http://testserver"]
    )
    env = {"DEVIDP_PERSONS_FILE": str(tmp_path / "persons.json")}
    with run_devidp(clients_file=clients, log=tmp_path / "devidp.log", root=ROOT, env=env) as (issuer, process):
        settings.OIDC_ISSUER = issuer
        settings.OIDC_RP_PRIVATE_KEY_FILE = str(tmp_path / "keys" / "portal.pem")
        settings.OIDC_RP_PRIVATE_KEY = ""
        oidc.forget_cached_metadata()
        yield DevIdP(issuer=issuer, keys_dir=tmp_path / "keys", process=process, log=tmp_path / "devidp.log")


def test_each_simulated_clinician_logs_in_as_a_person_of_their_own(client, soak_idp, oslo):
    from django.test import Client

    # HelseID knows nobody's workplace: the portal's own register makes them Lovisenberg's.
    assert add_soak_members(clinician_persons(3)) == 3
    for n in (1, 2):
        assert IdPBrowser(soak_idp).login(Client(), f"soak-{n}")["Location"] == "/"
    profiles = Profile.objects.filter(name__startswith="Lege Last")
    assert profiles.count() == 2
    assert len({p.sub for p in profiles}) == 2
    assert all(p.hpr_number and p.security_level == "4" and p.orgnr_parent == "312222019" for p in profiles)

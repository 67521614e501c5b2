"""People by name, not numbers: the name beside a number is the one HelseID gave at the person's own
login (sharing/access/people.py), never typed; a person who never logged in has none."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from devdata import demo
from sharing.access import people
from sharing.access.members import add_member, appoint_admin, remove_admin
from sharing.access.models import KnownPerson
from sharing.access.roles import grant_role
from sharing.audit.models import AuditEvent
from sharing.core.actor import Actor, Role

pytestmark = pytest.mark.django_db
SIRI = Actor(name="Siri Moe", pid="03847733283", client_id="test")
INGRID_PID, INGRID_HPR = "12837826592", "565501872"


def test_a_login_is_remembered_and_the_latest_name_wins():
    people.note_login(pid=INGRID_PID, hpr_number=INGRID_HPR, name="Ingrid Berg")
    people.note_login(pid=INGRID_PID, hpr_number=INGRID_HPR, name="Ingrid Berg Haugen")
    assert KnownPerson.objects.get().name == "Ingrid Berg Haugen"
    by_hpr = people.identify(hpr_number=INGRID_HPR)
    assert (by_hpr.pid, by_hpr.name, by_hpr.key) == (INGRID_PID, "Ingrid Berg Haugen", INGRID_HPR)
    assert people.names(pids=[INGRID_PID, "17817213715"], hpr_numbers=[INGRID_HPR]) == {
        INGRID_PID: "Ingrid Berg Haugen",
        INGRID_HPR: "Ingrid Berg Haugen",
    }
    # No national ID or no name: nothing is remembered (nothing to show, nothing to match).
    people.note_login(pid="", hpr_number="565599999", name="Nobody")
    people.note_login(pid="17817213715", hpr_number="", name="")
    assert KnownPerson.objects.count() == 1


def test_an_unknown_number_names_nobody():
    person = people.identify(pid="17817213715")
    assert (person.known, person.name, person.masked_pid) == (False, "", "178172 *****")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("128378 26592", (INGRID_PID, "")), ("565.501.872", ("", INGRID_HPR)), (" 565501872 ", ("", INGRID_HPR))],
)
def test_numbers_are_parsed(typed, expected):
    assert people.parse_person(typed) == expected


@pytest.mark.parametrize("typed", ["", "abc", "12837826593", "12345", "1234567890", "123456789012"])
def test_bad_numbers_are_refused(typed):
    with pytest.raises(ValidationError):
        people.parse_person(typed)


def test_grants_and_members_keep_helseids_name_or_none():
    orgs = demo.seed_organisations()
    people.note_login(pid="28828537581", hpr_number="", name="Jonas Strand")
    known = grant_role(pid="28828537581", role=Role.AUDITOR, municipality=orgs[demo.OSLO], by=SIRI)
    unknown = grant_role(pid="17817213715", role=Role.AUDITOR, municipality=orgs[demo.OSLO], by=SIRI)
    assert (known.name, unknown.name) == ("Jonas Strand", "")
    member = add_member(
        organisation=orgs[demo.FJORDVIK],
        unit=None,
        pid="",
        hpr_number="565508075",
        valid_from=dt.date(2024, 1, 1),
        valid_to=None,
        by=SIRI,
    )
    assert member.name == ""


def test_appointing_and_removing_an_admin_is_audited_and_checked():
    orgs = demo.seed_organisations()
    today = timezone.localdate()
    admin = appoint_admin(organisation=orgs[demo.FJORDVIK], pid="23868130261", valid_from=today, by=SIRI)
    assert admin.is_admin and admin.unit is None
    with pytest.raises(ValidationError):  # twice
        appoint_admin(organisation=orgs[demo.FJORDVIK], pid="23868130261", valid_from=today, by=SIRI)
    with pytest.raises(ValidationError):  # a municipality's admins are roles, not appointments here
        appoint_admin(organisation=orgs[demo.OSLO], pid="23868130261", valid_from=today, by=SIRI)
    ordinary = add_member(
        organisation=orgs[demo.FJORDVIK],
        unit=None,
        pid="04916517721",
        hpr_number="",
        valid_from=today,
        valid_to=None,
        by=SIRI,
    )
    with pytest.raises(ValidationError):  # not an admin appointment
        remove_admin(membership=ordinary, by=SIRI)
    remove_admin(membership=admin, by=SIRI)
    ended = AuditEvent.objects.get(event="membership.end")
    assert (ended.actor_name, ended.data["before"]["admin"]) == ("Siri Moe", True)

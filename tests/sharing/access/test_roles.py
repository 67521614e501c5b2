"""Roles are granted in the portal or from the shell, audited, and hold only where they belong."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from devdata import demo
from devdata.demo import seed_demo_grants
from sharing.access.models import RoleGrant
from sharing.access.permissions import Permission, can, municipalities_for
from sharing.access.roles import grant_role, grants_for, revoke_role
from sharing.audit.models import AuditEvent
from sharing.core.actor import Actor, Role

pytestmark = pytest.mark.django_db

SIRI = Actor(
    name="Siri Moe", pid="03847733283", orgnr_parent=demo.OPERATOR, grants=frozenset({(Role.SYSTEM_ADMIN, "")})
)
ASTRID_PID = "17817213715"
JONAS_PID = "28828537581"


@pytest.fixture
def orgs(db: None):
    return demo.seed_organisations()


def test_a_grant_is_audited_and_holds_for_its_municipality_only(orgs):
    grant = grant_role(pid=ASTRID_PID, role=Role.MUNICIPALITY_ADMIN, municipality=orgs[demo.OSLO], by=SIRI)
    event = AuditEvent.objects.get(event="role.grant")
    assert (event.actor_name, event.data["after"]["role"], event.data["after"]["municipality"]) == (
        "Siri Moe",
        "municipality_admin",
        demo.OSLO,
    )
    assert grants_for(pid=ASTRID_PID, orgnr_parent=demo.OSLO) == {(Role.MUNICIPALITY_ADMIN, demo.OSLO)}
    # Acting for another organisation, the grant does not come along.
    assert grants_for(pid=ASTRID_PID, orgnr_parent=demo.BAERUM) == frozenset()
    revoke_role(grant=grant, by=SIRI)
    assert grants_for(pid=ASTRID_PID, orgnr_parent=demo.OSLO) == frozenset()
    revoked = AuditEvent.objects.get(event="role.revoke")
    assert (revoked.data["before"]["live"], revoked.data["after"]["live"]) == (True, False)
    with pytest.raises(ValidationError):
        revoke_role(grant=grant, by=SIRI)


def test_service_roles_hold_only_when_acting_for_the_operator(orgs):
    grant_role(pid="19888338694", role=Role.SERVICE_AUDITOR, municipality=None, by=SIRI)
    assert grants_for(pid="19888338694", orgnr_parent=demo.OPERATOR) == {(Role.SERVICE_AUDITOR, "")}
    assert grants_for(pid="19888338694", orgnr_parent=demo.OSLO) == frozenset()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"pid": "12345678901"}, "pid"),
        ({"pid": SIRI.pid}, "pid"),  # to oneself
        ({"role": Role.CLINICIAN}, "role"),  # clinicians are recognised, not granted
        ({"municipality": None}, "municipality"),  # a municipal role needs its municipality
        ({"role": Role.SYSTEM_ADMIN}, "municipality"),  # a service role has none
        ({"municipality": "hospital"}, "municipality"),  # only municipalities
    ],
)
def test_bad_grants_are_refused(orgs, kwargs, field):
    values = {"pid": JONAS_PID, "role": Role.AUDITOR, "municipality": orgs[demo.OSLO]}
    values.update(kwargs)
    if values["municipality"] == "hospital":
        values["municipality"] = orgs[demo.LOVISENBERG]
    with pytest.raises(ValidationError) as caught:
        grant_role(by=SIRI, **values)
    assert field in caught.value.message_dict
    assert not RoleGrant.objects.exists()
    assert not AuditEvent.objects.filter(event="role.grant").exists()


def test_the_same_role_is_granted_once(orgs):
    grant_role(pid=JONAS_PID, role=Role.AUDITOR, municipality=orgs[demo.OSLO], by=SIRI)
    with pytest.raises(ValidationError):
        grant_role(pid=JONAS_PID, role=Role.AUDITOR, municipality=orgs[demo.OSLO], by=SIRI)
    assert RoleGrant.objects.count() == 1
    # The same role for another municipality is another grant.
    grant_role(pid=JONAS_PID, role=Role.AUDITOR, municipality=orgs[demo.BAERUM], by=SIRI)
    assert RoleGrant.objects.live().count() == 2


def test_seed_demo_grants_is_idempotent(orgs):
    assert seed_demo_grants(by=demo.SEEDER) == 7
    assert seed_demo_grants(by=demo.SEEDER) == 0
    assert grants_for(pid="11916933853", orgnr_parent=demo.BAERUM) == {(Role.MUNICIPALITY_ADMIN, demo.BAERUM)}


def test_grant_role_command_bootstraps_the_first_system_admin(orgs):
    out = io.StringIO()
    call_command("grant_role", pid="03847733283", role="system_admin", stdout=out)
    assert "Granted" in out.getvalue()
    assert grants_for(pid="03847733283", orgnr_parent=demo.OPERATOR) == {(Role.SYSTEM_ADMIN, "")}
    event = AuditEvent.objects.get(event="role.grant")
    assert event.client_id == "manage.py grant_role"
    call_command("grant_role", pid="03847733283", role="system_admin", revoke=True, stdout=out)
    assert not RoleGrant.objects.live().exists()
    with pytest.raises(CommandError):
        call_command("grant_role", pid="03847733283", role="auditor", stdout=out)
    with pytest.raises(CommandError):
        call_command("grant_role", pid="03847733283", role="auditor", municipality=demo.OSLO, revoke=True)


def actor(*grants: tuple[Role, str]) -> Actor:
    return Actor(name="x", grants=frozenset(grants))


@pytest.mark.parametrize(
    ("who", "permission", "municipality", "allowed"),
    [
        (actor((Role.MUNICIPALITY_ADMIN, demo.OSLO)), Permission.MANAGE_AGREEMENTS, demo.OSLO, True),
        (actor((Role.MUNICIPALITY_ADMIN, demo.OSLO)), Permission.MANAGE_AGREEMENTS, demo.BAERUM, False),
        (actor((Role.MUNICIPALITY_ADMIN, demo.OSLO)), Permission.MANAGE_AGREEMENTS, None, False),
        (actor((Role.MUNICIPALITY_ADMIN, demo.OSLO)), Permission.VIEW_AUDIT_LOG, demo.OSLO, False),
        (actor((Role.AUDITOR, demo.OSLO)), Permission.VIEW_AUDIT_LOG, demo.OSLO, True),
        (actor((Role.AUDITOR, demo.OSLO)), Permission.VIEW_AUDIT_LOG, demo.BAERUM, False),
        (actor((Role.AUDITOR, demo.OSLO)), Permission.VIEW_AUDIT_LOG, None, False),
        (actor((Role.AUDITOR, demo.OSLO)), Permission.MANAGE_AGREEMENTS, demo.OSLO, False),
        (actor((Role.AUDITOR, demo.OSLO)), Permission.VIEW_AGREEMENTS, demo.OSLO, True),
        (actor((Role.SERVICE_AUDITOR, "")), Permission.VIEW_AUDIT_LOG, None, True),
        (actor((Role.SERVICE_AUDITOR, "")), Permission.VIEW_AUDIT_LOG, demo.BAERUM, True),
        (actor((Role.SERVICE_AUDITOR, "")), Permission.MANAGE_RESERVATIONS, demo.OSLO, False),
        (actor((Role.SYSTEM_ADMIN, "")), Permission.MANAGE_SERVICE_ROLES, None, True),
        (actor((Role.SYSTEM_ADMIN, "")), Permission.MANAGE_MUNICIPAL_ROLES, demo.OSLO, True),
        (actor((Role.SYSTEM_ADMIN, "")), Permission.MANAGE_AGREEMENTS, demo.OSLO, False),
        (actor((Role.SYSTEM_ADMIN, "")), Permission.VIEW_AUDIT_LOG, None, False),
        (Actor(roles=frozenset({Role.CLINICIAN}), hpr_number="1"), Permission.VIEW_AGREEMENTS, demo.OSLO, False),
        # An unscoped role without a grant (as a seeding script carries) gives no permission.
        (Actor(roles=frozenset({Role.SYSTEM_ADMIN})), Permission.MANAGE_SERVICE_ROLES, None, False),
    ],
)
def test_permission_table(who, permission, municipality, allowed):
    assert can(who, permission, municipality=municipality) is allowed


def test_municipalities_for():
    assert municipalities_for(actor((Role.AUDITOR, demo.OSLO)), Permission.VIEW_AUDIT_LOG) == {demo.OSLO}
    assert municipalities_for(actor((Role.SERVICE_AUDITOR, "")), Permission.VIEW_AUDIT_LOG) is None
    assert municipalities_for(actor((Role.MUNICIPALITY_ADMIN, demo.OSLO)), Permission.VIEW_AUDIT_LOG) == frozenset()


def test_a_privacy_officer_holds_for_her_reading_organisation_only(orgs):
    sara = "21887910186"
    with pytest.raises(ValidationError):  # a municipality is no reading organisation
        grant_role(pid=sara, role=Role.ORG_AUDITOR, municipality=orgs[demo.OSLO], by=SIRI)
    with pytest.raises(ValidationError):  # nor is a unit, or nothing
        grant_role(pid=sara, role=Role.ORG_AUDITOR, municipality=None, by=SIRI)
    with pytest.raises(ValidationError):
        unit = orgs[demo.LOVISENBERG_MEDICAL]
        grant_role(pid=sara, role=Role.ORG_AUDITOR, municipality=unit, by=SIRI)
    grant_role(pid=sara, role=Role.ORG_AUDITOR, municipality=orgs[demo.LOVISENBERG], by=SIRI)
    assert grants_for(pid=sara, orgnr_parent=demo.LOVISENBERG) == {(Role.ORG_AUDITOR, demo.LOVISENBERG)}
    assert grants_for(pid=sara, orgnr_parent=demo.SAGENE_GP) == frozenset()
    officer = Actor(pid=sara, orgnr_parent=demo.LOVISENBERG, grants=frozenset({(Role.ORG_AUDITOR, demo.LOVISENBERG)}))
    # No municipality's permissions: not the log of a municipality, not its agreements.
    assert municipalities_for(officer, Permission.VIEW_AUDIT_LOG) == frozenset()
    assert not can(officer, Permission.VIEW_AGREEMENTS, municipality=demo.LOVISENBERG)
    assert can(officer, Permission.VIEW_STAFF_AUDIT_LOG, municipality=demo.LOVISENBERG)

"""Roles through the real HelseID login (devidp over HTTP): the grant, not a claim, opens the pages."""

import pytest

from devdata import demo
from devdata.demo import seed_demo_grants
from tests.conftest import idp_login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("person", "path", "status"),
    [
        ("astrid-holm", "/kommune/avtaler/", 200),
        ("berit-lie", "/kommune/reservasjoner/", 200),
        ("siri-moe", "/kommune/roller/", 200),
        ("jonas-strand", "/kommune/roller/", 403),
        ("ingrid-berg", "/kommune/avtaler/", 403),
    ],
)
def test_granted_roles_reach_the_pages_after_login(client, helseid, oslo, person, path, status):
    seed_demo_grants(by=demo.SEEDER)
    idp_login(client, helseid, person)
    assert client.get(path).status_code == status


def test_without_a_grant_the_admin_is_just_a_visitor(client, helseid, oslo):
    """Astrid's login says she works for Oslo kommune; without the grant that opens nothing."""
    idp_login(client, helseid, "astrid-holm")
    assert client.get("/kommune/avtaler/").status_code == 403

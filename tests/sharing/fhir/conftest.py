"""The EPJ's DPoP key for read-API tests (token helpers live in portal.login.devclient)."""

import pytest

from portal.login.devclient import DpopKey


@pytest.fixture
def dpop_key() -> DpopKey:
    return DpopKey()

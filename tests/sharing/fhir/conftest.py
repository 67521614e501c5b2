"""The EPJ's DPoP key for read-API tests (token helpers live in portal.login.devclient)."""

import pytest

from portal.login.devclient import DpopKey

# test_openapi_fuzz.py's numbers (cases, statuses, seconds), shown after the run.
FUZZ_SUMMARY = pytest.StashKey[str]()


@pytest.fixture
def dpop_key() -> DpopKey:
    return DpopKey()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if line := config.stash.get(FUZZ_SUMMARY, ""):
        terminalreporter.write_line(line)

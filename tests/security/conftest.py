"""The browser fixtures of tests/browser (Debian's Chromium through Playwright), for the CSP test."""

import os

from tests.browser.conftest import browser_type_launch_args, screenshot

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

__all__ = ["browser_type_launch_args", "screenshot"]

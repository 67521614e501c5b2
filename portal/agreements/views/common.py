"""What every admin view does with a form and an action."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django import forms
from django.core.exceptions import ValidationError

T = TypeVar("T")


def run_action(form: forms.Form, action: Callable[[], T]) -> T | None:
    """Run an action on a valid form; its ValidationError becomes the form's errors instead of a crash."""
    if not form.is_valid():
        return None
    try:
        return action()
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for name, errors in exc.error_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            form.add_error(None, exc)
        return None


def form_status(form: forms.Form) -> int:
    """200 for a fresh form, 400 when a submitted one comes back with errors."""
    return 400 if form.is_bound else 200

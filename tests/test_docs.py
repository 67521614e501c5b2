"""The documentation says what the code does: every setting the code reads is in docs/settings.md
(with whether production requires it), every management command of ours and each of its options
is in docs/commands.md, and every make target is in README.md. Adding one without documenting it
fails here."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class
from django.core.management.base import BaseCommand

ROOT = Path(__file__).resolve().parent.parent
ENV_HELPERS = {"env_str", "env_int", "env_bool", "env_list"}


def settings_read() -> dict[str, ast.expr | None]:
    """Each variable portal/settings.py reads through its env helpers, with its default expression."""
    tree = ast.parse((ROOT / "portal" / "settings.py").read_text())
    found: dict[str, ast.expr | None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ENV_HELPERS:
            name = node.args[0]
            assert isinstance(name, ast.Constant) and isinstance(name.value, str), ast.dump(node)
            found[name.value] = node.args[1] if len(node.args) > 1 else None
    return found


def documented_settings() -> dict[str, str]:
    """Variable → its 'Required in production' cell, from the table in docs/settings.md."""
    rows = re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|(.*)\|\s*$", (ROOT / "docs" / "settings.md").read_text(), re.M)
    return {name: cells.split("|")[-1].strip() for name, cells in rows}


def production_default(default: ast.expr | None) -> ast.expr | None:
    """For `X if PRODUCTION else Y`, X; else None (the same default everywhere)."""
    if isinstance(default, ast.IfExp) and isinstance(default.test, ast.Name) and default.test.id == "PRODUCTION":
        return default.body
    return None


def test_every_setting_the_code_reads_is_documented_and_nothing_else():
    read, documented = settings_read(), documented_settings()
    assert len(read) > 30
    assert sorted(set(read) - set(documented)) == [], "read by portal/settings.py but not in docs/settings.md"
    assert sorted(set(documented) - set(read)) == [], "in docs/settings.md but not read by portal/settings.py"


def test_the_settings_production_requires_are_marked_so():
    read, documented = settings_read(), documented_settings()
    for name, default in read.items():
        in_production = production_default(default)
        required = isinstance(in_production, ast.Constant) and in_production.value is None
        if required:
            assert "**yes**" in documented[name], f"{name} has no default in production: mark it **yes**"
        if "**yes**" in documented[name]:
            empty = isinstance(in_production, ast.Constant | ast.List) and not ast.literal_eval(in_production)
            assert required or empty, f"{name} is marked required in production but has a default there"


def our_commands() -> dict[str, str]:
    """Management commands whose app lives in this repository (not Django's or a library's)."""
    ours = {}
    for name, app in get_commands().items():
        spec = importlib.util.find_spec(app)
        origin = Path(spec.origin or "") if spec else Path()
        if ROOT in origin.parents and ".venv" not in origin.parts:
            ours[name] = app
    return ours


def command_options(name: str, app: str) -> list[str]:
    common = {s for action in BaseCommand().create_parser("manage.py", "x")._actions for s in action.option_strings}
    parser = load_command_class(app, name).create_parser("manage.py", name)
    options = []
    for action in parser._actions:
        if set(action.option_strings) & common:
            continue
        long = [s for s in action.option_strings if s.startswith("--")]
        options.append(long[0] if long else str(action.metavar or action.dest).upper())
    return options


def command_sections() -> dict[str, str]:
    text = (ROOT / "docs" / "commands.md").read_text()
    parts = re.split(r"^### `manage\.py ([a-z_]+)`\s*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_command_and_option_is_documented():
    commands, sections = our_commands(), command_sections()
    assert {"helseid_smoke", "verify_audit", "grant_role", "seed_demo"} <= set(commands)
    assert sorted(set(commands) - set(sections)) == [], "commands missing from docs/commands.md"
    assert sorted(set(sections) - set(commands)) == [], "docs/commands.md names commands that do not exist"
    missing = [
        f"{name} {option}"
        for name, app in commands.items()
        for option in command_options(name, app)
        if not re.search(rf"`{re.escape(option)}\b", sections[name])
    ]
    assert missing == [], "options missing from docs/commands.md"


def make_targets() -> list[str]:
    text = (ROOT / "Makefile").read_text()
    return sorted(set(re.findall(r"^([a-z][a-z0-9-]*):(?!=)", text, re.M)))


@pytest.mark.parametrize("target", make_targets())
def test_every_make_target_is_in_the_readme(target):
    assert re.search(rf"\bmake {re.escape(target)}\b(?!-)", (ROOT / "README.md").read_text()), target

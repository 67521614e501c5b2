"""The import graph between the rooms of the code, and the arrows that point against the layers.

    .venv/bin/python bench/import_graph.py

A room is a top-level package or module of `sharing` (`sharing.access`, `sharing.identifiers`,
...), or `portal`, `devdata`, `bench`. An arrow is "some module of one room imports some module
of the other" (grimp, the graph under import-linter). An arrow points against the order when a
lower room imports a higher one (docs/adr/0006-one-door.md has the numbers before and after).
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
# Bottom to top, as the import-linter contracts in pyproject.toml.
ORDER = (
    "sharing.core",
    "sharing.identifiers",
    "sharing.audit",
    "sharing.agreements",
    "sharing.measurements",
    "sharing.access",
    "sharing.fhir",
    "portal",
    "devdata",
    "bench",
)
# Rooms outside the order, ranked where they belong (the last two lived in sharing/ before devdata).
RANK = {room: n for n, room in enumerate(ORDER)} | {
    "sharing": 0,
    "sharing.oidc": 0,
    "sharing.demo": ORDER.index("devdata"),
    "sharing.generate": ORDER.index("devdata"),
}


def room(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "sharing" and len(parts) > 1 else parts[0]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    packages = [p for p in ("sharing", "portal", "devdata", "bench") if (ROOT / p).is_dir()]
    graph = grimp.build_graph(*packages)
    arrows: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if room(module) != room(imported):
                arrows.setdefault((room(module), room(imported)), []).append((module, imported))
    rooms = sorted({room(m) for m in graph.modules})
    against = sorted(a for a in arrows if RANK.get(a[0], 0) < RANK.get(a[1], 0))
    mutual = sorted({tuple(sorted(a)) for a in arrows if (a[1], a[0]) in arrows})
    print(f"rooms {len(rooms)}: {' '.join(rooms)}")
    print(f"arrows {len(arrows)}, against the order {len(against)}, pairs importing each other {len(mutual)}")
    for source, target in against:
        examples = ", ".join(f"{m} -> {i}" for m, i in sorted(arrows[(source, target)])[:3])
        print(f"  {source} -> {target}: {examples}")


if __name__ == "__main__":
    main()

"""The top frames of a py-spy profile (``py-spy record --format raw``: one collapsed stack a line),
optionally only the samples taken inside one function, e.g. a view.

    py-spy record --format raw -o pages.txt -- .venv/bin/python bench/patient_page.py --keepdb
    .venv/bin/python bench/hotspots.py pages.txt --within "series (portal/clinician/views.py"

Prints, for the samples kept: the share of each frame as the innermost one (self) and anywhere
on the stack (total), the project's own frames and the libraries' alike. docs/performance.md
quotes these tables before and after a change.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r" \(([^()]*?):\d+\)$")


def _frame(text: str) -> str:
    """'func (path/to/file.py:123)' without the line, and with site-packages paths shortened."""
    text = _LINE.sub(lambda m: f" ({m.group(1)})", text.strip())
    return re.sub(r"\(.*?site-packages/", "(", text)


def top(path: Path, within: str = "", count: int = 15) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    kept = 0
    for line in path.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack or not number.isdigit() or (within and within not in stack):
            continue
        samples = int(number)
        frames = stack.split(";")
        if within:
            frames = frames[next(i for i, f in enumerate(frames) if within in f) :]
        kept += samples
        own[_frame(frames[-1])] += samples
        for name in {_frame(f) for f in frames}:
            total[name] += samples
    return kept, own.most_common(count), total.most_common(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--within", default="", help="keep only the samples with this text in a frame")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    kept, own, total = top(args.profile, args.within, args.top)
    print(f"{kept} samples{' within ' + args.within if args.within else ''}")
    for title, rows in (("self", own), ("total", total)):
        print(f"\n| {title} % | frame |\n|---|---|")
        for name, samples in rows:
            print(f"| {100 * samples / max(kept, 1):.1f} | `{name}` |")


if __name__ == "__main__":
    main()

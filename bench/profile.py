"""Where a FHIR call's time goes: py-spy samples gunicorn's workers while one call is repeated.

Run: BENCH_DATABASE_URL=... python bench/profile.py [--scenario read|search|whole|lastn|audit|ingest]
     [--seconds 20] [--wall]

Starts devidp and gunicorn (2 workers) as the benchmark does, gets a DPoP-bound token, and runs
`py-spy record --format raw` on the workers while one client repeats the scenario's call (for
`audit`: `record_event` in this process, sampled the same way; for `ingest`: two senders POST
batch Bundles of 1,000 new Observations, whose rows are removed afterwards). Prints the top frames by
inclusive share of the samples (a function and everything it calls) and by own time, which is
what docs/performance.md quotes. Needs py-spy (a dev dependency) and permission to attach (root,
or ptrace allowed).

Only a worker's samples while it handles a request count (not its wait for the next connection).
By default py-spy samples running Python only, so the shares are of CPU: the time a call waits for
PostgreSQL's answer is not in them. `--wall` samples waiting too (py-spy's --idle), and the shares
are of the wall clock, which is what a call's latency is made of.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

TRUNK = ("SyncWorker.", "Worker.", "Arbiter.", "BaseApplication.", "Application.", "_run_", "WSGIHandler.",
         "BaseHandler.", "MiddlewareMixin.", "convert_exception_to_response")  # fmt: skip
# The read path's stages, by the function that does each (the first one found in a stack counts).
STAGES = (
    ("token and DPoP proof (a read's jti goes in with its audit record)", ("authenticate_token",)),
    ("  of which the proof's single-use insert on its own", ("_remember",)),
    ("whose resource it is (read by id)", ("patient_of_measurement",)),
    ("decision", ("decide",)),
    ("gather (the rows)", ("gather", "read.<locals>.<lambda>", "GrantedRead.__call__")),
    ("audit record, committed", ("record_event",)),
    ("Bundle / resource built and serialised", ("ReadView.bundle", "resource_json", "FHIRJSONRenderer.render")),
)
REQUEST = "SyncWorker.handle ("  # a gunicorn worker handling one connection's request
SKIP = ("<module>", "run (threading.py", "_bootstrap", "serve_forever", "handle (gunicorn", "run (gunicorn")


def _frame(frame: str) -> str:
    """`function (path/to/file.py:line)` without the line and with the path cut to the project or package."""
    name, _, rest = frame.partition(" (")
    path = rest.rsplit(":", 1)[0]
    for marker in ("site-packages/", str(common.ROOT) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


def summarise(raw: Path, top: int) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    stage_counts: collections.Counter[str] = collections.Counter()
    total = 0
    lines_in = raw.read_text().splitlines()
    # Samples of gunicorn's workers count only while a request is being handled: a worker waiting
    # for the next connection is not part of any call (with --wall it is sampled too).
    serving = any(REQUEST in line for line in lines_in)
    for line in lines_in:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit() or (serving and REQUEST not in stack):
            continue
        frames = [_frame(f) for f in stack.split(";") if f and not f.startswith("process ")]
        frames = [f for f in frames if not f.startswith(SKIP)]
        if not frames:
            continue
        n = int(count)
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
        names = {f.split(" (")[0] for f in frames}
        names |= {name.rsplit("<locals>.", 1)[-1] for name in names}
        for _label, stage in STAGES:
            hit = next((f for f in stage if f in names), None)
            if hit:
                stage_counts[hit] += n
    # The trunk every sample shares (gunicorn, Django's handler and middleware, the view's dispatch)
    # says nothing: inclusive frames start below it.
    trunk = {frame for frame, n in inclusive.items() if n > 0.75 * total or frame.startswith(TRUNK)}
    lines = [f"{total} samples", "", "stages (inclusive):"]
    for label, names in STAGES:
        n = sum(c for frame, c in stage_counts.items() if frame in names)
        lines.append(f"  {100 * n / total:5.1f}%  {label}")
    lines += ["", "inclusive (below the request's trunk):"]
    lines += [
        f"  {100 * n / total:5.1f}%  {frame}"
        for frame, n in [(f, n) for f, n in inclusive.most_common() if f not in trunk][:top]
    ]
    lines += ["", "own time:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    return "\n".join(lines)


def _spy(pids: list[int], seconds: int, out: Path, wall: bool = False) -> subprocess.Popen[bytes]:
    """`wall`: sample waiting too (py-spy --idle), so the shares are of the wall clock."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    # One py-spy per worker would double the load; one on the master with --subprocesses samples all.
    return subprocess.Popen(
        [spy, "record", "--format", "raw", "--rate", "250", "--duration", str(seconds), "-o", str(out), "--nonblocking"]
        + (["--idle"] if wall else [])
        + ["--subprocesses", "--pid", str(pids[0])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=["read", "search", "whole", "lastn", "audit", "ingest"], default="read")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--summarise", type=Path, help="only summarise raw stacks py-spy recorded before")
    parser.add_argument(
        "--wall",
        action="store_true",
        help="sample waiting too (py-spy --idle): shares of the wall clock, PostgreSQL's answers included; "
        "without it only running Python is sampled, and a call's waits are not in its shares",
    )
    args = parser.parse_args()
    if args.summarise:
        print(summarise(args.summarise, args.top))
        return
    common.setup_django()
    out = Path(tempfile.mkdtemp(prefix="bench-profile-")) / f"{args.scenario}.txt"
    if args.scenario == "audit":
        _profile_audit(args.seconds, out, args.wall)
    elif args.scenario == "ingest":
        _profile_ingest(args.seconds, out, args.wall)
    else:
        _profile_http(args.scenario, args.seconds, out, args.wall)
    print(summarise(out, args.top))
    print(f"\nraw stacks: {out}")


def _profile_audit(seconds: int, out: Path, wall: bool) -> None:
    from sharing.audit.actions import record_event
    from sharing.core.actor import Actor, Role

    clinician = Actor(sub="sub-bench", hpr_number="565501872", name="Bench", orgnr_parent="312222019",
                      roles=frozenset({Role.CLINICIAN}), client_id="maaledata-portal")  # fmt: skip
    spy = _spy([os.getpid()], seconds, out, wall)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        record_event(event="patient.lookup", outcome="granted", by=clinician, patient_value="12345678901",
                     data={"agreements": [1], "municipalities": ["301111019"], "count": 30}, basis="care")  # fmt: skip
    spy.wait()


def _profile_ingest(seconds: int, out: Path, wall: bool) -> None:
    """Batch Bundles of 1,000 new Observations from two senders (one per worker), as bench/ingest.py
    sends them; the rows stored are removed afterwards."""
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from bench import ingest
    from sharing.measurements.models import Measurement

    run = uuid.uuid4().hex[:8]
    bodies = ingest.build_bundles(run, max(4, seconds // 2))
    with common.services() as svc:
        token = ingest.system_token(svc)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": ingest.FHIR_JSON, "Accept": ingest.FHIR_JSON}
        url = f"{svc.portal_url}/fhir"  # a batch Bundle is POSTed to the base
        requests.post(url, data=bodies[0], headers=headers, timeout=300).raise_for_status()  # warm
        spy = _spy([svc.gunicorn.pid], seconds, out, wall)
        with ThreadPoolExecutor(2) as pool:
            answers = list(
                pool.map(lambda body: requests.post(url, data=body, headers=headers, timeout=300), bodies[1:])
            )
        for answer in answers:
            answer.raise_for_status()
        spy.wait()
    Measurement.objects.filter(dedup_key__startswith=f"identifier:{ingest.BENCH_ID}{run}").delete()


def _profile_http(scenario: str, seconds: int, out: Path, wall: bool) -> None:
    import functools

    import requests

    # On a busy machine gunicorn can take longer than the benchmark's 30 s to answer its first call.
    common._wait_for = functools.partial(common._wait_for, seconds=180)  # type: ignore[assignment]

    from portal.login.devclient import DpopAuth, DpopKey, epj_user_token
    from sharing.identifiers import SYSTEM_FNR
    from sharing.measurements.models import Measurement

    patient = (
        Measurement.objects.filter(source_orgnr="311111019", kind="heart_rate")
        .values_list("patient_value", flat=True)
        .first()
    )
    with common.services() as svc:
        key = DpopKey()
        session = requests.Session()
        session.auth = DpopAuth(epj_user_token(svc, "ingrid-berg", key), key)
        url = f"{svc.portal_url}/fhir/Observation"
        since = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 365 * 86400))
        params: dict[str, Any] = {
            "patient.identifier": f"{SYSTEM_FNR}|{patient}",
            "code": "http://loinc.org|8867-4",
            "date": f"ge{since}",
        }
        first = session.get(url, params=params, timeout=30).json()
        ids = [e["resource"]["id"] for e in first["entry"]]
        calls = {
            "read": lambda i: session.get(f"{url}/{ids[i % len(ids)]}", timeout=30),
            "search": lambda i: session.get(url, params=params, timeout=30),
            "whole": lambda i: session.get(url, params={**params, "_count": "1000"}, timeout=30),
            "lastn": lambda i: session.get(
                f"{url}/$lastn", params={"patient.identifier": params["patient.identifier"], "max": "3"}, timeout=30
            ),
        }
        call = calls[scenario]
        stop = threading.Event()

        def drive() -> None:
            i = 0
            while not stop.is_set():
                call(i).raise_for_status()
                i += 1

        spy = _spy([svc.gunicorn.pid], seconds, out, wall)
        driver = threading.Thread(target=drive)
        driver.start()
        spy.wait()
        stop.set()
        driver.join()


if __name__ == "__main__":
    main()

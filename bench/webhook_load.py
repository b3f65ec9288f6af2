"""Load on the real webhook server over HTTPS, loopback only, for a bounded time.

Starts ``meshinject serve`` (all cores: one worker process per core, built-in configuration, self-signed
certificate, request logging on as in production) on 127.0.0.1, then drives it from this process with a small
keep-alive HTTP/1.1 client on asyncio (uvloop when installed) at concurrency 1, 16 and 64, sending the three
real-apiserver AdmissionReviews of ``shared/fixtures/admission-review`` in turn, then the same at concurrency 16
against ``POST /allow`` (decode + allow, no engine: the transport's limit on the same stack).

The client shares the machine's cores with the server, so the figures are a floor. Every answer is checked
(HTTP 200, the request's uid, a patch for /inject); a run with errors says so.

``--replicas``: instead of resending the three fixture bodies byte for byte, every request is a different pod the
way a ReplicaSet's replicas differ (the generated ``kube-api-access-xxxxx`` volume name and the request uid), so
nothing can be answered from a cache of whole requests. ``--rounds N``: run the four levels N times, interleaved,
and report each level's median round (a shared machine's noise hits single runs hard).

Usage: python bench/webhook_load.py [--seconds 4] [--workers 0] [--engine-threads 1] [--rounds 1] [--replicas]
Last line: {"c1_rps", "c16_rps", "c16_p50_ms", "c16_p99_ms", "c64_rps", "c64_p99_ms", "trivial_c16_rps",
"c16_over_trivial", "errors"}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import ssl
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import percentile

from meshinject.webhook.certs import write_self_signed

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT.parent / "shared" / "fixtures" / "admission-review"

SERVER = """
import sys
from pathlib import Path
from meshinject.webhook.server import serve
from meshinject.webhook.settings import WebhookSettings
cert, key, port, workers, threads, loop, http = sys.argv[1:8]
sys.exit(serve(WebhookSettings(tls_cert=Path(cert), tls_key=Path(key), host="127.0.0.1", port=int(port),
    workers=int(workers), engine_threads=int(threads), trivial_route=True, watch_nodes=False, log_level="info",
    loop=loop, http=http)))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _as_replica(review: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The review as another replica's: a fresh request uid and service-account token volume name."""
    text = json.dumps(review)
    old = next(
        (v["name"] for v in review["request"]["object"]["spec"].get("volumes", []) if v["name"].startswith("kube-api")),
        None,
    )
    if old is not None:
        suffix = "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(5))
        text = text.replace(old, "kube-api-access-" + suffix)
    uid = str(uuid.UUID(int=rng.getrandbits(128)))
    replica: dict[str, Any] = json.loads(text.replace(review["request"]["uid"], uid))
    return replica


def requests_for(path: str, replicas: int = 0) -> list[tuple[bytes, bytes]]:
    """(raw HTTP request, expected uid) for each fixture, or for ``replicas`` replica-like variants of each."""
    rng = random.Random(1)
    out = []
    for fixture in sorted(FIXTURES.glob("*.json")):
        data = json.loads(fixture.read_text())
        original: dict[str, Any] = data.get("body", data)
        for review in [_as_replica(original, rng) for _ in range(replicas)] if replicas else [original]:
            body = json.dumps(review).encode()
            head = (
                f"POST {path}?timeout=10s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: kube-apiserver-admission\r\n"
                f"Content-Type: application/json\r\nAccept: application/json, */*\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            out.append((head.encode() + body, review["request"]["uid"].encode()))
    if replicas:
        # Fixtures interleaved (replica 0 of each, replica 1 of each, ...), as in the default mode.
        count = len(out) // replicas
        out = [out[i * replicas + j] for j in range(replicas) for i in range(count)]
    return out


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
    body = await reader.readexactly(length)
    return status, body


async def drive(
    port: int,
    context: ssl.SSLContext,
    path: str,
    concurrency: int,
    seconds: float,
    warmup: float,
    requests: list[tuple[bytes, bytes]] | None = None,
) -> dict[str, Any]:
    requests = requests or requests_for(path)
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds
    counted = 0

    async def connection(index: int) -> None:
        nonlocal counted
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1")
        i = index
        try:
            while True:
                now = time.perf_counter()
                if now >= stop_at:
                    break
                raw, uid = requests[i % len(requests)]
                i += 1
                writer.write(raw)
                status, body = await read_response(reader)
                done = time.perf_counter()
                if status != 200 or uid not in body or (path == "/inject" and b'"patch"' not in body):
                    errors.append(f"{status}: {body[:120]!r}")
                if now >= measure_from:
                    latencies.append((done - now) * 1000)
                    counted += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - measure_from
    return {
        "rps": counted / elapsed,
        "p50_ms": percentile(latencies, 50) if latencies else 0.0,
        "p99_ms": percentile(latencies, 99) if latencies else 0.0,
        "requests": counted,
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
    }


def wait_ready(port: int, context: ssl.SSLContext, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited during startup")
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=2) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
            ):
                tls.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if tls.recv(100).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not become ready in time")


def _median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the rounds of one level; errors add up."""
    median: dict[str, Any] = {key: statistics.median(r[key] for r in rows) for key in ("rps", "p50_ms", "p99_ms")}
    median["requests"] = sum(r["requests"] for r in rows)
    median["errors"] = sum(r["errors"] for r in rows)
    median["first_error"] = next((r["first_error"] for r in rows if r["first_error"]), "")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per level")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=0, help="server worker processes (0 = one per core)")
    parser.add_argument("--engine-threads", type=int, default=1, help="per worker (0 = engine on the event loop)")
    parser.add_argument("--loop", default="auto", help="server event loop: auto, asyncio, uvloop")
    parser.add_argument("--http", default="auto", help="server HTTP parser: auto, h11, httptools")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the levels, report each level's median")
    parser.add_argument(
        "--replicas", action="store_true", help="every request a different replica-like pod (no request repeats)"
    )
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    workers = args.workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="meshinject-bench-") as tmp:
        cert, key = write_self_signed(Path(tmp))
        context = ssl.create_default_context(cafile=str(cert))
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SERVER,
                str(cert),
                str(key),
                str(port),
                str(workers),
                str(args.engine_threads),
                args.loop,
                args.http,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(port, context, proc)
            count = 512 if args.replicas else 0
            requests = {path: requests_for(path, count) for path in ("/inject", "/allow")}
            rounds: list[dict[str, dict[str, Any]]] = []
            for _ in range(max(1, args.rounds)):
                rows = {}
                for name, path, concurrency in (
                    ("c1", "/inject", 1),
                    ("c16", "/inject", 16),
                    ("c64", "/inject", 64),
                    ("trivial_c16", "/allow", 16),
                ):
                    rows[name] = asyncio.run(
                        drive(port, context, path, concurrency, args.seconds, args.warmup, requests[path])
                    )
                rounds.append(rows)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    print(
        f"server: {workers} worker process(es), {args.engine_threads} engine thread(s) each, loop={args.loop}, "
        f"http={args.http}; {os.cpu_count()} cores; requests: "
        + ("replica-like, none repeated" if args.replicas else "the fixture bodies in turn")
    )
    if len(rounds) > 1:
        for i, round_rows in enumerate(rounds, 1):
            print(
                f"round {i}: "
                + ", ".join(f"{name} {row['rps']:.0f}/s p99 {row['p99_ms']:.1f} ms" for name, row in round_rows.items())
            )
        print(f"median of {len(rounds)} rounds per level:")
    rows = {name: _median_row([r[name] for r in rounds]) for name in rounds[0]}
    print(f"{'level':<12} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'errors':>7}")
    for name, row in rows.items():
        print(
            f"{name:<12} {row['rps']:>9.1f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} "
            f"{row['requests']:>9} {row['errors']:>7}"
        )
        if row["errors"]:
            print(f"  first error: {row['first_error']}")
    ratio = rows["c16"]["rps"] / rows["trivial_c16"]["rps"] if rows["trivial_c16"]["rps"] else 0.0
    print(f"injection throughput / trivial throughput at concurrency 16: {ratio:.2f}")
    figures = {
        "c1_rps": rows["c1"]["rps"],
        "c16_rps": rows["c16"]["rps"],
        "c16_p50_ms": rows["c16"]["p50_ms"],
        "c16_p99_ms": rows["c16"]["p99_ms"],
        "c64_rps": rows["c64"]["rps"],
        "c64_p99_ms": rows["c64"]["p99_ms"],
        "trivial_c16_rps": rows["trivial_c16"]["rps"],
        "c16_over_trivial": ratio,
        "errors": sum(r["errors"] for r in rows.values()),
    }
    print(json.dumps({k: round(v, 2) for k, v in figures.items()}))


if __name__ == "__main__":
    main()

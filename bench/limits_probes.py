"""The hostile-input probes of issue 34, rerun: each command's exit code, first line of
stderr and peak memory (``/usr/bin/time -v``, Linux), and how long ``GET /api/info`` waits
while 20 sockets that never send their headers are open.

    python bench/limits_probes.py        # writes bench/results/limits_probes.{json,md}
    python bench/limits_probes.py --only "10^12 samples" --out /tmp/p   # one probe (a smoke run)

Each probe should end in a named error and exit 2 with peak memory under 2 GB, or work. The
disk-full probe needs root for a small tmpfs and is run by hand (docs/limits.md):
``mount -t tmpfs -o size=15m tmpfs /mnt/x; glyphgen synth --preset lines --format lmdb
--num 6000 --set output.shard_size=500 --out /mnt/x/o`` (exit 1, the shards kept named).
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from glyphgen.benchmark.machine import machine_info
from glyphgen.paths import data_path

ROOT = Path(__file__).resolve().parents[1]
GLYPHGEN = [sys.executable, "-m", "glyphgen"]


def probes(scratch: Path) -> list[tuple[str, list[str]]]:
    scene = "synth --preset scenes-det --num 4 --workers 1"
    flat = "--set layout.perspective_prob=0 --set layout.angle_prob=0 --set layout.curve_prob=0"
    table = [
        ("line height 5000", "synth --set line.height=5000 --num 2"),
        ("line height 20000", "synth --set line.height=20000 --num 2"),
        ("line height 100000", "synth --set line.height=100000 --num 2"),
        ("scene 20000x20000", f"{scene} --set scene.width=20000 --set scene.height=20000"),
        (
            "100-character lines at the largest height",
            "synth --set line.height=512 --set 'text.length=[100, 100]' --num 2",
        ),
        ("10^12 samples", "synth --num 1000000000000"),
        ("1000 workers", "synth --workers 1000 --num 2"),
        (
            "largest scene allowed, 1024 px text",
            f"{scene} --set scene.width=3072 --set scene.height=3072 "
            f"--set 'scene.font_size=[1000, 1024]' {flat}",
        ),
        (
            "glyph weights with one flipped bit",
            f"render --weights {scratch / 'flipped'} --text 宁静致远 --out {scratch / 'f.png'}",
        ),
        (
            "render --font-dir /missing",
            f"render --font-dir /missing --text 你好 --out {scratch / 'x.png'}",
        ),
    ]
    return [(name, shlex.split(cmd)) for name, cmd in table]


def flip_a_bit(folder: Path) -> None:
    """A copy of the shipped glyph model with one bit flipped in the UNet's tensor data."""
    shutil.copytree(data_path("weights", "glyph-default"), folder)
    path = folder / "unet" / "diffusion_pytorch_model.safetensors"
    data = bytearray(path.read_bytes())
    header = 8 + int.from_bytes(data[:8], "little")
    data[header + (len(data) - header) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def measured(args: list[str], out: Path | None) -> dict[str, object]:
    cmd = ["/usr/bin/time", "-v", *GLYPHGEN, *args]
    if args[0] == "synth":
        cmd += ["--quiet", "--out", str(out)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1800)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    lines = [x for x in proc.stderr.splitlines() if x and not x.startswith(("\t", "Command "))]
    said = [x for x in lines if "error" in x] + lines  # the error, not a progress line
    said += [x for x in proc.stdout.splitlines() if x.startswith("samples:")]
    return {
        "command": shlex.join(["glyphgen", *cmd[len(GLYPHGEN) + 2 :]]),
        "exit": proc.returncode,
        "peak_mb": round(int(peak.group(1)) / 1024) if peak else None,
        "seconds": round(time.perf_counter() - started, 1),
        "said": said[0][:300] if said else "",
    }


def idle_sockets(count: int = 20) -> dict[str, object]:
    """A server with the default limits and a stub model; ``count`` sockets that send
    nothing, then one ``GET /api/info``."""
    import numpy as np

    from glyphgen.web.server import serve
    from glyphgen.web.studio import Desk

    server = serve(
        Desk(
            lambda image, ask: None, label="stub", presets={"plain": np.zeros((8, 8, 3), np.uint8)}
        ),
        "127.0.0.1",
        0,
    )
    port = server.server_address[1]
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    time.sleep(0.5)
    try:
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
            sock.sendall(f"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        seconds = time.perf_counter() - started
    finally:
        for sock in idle:
            sock.close()
        server.shutdown()
    return {
        "idle_sockets": count,
        "status": answer.split(b" ", 2)[1].decode(),
        "seconds": round(seconds, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--only", nargs="+", metavar="PROBE", help="these probes alone (a smoke run), by name"
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        flip_a_bit(scratch / "flipped")
        table = probes(scratch)
        unknown = sorted(set(args.only or []) - {name for name, _ in table})
        if unknown:
            parser.error(f"unknown probe(s) {unknown}; known: {[name for name, _ in table]}")
        for k, (name, argv) in enumerate(table):
            if args.only and name not in args.only:
                continue
            rows.append({"probe": name, **measured(argv, scratch / f"out{k}")})
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    server = idle_sockets()
    results = {
        "machine": machine_info(),
        "command": shlex.join(["python", "bench/limits_probes.py", *sys.argv[1:]]),
        "probes": rows,
        "server": server,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "limits_probes.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    m = results["machine"]
    lines = [
        "# Hostile-input probes (issue 34)",
        "",
        f"{m['date']}, {m['cpu']}, {m['cores']} cores, Python {m['python']}; "
        f"`{results['command']}`. Peak memory from `/usr/bin/time -v`.",
        "",
        "| probe | exit | peak MB | what it said |",
        "|---|---:|---:|---|",
    ]
    for r in rows:
        said = str(r["said"]).replace("|", "\\|")
        lines.append(f"| {r['probe']}: `{r['command']}` | {r['exit']} | {r['peak_mb']} | {said} |")
    lines += [
        "",
        f"`GET /api/info` with {server['idle_sockets']} sockets open that never send their "
        f"headers (default limits, stub model): {server['status']} in {server['seconds']} s.",
    ]
    (args.out / "limits_probes.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

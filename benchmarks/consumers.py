"""Consumer throughput: the embedded SQLite stream vs Kinesis with 1 and 2 consumers.

    .venv/bin/python benchmarks/consumers.py [--hours 24] [--posts 200]

Starts moto_server (S3) and kinesalite (Kinesis, 2 shards) on loopback ports, ingests the same
synthetic search into each setup, then times `tweetsense consume --until-drained` processes
from start to exit (process start-up included, as in a deployment). Prints posts/s, the ratio
to the embedded run measured in the same run, and the peak RSS of the consumer processes.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "tweetsense.cli.app"]
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port}")


def start_servers() -> tuple[list[subprocess.Popen], str, str]:
    moto_port, kin_port = free_port(), free_port()
    moto = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("moto_server")),
            "-H",
            "127.0.0.1",
            "-p",
            str(moto_port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    modules = ROOT / ".cache" / "kinesalite" / "node_modules"
    node = shutil.which("node")
    if node is None or not modules.is_dir():
        raise SystemExit("kinesalite missing: run tools/deps/kinesalite.sh")
    kin = subprocess.Popen(
        [
            node,
            "-e",
            f"require('kinesalite')({{createStreamMs: 20}}).listen({kin_port}, '127.0.0.1')",
        ],
        env={**os.environ, "NODE_PATH": str(modules)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(moto_port)
    wait_for(kin_port)
    return [moto, kin], f"http://127.0.0.1:{moto_port}", f"http://127.0.0.1:{kin_port}"


def run(*args: str) -> str:
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return done.stdout


def consume(cfg: Path, consumers: int) -> float:
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [*CLI, "consume", "--config", str(cfg), "--until-drained"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(consumers)
    ]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise SystemExit(err[-2000:])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=24, help="search length (4 windows/hour)")
    parser.add_argument("--posts", type=int, default=200, help="posts per window")
    args = parser.parse_args()
    os.environ.update(AWS_ENV)
    import boto3

    servers, s3_url, kinesis_url = start_servers()
    work = Path(tempfile.mkdtemp(prefix="tweetsense-bench-"))
    try:
        end = f"2024-03-{1 + args.hours // 24:02d}T{args.hours % 24:02d}:00:00Z"
        common = {
            "search": {
                "query": "electric vehicles",
                "start_time": "2024-03-01T00:00:00Z",
                "end_time": end,
                "max_per_window": None,
            },
            "source": {"type": "synthetic", "posts_per_window": args.posts},
            "sentiment": {"type": "vader", "workers": 1},
        }
        setups: list[tuple[str, Path, int]] = []
        cfg = work / "embedded.yaml"
        cfg.write_text(yaml.safe_dump({**common, "data_dir": str(work / "embedded")}))
        setups.append(("embedded sqlite, 1 consumer", cfg, 1))
        s3 = boto3.client("s3", endpoint_url=s3_url)
        kinesis = boto3.client("kinesis", endpoint_url=kinesis_url)
        for n in (1, 2):
            bucket, stream = f"bench-{uuid.uuid4().hex[:8]}", f"bench-{uuid.uuid4().hex[:8]}"
            s3.create_bucket(Bucket=bucket)
            kinesis.create_stream(StreamName=stream, ShardCount=2)
            kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 1})
            cfg = work / f"kinesis-{n}.yaml"
            cfg.write_text(
                yaml.safe_dump(
                    {
                        **common,
                        "data_dir": str(work / f"kinesis-{n}"),
                        "storage": {"type": "s3", "bucket": bucket, "endpoint_url": s3_url},
                        "stream": {
                            "type": "kinesis",
                            "stream_name": stream,
                            "endpoint_url": kinesis_url,
                            "lease_seconds": 4.0,
                            "poll_interval": 0.1,
                        },
                    }
                )
            )
            setups.append((f"kinesis 2 shards + S3, {n} consumer{'s' * (n > 1)}", cfg, n))
        posts = 0
        for _, cfg, _ in setups:
            out = run("ingest", "--config", str(cfg))
            posts = int(out.split("(")[1].split(" posts")[0].replace(",", ""))
        print(f"{posts:,} posts in {args.hours * 4} windows; consumers timed start to exit\n")
        baseline = None
        for name, cfg, n in setups:
            seconds = consume(cfg, n)
            rate = posts / seconds
            baseline = baseline or rate
            print(f"{name:<36} {seconds:7.2f} s  {rate:10,.0f} posts/s  x{rate / baseline:.2f}")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"\npeak RSS of any child process (consumers, servers): {peak:,.0f} MiB")
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Attachments: upload and download throughput of one file through ``benben serve``, against
copying the same file on the same disk, and the server's memory during a large upload.

Starts Benben the production way (``benben serve``: waitress, one process, 4 threads) on
SQLite with the local storage in a temporary directory (``--postgresql``: PostgreSQL as the test
suite expects it, in a schema of its own; ``--s3``: a moto S3 server in this process), creates
an administrator, a collection and a record, then:

- throughput: a ``--size-mib`` file (100 MiB) is uploaded as a raw body (``POST
  .../attachments?name=``, streamed from disk by ``http.client``) and downloaded (streamed,
  discarded), each ``--rounds`` times (each upload a new content, so none is deduplicated), as
  MiB/s and as ratios to ``shutil.copyfile`` of the same file on the same disk, measured in the
  same run (median of the rounds); the download's ``ETag`` must be the file's sha256;
- memory: during the upload of a ``--rss-mib`` file (1 GiB) the server's resident memory is
  sampled from ``/proc/<pid>/status`` every 10 ms: the peak growth over its RSS just before is
  printed in MB (target < 50 MB, issue #17), with VmHWM's growth.

    python benchmarks/files_throughput.py [--size-mib 100] [--rss-mib 1024] [--rounds 3]
                                          [--postgresql] [--s3]

The files live in a temporary directory on the disk of ``--workdir`` (default: the system's
temporary directory): waitress spools each body there before the app reads it, and the local
storage writes there too. Not part of the test run: tests/test_benchmarks_files.py runs it
with 8 MiB files as a smoke test.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
PASSWORD = "benchmark-password-0123456789"  # noqa: S105 - a throwaway instance's admin
# moto accepts any key; explicit ones keep the developer's AWS profile out of it.
S3_KEY, S3_SECRET = "benchmark", "benchmark-secret"
BLOCK = MiB  # http.client's read size from the file, and the download's


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_file(path: Path, size: int) -> str:
    """``size`` bytes no two runs share (so no upload is deduplicated); their sha256."""
    digest = hashlib.sha256()
    seed = os.urandom(BLOCK)
    with path.open("wb") as file:
        for index in range(0, size, BLOCK):
            # Each block its own: no two blocks, files or runs alike.
            block = (index.to_bytes(8, "big") + seed[8:])[: size - index]
            file.write(block)
            digest.update(block)
    return digest.hexdigest()


def copy_rate(source: Path, workdir: Path) -> float:
    """MiB/s of ``shutil.copyfile`` of ``source`` on the same disk, synced like a stored upload."""
    target = workdir / f"copy-{uuid.uuid4().hex}"
    started = time.perf_counter()
    shutil.copyfile(source, target)
    with target.open("rb") as file:
        os.fsync(file.fileno())
    elapsed = time.perf_counter() - started
    target.unlink()
    return source.stat().st_size / MiB / elapsed


class Server:
    """``benben serve`` in a subprocess, with its settings as BENBEN_* variables."""

    def __init__(self, settings: dict[str, str], workdir: Path) -> None:
        self.port = free_port()
        environ = {k: v for k, v in os.environ.items() if not k.startswith("BENBEN_")}
        environ |= settings | {"TMPDIR": str(workdir / "tmp")}
        (workdir / "tmp").mkdir(exist_ok=True)
        command = [str(Path(sys.executable).with_name("benben")), "serve"]
        command += ["--workers", "1", "--threads", "4", "--port", str(self.port)]
        self.log = (workdir / "server.log").open("wb")
        self.process = subprocess.Popen(
            command, env=environ, stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, _ = self.request("GET", "/health/live")
                if status == 200:
                    break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"benben serve did not start: see {self.log.name}")
            time.sleep(0.2)

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600, blocksize=BLOCK)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        connection = self.connection()
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def json(self, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
        data = json.dumps(body).encode()
        status, _, answer = self.request(
            method, path, data, {**headers, "Content-Type": "application/json"}
        )
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {answer[:500]!r}")
        return json.loads(answer)

    def rss(self, field: str = "VmRSS") -> int:
        """The server process's ``field`` of /proc/<pid>/status, in bytes."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no {field} in /proc/{self.process.pid}/status")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def upload(server: Server, headers: dict[str, str], url: str, path: Path, name: str) -> float:
    """Seconds to POST ``path`` as a raw body (streamed from disk); its JSON checked."""
    size = path.stat().st_size
    all_headers = {
        **headers,
        "Content-Type": "application/octet-stream",
        "Content-Length": str(size),
    }
    with path.open("rb") as body:
        started = time.perf_counter()
        status, _, answer = server.request("POST", f"{url}?name={name}", body, all_headers)
        elapsed = time.perf_counter() - started
    if status != 201:
        raise RuntimeError(f"upload of {name}: {status} {answer[:500]!r}")
    if json.loads(answer)["size"] != size:
        raise RuntimeError(f"upload of {name}: {answer[:500]!r}")
    return elapsed


def download(server: Server, headers: dict[str, str], url: str, size: int, sha256: str) -> float:
    """Seconds to GET the attachment, read in 1 MiB blocks and discarded; size and ETag checked."""
    connection = server.connection()
    try:
        started = time.perf_counter()
        connection.request("GET", url, headers=headers)
        response = connection.getresponse()
        received = 0
        while block := response.read(BLOCK):
            received += len(block)
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    if response.status != 200 or received != size:
        raise RuntimeError(f"download of {url}: {response.status}, {received} of {size} bytes")
    if response.getheader("ETag", "").strip('"') != sha256:
        raise RuntimeError(f"download of {url}: ETag {response.getheader('ETag')} != {sha256}")
    return elapsed


def peak_rss_growth(server: Server, upload_once: Any) -> tuple[int, int, int]:
    """(VmRSS before, its peak growth, VmHWM's growth) of the server while ``upload_once()``
    runs."""
    before, hwm_before = server.rss(), server.rss("VmHWM")
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, server.rss())
            done.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        upload_once()
    finally:
        done.set()
        sampler.join()
    peak = max(peak, server.rss())
    return before, peak - before, server.rss("VmHWM") - hwm_before


def settings_for(args: argparse.Namespace, workdir: Path, largest: int) -> dict[str, str]:
    settings = {
        "BENBEN_ENVIRONMENT": "development",
        "BENBEN_DATA_DIR": str(workdir / "var"),
        "BENBEN_DATABASE_AUTO_MIGRATE": "true",
        "BENBEN_CACHE_BACKEND": "memory",
        "BENBEN_RATELIMIT_ENABLED": "false",
        "BENBEN_ADMIN_PASSWORD": PASSWORD,
        "BENBEN_LOGGING_LEVEL": "WARNING",
        "BENBEN_FILES_MAX_FILE_SIZE": str(largest),
        "BENBEN_SERVER_MAX_REQUEST_BODY_SIZE": str(largest + 16 * MiB),
        "BENBEN_FILES_LOCAL_PATH": str(workdir / "files"),
    }
    if args.postgresql:
        from sqlalchemy.engine import make_url

        from benben.testing_services import postgresql_url

        schema = f"files_bench_{uuid.uuid4().hex[:8]}"
        url = make_url(postgresql_url())
        with_schema = url.update_query_dict({"options": f"-csearch_path={schema}"})
        settings["BENBEN_DATABASE_URL"] = with_schema.render_as_string(hide_password=False)
        args.schema = (url, schema)
        _schema(url, f"CREATE SCHEMA {schema}")
    if args.s3:
        settings |= {
            "BENBEN_FILES_STORAGE": "s3",
            "BENBEN_FILES_S3_BUCKET": args.bucket,
            "BENBEN_FILES_S3_ENDPOINT_URL": args.endpoint_url,
            "BENBEN_FILES_S3_REGION": "us-east-1",
            "BENBEN_FILES_S3_ADDRESSING_STYLE": "path",
            "BENBEN_FILES_S3_ACCESS_KEY_ID": S3_KEY,
            "BENBEN_FILES_S3_SECRET_ACCESS_KEY": S3_SECRET,
        }
    return settings


def _schema(url: Any, statement: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(statement))
    finally:
        engine.dispose()


def start_s3(args: argparse.Namespace) -> Any:
    """moto's S3 server in this process, and a bucket."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    args.endpoint_url, args.bucket = f"http://{host}:{port}", "benchmark"
    client = boto3.client(
        "s3",
        endpoint_url=args.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
    )
    client.create_bucket(Bucket=args.bucket)
    return server


def run(args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    size, rss_size = args.size_mib * MiB, args.rss_mib * MiB
    moto = start_s3(args) if args.s3 else None
    server = Server(settings_for(args, workdir, max(size, rss_size)), workdir)
    try:
        token = server.json(
            "POST", "/api/v1/auth/login", {"username": "admin", "password": PASSWORD}, {}
        )["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        server.json("POST", "/api/v1/collections", {"id": "bench"}, headers)
        server.json("PUT", "/api/v1/collections/bench/records/r1", {"data": {}}, headers)
        url = "/api/v1/collections/bench/records/r1/attachments"

        # Warm up: imports, the first transaction, the storage's first connection.
        warm = workdir / "warm.bin"
        warm_sha = make_file(warm, MiB)
        upload(server, headers, url, warm, "warm.bin")
        download(server, headers, f"{url}/warm.bin", MiB, warm_sha)

        # The memory proof first, on a server that has moved only the 1 MiB warm-up: what the
        # throughput rounds allocate cannot hide what the large upload would.
        big = workdir / "rss.bin"
        make_file(big, rss_size)
        before, rss, hwm = peak_rss_growth(
            server, lambda: upload(server, headers, url, big, big.name)
        )
        big.unlink()

        uploads, downloads, copies = [], [], []
        for number in range(args.rounds):
            source = workdir / f"file-{number}.bin"
            sha256 = make_file(source, size)
            copies.append(copy_rate(source, workdir))
            uploads.append(size / MiB / upload(server, headers, url, source, source.name))
            downloads.append(
                size / MiB / download(server, headers, f"{url}/{source.name}", size, sha256)
            )
            source.unlink()

    finally:
        server.stop()
        if moto is not None:
            moto.stop()
        if args.postgresql:
            url_, schema = args.schema
            _schema(url_, f"DROP SCHEMA {schema} CASCADE")
    return {
        "copy": statistics.median(copies),
        "upload": statistics.median(uploads),
        "download": statistics.median(downloads),
        "rss_before": before / 1e6,
        "rss": rss / 1e6,
        "hwm": hwm / 1e6,
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=100, help="the throughput file's size")
    parser.add_argument("--rss-mib", type=int, default=1024, help="the memory proof's file size")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgresql", action="store_true", help="PostgreSQL, not SQLite")
    parser.add_argument("--s3", action="store_true", help="S3 storage (moto), not the disk")
    parser.add_argument("--workdir", type=Path, default=None, help="where the files go")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="benben-files-", dir=args.workdir) as directory:
        figures = run(args, Path(directory))
    database = "PostgreSQL" if args.postgresql else "SQLite"
    storage = "S3 (moto, in process)" if args.s3 else "local disk"
    print(f"benben serve (waitress, 1 process, 4 threads), {database}, {storage}")
    print(f"{args.size_mib} MiB file, median of {args.rounds} rounds:")
    print(f"  copy (shutil.copyfile + fsync): {figures['copy']:8.1f} MiB/s")
    for kind in ("upload", "download"):
        ratio = figures[kind] / figures["copy"]
        print(f"  {kind:<31} {figures[kind]:8.1f} MiB/s   ratio to copy {ratio:.2f}")
    verdict = "ok" if figures["rss"] < 50 else "OVER the 50 MB target"
    print(
        f"{args.rss_mib} MiB upload: server RSS {figures['rss_before']:.1f} MB before, peak growth "
        f"{figures['rss']:.1f} MB "
        f"(VmHWM +{figures['hwm']:.1f} MB): {verdict}"
    )
    return figures


if __name__ == "__main__":
    main()

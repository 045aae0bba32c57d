"""Real services for the scale-out tests: PostgreSQL and RabbitMQ of this machine, an
S3-compatible server (moto) on loopback in-process, and Celery workers as separate processes.
A missing service skips these tests, except under CI=true, where it fails them.

The tests run one at a time, on one pytest-xdist worker (`xdist_group("scaleout")` in each
module): the Celery tests share one RabbitMQ queue, so one test's workers would take another's
steps, and `test_postgres_restarted_between_runs` restarts the server under everyone else's
connections."""

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get(
    "MLPLATFORM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BROKER_URL = os.environ.get("MLPLATFORM_TEST_BROKER", "pyamqp://guest:guest@127.0.0.1:5672//")
BUCKET = "mlplatform-test"


def _service_missing(what: str, exc: Exception) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is not reachable under CI=true: {exc}")
    pytest.skip(f"{what} not reachable: {exc}")


def _create_database() -> str:
    import psycopg2

    name = f"mlplatform_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(PG_ADMIN_URL, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        _service_missing("PostgreSQL", exc)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_database(url: str) -> None:
    import psycopg2

    admin = psycopg2.connect(PG_ADMIN_URL, connect_timeout=30)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards; its URL."""
    url = _create_database()
    try:
        yield url
    finally:
        _drop_database(url)


def psycopg2_url(url: str) -> str:
    # SQLAlchemy 2.1 defaults postgresql:// to psycopg 3; dagster-postgres ships psycopg2
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)


@dataclass
class S3Server:
    endpoint: str
    port: int
    server: object = field(repr=False)

    def stop(self) -> None:
        """Refuse connections: moto's stop() leaves the listening socket open."""
        self.server.stop()
        self.server._server.server_close()

    def start(self) -> None:
        self.server.start()


@pytest.fixture
def s3_server() -> Iterator[S3Server]:
    """moto's S3-compatible server on 127.0.0.1 in this process, with an empty bucket."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    # a restart on the same port keeps the bucket: moto's state lives in this process
    server.stop()
    server._server.server_close()
    restartable = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    restartable.start()
    try:
        yield S3Server(endpoint, port, restartable)
    finally:
        with contextlib.suppress(Exception):  # already stopped by a fault test
            restartable.stop()


@pytest.fixture
def scaleout_env(tmp_path: Path, s3_server: S3Server, monkeypatch) -> Iterator[dict[str, str]]:
    """The scale-out deployment's environment: instance and MLflow registry in two fresh
    PostgreSQL databases, everything else under s3://BUCKET/mlplatform on the moto server.
    Set in this process and returned for subprocesses (CLI runs, workers)."""
    instance_db, mlflow_db = _create_database(), _create_database()
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "scaleout" / "dagster.yaml", home / "dagster.yaml")
    env = {
        "DAGSTER_HOME": str(home),
        "MLPLATFORM_DEPLOYMENT": "scaleout",
        "MLPLATFORM_PG_URL": psycopg2_url(instance_db),
        "MLPLATFORM_MLFLOW_URI": psycopg2_url(mlflow_db),
        "MLPLATFORM_S3_URL": f"s3://{BUCKET}/mlplatform",
        "MLPLATFORM_S3_ENDPOINT_URL": s3_server.endpoint,
        "MLFLOW_S3_ENDPOINT_URL": s3_server.endpoint,
        "MLPLATFORM_CELERY_BROKER": BROKER_URL,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "OMP_WAIT_POLICY": "passive",
        # dagster-celery starts the `celery` command by name
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        yield {**os.environ, **env}
    finally:
        _drop_database(mlflow_db)
        _drop_database(instance_db)


def _purge_broker() -> None:
    """Drop tasks a failed earlier session may have left in the workers' queue."""
    from kombu import Connection

    try:
        with Connection(BROKER_URL, connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=1)
            channel = conn.channel()
            with contextlib.suppress(Exception):  # the queue does not exist yet
                channel.queue_purge("dagster")
    except Exception as exc:
        _service_missing("RabbitMQ", exc)


@dataclass
class Worker:
    name: str
    process: subprocess.Popen
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL the worker and its pool: what a lost machine looks like to the broker."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def tool(name: str) -> str:
    """A console script of this environment (dagster, dagster-celery, mlplatform)."""
    return str(Path(sys.executable).with_name(name))


def start_worker(name: str, env: dict[str, str], folder: Path) -> Worker:
    log = folder / f"{name}.log"
    command = [
        tool("dagster-celery"),
        "worker",
        "start",
        "-A",
        "dagster_celery.app",
        "-y",
        str(REPO / "deploy" / "scaleout" / "celery.yaml"),
        "-n",
        name,
        "--",
        "--concurrency=1",
        "--without-gossip",
        "--without-mingle",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = Worker(name, process, log)
    deadline = time.monotonic() + 90
    while "ready." not in worker.text():
        if process.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            pytest.fail(f"celery worker {name} did not start:\n{worker.text()[-3000:]}")
        time.sleep(0.5)
    return worker


@pytest.fixture
def celery_workers(scaleout_env: dict[str, str], tmp_path: Path) -> Iterator[list[Worker]]:
    """Two Celery workers, one step at a time each, as separate process groups."""
    _purge_broker()
    workers: list[Worker] = []
    try:
        # Names of their own: the broker drops a killed worker's exclusive queues only once
        # it has seen the connection close, which a busy machine can delay past the next
        # test's start (RESOURCE_LOCKED on `<name>@host.celery.pidbox`).
        run = uuid.uuid4().hex[:8]
        for name in ("worker1", "worker2"):
            workers.append(start_worker(f"{name}-{run}", scaleout_env, tmp_path))
        yield workers
    finally:
        for worker in workers:
            worker.kill()

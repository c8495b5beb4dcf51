"""Shared fixtures: the real MNIST file (never downloaded in tests) and small real subsets."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

# Local Ray instances in tests bind to 127.0.0.1: without this, Ray swaps a requested loopback
# address for the machine's reachable one. Set before anything imports ray.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

# Under pytest-xdist (-n N) the workers share the cores: TensorFlow's default pools, a thread a core
# in each worker, oversubscribe them and spend CPU spinning and switching. Each worker gets its share
# instead; the environment carries it to the subprocesses tests start. Set before TensorFlow loads.
if os.environ.get("PYTEST_XDIST_WORKER"):
    _share = max(1, len(os.sched_getaffinity(0)) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    for _name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(_name, str(_share))

REPO = Path(__file__).resolve().parents[1]


def checkout_commit() -> str:
    """The commit of the checkout the tests run in (CI's is a clean clone)."""
    return subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


DEFAULT_MNIST = REPO.parent / "shared" / "data" / "mnist.npz"


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    path = Path(os.environ.get("GANLIB_MNIST") or DEFAULT_MNIST)
    if not path.is_file():
        pytest.exit(
            f"real MNIST not found at {path}: set GANLIB_MNIST to a Keras-layout mnist.npz", returncode=2
        )
    return path


@pytest.fixture(scope="session")
def train_digits(mnist_path):
    from ganlib.data import load_digits

    return load_digits(mnist_path, "train")


@pytest.fixture(scope="session")
def test_digits(mnist_path):
    from ganlib.data import load_digits

    return load_digits(mnist_path, "test")


@pytest.fixture(scope="session")
def small_digits(train_digits):
    """1,000 real training digits, 100 of each class."""
    from ganlib.data import balanced_subset

    return balanced_subset(train_digits, 100, seed=0)


TINY = {"width": 0.25, "batch_size": 16}
STEPS = 3


@pytest.fixture(scope="session")
def trained(small_digits):
    """variant -> (model built with TINY after STEPS steps on small_digits, its history, each
    network's trainable weights before), each trained once a session for every test that checks such
    a run (test_every_variant, test_variants_losses): the export test reloads trained generators, whose
    batch norms' moving statistics are no longer the initial ones an export could drop unnoticed."""
    import numpy as np

    from ganlib import registry
    from ganlib.data import make_dataset

    cache = {}

    def get(variant):
        if variant not in cache:
            model = registry.build(variant, TINY, seed=0)
            networks = {"generator": model.generator, "discriminator": model.discriminator}
            if hasattr(model, "encoder"):
                networks["encoder"] = model.encoder
            before = {
                name: [np.array(weight) for weight in network.trainable_weights]
                for name, network in networks.items()
            }
            # WGAN's critic takes n_critic real batches a step
            dataset = make_dataset(small_digits, TINY["batch_size"] * model.real_batches_per_step, seed=0)
            history = model.fit(dataset, epochs=1, steps_per_epoch=STEPS, verbose=0).history
            cache[variant] = model, history, before
        return cache[variant]

    return get


@pytest.fixture(scope="session", autouse=True)
def fresh_metric_cache(tmp_path_factory):
    """Reference statistics are computed afresh in every test session, not read from ~/.cache.
    pytest-xdist's workers share one folder (the run's base temp), so a worker mostly finds the
    reference another computed (both compute it only when they ask at once); the cache writes each
    file whole by rename, so neither reads half a file."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent / "ganlib-cache"
        shared.mkdir(exist_ok=True)
        os.environ["GANLIB_CACHE"] = str(shared)
    else:
        os.environ["GANLIB_CACHE"] = str(tmp_path_factory.mktemp("ganlib-cache"))
    yield


@pytest.fixture(scope="session")
def test_features(test_digits):
    from ganlib.data import to_unit_range
    from ganlib.metrics import features_and_probabilities

    return features_and_probabilities(to_unit_range(test_digits.images))


# One real sweep as a user runs it, with every stage: a search of gan and dcgan (three trials each,
# ASHA stopping some after their first report), the final stage and its budget ladder (two seeds an
# arm, then one seed of each best on to 2 reports and, the best 2 unconditional, to 3, continuing the
# same runs), the report, an MLflow file store and the record. The search, export, report, final
# stage, MLflow and record tests read it: their own sweeps were the largest part of the suite.
SHARED_SWEEP_NAME = "s"


def shared_sweep_args(storage: Path, record: Path, mnist_path: Path) -> list[str]:
    """The shared sweep's command line, but for where it keeps its trials and record (test_record
    runs it again with --resume on copies)."""
    return [
        *("--preset", "smoke", "--name", SHARED_SWEEP_NAME, "--variants", "gan,dcgan"),
        *("--num-samples", "3", "--max-rounds", "2", "--grace-rounds", "1"),
        *("--final-seeds", "2", "--final-rounds", "1", "--ladder", "2,3", "--ladder-seeds", "1"),
        *("--data", str(mnist_path), "--storage", str(storage), "--record", str(record)),
    ]


# MLflow's own file store, which MLflow 3 keeps behind this opt-in
SHARED_SWEEP_ENV = {"MLFLOW_ALLOW_FILE_STORE": "true"}


@pytest.fixture(scope="session")
def shared_sweep(tmp_path_factory, mnist_path):
    """(storage folder, MLflow URI, record folder, completed process); the export is the storage's
    SHARED_SWEEP_NAME folder. Read-only: a test that changes it works on a copy. The MLflow URI is a
    copy of the store as the sweep left it: a resumed copy of the sweep (test_record) logs on to the
    sweep's own store, as Ray restores the experiment's callbacks with it."""
    import shutil

    from sweep_runs import tune_all

    root = tmp_path_factory.mktemp("shared-sweep")
    result = tune_all(
        *shared_sweep_args(root / "store", root / "record", mnist_path),
        *("--mlflow", (root / "mlruns").as_uri()),
        env={**os.environ, **SHARED_SWEEP_ENV},
        timeout=1500,
    )
    if (root / "mlruns").is_dir():
        shutil.copytree(root / "mlruns", root / "mlruns-as-left")
    return root / "store", (root / "mlruns-as-left").as_uri(), root / "record", result


@pytest.fixture(scope="session")
def sweep_export(shared_sweep):
    """The shared sweep's export folder and completed process."""
    store, _, _, result = shared_sweep
    return store / SHARED_SWEEP_NAME, result


@pytest.fixture()
def s3_bucket():
    """An S3-compatible server on 127.0.0.1 (moto's), started and stopped by the test, with one
    bucket. Yields (bucket name, environment): the endpoint and credentials as pyarrow and boto3
    read them (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...), for the sweep and Ray's nodes."""
    import socket
    import subprocess
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        ["moto_server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    try:
        import boto3

        deadline = time.time() + 30
        while True:
            try:
                boto3.client(
                    "s3",
                    endpoint_url=env["AWS_ENDPOINT_URL"],
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                    region_name="us-east-1",
                ).create_bucket(Bucket="ganlib-test")
                break
            except Exception:
                if time.time() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        yield "ganlib-test", env
    finally:
        server.terminate()
        server.wait(timeout=30)


def bucket_files(env: dict, bucket: str, prefix: str = "") -> dict[str, bytes]:
    """Every object under a prefix, by key."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    files = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            files[item["Key"]] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return files


# sweeps.search.progress.ReportLines: "[gan] trial 3ab2c1d0 report 2: FID 812.3 (...); 1/6 trials done, ..."
REPORT_LINE = re.compile(r" report (?P<round>\d+): .*; (?P<done>\d+)/(?P<trials>\d+) trials done")


def interrupt_once_a_trial_is_done(process: subprocess.Popen, max_rounds: int, timeout: float = 600) -> str:
    """Reads a running sweep's console until Ray's controller holds a trial as finished while
    others are not, sends it Ctrl-C, and returns everything it printed.

    A trial's last report is printed while Ray still has it RUNNING (it ends when its function
    returns, which may come after other trials' reports), so a trial's last report is no sign:
    wait for a report that is not its trial's last and yet counts a trial done."""
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True)
    reader.start()
    seen, deadline = [], time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        report = REPORT_LINE.search(line)
        if report and int(report["round"]) < max_rounds and 0 < int(report["done"]) < int(report["trials"]):
            break
    process.send_signal(signal.SIGINT)
    process.wait(timeout=300)
    reader.join(timeout=30)
    while not lines.empty():
        seen.append(lines.get())
    return "".join(seen)


# Tests that take one of these start a real Ray sweep, an S3 or AWS server, or sshd: `-m "not
# integration"` leaves them out (explicit marks cover the tests that start Ray themselves).
INTEGRATION_FIXTURES = {"shared_sweep", "s3_bucket", "ssh_node", "aws"}


# Fixtures that train or start a process once for several tests: under `-n 2 --dist loadgroup` the
# tests sharing one run on one worker, which builds it once, not once a worker.
SHARED_RUN_FIXTURES = ("trained", "trained_gan", "resumed_runs")

# The integration tests in two groups, one a worker, each group's tests one after another as in a
# serial run (each starts a cluster or a server sized for the whole machine, so no more than two run
# at once). In one group they were CI's critical path, the other worker long done with the unit
# tests. The first group holds every test of shared_sweep (built once, on the worker that runs them)
# and these files; the rest go to the second: files chosen by `--durations` on a fresh clone so that
# the two groups take about as long (the unit tests go to whichever worker is free).
FIRST_INTEGRATION_GROUP = {
    "test_adapters.py",
    "test_aws.py",
    "test_cluster.py",
    "test_final_stage.py",
    "test_mlflow.py",
}
INTEGRATION_GROUPS = ("integration-1", "integration-2")


def pytest_configure(config):
    # xdist hands out groups by size unless told to keep the collection's order, which puts the two
    # integration groups first (below): the first to one worker, the second to the other
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if INTEGRATION_FIXTURES & names:
            item.add_marker(pytest.mark.integration)
        if item.get_closest_marker("integration"):
            first = "shared_sweep" in names or item.path.name in FIRST_INTEGRATION_GROUP
            item.add_marker(pytest.mark.xdist_group(INTEGRATION_GROUPS[0 if first else 1]))
            continue
        shared = [name for name in SHARED_RUN_FIXTURES if name in names]
        if shared:
            item.add_marker(pytest.mark.xdist_group(shared[0]))

    def order(item):
        marker = item.get_closest_marker("xdist_group")
        group = marker.args[0] if marker else None
        return INTEGRATION_GROUPS.index(group) if group in INTEGRATION_GROUPS else len(INTEGRATION_GROUPS)

    items.sort(key=order)  # stable: each group, and the rest, in collection order

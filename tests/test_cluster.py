"""cluster.yaml and cluster-local.yaml against Ray's own validation, and a sweep on a real
multi-node Ray cluster on this machine: Ray's autoscaler with its fake multi-node provider adds
(declared) GPU worker nodes on demand, and one of them dies mid-sweep."""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import yaml
from jsonschema.exceptions import ValidationError as SchemaError  # what Ray validates cluster files with

REPO = Path(__file__).resolve().parents[1]


def prepared(path: Path) -> dict:
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = prepare_config(copy.deepcopy(yaml.safe_load(path.read_text())))
    validate_config(config)
    return config


@pytest.mark.parametrize("name", ["cluster.yaml", "cluster-local.yaml"])
def test_cluster_configs_pass_rays_validation(name):
    config = prepared(REPO / name)
    assert config["head_node_type"] in config["available_node_types"]
    assert config["file_mounts"]["~/ganlib"] == "."
    assert any(
        'pip install -e "$HOME/ganlib[gpu,cluster]"' in command for command in config["setup_commands"]
    )
    assert any('pip install -e "$HOME/ganlib[cluster]"' in command for command in config["setup_commands"])


def test_a_job_and_a_node_sync_carry_the_code_and_leave_the_history_and_the_record_behind(tmp_path):
    """`ray job submit --working-dir .` zips this checkout and Ray refuses one over its gRPC limit
    (100 MiB), which the git history and records/study can each pass; a node needs neither."""
    from zipfile import ZipFile

    from ray._private.runtime_env.packaging import GCS_STORAGE_MAX_SIZE, create_package

    package = tmp_path / "working_dir.zip"
    create_package(str(REPO), package, include_gitignore=True)  # as `ray job submit` packs it
    names = ZipFile(package).namelist()
    assert {"pyproject.toml", "ganlib/__init__.py", "sweeps/tune_all.py"} <= set(names)
    assert not [name for name in names if name.startswith((".git/", "records/", "docs/results/"))]
    assert package.stat().st_size < GCS_STORAGE_MAX_SIZE // 10, package.stat().st_size
    for name in ["cluster.yaml", "cluster-local.yaml"]:  # what `ray up` rsyncs to every node
        assert {"**/.git", "**/records", "**/results"} <= set(
            yaml.safe_load((REPO / name).read_text())["rsync_exclude"]
        )


def node_environment(config_name: str, home: Path) -> dict:
    """The environment a node's shells (and so `ray start` and Ray's jobs) have after the config's
    first setup command, as Ray's launcher runs it: bash, then ~/.bashrc sourced."""
    config = yaml.safe_load((REPO / config_name).read_text())
    (home / ".bashrc").write_text("# the image's own\n")
    done = subprocess.run(
        ["bash", "-c", f"{config['setup_commands'][0]} && source ~/.bashrc && env -0"],
        env={"HOME": str(home), "PATH": os.environ["PATH"]},
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return dict(item.split("=", 1) for item in done.stdout.decode().split("\0") if "=" in item)


def test_a_bare_tune_all_on_a_node_set_up_by_cluster_yaml_chooses_the_clusters_study(tmp_path):
    from sweeps.search.plan import choose

    environ = node_environment("cluster.yaml", tmp_path)
    assert choose("preset", None, environ) == ("gpu", "$GANLIB_PRESET")
    assert choose("storage", None, environ) == ("s3://YOUR-BUCKET/ganlib", "$GANLIB_STORAGE")
    assert choose("address", None, environ) == ("auto", "$GANLIB_RAY_ADDRESS")
    assert choose("address", None, {**environ, "RAY_ADDRESS": "10.0.0.5:6379"}) == (
        "10.0.0.5:6379",
        "$RAY_ADDRESS",
    )  # a job's own
    assert (
        environ["GANLIB_MNIST"] == f"{tmp_path}/data/mnist.npz"
        and environ["GANLIB_EXPORTS"] == f"{tmp_path}/ganlib-results"
    )
    assert choose("preset", "smoke", environ) == ("smoke", "--preset")  # the command line still wins
    # run again (ray up re-runs setup on every restart): the lines are replaced, not repeated
    again = node_environment("cluster.yaml", tmp_path)
    assert again == environ and (tmp_path / ".bashrc").read_text().count("GANLIB_PRESET") == 1
    # the bucket still the placeholder: refused in one line before Ray starts
    done = subprocess.run(
        [sys.executable, str(REPO / "sweeps" / "tune_all.py")],
        env={**os.environ, **environ},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "error: storage 's3://YOUR-BUCKET/ganlib' is cluster.yaml's placeholder: "
        "put your bucket in its GANLIB_STORAGE line, or pass --storage"
    ]
    assert choose("preset", None, {}) == ("smoke", "the default") and choose("address", None, {}) == (
        None,
        "the default",
    )


def test_aws_cluster_runs_python_311_with_cuda_12_and_four_trials_to_a_gpu():
    config = prepared(REPO / "cluster.yaml")
    assert config["docker"]["worker_image"] == "rayproject/ray:2.60.0-py311-gpu"
    assert config["docker"]["head_image"] == "rayproject/ray:2.60.0-py311-cpu"
    types = config["available_node_types"]
    # the head passes the workers' role and no other (sweeps/cloud/aws_setup.py makes both)
    assert types["head"]["node_config"]["IamInstanceProfile"] == {"Name": "ganlib-head"}
    for name in ("gpu_worker", "gpu_worker_spot"):
        node = types[name]["node_config"]
        assert node["InstanceType"] == "g5.2xlarge"  # 8 vCPUs, 32 GiB, one A10G
        assert node["IamInstanceProfile"] == {"Name": "ganlib-worker"}, (
            f"{name} could not write checkpoints to S3"
        )
        assert node["ImageId"].startswith("resolve:ssm:/aws/service/deeplearning/")
    assert types["gpu_worker_spot"]["node_config"]["InstanceMarketOptions"] == {"MarketType": "spot"}
    from sweeps.search import presets

    gpu = presets.get("gpu")
    # four trials fit one node's GPU, CPUs and the memory Ray leaves beside its object store
    assert 1 / gpu.gpus_per_trial == 4 and 4 * gpu.cpus_per_trial <= 8
    store = int(re.search(r"--object-store-memory=(\d+)", config["worker_start_ray_commands"][-1])[1])
    assert (
        4 * gpu.memory_per_trial_mb * 2**20 <= 32 * 2**30 - store
        and gpu.gpu_memory_mb * gpu.gpus_per_trial >= 4000
    )
    setup = " ".join(config["setup_commands"])
    assert (
        "GANLIB_STORAGE=s3://" in setup and "tensorflow" not in setup
    )  # the gpu extra brings TensorFlow's CUDA wheels
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["gpu"] == ["tensorflow[and-cuda]==2.21.*"] and any(
        d.startswith("ray[default]") for d in extras["cluster"]
    )


def test_the_project_image_installs_what_cluster_yaml_installs_on_a_gpu_node():
    """Docker cannot run here: the image's install and data steps are cluster.yaml's, word for word."""
    config = yaml.safe_load((REPO / "cluster.yaml").read_text())
    dockerfile = (REPO / "Dockerfile").read_text().splitlines()
    runs = [line.removeprefix("RUN ") for line in dockerfile if line.startswith("RUN ")]
    gpu_install = re.search(r"then (pip install -e \S+);", config["setup_commands"][2])[1]
    assert runs[0].split(" && ")[0] == gpu_install == 'pip install -e "$HOME/ganlib[gpu,cluster]"'
    assert runs[1] == config["setup_commands"][3]  # MNIST baked where GANLIB_MNIST points on every node
    assert (
        dockerfile[[line.startswith("FROM ") for line in dockerfile].index(True)]
        == f"FROM {config['docker']['worker_image']}"
    )
    copied = {line.split()[-1].rstrip("/") for line in dockerfile if line.startswith("COPY ")}
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"][
        "include"
    ]
    assert {
        f"/home/ray/ganlib/{name.rstrip('*')}" for name in packages
    } <= copied  # every package the install finds


def test_aws_cluster_keeps_trials_off_the_head_and_scales_gpu_workers():
    config = prepared(REPO / "cluster.yaml")
    head = config["available_node_types"][config["head_node_type"]]
    assert head["resources"] == {"CPU": 0, "GPU": 0}
    worker = config["available_node_types"]["gpu_worker"]
    assert worker["min_workers"] == 0 and worker["max_workers"] >= 1 and config["idle_timeout_minutes"] > 0
    text = (REPO / "cluster.yaml").read_text().lower()
    assert "aws_secret" not in text and "aws_access_key" not in text


# What Ray 2.60's prepare_config + validate_config raise for each breakage (seen, not guessed): a
# missing head_node_type is filled with Ray's default "ray.head.default", which cluster.yaml does
# not define, so both of the first two end in the same check.
@pytest.mark.parametrize(
    "breakage, error, match",
    [
        pytest.param(
            lambda c: c.pop("head_node_type"),
            ValueError,
            "`head_node_type` must be one of `available_node_types`",
            id="no-head-node-type",
        ),
        pytest.param(
            lambda c: c["available_node_types"].pop("head"),
            ValueError,
            "`head_node_type` must be one of `available_node_types`",
            id="head-type-undefined",
        ),
        pytest.param(
            lambda c: c.update(max_workers="four"),
            SchemaError,
            "'four' is not of type 'integer'",
            id="max-workers-not-an-integer",
        ),
        pytest.param(
            lambda c: c["available_node_types"]["gpu_worker"].update(min_workers=9),
            ValueError,
            "global `max_workers` is smaller than the sum of `min_workers`",
            id="min-workers-above-max",
        ),
    ],
)
def test_a_broken_config_is_refused(breakage, error, match, tmp_path):
    config = yaml.safe_load((REPO / "cluster.yaml").read_text())
    breakage(config)
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(config))
    with pytest.raises(error, match=re.escape(match)) as raised:
        prepared(broken)
    assert type(raised.value) is error  # this class itself, not some other subclass of it


def fake_cluster_config(gcs_port: int) -> dict:
    """Ray's fake multi-node provider: worker nodes are local raylets with declared resources."""
    return {
        "cluster_name": "ganlib-fake",
        "max_workers": 2,
        "provider": {
            "type": "fake_multinode",
            "use_node_id_as_ip": True,
            "disable_node_updaters": True,
            "disable_launch_config_check": True,
            "gcs_address": f"127.0.0.1:{gcs_port}",
        },
        "available_node_types": {
            "ray.head.default": {"resources": {"CPU": 0, "GPU": 0}, "node_config": {}, "max_workers": 0},
            "gpu_worker": {
                "resources": {"CPU": 2, "GPU": 1, "object_store_memory": 500_000_000},
                "node_config": {},
                "min_workers": 0,
                "max_workers": 2,
            },
        },
        "head_node_type": "ray.head.default",
        "auth": {},
        "upscaling_speed": 1.0,
        "idle_timeout_minutes": 5,
        "docker": {},
        "initialization_commands": [],
        "setup_commands": [],
        "head_setup_commands": [],
        "worker_setup_commands": [],
        "head_start_ray_commands": [],
        "worker_start_ray_commands": [],
        "file_mounts": {},
        "cluster_synced_files": [],
        "file_mounts_sync_continuously": False,
        "rsync_exclude": [],
        "rsync_filter": [],
    }


def process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process on this machine."""
    table = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            table[int(proc.name)] = (parent, (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue
    return table


def kill_node_of(worker_pid: int) -> int:
    """Kill the node a trial runs on, as a machine failure would: its raylet and everything the
    raylet started (the trial's worker among them). Returns the raylet's pid."""
    table = process_table()
    raylet = table[worker_pid][0]
    assert table[raylet][1].split(" ", 1)[0].endswith("raylet"), "a trial's parent is not a raylet"
    doomed, frontier = {raylet}, [raylet]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _) in table.items() if ppid == parent and pid not in doomed]
        doomed.update(children)
        frontier.extend(children)
    for pid in doomed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return raylet


def stop_cluster(ray_dir: str) -> None:
    """Stop only this test's cluster (every process that names its temp folder), never another
    Ray running on the machine, as `ray stop` would."""
    for pid, (_, cmdline) in process_table().items():
        if ray_dir in cmdline and pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def trial_workers(gcs_port: int) -> list[int]:
    """Processes that run a trial of the cluster whose GCS listens on gcs_port (its raylets name it):
    another test's Ray may be training on this machine at the same time. Ray titles them after the
    trainable's class: GANTrainable, or while a method runs the class tune.with_resources wraps it
    in (`ray::ResourceTrainable.train`), which is most of the time a trial is training."""
    titles = ("ray::GANTrainable", "ray::ResourceTrainable")
    ours = f"--gcs-address=127.0.0.1:{gcs_port}"
    table = process_table()
    return [
        pid
        for pid, (parent, cmdline) in table.items()
        if cmdline.startswith(titles) and ours in table.get(parent, (0, ""))[1]
    ]


@pytest.mark.integration
def test_a_trial_on_a_dead_worker_node_resumes_from_its_checkpoint_in_the_bucket(
    tmp_path, mnist_path, s3_bucket
):
    """Ray's autoscaler with its fake multi-node provider adds (declared) GPU worker nodes; trials
    keep their checkpoints in an S3 bucket; once every trial has checkpointed,
    one node dies with its trials, which Ray restarts elsewhere from their checkpoints in the bucket.
    (A node that dies between a trial's first report and its first checkpoint's upload costs that
    trial a restart from scratch: hence two reports before the kill.)"""
    bucket, s3_env = s3_bucket
    with socket.socket() as probe:  # a free port, so a stray Ray elsewhere on the machine cannot collide
        probe.bind(("127.0.0.1", 0))
        gcs_port = probe.getsockname()[1]
    config_path = tmp_path / "fake_cluster.json"
    config_path.write_text(json.dumps(fake_cluster_config(gcs_port)))
    env = {
        **os.environ,
        **s3_env,  # the head's environment, which its fake worker nodes and their trials inherit
        "RAY_FAKE_CLUSTER": "1",
        "AUTOSCALER_UPDATE_INTERVAL_S": "1",
        # every node, head and workers, binds to the loopback address
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        # Ray's token authentication stays on: the head, the fake workers and the sweep's driver
        # all read the same ~/.ray/auth_token
        "RAY_AUTH_MODE": "token",
    }
    subprocess.run(
        ["ray", "get-auth-token", "--generate"], env=env, capture_output=True, timeout=60, check=True
    )
    address = f"127.0.0.1:{gcs_port}"
    ray_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # Ray's socket paths must stay under 108 bytes
    before = set(trial_workers(gcs_port))
    started = subprocess.run(
        [
            "ray",
            "start",
            "--head",
            "--node-ip-address=127.0.0.1",
            f"--port={gcs_port}",
            "--num-cpus=0",
            "--num-gpus=0",
            "--include-dashboard=false",
            f"--autoscaling-config={config_path}",
            f"--temp-dir={ray_dir}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stderr[-2000:]
    sweep, seen = None, []
    exports = tmp_path / "exports"
    try:
        sweep = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "sweeps" / "tune_all.py"),
                "--preset",
                "smoke",
                "--name",
                "smoke",
                "--variants",
                "gan",
                "--num-samples",
                "4",
                "--max-concurrent",
                "4",
                "--gpus-per-trial",
                "0.5",
                "--cpus-per-trial",
                "1",
                "--gpus-declared-only",
                "--address",
                address,
                "--data",
                str(mnist_path),
                "--storage",
                f"s3://{bucket}/sweeps",
                "--export-dir",
                str(exports),
                "--no-report",
                # no early stopping: a stopped trial on the dying node would have nothing to resume
                "--scheduler",
                "none",
                "--max-rounds",
                "3",
            ],
            env={**env, "RAY_ADDRESS": address},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # every trial has reported twice: Tune saves a report's checkpoint before the trial trains on,
        # so each has a checkpoint in the bucket that the driver knows of; none has finished (3 reports)
        reported: set[str] = set()
        for line in sweep.stdout:
            seen.append(line)
            if "] trial " in line and " report 2:" in line:
                reported.add(line.split(" trial ")[1].split()[0])
            if len(reported) == 4:
                break
        assert len(reported) == 4, "".join(seen)[-3000:]
        victim = sorted(set(trial_workers(gcs_port)) - before)[0]
        kill_node_of(victim)
        output, _ = sweep.communicate(timeout=900)
        seen.append(output)
        assert sweep.returncode == 0, "".join(seen)[-4000:]
    finally:
        if sweep is not None and sweep.poll() is None:
            sweep.kill()
        stop_cluster(ray_dir)
    output = "".join(seen)
    board = pd.read_csv(exports / "leaderboard.csv")
    assert list(board["variant"]) == ["gan"] and board.loc[0, "fid"] > 0 and board.loc[0, "failed"] == 0
    assert (exports / "best" / "gan" / "gan_generator.keras").is_file()
    history = pd.read_csv(exports / "trials" / "gan_history.csv")
    assert set(history["gpu_ids"].astype(str)) <= {"0"} and len(history["trial_id"].unique()) == 4
    from conftest import bucket_files

    files = bucket_files(s3_env, bucket, "sweeps/smoke-trials")
    state = json.loads(
        files[sorted(k for k in files if k.rsplit("/", 1)[-1].startswith("experiment_state-"))[-1]]
    )
    failures = {
        json.loads(entry[0])["trial_id"]: json.loads(entry[1]).get("num_failures", 0)
        for entry in state["trial_data"]
    }
    retried = [trial for trial, count in failures.items() if count >= 1]
    assert retried, f"no trial was retried after its node died: {failures}"
    assert "Ray retries it from its last checkpoint" in output
    statuses = {
        json.loads(entry[0])["trial_id"]: json.loads(entry[0])["status"] for entry in state["trial_data"]
    }
    assert all(statuses[trial] == "TERMINATED" for trial in retried), statuses  # restored, then finished
    for trial in retried:
        # restored from its checkpoint, not started over: its rounds go on from where it was, each once
        rounds = history[history["trial_id"] == trial].sort_values("training_iteration")["round"].tolist()
        assert rounds.count(1) == 1 and rounds[-1] == 3, (trial, rounds)
        assert any(key.startswith(f"sweeps/smoke-trials/gan_{trial}/checkpoint_") for key in files), trial

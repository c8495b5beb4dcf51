"""`ray up` for real, as a user runs it: cluster-local.yaml against this machine (127.0.0.1) over
SSH, `ray job submit` of the sweep, the exports fetched with `ray rsync-down`, then `ray down`.

The test plays the machine's owner: it starts its own sshd on 127.0.0.1:22 (Debian's
openssh-server, a host key and a user key made for the run) whose sessions get a home of their own
(the "node": a virtualenv over this Python's packages on its PATH, MNIST in ~/data as a node with
internet would have fetched it), so the project installs there and nowhere else. The config is
cluster-local.yaml with this machine's address and key, no workers (the head runs the trials, so
it keeps its CPUs), the smoke preset and a local folder for storage (one machine), and without
`ray stop` (which would stop every Ray of this user). Teardown stops only what the test started:
sshd, and every process whose environment carries the run's mark (Ray on the "node" keeps running
after `ray down` of the local provider).
"""

from __future__ import annotations

import copy
import getpass
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
import yaml
from processes import free_port, marked_processes, port_in_use, ray_agent_port_flags, stop_marked

REPO = Path(__file__).resolve().parents[1]
SSHD = "/usr/sbin/sshd"

pytestmark = pytest.mark.integration


def local_cluster_config(base: Path, key: Path, gcs_port: int, dashboard_port: int) -> dict:
    """The shipped cluster-local.yaml, pointed at this machine. Every port the node's Ray listens
    on is a free one: another Ray on this machine (a sweep running beside the tests) holds the
    defaults, e.g. the dashboard agent's 52365, without which `ray job submit` finds no agent."""
    config = yaml.safe_load((REPO / "cluster-local.yaml").read_text())
    config = copy.deepcopy(config)
    config["cluster_name"] = f"ganlib-test-{base.name[-8:]}"
    config["provider"].update(head_ip="127.0.0.1", worker_ips=[])
    config["auth"] = {"ssh_user": getpass.getuser(), "ssh_private_key": str(key)}
    config["min_workers"] = config["max_workers"] = 0
    first = config["setup_commands"][0]
    assert "GANLIB_STORAGE=/shared/ganlib" in first and "GANLIB_PRESET=gpu" in first
    config["setup_commands"][0] = first.replace("/shared/ganlib", str(base / "storage")).replace(
        "GANLIB_PRESET=gpu", "GANLIB_PRESET=smoke"
    )
    assert config["head_start_ray_commands"][0] == "ray stop"
    start = config["head_start_ray_commands"][-1]
    assert "--num-cpus=0 --num-gpus=0" in start and "--port=6379" in start
    config["head_start_ray_commands"] = [
        start.replace("--num-cpus=0 --num-gpus=0", "--num-cpus=2 --include-dashboard=true").replace(
            "--port=6379",
            f"--port={gcs_port} --dashboard-port={dashboard_port} --node-ip-address=127.0.0.1 "
            f"--temp-dir={base / 'ray'} " + " ".join(ray_agent_port_flags()),
        )
    ]
    return config


@pytest.fixture()
def ssh_node(mnist_path):
    """sshd on 127.0.0.1:22 whose sessions live in a home of their own, and the key to reach it."""
    if not (Path(SSHD).exists() and shutil.which("rsync")):
        pytest.fail("openssh-server and rsync are needed (.ci/run installs them)")
    if port_in_use(22):
        pytest.skip(
            "port 22 is taken by another sshd on this machine; Ray's cluster launcher only speaks to port 22"
        )
    base = Path(tempfile.mkdtemp(prefix="gup-", dir="/tmp"))  # short: Ray's socket paths stay under 108 bytes
    mark = uuid.uuid4().hex
    home = base / "home"
    (home / "data").mkdir(parents=True)
    shutil.copyfile(mnist_path, home / "data" / "mnist.npz")
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(base / "venv")], check=True, timeout=120
    )
    # On one machine the "node" shares the user with everything else, and `ray down` runs `ray stop`
    # on the head, which would stop every Ray of this user (seen: it ended a sweep running beside
    # the tests). The node's own `ray stop` stops the node's processes only (those with its mark).
    real_ray = Path(sys.executable).resolve().parent / "ray"
    wrapper = base / "venv" / "bin" / "ray"
    wrapper.write_text(
        "#!/bin/bash\n"
        'if [ "$1" = stop ]; then\n'
        '  keep=" "; a=$$; while [ "$a" -gt 1 ]; do keep="$keep$a "; '
        "a=$(awk '{print $4}' /proc/$a/stat); done\n"
        f"  for p in $(grep -l -a GANLIB_TEST_NODE={mark} /proc/[0-9]*/environ 2>/dev/null "
        "| cut -d/ -f3); do\n"
        '    case "$keep" in *" $p "*) ;; *) kill -9 "$p" 2>/dev/null;; esac; done; exit 0\nfi\n'
        f'exec {real_ray} "$@"\n'
    )
    wrapper.chmod(0o755)
    # the node's image: this Python (3.11, with Ray and the project's dependencies) behind the venv
    (home / ".bashrc").write_text(
        f"export PATH={base / 'venv' / 'bin'}:{Path(sys.executable).resolve().parent}:$PATH\n"
    )
    for name in ("host_key", "user_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / name)], check=True)
    (base / "authorized_keys").write_text((base / "user_key.pub").read_text())
    (base / "authorized_keys").chmod(0o600)
    (base / "sshd_config").write_text(
        f"Port 22\nListenAddress 127.0.0.1\nHostKey {base / 'host_key'}\nPidFile {base / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {base / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        f"StrictModes no\nUsePAM no\nSetEnv HOME={home} GANLIB_TEST_NODE={mark}\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    sshd = subprocess.Popen([SSHD, "-D", "-f", str(base / "sshd_config"), "-E", str(base / "sshd.log")])
    deadline = time.time() + 20
    while not port_in_use(22) and time.time() < deadline:
        time.sleep(0.2)
    try:
        yield base, base / "user_key", mark
    finally:
        stop_marked(mark)
        sshd.terminate()
        sshd.wait(timeout=30)
        shutil.rmtree(base, ignore_errors=True)


def test_ray_up_job_submit_rsync_down_and_ray_down_on_this_machine(ssh_node, tmp_path):
    base, key, mark = ssh_node
    gcs_port, dashboard_port = free_port(), free_port()
    config_path = tmp_path / "cluster-local-here.yaml"
    config_path.write_text(yaml.safe_dump(local_cluster_config(base, key, gcs_port, dashboard_port)))
    # the ray CLI on "the user's machine": never the test's own Ray, never a token from elsewhere
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    env.pop("GANLIB_MNIST", None)  # the node's own setup says where its data is

    def ray(*args, timeout=900):
        done = subprocess.run(
            ["ray", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
        )
        print(
            f"$ ray {' '.join(args)}\n{done.stdout[:3000]}\n...\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
        )
        return done

    try:
        up = ray("up", "-y", "--no-config-cache", str(config_path))
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        assert marked_processes(mark), "ray up left no Ray running on the node"
        deadline = time.time() + 120
        while True:  # the head's job agent starts a little after `ray up` returns; Ray says to try again
            job = ray(
                "job",
                "submit",
                "--address",
                f"http://127.0.0.1:{dashboard_port}",
                "--working-dir",
                ".",
                "--",
                "python",
                "sweeps/tune_all.py",
                "--variants",
                "gan",
                "--num-samples",
                "2",
                "--max-rounds",
                "2",
            )
            if "No available agent to submit job" not in job.stdout + job.stderr or time.time() > deadline:
                break
            time.sleep(5)
        assert job.returncode == 0, job.stdout[-4000:] + job.stderr[-3000:]
        # what the sweep chose, from what the node's setup exported, and why
        chosen = [
            line
            for line in job.stdout.splitlines()
            if line.split(":")[0] in ("preset", "storage", "data", "address", "ray")
        ]
        print("\n".join(chosen))
        assert "preset: smoke (from $GANLIB_PRESET)" in job.stdout
        assert f"storage: {base / 'storage'} (from $GANLIB_STORAGE)" in job.stdout
        assert f"data: {base / 'home' / 'data' / 'mnist.npz'} (from $GANLIB_MNIST)" in job.stdout
        # the job's own RAY_ADDRESS: the head's GCS (Ray gives the GCS the machine's address, whatever
        # the node's)
        assert re.search(rf"^address: [0-9.]+:{gcs_port} \(from \$RAY_ADDRESS\)$", job.stdout, re.M), chosen
        assert re.search(r"^ray: the cluster at [0-9.]+:\d+: 1 node\(s\), 2 CPUs", job.stdout, re.M), chosen
        fetched = tmp_path / "fetched"
        down = ray("rsync-down", str(config_path), "~/ganlib-results/", f"{fetched}/")
        assert down.returncode == 0, down.stderr[-3000:]
        board = pd.read_csv(fetched / "latest" / "leaderboard.csv")
        assert list(board["variant"]) == ["gan"] and (board["fid"] > 0).all() and (board["trials"] == 2).all()
        assert (fetched / "latest" / "best" / "gan" / "gan_generator.keras").is_file()
        assert list((base / "storage").glob("*-trials/gan_*/checkpoint_*")), (
            "no trial checkpointed into GANLIB_STORAGE"
        )
    finally:
        teardown = ray("down", "-y", str(config_path), timeout=300)
        for suffix in ("state", "lock"):  # the launcher's records of this cluster
            Path(
                f"/tmp/ray/cluster-{yaml.safe_load(config_path.read_text())['cluster_name']}.{suffix}"
            ).unlink(missing_ok=True)
    assert teardown.returncode == 0, teardown.stderr[-3000:]

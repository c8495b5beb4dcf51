"""How busy a sweep keeps a GPU cluster's trial slots: variants one after another (before) against
all variants in one experiment (after, what tune_all.py does now).

    python benchmarks/cluster_utilization.py [--nodes 4] [--gpus-per-trial 0.25] [--num-samples 8]
        [--max-concurrent 8] [--variants all-but-stylegan] [--data mnist.npz] [--only before|after]

Ray's multi-node cluster on this machine (ray.cluster_utils.Cluster): a head that runs no trials
and NODES worker nodes, each with one declared GPU and 1/gpus-per-trial CPUs, so the cluster has
NODES / gpus-per-trial trial slots (16 by default), as cluster.yaml's g5.xlarge workers do. The
trials are the smoke preset's tiny models (quarter width, 1,000 digits) with 2 reports each and
--gpus-declared-only (no real GPU here). Each way runs in this process against the same cluster:

- before: `tune_all.py --variants V` for each variant in turn, each capped at --max-concurrent
  trials (the gpu preset's 8), as the sweep ran until this benchmark's change;
- after: one `tune_all.py --variants V1,V2,...`, every variant's trials in one experiment.

Busy slot-seconds are Ray's own accounting, sampled every 0.2 s: the GPU share held by trials
(total GPUs less available), divided by a trial's share. Utilisation = busy slot-seconds /
(slots x wall), the wall time from the sweep's start to its end (planning, Ray's start-up of trial
workers and the export included: a cluster pays for those too). On 2 real cores 16 trials share
the CPU, so each trial is slow; what is measured is whether a slot has a trial, not its speed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


class SlotSampler:
    """Busy trial slots over time, from Ray's available resources."""

    def __init__(self, gpus_per_trial: float, period: float = 0.2):
        self.gpus_per_trial, self.period = gpus_per_trial, period
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import ray

        total = ray.cluster_resources().get("GPU", 0.0)
        while not self._stop.is_set():
            held = total - ray.available_resources().get("GPU", 0.0)
            self.samples.append((time.time(), held / self.gpus_per_trial))
            self._stop.wait(self.period)

    def __enter__(self):
        self.start = time.time()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.end = time.time()

    def busy_slot_seconds(self) -> float:
        return sum(busy * (later[0] - now) for (now, busy), later in zip(self.samples, self.samples[1:]))

    def peak(self) -> float:
        return max((busy for _, busy in self.samples), default=0.0)


def sweep_args(args, variants: str, storage: Path, name: str) -> list[str]:
    return [
        "--preset",
        "smoke",
        "--name",
        name,
        "--variants",
        variants,
        "--num-samples",
        str(args.num_samples),
        "--max-concurrent",
        str(args.max_concurrent),
        "--max-rounds",
        "2",
        "--grace-rounds",
        "1",
        "--gpus-per-trial",
        str(args.gpus_per_trial),
        "--cpus-per-trial",
        "1",
        "--gpus-declared-only",
        "--storage",
        str(storage),
        "--no-report",
        "--address",
        "auto",
        *(["--data", args.data] if args.data else []),
    ]


def measure(label: str, commands: list[list[str]], args, slots: int) -> dict:
    from sweeps.tune_all import main

    with SlotSampler(args.gpus_per_trial) as sampler:
        codes = [main(command) for command in commands]
    wall = sampler.end - sampler.start
    busy = sampler.busy_slot_seconds()
    figures = {
        "label": label,
        "wall_s": wall,
        "busy_slot_s": busy,
        "utilisation": busy / (slots * wall),
        "peak_busy_slots": sampler.peak(),
        "exit_codes": codes,
    }
    print(
        f"{label}: wall {wall:.0f} s, busy {busy:.0f} slot-s of {slots} x {wall:.0f}, "
        f"utilisation {figures['utilisation']:.3f}, "
        f"peak {figures['peak_busy_slots']:g} slots busy, exit codes {codes}",
        flush=True,
    )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--gpus-per-trial", type=float, default=0.25)
    parser.add_argument("--num-samples", type=int, default=8)
    parser.add_argument("--max-concurrent", type=int, default=8)
    parser.add_argument("--variants", default="all-but-stylegan")
    parser.add_argument("--data", default=os.environ.get("GANLIB_MNIST"))
    parser.add_argument("--only", choices=["before", "after"], default=None)
    args = parser.parse_args()
    from ganlib import registry

    variants = (
        [v for v in registry.names() if v != "stylegan"]
        if args.variants == "all-but-stylegan"
        else args.variants.split(",")
    )
    per_node = round(1 / args.gpus_per_trial)
    slots = args.nodes * per_node

    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "num_gpus": 0,
            "node_ip_address": "127.0.0.1",
            "include_dashboard": False,
        },
    )
    for _ in range(args.nodes):
        cluster.add_node(
            num_cpus=per_node, num_gpus=1, node_ip_address="127.0.0.1", object_store_memory=300_000_000
        )
    cluster.wait_for_nodes()
    os.environ["RAY_ADDRESS"] = cluster.address
    ray.init(address=cluster.address)
    print(
        f"cluster: {args.nodes} worker nodes x (1 declared GPU, {per_node} CPUs), "
        f"a trial {args.gpus_per_trial:g} GPU + 1 CPU: "
        f"{slots} slots; {len(variants)} variants x {args.num_samples} trials, "
        f"at most {args.max_concurrent} of a variant at once",
        flush=True,
    )
    results = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            if args.only in (None, "before"):
                commands = [
                    sweep_args(args, variant, Path(folder) / "before", f"before-{variant}")
                    for variant in variants
                ]
                results.append(measure("before (one variant at a time)", commands, args, slots))
            if args.only in (None, "after"):
                results.append(
                    measure(
                        "after (all variants at once)",
                        [sweep_args(args, ",".join(variants), Path(folder) / "after", "after")],
                        args,
                        slots,
                    )
                )
    finally:
        ray.shutdown()
        cluster.shutdown()
    if len(results) == 2:
        before, after = results
        print(
            f"utilisation before {before['utilisation']:.3f}, after {after['utilisation']:.3f} "
            f"(x{after['utilisation'] / before['utilisation']:.2f}); "
            f"wall {before['wall_s']:.0f} s -> {after['wall_s']:.0f} s "
            f"(x{before['wall_s'] / after['wall_s']:.2f} faster)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

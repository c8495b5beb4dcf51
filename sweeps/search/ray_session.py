"""The sweep's Ray: a running cluster (--address or $RAY_ADDRESS), or one started on this machine
bound to 127.0.0.1 with the dashboard off."""

from __future__ import annotations

import os

from ganlib.errors import ConfigError
from sweeps.search.plan import Setup


def connect_ray(args, setup: Setup):
    address, gpus_per_trial = setup.address, setup.run["gpus_per_trial"]
    if not address:
        # Ray replaces a requested 127.0.0.1 by the machine's reachable address unless it is told
        # this is a one-machine cluster; read when ray is first imported, hence before the import.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    # TensorFlow's C++ log lines (oneDNN notices, CUDA probes, grappler's remapper) from every
    # trial worker drown the sweep's own lines; --verbose keeps them
    runtime_env = None if getattr(args, "verbose", False) else {"env_vars": {"TF_CPP_MIN_LOG_LEVEL": "3"}}
    started_here = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, runtime_env=runtime_env)
        else:
            from sweeps.search.ray_adapter import start_local_ray

            start_local_ray(
                runtime_env=runtime_env,
                num_cpus=args.num_cpus,
                num_gpus=args.num_gpus,
                include_dashboard=args.dashboard,
                dashboard_host="127.0.0.1",
                log_to_driver=True,
            )
            started_here = True
    resources = ray.cluster_resources()
    gpus, cpus = resources.get("GPU", 0.0), resources.get("CPU", 0.0)
    nodes = len([node for node in ray.nodes() if node.get("Alive")])
    where = "started here" if started_here else f"the cluster at {address}"
    per_trial = setup.run["cpus_per_trial"], gpus_per_trial
    slots = int(min(cpus // per_trial[0], gpus // per_trial[1] if per_trial[1] else float("inf")))
    autoscaling = " (an autoscaling cluster adds GPU workers as trials wait)" if address and not gpus else ""
    print(
        f"ray: {where}: {nodes} node(s), {cpus:g} CPUs, {gpus:g} GPUs now; a trial takes "
        f"{per_trial[0]:g} CPU and {per_trial[1]:g} GPU, so {slots:g} run at once now" + autoscaling,
        flush=True,
    )
    if gpus_per_trial > 0 and gpus < gpus_per_trial and not address:
        if started_here:
            ray.shutdown()
        raise ConfigError(
            f"--gpus-per-trial {gpus_per_trial} is not allowed: this Ray has {gpus:g} GPU(s); "
            f"use 0 on a CPU machine, or declare GPUs with --num-gpus and --gpus-declared-only"
        )
    return started_here

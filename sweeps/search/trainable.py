"""One trial: build the variant from the trial's config, train round by round on the training split
less its validation slice, report FID against that slice after every `eval_every_images` training
images with a checkpoint, and restore from one when Ray restarts the trial. A trial that runs its
whole budget is scored at its end on `final_eval_samples` samples twice: FID against the validation
slice (`final_val_fid`, what the export ranks finalists by) and every metric against the test split
(`final_*`, what the leaderboard reports), and leaves its generator and sample grid in its last
checkpoint, where the export picks the best up without starting TensorFlow again.

A class Trainable (not a function) so that Ray can hand a finished trial's worker to the next
trial (`reuse_actors`): `reset_config` builds the new model in the same process, which saves each
trial the worker's start, TensorFlow's import, the evaluator's load and the reference statistics.

The config's layout is sweeps/search/trial_layout.py's.
"""

from __future__ import annotations

import gc
import numbers
import time
from pathlib import Path

import ray
from ray import tune

from ganlib import extras
from ganlib import schedule as schedules
from ganlib.data import order_seed
from ganlib.divergence import SENTINEL_FID, bad_fid
from sweeps.search.schedulers import POPULATION
from sweeps.search.trial_layout import FINAL_FILES, hyperparameters


def number(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else repr(value)


class GPUMissing(RuntimeError):
    """A trial that asked Ray for a GPU, on a node where TensorFlow finds none (no driver, or the
    CPU-only TensorFlow): rather than train on the CPU unnoticed, at a GPU's price."""

    def __init__(self, fraction: float):
        import socket

        node = f"{ray.util.get_node_ip_address()} ({socket.gethostname()})"
        super().__init__(
            f"this trial asked for {fraction:g} GPU and Ray gave it GPU "
            f"{','.join(map(str, ray.get_gpu_ids())) or '?'} on node {node}, "
            f"but TensorFlow there sees no GPU: install ganlib[gpu] (tensorflow[and-cuda]) on GPU nodes and "
            f"check nvidia-smi; a CPU machine or Ray's fake cluster declares GPUs only: pass "
            f"--gpus-declared-only"
        )


class GANTrainable(tune.Trainable):
    placement = None  # per process: TensorFlow's threads are fixed at its first op

    def setup(self, config: dict) -> None:
        run = config["run"]
        if GANTrainable.placement is None:
            from sweeps.search.resources import configure_tensorflow, quiet_worker_logs

            if not run.get("verbose"):
                quiet_worker_logs()
            GANTrainable.placement = configure_tensorflow(
                run["cpus_per_trial"], run["gpus_per_trial"], run.get("gpu_memory_mb")
            )
            if run.get("deterministic"):
                import tensorflow as tf

                tf.config.experimental.enable_op_determinism()
        if (
            run["gpus_per_trial"] > 0
            and not GANTrainable.placement["gpus_visible"]
            and not run.get("gpus_declared_only")
        ):
            raise GPUMissing(run["gpus_per_trial"])
        self.start_trial(config)

    def reset_config(self, new_config: dict) -> bool:
        self.ganlib_run = None
        gc.collect()  # the last trial's model and traced graphs
        self.start_trial(new_config)
        return True

    def start_trial(self, config: dict) -> None:
        run = self.settings = config["run"]
        self.seed = run["seed"]
        self.build({**run["fixed"], **hyperparameters(config)})
        # a segment of the lineage starts at the first step, after a restore has set the round
        self.new_segment = True
        self.rounds, self.train_seconds, self.eval_seconds = 0, 0.0, 0.0
        # counted as they go: a PBT member's n_critic, and so its images per step, may change
        self.images, self.generator_steps = 0, 0
        # the lineage (ganlib/schedule.py): where the data restarted and with what, and the losses
        self.segments, self.trace = [], []
        self.replaced = ""  # set when a restore brought another trial's state (PBT's exploit)
        self.finished = False  # ran its whole budget and was evaluated in full
        self.grid_writer = None  # made at the first report, in this trial's folder
        # Ray's own record of the GPU (or GPU share) this trial holds: on a CPU machine, declared only.
        self.gpu_ids = ",".join(str(i) for i in ray.get_gpu_ids())

    def build(self, overrides: dict) -> None:
        from ganlib.run import Run

        run, self.overrides = self.settings, overrides
        self.ganlib_run = Run(
            run["variant"],
            overrides,
            seed=self.seed,
            data=run["data"],
            per_class=run.get("per_class"),
            precision=run.get("precision", "float32"),
            hold_out_validation=True,
        )

    def data_seed(self) -> int:
        """The seed of this trial's data order: in a population each member's own, since members
        copy one another's state and config, seed included, and a copy whose hyperparameters come
        out the same (PB2 before it has data) would otherwise train exactly as its donor does."""
        if self.settings.get("scheduler") not in POPULATION:
            return self.seed
        import hashlib

        return self.seed + int(hashlib.sha256(self.trial_id.encode()).hexdigest()[:6], 16)

    def follow_schedule(self) -> None:
        """With a schedule in the config (the final stage retraining a PBT winner): the config the
        schedule names for the coming round, switched to as PBT did, by a fresh model from it with
        the training state carried over and the data restarted."""
        planned = schedules.config_at(self.settings.get("schedule"), self.rounds)
        if planned is None or planned == self.overrides:
            return
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            self.ganlib_run.save(folder)
            self.build(planned)
            self.ganlib_run.restore(folder)
        self.new_segment = True

    @property
    def model(self):
        return self.ganlib_run.model

    def step(self) -> dict:
        self.follow_schedule()
        run, data_seed = self.ganlib_run, self.data_seed()
        if self.new_segment:
            self.new_segment = False
            self.segments.append(
                schedules.segment(
                    self.rounds, self.images, self.trial_id, self.seed, self.overrides, data_seed
                )
            )
        # a pipeline a round, shuffled by the round: a trial Ray restores at any round trains on the
        # batches the uninterrupted trial did (one pipeline a trial, reshuffled by each round's fit,
        # would start its order again at the restore)
        dataset = run.dataset(seed=order_seed(data_seed, self.rounds), repeat=True)
        start = time.perf_counter()
        steps = schedules.steps_in_round(
            self.rounds + 1, self.settings["eval_every_images"], self.images, run.images_per_step
        )
        history, diverged = run.train(dataset, steps_per_epoch=steps)
        self.train_seconds += time.perf_counter() - start
        self.rounds += 1
        self.images += steps * run.images_per_step
        self.generator_steps += steps
        logs = {key: float(values[-1]) for key, values in history.history.items()}
        images = self.images
        self.trace.append({"round": self.rounds, "training_images": images, **logs})
        replaced, self.replaced = self.replaced, ""
        metrics = {
            **logs,
            **run.parameters,
            "round": self.rounds,
            "training_images": images,
            # the rounds' worth of images: PBT's clock, the same for every member at each report
            "budget_images": self.rounds * self.settings["eval_every_images"],
            "generator_steps": self.generator_steps,
            "replaced": replaced,
            "train_seconds": self.train_seconds,
            "images_per_s": images / max(self.train_seconds, 1e-9),
            "seed": self.seed,
            "threads": GANTrainable.placement["threads"],
            "gpu_ids": self.gpu_ids,
            "diverged": False,
        }
        if not diverged:
            start = time.perf_counter()
            # the search ranks on the validation slice; the ladder's final stage scores the test split
            split = self.settings.get("eval_split", "validation")
            scores = run.evaluate(self.settings["eval_samples"], split=split, every_metric=False)
            self.eval_seconds += time.perf_counter() - start
            metrics.update(
                {k: v for k, v in scores.items() if not isinstance(v, list)}, eval_seconds=self.eval_seconds
            )
            self.log_grid()
        if diverged or bad_fid(metrics["fid"]):
            # under PBT the scheduler replaces a diverged member with a copy of a better one, or stops it
            done = self.settings.get("scheduler") not in POPULATION
            return {**metrics, "fid": SENTINEL_FID, "diverged": True, "done": done}
        self.trace[-1]["fid"] = metrics["fid"]
        self.finished = self.rounds >= self.settings["max_rounds"]
        if self.finished:
            # in this warm worker: a separate task would import TensorFlow and rebuild the model again
            start = time.perf_counter()
            samples = self.settings["final_eval_samples"]
            selection = run.evaluate(samples, split="validation", every_metric=False)
            # the final stage's CAS for every generator (evaluator-labelled for unconditional ones)
            scores = run.evaluate(samples, cas=self.settings.get("cas_every_generator") or None)
            # ema_half_life: the generator's weight average scored beside its weights, on every figure
            # (the final stage's tables may score it instead: analysis.generator_choice)
            averaged = (
                run.evaluate(samples, average=True, cas=self.settings.get("cas_every_generator") or None)
                if run.model.has_average
                else {}
            )
            self.eval_seconds += time.perf_counter() - start
            metrics.update(
                {f"final_{k}": v for k, v in scores.items() if isinstance(v, numbers.Real)},
                # the share of samples the evaluator puts in each class, a column a class
                **{f"final_class_{d}": share for d, share in enumerate(scores.get("class_histogram", []))},
                **{f"final_ema_{k}": v for k, v in averaged.items() if isinstance(v, numbers.Real)},
                eval_seconds=self.eval_seconds,
            )
            metrics["final_val_fid"] = selection["fid"]
        return {**metrics, "done": self.finished}

    def log_grid(self) -> None:
        """This report's fixed-noise grid for TensorBoard, beside Ray's scalars (the tensorboard
        extra; the sweep syncs trial folders to the storage)."""
        if not extras.installed("tensorboard"):
            return
        import tensorflow as tf

        from ganlib.callbacks import write_summaries

        self.grid_writer = self.grid_writer or tf.summary.create_file_writer(str(Path(self.logdir) / "grids"))
        write_summaries(self.grid_writer, self.rounds, {}, self.model, self.seed)

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        self.ganlib_run.save(
            checkpoint_dir,
            round=self.rounds,
            train_seconds=self.train_seconds,
            eval_seconds=self.eval_seconds,
            images=self.images,
            generator_steps=self.generator_steps,
            segments=self.segments,
            trace=self.trace,
        )
        if self.finished:
            import json

            from ganlib.callbacks import save_model_grid
            from ganlib.export import save_generator

            files = Path(checkpoint_dir) / FINAL_FILES
            save_generator(self.model.generator, files, self.settings["variant"])
            if self.model.has_average:  # the final stage scores it beside the weights: both kept
                with self.model.averaged_generator() as average:
                    save_generator(average, files, self.settings["variant"], suffix="_ema")
            if self.settings.get("scheduler") in POPULATION:  # the result is this schedule, not one config
                (files / schedules.FILE).write_text(json.dumps(self.schedule(), indent=1))
            save_model_grid(
                self.model,
                files / "samples.png",
                seed=self.seed,
                title=f"{self.settings['variant']}, {self.trial_name}",
            )

    def load_checkpoint(self, checkpoint_dir: str) -> None:
        state = self.ganlib_run.restore(checkpoint_dir)
        self.rounds, self.train_seconds = state["round"], state["train_seconds"]
        self.eval_seconds = state["eval_seconds"]
        self.images, self.generator_steps = state["images"], state["generator_steps"]
        self.segments, self.trace = state["segments"], state["trace"]
        self.new_segment = True  # a fresh model with the state restored: the replay rebuilds it here
        donor = self.segments[-1] if self.segments else None
        if donor and donor["trial"] != self.trial_id:
            changed = [
                f"{key} {number(donor['config'].get(key))} -> {number(value)}"
                for key, value in sorted(self.overrides.items())
                if donor["config"].get(key) != value
            ]
            self.replaced = (
                f"{donor['trial']}'s state at {self.images:,} images"
                + (f", {', '.join(changed)}" if changed else "")
                + ("" if self.seed == donor["seed"] else f", seed {donor['seed']} -> {self.seed}")
            )

    def schedule(self) -> dict:
        """This trial's lineage as ganlib/schedule.py has it: what retrains it from scratch."""
        run = self.settings
        return schedules.document(
            run["variant"],
            self.segments,
            self.trace,
            rounds=self.rounds,
            images_per_round=run["eval_every_images"],
            data=run["data"],
            per_class=run.get("per_class"),
            precision=run.get("precision", "float32"),
            hold_out_validation=True,
            threads=GANTrainable.placement["threads"],
        )

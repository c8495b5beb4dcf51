"""The sweep's console lines (sweeps/search/progress.py) on trials as Ray hands them to callbacks."""

from types import SimpleNamespace

from sweeps.search.progress import ReportLines


def trial(trial_id, variant, status="RUNNING", iteration=0, final=False, fid=None):
    config = {"run": {"variant": variant}}
    last = {"training_iteration": iteration} if iteration else {}
    return SimpleNamespace(
        trial_id=trial_id,
        status=status,
        config={"final": config} if final else config,
        last_result={**last, "fid": fid} if fid is not None else last,
    )


def test_a_resumed_sweeps_best_counts_the_trials_reports_before_it(capsys):
    lines = ReportLines(["gan", "wgan"], num_samples=2, max_rounds=4)
    lines.setup()
    trials = [
        trial("a", "gan", "TERMINATED", 4, fid=147.4),
        trial("b", "wgan", "TERMINATED", 2, fid=1e6),  # diverged: the sentinel is no best
        trial("c", "gan", "RUNNING", 1),
        trial("d", "wgan", "RUNNING", 1),
    ]
    lines.on_trial_result(0, trials, trials[2], {"fid": 173.5, "round": 2, "training_iteration": 2})
    assert "FID 173.5 (gan's best 147.4)" in capsys.readouterr().out
    lines.on_trial_result(0, trials, trials[3], {"fid": 1e6, "round": 2, "training_iteration": 2})
    assert "(wgan's best inf)" in capsys.readouterr().out


def test_a_resumed_sweep_counts_the_trials_finished_before_it(capsys):
    # Ray restores the callback as pickled when the sweep began (nothing done); the trials it
    # restored carry their state, and the count comes from them
    lines = ReportLines(["gan", "wgan"], num_samples=3, max_rounds=4)
    lines.setup()
    trials = [
        trial("a", "gan", "TERMINATED", 4),
        trial("b", "gan", "TERMINATED", 2),
        trial("c", "wgan", "ERROR", 1),
        trial("d", "wgan", "RUNNING", 1),
        trial("e", "gan", "PENDING"),
    ]
    lines.on_trial_result(0, trials, trials[3], {"fid": 300.0, "round": 2, "training_iteration": 2})
    out = capsys.readouterr().out
    assert "[wgan] trial d report 2: FID 300.0 (wgan's best 300.0); 3/6 trials done" in out
    # still to come at most: d's 2 rounds, e's 4, and one trial not made yet (4)
    assert lines.progress(trials, trials[3], {"training_iteration": 2}) == (3, 10)


def test_final_stage_lines_name_the_variant_and_take_rays_count_of_the_grid(capsys):
    lines = ReportLines(["dcgan", "gan"], num_samples=2, max_rounds=8)
    lines.setup(total_num_samples=3)  # a grid of 3 runs: one variant's best is its defaults, trained once
    runs = [trial("f", "dcgan", final=True), trial("g", "dcgan", final=True), trial("h", "gan", final=True)]
    lines.on_trial_result(0, runs, runs[0], {"fid": 250.0, "round": 1, "training_iteration": 1})
    assert capsys.readouterr().out.startswith(
        "[dcgan] trial f report 1: FID 250.0 (dcgan's best 250.0); 0/3 trials done"
    )
    # a trial's last report counts it done, though Ray still has it running
    lines.on_trial_result(0, runs, runs[1], {"fid": 240.0, "round": 8, "training_iteration": 8, "done": True})
    assert "1/3 trials done" in capsys.readouterr().out


def test_the_time_left_counts_a_continued_runs_rounds_from_where_it_carries_on():
    # the ladder's 30-round part continues 10-round runs: one has reported round 12 (Ray's
    # training_iteration 2), one waits to start; 18 + 20 rounds to come, not 28 + 30
    lines = ReportLines(["cgan"], num_samples=2, max_rounds=30)
    lines.setup(total_num_samples=2)
    runs = [trial("i", "cgan", final=True), trial("j", "cgan", "PENDING", final=True)]
    for each in runs:
        each.config["final"]["run"].update(max_rounds=30, from_rounds=10, continue_from="file:///part/run")
    assert lines.progress(runs, runs[0], {"round": 12, "training_iteration": 2}) == (0, 18 + 20)


def test_a_cluster_that_adds_no_node_while_trials_wait_is_named_once(capsys):
    from sweeps.search.progress import WaitingForNodes

    now, nodes = [0.0], [1]
    notice = WaitingForNodes(patience=300, count_nodes=lambda: nodes[0], clock=lambda: now[0])
    waiting = [trial("a", "gan", "PENDING"), trial("b", "wgan", "PENDING")]

    def step(at: float) -> str:
        now[0] = at
        notice.on_step_end(0, waiting)
        return capsys.readouterr().out

    assert step(0) == "" and step(299) == ""
    line = step(301)
    assert (
        line.startswith("waiting: 2 trials have waited 5m01s with none running, and no node has joined")
        and "ray status" in line
    )
    assert step(900) == ""  # said once
    nodes[0] = 2  # a worker joins: the wait starts over
    assert step(901) == "" and step(1100) == "" and step(1202).startswith("waiting:")
    waiting[0].status = "RUNNING"  # a trial runs: nothing to say, and a later wait is a new one
    assert step(1300) == ""
    waiting[0].status = "PENDING"
    assert step(1301) == "" and step(1602).startswith("waiting:")

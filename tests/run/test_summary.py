"""run.summary: exit codes from typed failures, the stop rule, merging per-model summaries, rendering events."""

from __future__ import annotations

from embbench.run.summary import ALL_TASKS, SPEED, Failure, Progress, RunSummary, Unavailable, render


def test_exit_code_user_error_beats_model_failure() -> None:
    s = RunSummary()
    assert s.exit_code == 0
    s.unavailable.append(Unavailable("opt", "not downloaded", optional=True))
    assert s.exit_code == 0  # an optional model that is not here is no failure
    s.failed.append(Failure("m", "sts", "CUDA error", user_error=False))
    assert s.exit_code == 1
    s.failed.append(Failure("m", "terra", "unknown metric", user_error=True))
    assert s.exit_code == 2


def test_exit_code_required_model_or_task_unavailable() -> None:
    assert RunSummary(unavailable=[Unavailable("m", "no package", optional=False)]).exit_code == 1
    assert RunSummary(unavailable_tasks=[("hub_task", "offline")]).exit_code == 1


def test_stopped_only_for_whole_model_failures() -> None:
    assert not RunSummary(failed=[Failure("m", "sts", "x", False), Failure("m", SPEED, "y", False)]).stopped
    assert RunSummary(failed=[Failure("m", ALL_TASKS, "load failed", False)]).stopped
    assert RunSummary(unavailable=[Unavailable("m", "gone", True)]).stopped


def test_merge_keeps_model_order() -> None:
    a = RunSummary(written=[("a", "t1")], failed=[Failure("a", "t2", "x", False)], speed=["a"])
    b = RunSummary(written=[("b", "t1")], skipped=[("b", "t2")])
    total = RunSummary(unavailable_tasks=[("hub", "offline")])
    total.merge([a, b])
    assert total.written == [("a", "t1"), ("b", "t1")] and total.skipped == [("b", "t2")]
    assert total.failed == a.failed and total.speed == ["a"] and total.unavailable_tasks == [("hub", "offline")]


def test_render_indents_by_depth_or_prefixes_the_model() -> None:
    assert render(Progress("[1/2] m: loading x", 0, "m")) == "[1/2] m: loading x"
    assert render(Progress("(1/3) sts [sts]", 1, "m")) == "  (1/3) sts [sts]"
    assert render(Progress("FAILED: boom", 2, "m")) == "    FAILED: boom"
    assert render(Progress("FAILED: boom", 2, "m"), by_model=True) == "[m] FAILED: boom"
    assert render(Progress("ray: 1 node(s)"), by_model=True) == "ray: 1 node(s)"  # not about one model

"""The real handler under schedules the explorer forces (tests/support/explorer.py): every schedule
of each scenario up to a bound on preemptions, and random ones with faults, from seeds; and the
races the review found, found again by the explorer once their fixes are switched off.

`make explore` runs far more schedules than CI does.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import pytest

from resource_server import create, delete, ownership
from resource_server.event import is_marker
from resource_server.replay import Replay
from tests.support.explorer import Choice, Report, Strategy, explore, shrink
from tests.support.scenarios import SCENARIOS, Scenario, play

pytestmark = pytest.mark.usefixtures("world")
# CI's bound: every schedule with at most one preemption, as far as this many a scenario, and
# this many random schedules with faults. `make explore` raises all three.
BOUND = int(os.environ.get("EXPLORE_BOUND", "1"))
SCHEDULES = int(os.environ.get("EXPLORE_SCHEDULES", "12"))
SEEDS = int(os.environ.get("EXPLORE_SEEDS", "6"))


def scenario(name: str) -> Scenario:
    return next(s for s in SCENARIOS if s.name == name)


@pytest.mark.parametrize("chosen", SCENARIOS, ids=lambda s: s.name)
def test_every_schedule_keeps_every_sentence_a_stack_author_would_sign(chosen: Scenario) -> None:
    started = time.monotonic()
    report = explore(chosen.name, play(chosen), bound=BOUND, faults=chosen.faults, limit=SCHEDULES, seeds=range(SEEDS))
    took = time.monotonic() - started

    print(f"\n{chosen.name}: {summary(report)} in {took:.0f} s")
    assert [str(shrink(play(chosen), v)) for v in report.violations] == []
    assert report.schedules >= min(SCHEDULES, 1) + SEEDS


def summary(report: Report) -> str:
    return (
        f"explored {report.schedules} schedules (at most {report.bound} preemptions), "
        f"{report.faults} faults injected, {len(report.violations)} violations"
    )


# The review's races, with their fixes switched off: the explorer must find each.


def stale_look(monkeypatch: pytest.MonkeyPatch) -> None:
    """R1's fix off: a Create decides from its first look at Cognito, taken before any wait."""
    first: dict[tuple[int, Any], Any] = {}
    real = create.look

    def look(server: Any, work: Any) -> Any:
        key = (id(work.progress), server.id)
        if key not in first:
            first[key] = real(server, work)
        return first[key]

    monkeypatch.setattr(create, "look", look)


def retry_remakes(monkeypatch: pytest.MonkeyPatch) -> None:
    """R2's fix off: a Create undone since it was sent is worked out again, and the timer's answer is not kept."""
    monkeypatch.setattr(create, "_refuse_if_undone_since", lambda *_: None)
    monkeypatch.setattr(Replay, "keep", lambda *_: None)


def fence_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    """R5's fix off: a fence is written wherever no record of this resource's is live."""

    def fence(server_id: Any, record: Any, work: Any) -> None:
        request = work.request
        if record is None or not ownership.cancelled(record, request):
            work.services.ledger.fence(server_id, work.owner, request.request_id, request.issued_at, record)

    monkeypatch.setattr(delete, "fence", fence)


@pytest.mark.parametrize(
    ("race", "switch_off", "scenario_name"),
    [
        ("R1", stale_look, "two Creates of one Identifier, two stacks"),
        ("R2", retry_remakes, "a killed Create retried after its rollback"),
        ("R5", fence_takes, "a server 1.0.0 made, with no record"),
    ],
)
def test_the_explorer_finds_each_race_the_review_found_once_its_fix_is_switched_off(
    monkeypatch: pytest.MonkeyPatch, race: str, switch_off: Callable[[pytest.MonkeyPatch], None], scenario_name: str
) -> None:
    chosen = scenario(scenario_name)
    switch_off(monkeypatch)

    report = explore(chosen.name, play(chosen), bound=2, faults=chosen.faults, limit=300)

    assert report.violations, f"{race} not found in {report.schedules} schedules"
    found = shrink(play(chosen), report.violations[0])
    print(f"\n{race}, found in {report.schedules} schedules:\n{found}")
    replayed = play(chosen)(Strategy(found.schedule))
    assert replayed[1] == found.broken, "a violation replays from its schedule"


# Found by `make explore` (seed 10 of the first scenario), once the fixes above were in: A's
# Create stalls, crhelper's timer answers FAILED naming no server, and saving that answer stalls
# too; B makes the server and deletes it; A's rollback Delete, carrying the Create's marker,
# found nothing to undo and left no fence; Lambda's retry of A's Create, with no answer kept,
# then made the server, after both stacks were gone.
TIMER_ANSWER_NOT_KEPT: list[tuple[int, str | None]] = [
    (1, None),
    (2, None),
    (3, None),
    (3, None),
    (4, None),
    (4, None),
    (3, "stalled"),
    (4, None),
    (4, "throttled"),
    (4, None),
    (4, None),
    (4, None),
    (4, None),
    (4, None),
    (2, None),
    (5, None),
    (5, None),
    (5, None),
    (5, None),
    (5, None),
    (5, None),
    (5, None),
    (2, None),
    (6, None),
    (6, "stalled"),
    (1, None),
    (7, None),
    (7, None),
    (7, None),
    (7, None),
    (1, None),
    (8, None),
    (8, None),
    (8, None),
    (8, None),
    (8, None),
    (8, None),
    (8, None),
    (8, None),
    (8, None),
    (8, None),
    (9, None),
]


def test_a_create_retried_after_a_rollback_that_found_nothing_to_undo_makes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chosen = scenario("two Creates of one Identifier, two stacks")
    schedule = [Choice((), task, fault) for task, fault in TIMER_ANSWER_NOT_KEPT]

    _, broken, story = play(chosen)(Strategy(schedule))
    assert broken == [], story

    # The fix switched off: the undo of a Create that answered, with its marker, leaves no fence.
    real = delete.fence
    monkeypatch.setattr(
        delete, "fence", lambda s, r, work: None if is_marker(work.request.physical_resource_id) else real(s, r, work)
    )
    _, broken, story = play(chosen)(Strategy(schedule))
    assert broken, story

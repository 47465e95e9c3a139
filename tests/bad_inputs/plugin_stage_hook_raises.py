"""A --plugin file whose stage callback raises (bad-input corpus)."""

from supreme import hookimpl
from supreme.contracts import StageEvent


@hookimpl
def supreme_stage_start(event: StageEvent) -> None:
    raise RuntimeError(f"stage callback fails on purpose before {event.stage}")

"""A --plugin file whose stage callback raises (bad-input corpus)."""

from typing import Any

from supreme import hookimpl


@hookimpl
def supreme_stage_start(stage: str, info: dict[str, Any]) -> None:
    raise RuntimeError(f"stage callback fails on purpose before {stage}")

"""Putting stored weights into a freshly built network, with an error that says what to do.

A checkpoint in the store is keyed by the model's name, configuration and plugin version,
so weights that do not fit the network mean the architecture changed without any of those
changing (typically a ``--plugin file.py`` edited in place, whose version is always
``file``), or that the artifact was tampered with. ``torch``'s own error for that is a long
``RuntimeError`` listing every key; :func:`load_state` names the artifact and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from supreme.errors import StoreError

if TYPE_CHECKING:
    from torch import nn

#: How many key names a message lists before "...".
SHOWN = 3


def _listing(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def mismatch(model: nn.Module, state: Mapping[str, Any]) -> list[str]:
    """What keeps ``state`` from loading into ``model`` (empty when it fits)."""
    import torch

    expected = model.state_dict()
    problems = []
    wrong_type = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if wrong_type:
        problems.append(f"{len(wrong_type)} entr{'y is' if len(wrong_type) == 1 else 'ies are'} "
                        f"not tensors ({_listing(wrong_type)})")
    missing = [k for k in expected if k not in state]
    if missing:
        problems.append(f"{len(missing)} missing ({_listing(missing)})")
    unexpected = [k for k in state if k not in expected]
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected ({_listing(unexpected)})")
    shapes = [
        f"{k!r}: stored {list(state[k].shape)}, model {list(expected[k].shape)}"
        for k in expected
        if k in state and isinstance(state[k], torch.Tensor) and state[k].shape != expected[k].shape
    ]
    if shapes:
        problems.append(f"{len(shapes)} of another shape ({'; '.join(shapes[:SHOWN])}"
                        f"{' ...' if len(shapes) > SHOWN else ''})")
    return problems


def load_state(model: nn.Module, state: Mapping[str, Any], where: str) -> nn.Module:
    """Load ``state`` into ``model`` (and return it), or raise a :class:`StoreError`.

    ``where`` names the artifact for the message, for example its store directory
    ``supreme-runs/store/models/<key>``.
    """
    if not isinstance(state, Mapping) or not state:
        raise StoreError(
            f"checkpoint {where} holds no weights",
            f"Delete {where} and rerun; it will be recomputed.",
        )
    problems = mismatch(model, state)
    if problems:
        raise StoreError(
            f"checkpoint {where} holds weights of another architecture than the "
            f"{type(model).__name__} being built: " + "; ".join(problems),
            f"The model changed without a change of name, configuration or plugin version (for "
            f"example a --plugin file edited in place), or the file was modified. Delete {where} "
            "and rerun to recompute it; bump the plugin's version when you change a model.",
        )
    try:
        model.load_state_dict(dict(state))
    except (RuntimeError, ValueError, TypeError) as exc:  # dtype or other load problems
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(
            f"checkpoint {where} cannot be loaded into {type(model).__name__}: {first}",
            f"Delete {where} and rerun to recompute it.",
        ) from exc
    return model

"""Optional fast paths for the networks SUPREME trains: channels-last and ``torch.compile``.

Both are off by default (``[speed]`` in the experiment file) and both leave the module
object, its parameter names and its ``state_dict`` keys unchanged, so what is stored and
reloaded is the same as without them:

* ``channels_last``: 4-D parameters and buffers are laid out NHWC
  (``torch.channels_last``). Convolutions then run on the NHWC kernels of cuDNN / oneDNN,
  usually faster on GPUs with tensor cores and with bf16. Pair it with
  ``BatchTransform(channels_last=True)`` so that inputs arrive in the same layout.
  Results equal the contiguous ones up to floating-point reassociation (not bit for bit).
* ``compile``: the module is compiled in place (``nn.Module.compile``), lazily at its first
  call; the compilation time is therefore part of the first training epoch or of the
  method call that uses it. Whether ``torch.compile`` works on this machine (it needs a
  C++ compiler, and Triton on GPUs) is checked once per device type by compiling a tiny
  function; when it does not, a :class:`~supreme.errors.ConfigError` names the setting.

The measured effect of each is in ``docs/performance.md`` (``bench/overhead.py``).
"""

from __future__ import annotations

import torch
from torch import nn

from supreme.config import SpeedConfig
from supreme.errors import ConfigError

#: device type -> ``None`` when torch.compile works there, else why it does not
_compile_probe: dict[str, str | None] = {}


def prepare(model: nn.Module, speed: SpeedConfig, device: torch.device | str | None = None
            ) -> nn.Module:
    """Apply the ``[speed]`` fast paths to ``model`` (in place) and return it.

    ``device`` is where the model will run (default: where its first parameter is); it
    decides which ``torch.compile`` backend is checked. Calling ``prepare`` twice is harmless.
    Raises :class:`ConfigError` when ``speed.compile`` is set and ``torch.compile`` cannot
    run on that device.
    """
    if speed.channels_last:
        to_channels_last(model)
    if speed.compile:
        check_compile(_device_of(model) if device is None else torch.device(device))
        if getattr(model, "_compiled_call_impl", None) is None:
            model.compile()
    return model


def to_channels_last(model: nn.Module) -> nn.Module:
    """Lay out every 4-D parameter and buffer of ``model`` as NHWC (in place)."""
    return model.to(memory_format=torch.channels_last)


def is_channels_last(model: nn.Module) -> bool:
    """Whether every 4-D parameter of ``model`` is laid out NHWC (vacuously true without any)."""
    return all(p.is_contiguous(memory_format=torch.channels_last)
               for p in model.parameters() if p.dim() == 4)


def is_compiled(model: nn.Module) -> bool:
    """Whether ``model`` was compiled in place (by :func:`prepare` or ``model.compile()``)."""
    return getattr(model, "_compiled_call_impl", None) is not None


def check_compile(device: torch.device) -> None:
    """Raise :class:`ConfigError` when ``torch.compile`` cannot compile for ``device``.

    The check compiles and runs a one-line function on the device, once per device type
    and process (a few seconds the first time, then cached by torch's own caches too).
    """
    kind = device.type
    if kind not in _compile_probe:
        _compile_probe[kind] = _probe(device)
    reason = _compile_probe[kind]
    if reason is not None:
        raise ConfigError(
            f"speed.compile = true, but torch.compile cannot run on this machine ({kind}): "
            f"{reason}",
            "Set `compile = false` under [speed] (the default), or install what torch.compile "
            "needs here: a C++ compiler (g++ or clang++, or one named by $CXX) and, on a GPU, "
            "Triton.",
        )


def _probe(device: torch.device) -> str | None:
    def affine(x: torch.Tensor) -> torch.Tensor:
        return x * 2.0 + 1.0

    try:
        compiled = torch.compile(affine, fullgraph=True, dynamic=False)
        out = compiled(torch.ones(8, device=device))
        if not torch.equal(out.cpu(), torch.full((8,), 3.0)):
            return "a compiled test function returned wrong values"
    except Exception as exc:  # any failure means "does not work here"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{type(exc).__name__}: {first}"[:500]
    return None


def _device_of(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    return torch.device("cpu")

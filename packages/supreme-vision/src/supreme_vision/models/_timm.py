"""Building timm models with pre-trained weights that are only ever read from disk."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from supreme.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

#: Weight files timm can read (``timm.models.load_state_dict``), in order of preference.
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin")


def cached_weights(timm_name: str) -> Path | None:
    """The weights of ``timm_name`` in the local Hugging Face cache, if present.

    Only the cache is consulted (``try_to_load_from_cache``): this never touches the network,
    so a machine without access fails at once instead of hanging on a download.
    """
    import timm.models
    from huggingface_hub import try_to_load_from_cache

    cfg = timm.models.get_pretrained_cfg(timm_name)
    repo = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
    if not repo:
        return None
    for filename in WEIGHT_FILES:
        found = try_to_load_from_cache(repo, filename)
        if isinstance(found, str):
            return Path(found)
    return None


def hub_id(timm_name: str) -> str:
    import timm.models

    cfg = timm.models.get_pretrained_cfg(timm_name)
    return str(getattr(cfg, "hf_hub_id", "") or timm_name)


def create_timm(
    timm_name: str,
    *,
    model: str,
    pretrained: bool,
    weights: Path | None,
    num_classes: int,
    **kwargs: Any,
) -> nn.Module:
    """``timm.create_model`` with weights from ``weights``, else the HF cache, else an error.

    The classification head is always a fresh ``nn.Linear`` with PyTorch's default
    initialisation (as the reference's head on the CLS token, reference §3.2).
    """
    import timm
    from torch import nn

    source: Path | None = None
    if weights is not None:
        source = Path(weights).expanduser()
        if not source.is_file():
            raise ConfigError(
                f"model {model}: weights file {source} does not exist",
                "Set `weights` to a .safetensors/.pth file of the timm model "
                f"{timm_name!r}, or set pretrained = false for a random initialisation.",
            )
    elif pretrained:
        source = cached_weights(timm_name)
        if source is None:
            repo = hub_id(timm_name)
            raise ConfigError(
                f"model {model}: pretrained = true but no weights for {timm_name!r} were found "
                "(no `weights` file given and none in the local Hugging Face cache)",
                f"On a machine with network access run `hf download {repo}` (or "
                f"`huggingface-cli download {repo}`) and copy the cache, or set `weights` to the "
                "downloaded model.safetensors, or set pretrained = false.",
            )
    overlay: dict[str, Any] = {}
    if source is not None:
        overlay["pretrained_cfg_overlay"] = {"file": str(source)}
    try:
        net: Any = timm.create_model(
            timm_name, pretrained=source is not None, num_classes=num_classes, **overlay, **kwargs
        )
    except Exception as exc:
        if source is None:
            raise
        # timm reads .safetensors, or torch.load(weights_only=True): a pickle that would run
        # code is refused there; say which file and what to do instead of a bare traceback
        text = str(exc)
        if "weights_only" in text or "Weights only" in text:
            # never repeat torch's and timm's advice to retry with weights_only=False
            why = "it holds more than tensors; torch.load(weights_only=True) refused it and " \
                  "nothing in it was run"
        else:
            why = f"{type(exc).__name__}: {(text.strip().splitlines() or [''])[0][:300]}"
        raise ConfigError(
            f"model {model}: weights file {source} cannot be loaded into {timm_name!r} ({why})",
            "Use the model's .safetensors file (or a .pth/.bin holding only tensors; files that "
            "would run code when unpickled are refused), or set pretrained = false.",
        ) from exc
    net.head = nn.Linear(net.num_features, num_classes)  # PyTorch default init, like the reference
    return net

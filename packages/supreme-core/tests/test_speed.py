"""The ``[speed]`` fast paths (channels-last, torch.compile), bf16 autocast and the loader's copies."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F
from supreme.config import SpeedConfig
from supreme.contracts import Augment
from supreme.errors import ConfigError
from supreme.pipeline import speed
from supreme.pipeline.data import BatchTransform, TensorLoader
from supreme.pipeline.evaluate import Forward
from supreme.pipeline.train import fit
from supreme.testing import TinyNet, cpu_fabric, synthetic_images, tiny_recipe, tiny_transform


def colour_transform(channels_last: bool = False, size: int = 8) -> BatchTransform:
    return BatchTransform(mean=(0.3, 0.4, 0.5), std=(0.2, 0.25, 0.3), size=size, channels=3,
                          channels_last=channels_last)


def colour_net(seed: int = 0) -> TinyNet:
    torch.manual_seed(seed)
    return TinyNet(num_classes=4, in_channels=3, width=16)


def four_d_parameters(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.dim() == 4]


def test_prepare_lays_out_parameters_channels_last_and_keeps_the_module() -> None:
    model = colour_net()
    keys = list(model.state_dict())
    assert not speed.is_channels_last(model)
    prepared = speed.prepare(model, SpeedConfig(channels_last=True))
    assert prepared is model and list(prepared.state_dict()) == keys
    weights = four_d_parameters(prepared)
    assert weights and all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
    assert not any(w.is_contiguous() for w in weights)  # really NHWC, not a 1x1 edge case
    assert speed.is_channels_last(prepared) and not speed.is_compiled(prepared)


def test_prepare_with_defaults_changes_nothing() -> None:
    model = colour_net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    speed.prepare(model, SpeedConfig())
    assert all(p.is_contiguous() for p in model.parameters())
    assert not speed.is_compiled(model)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_channels_last_transform_gives_nhwc_inputs_with_the_same_values() -> None:
    images = synthetic_images(4, 8, size=6, channels=3).images  # resized 6 -> 8 on the way
    augment = Augment(crop_padding=1, hflip=True, rotation=10.0)
    plain = colour_transform()(images, augment, torch.Generator().manual_seed(3))
    nhwc = colour_transform(channels_last=True)(images, augment, torch.Generator().manual_seed(3))
    assert nhwc.is_contiguous(memory_format=torch.channels_last) and not nhwc.is_contiguous()
    assert plain.is_contiguous()
    torch.testing.assert_close(nhwc, plain, atol=1e-6, rtol=1e-6)
    grey = synthetic_images(4, 4, size=8, channels=1).images  # grey images, colour model
    out = colour_transform(channels_last=True)(grey)
    assert out.shape == (16, 3, 8, 8) and out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, colour_transform()(grey))


def steps_losses(channels_last: bool, steps: int = 4) -> tuple[list[float], torch.nn.Module]:
    """A few SGD steps of the same network on the same batches; the loss of each step."""
    model = speed.prepare(colour_net(), SpeedConfig(channels_last=channels_last)).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = TensorLoader(synthetic_images(4, 16, channels=3), 16, shuffle=True, seed=2,
                          transform=colour_transform(channels_last))
    losses = []
    for x, y in list(loader)[:steps]:
        assert x.is_contiguous(memory_format=torch.channels_last) == channels_last
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses, model


def test_channels_last_training_gives_the_contiguous_losses() -> None:
    contiguous, plain_model = steps_losses(channels_last=False)
    nhwc, nhwc_model = steps_losses(channels_last=True)
    assert len(nhwc) == 4 and contiguous[0] != contiguous[-1]  # training moved
    assert nhwc == pytest.approx(contiguous, abs=1e-5)
    assert speed.is_channels_last(nhwc_model)  # the optimiser kept the layout
    for (name, a), b in zip(plain_model.state_dict().items(), nhwc_model.state_dict().values(),
                            strict=True):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-4, msg=name)


def test_fit_trains_a_channels_last_model_like_a_contiguous_one() -> None:
    data = synthetic_images(4, 16, channels=3)
    trained = {}
    for nhwc in (False, True):
        model = speed.prepare(colour_net(), SpeedConfig(channels_last=nhwc))
        trained[nhwc] = fit(model, data, tiny_recipe(epochs=2), fabric=cpu_fabric(),
                            transform=colour_transform(nhwc), seed=1)
    assert speed.is_channels_last(trained[True])
    for name, value in trained[False].state_dict().items():
        torch.testing.assert_close(trained[True].state_dict()[name], value, atol=1e-4, rtol=1e-3,
                                   msg=name)


def test_bf16_mixed_precision_trains_and_evaluates_on_cpu() -> None:
    from lightning.fabric import Fabric

    data = synthetic_images(4, 32, channels=3)
    fabric = Fabric(accelerator="cpu", devices=1, precision="bf16-mixed")
    model = fit(colour_net(), data, tiny_recipe(epochs=6), fabric=fabric,
                transform=colour_transform(), seed=1)
    assert all(p.dtype == torch.float32 for p in model.parameters())  # mixed, not cast
    out = Forward(fabric, colour_transform(), batch_size=32)(model, data)
    reference = Forward(cpu_fabric(), colour_transform(), batch_size=32)(model, data)
    assert out.logits.dtype == torch.float32 and out.logits.shape == (128, 4)
    assert not torch.equal(out.logits, reference.logits)  # autocast really ran in bf16
    torch.testing.assert_close(out.logits, reference.logits, atol=0.1, rtol=0.05)
    accuracy = float((out.logits.argmax(1) == out.labels).float().mean())
    assert accuracy > 0.6  # four classes: chance is 0.25


def test_loader_pins_host_batches_only_for_cuda() -> None:
    data = synthetic_images(4, 4)
    transform = BatchTransform(mean=(0.3,), std=(0.3,), size=8, channels=1)
    assert not TensorLoader(data, 4, transform=transform).pin_memory
    assert TensorLoader(data, 4, transform=transform, device=torch.device("cuda")).pin_memory
    assert not TensorLoader(data, 4, transform=transform, device=torch.device("cuda"),
                            pin_memory=False).pin_memory
    # on the CPU the batches are plain gathers, whatever pin_memory says
    a = list(TensorLoader(data, 4, transform=transform, shuffle=True, seed=1))
    b = list(TensorLoader(data, 4, transform=transform, shuffle=True, seed=1, pin_memory=True))
    assert all(torch.equal(x, u) and torch.equal(y, v) for (x, y), (u, v) in zip(a, b, strict=True))


def test_unusable_compile_is_a_config_error_naming_the_setting(monkeypatch) -> None:
    monkeypatch.setattr(speed, "_compile_probe", {})
    monkeypatch.setattr(speed, "_probe", lambda device: "InvalidCxxCompiler: no compiler")
    model = colour_net()
    with pytest.raises(ConfigError, match=r"speed\.compile") as caught:
        speed.prepare(model, SpeedConfig(compile=True))
    assert "compile = false" in caught.value.hint and "InvalidCxxCompiler" in caught.value.message
    assert not speed.is_compiled(model)


def test_compile_without_a_cxx_compiler_raises_config_error(tmp_path) -> None:
    """A real failure: inductor pointed at a missing C++ compiler, caches off."""
    script = textwrap.dedent("""
        from supreme.config import SpeedConfig
        from supreme.errors import ConfigError
        from supreme.pipeline.speed import prepare
        from supreme.testing import TinyNet
        try:
            prepare(TinyNet(), SpeedConfig(compile=True))
        except ConfigError as exc:
            print("CONFIG-ERROR:", exc.message)
        else:
            print("NO-ERROR")
    """)
    env = {**os.environ, "CXX": str(tmp_path / "no-such-c++"),
           "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor"),
           "TORCHINDUCTOR_FORCE_DISABLE_CACHES": "1"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert "CONFIG-ERROR: speed.compile = true" in done.stdout, done.stdout + done.stderr[-2000:]
    assert "compiler" in done.stdout.lower()


def test_compiled_model_gives_the_eager_outputs_in_eval() -> None:
    if (reason := speed._probe(torch.device("cpu"))) is not None:
        pytest.skip(f"torch.compile does not work on this machine: {reason}")
    model = colour_net().eval()
    x = colour_transform()(synthetic_images(4, 4, channels=3).images)
    with torch.no_grad():
        eager = model(x)
    keys = list(model.state_dict())
    prepared = speed.prepare(model, SpeedConfig(compile=True, channels_last=True))
    assert prepared is model and speed.is_compiled(model) and list(model.state_dict()) == keys
    with torch.no_grad():
        compiled = model(colour_transform(channels_last=True)(
            synthetic_images(4, 4, channels=3).images))
    torch.testing.assert_close(compiled, eager, atol=1e-5, rtol=1e-5)
    speed.prepare(model, SpeedConfig(compile=True))  # twice is harmless
    assert speed.is_compiled(model)


def test_fit_trains_a_compiled_channels_last_model_like_an_eager_one() -> None:
    """Train and eval modes (best_val selection), then the state dict reloads unchanged."""
    if (reason := speed._probe(torch.device("cpu"))) is not None:
        pytest.skip(f"torch.compile does not work on this machine: {reason}")
    data = synthetic_images(4, 16)
    recipe = tiny_recipe(epochs=2, selection="best_val")
    torch.manual_seed(0)
    model = speed.prepare(TinyNet(), SpeedConfig(compile=True, channels_last=True))
    nhwc = BatchTransform(mean=(0.3,), std=(0.3,), size=8, channels=1, channels_last=True)
    fast = fit(model, data, recipe, fabric=cpu_fabric(), transform=nhwc, seed=1)
    torch.manual_seed(0)
    eager = fit(TinyNet(), data, recipe, fabric=cpu_fabric(), transform=tiny_transform(), seed=1)
    assert speed.is_compiled(fast)
    fresh = TinyNet()
    fresh.load_state_dict(fast.state_dict())  # the same keys as an uncompiled model
    for name, value in eager.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[name], value, atol=1e-5, rtol=1e-4, msg=name)

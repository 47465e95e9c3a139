"""BadT: competent teacher on a retain subset, incompetent teacher on D_f."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from methods_helpers import outputs, student
from supreme.testing import cpu_fabric
from supreme_methods.bad_teacher import BadTeacher, distillation_loss, teacher_targets


def test_reference_defaults():
    cfg = BadTeacher.Config()
    assert (cfg.epochs, cfg.lr, cfg.batch_size, cfg.temperature, cfg.retain_fraction) == (
        1, 1e-4, 256, 1.0, 0.3)
    assert cfg.legacy_kl is False


def test_targets_pick_the_teacher_by_flag():
    good = torch.tensor([[5.0, 0.0], [5.0, 0.0]])
    bad = torch.tensor([[0.0, 5.0], [0.0, 5.0]])
    q = teacher_targets(good, bad, torch.tensor([1, 0]), temperature=1.0)
    assert torch.allclose(q[0], torch.softmax(bad[0], 0))
    assert torch.allclose(q[1], torch.softmax(good[1], 0))
    q_hot = teacher_targets(good, bad, torch.tensor([0, 0]), temperature=10.0)
    assert torch.allclose(q_hot[0], torch.softmax(good[0] / 10, 0))


def _kl_to(teacher_logits, student_logits):
    return float(F.kl_div(F.log_softmax(student_logits, 1), F.softmax(teacher_logits, 1),
                          reduction="batchmean"))


def test_moves_forget_outputs_toward_the_incompetent_teacher(tiny, fullclass_data):
    original, _ = tiny
    data = fullclass_data
    incompetent = data.new_model().eval()  # the same init the method builds (seeded factory)
    bad_logits, _ = outputs(incompetent, data, "forget")
    before, _ = outputs(original, data, "forget")
    cfg = BadTeacher.Config(lr=1e-2, batch_size=16, epochs=3)
    result = BadTeacher(cfg).unlearn(student(original), data, cpu_fabric())
    after, _ = outputs(result, data, "forget")
    assert _kl_to(bad_logits, after) < 0.5 * _kl_to(bad_logits, before)
    # while staying close to the competent teacher on the retain set
    good, _ = outputs(original, data, "retain")
    kept, _ = outputs(result, data, "retain")
    assert (kept.argmax(1) == good.argmax(1)).float().mean() > 0.9


def test_kl_is_a_per_sample_mean_and_legacy_divides_by_classes():
    student_logits = torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    target = torch.tensor([[0.2, 0.3, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    log_p = torch.log_softmax(student_logits, 1)
    per_sample = (target * (target.log() - log_p)).sum(1)
    assert torch.isclose(distillation_loss(student_logits, target, 1.0), per_sample.mean())
    legacy = distillation_loss(student_logits, target, 1.0, legacy=True)
    assert torch.isclose(legacy, per_sample.mean() / 3)

"""Training losses: CCC loss agrees with the metric, has sane gradients, and undoes shrinkage."""
import pytest
import torch

from moodmap.research.metrics import ccc
from moodmap.research.models.losses import LOSSES, ccc_loss


def _targets(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 2, generator=g, dtype=torch.float64)


def test_ccc_loss_is_one_minus_the_metric():
    true = _targets()
    pred = 0.5 * true + 0.1 * _targets(seed=1)
    expected = 1 - ccc(pred.numpy(), true.numpy()).mean()
    assert float(ccc_loss(pred, true)) == pytest.approx(expected, abs=1e-6)
    assert float(ccc_loss(true, true)) == pytest.approx(0.0, abs=1e-6)


def test_ccc_loss_gradient_matches_finite_differences():
    true = _targets()
    pred = (0.4 * true + 0.3).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: ccc_loss(p, true), (pred,), eps=1e-6, atol=1e-5)


def test_ccc_gradient_stretches_shrunk_predictions_and_removes_offsets():
    true = _targets()
    centre = true.mean(0)
    for loss_name in ("ccc", "mae+ccc"):
        pred = (centre + 0.3 * (true - centre) + 0.05).clone().requires_grad_(True)
        before_sd, before_offset = pred.detach().std(0), (pred.detach().mean(0) - centre).abs()
        optimizer = torch.optim.SGD([pred], lr=2.0)
        for _ in range(50):
            optimizer.zero_grad()
            LOSSES[loss_name](pred, true).backward()
            optimizer.step()
        assert torch.all(pred.detach().std(0) > 1.5 * before_sd), loss_name
        assert torch.all((pred.detach().mean(0) - centre).abs() < before_offset), loss_name


def test_mae_alone_rewards_the_middle_where_ccc_does_not():
    """Targets bunched near 0.5 (as ratings are): a constant beats a correlated but noisy guess on
    MAE, which is how the paper's model shrinks; CCC ranks them the other way round."""
    g = torch.Generator().manual_seed(3)
    true = 0.5 + 0.14 * torch.randn(512, 2, generator=g, dtype=torch.float64)
    constant = true.mean(0).expand_as(true)
    correlated = true + 0.2 * torch.randn(512, 2, generator=g, dtype=torch.float64)
    assert float(LOSSES["mae"](constant, true)) < float(LOSSES["mae"](correlated, true))
    assert float(ccc_loss(constant, true)) == pytest.approx(1.0, abs=1e-6)
    assert float(ccc_loss(correlated, true)) < 0.7

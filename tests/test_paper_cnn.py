import numpy as np
import pytest
import torch
from torch import nn

from moodmap.core.config import ModelConfig
from moodmap.research.models.paper_cnn import PaperCNN, activation, expected_keras_weight_count, keras_weight_count


def test_final_model_has_the_keras_weight_count():
    model = PaperCNN(ModelConfig(), (80, 469))
    assert keras_weight_count(model) == expected_keras_weight_count(ModelConfig()) == 516_058


@pytest.mark.parametrize("filters,kernel,pool", [(4, 2, 2), (64, 10, 10), (32, 5, 3), (8, 3, 5)])
def test_weight_count_formula_holds_for_sweep_settings(filters, kernel, pool):
    config = ModelConfig(filters=filters, kernel=kernel, pool=pool)
    assert keras_weight_count(PaperCNN(config)) == expected_keras_weight_count(config)


def plain_reference(model: PaperCNN) -> nn.Sequential:
    """The same network written straightforwardly: activation, then pooling."""
    c = model.config
    return nn.Sequential(model.conv, activation(c.conv_activation), nn.MaxPool2d(c.pool))


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh", "softsign"])
def test_pooling_before_activation_changes_nothing(act):
    torch.manual_seed(0)
    model = PaperCNN(ModelConfig(conv_activation=act))
    x = torch.randn(3, 1, 80, 469)
    fast = model.conv_act(model.pool(model.conv(x.contiguous(memory_format=torch.channels_last))))
    torch.testing.assert_close(fast, plain_reference(model)(x), rtol=1e-5, atol=1e-6)


def test_output_is_two_values_in_the_sigmoid_range():
    out = PaperCNN().eval()(torch.randn(5, 80, 469))
    assert out.shape == (5, 2) and bool(((out > 0) & (out < 1)).all())


def test_keras_initialisation():
    model = PaperCNN()
    assert float(model.dense.bias.detach().abs().sum()) == 0.0
    fan_in, fan_out = model.flat_features, 8
    assert float(model.dense.weight.detach().abs().max()) <= (6 / (fan_in + fan_out)) ** 0.5


def test_tiny_model_overfits_a_tiny_batch():
    torch.manual_seed(1)
    model = PaperCNN(ModelConfig(filters=4, dropout=0.0), (20, 60))
    x = torch.randn(8, 20, 60)
    y = torch.rand(8, 2) * 0.6 + 0.2
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(300):
        optimizer.zero_grad()
        loss = (model(x) - y).abs().mean()
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < 0.02


def test_too_small_input_is_refused():
    with pytest.raises(ValueError, match="too small"):
        PaperCNN(ModelConfig(kernel=10, pool=10), (12, 12))


def test_fast_layout_trains_exactly_like_the_plain_formulation():
    """Same init, same batches: the pool-first, channels-last model ends where the plain one does."""
    torch.manual_seed(3)
    fast = PaperCNN(ModelConfig(filters=4, dropout=0.0), (20, 60))

    class Plain(nn.Module):
        def __init__(self, source: PaperCNN):
            super().__init__()
            self.conv, self.dense, self.norm, self.out = (nn.Conv2d(1, 4, 3), nn.Linear(source.flat_features, 8),
                                                          nn.BatchNorm1d(8, eps=1e-3, momentum=0.01), nn.Linear(8, 2))
            self.load_state_dict(source.state_dict(), strict=False)

        def forward(self, x):
            x = nn.functional.max_pool2d(torch.relu(self.conv(x.unsqueeze(1))), 3)
            x = torch.flatten(x.permute(0, 2, 3, 1), 1)
            return torch.sigmoid(self.out(self.norm(torch.relu(self.dense(x)))))

    plain = Plain(fast)
    x, y = torch.randn(24, 20, 60) * 20 - 30, torch.rand(24, 2)
    for model in (fast, plain):
        optimizer = torch.optim.Adam(model.parameters(), 1e-3)
        for step in range(6):
            batch = slice(step % 3 * 8, step % 3 * 8 + 8)
            optimizer.zero_grad()
            (model(x[batch]) - y[batch]).abs().mean().backward()
            optimizer.step()
    fast.eval(), plain.eval()
    torch.testing.assert_close(fast(x), plain(x), rtol=1e-4, atol=1e-5)

"""The paper's seven experiments (Tables 1–7), as data, with its published numbers.

Each experiment changes one parameter of the base model and keeps the rest. The
paper's Fig. 5 (the base model) is not in its text; the winners of Tables 2–7 are
the final model's values (§3.8), so the base here is the final model: 16 filters,
3×3 kernel, 3×3 max-pool, relu / relu / sigmoid, dropout 0.2, Adam. (Table 1 is won
by 5×5 at .091; the paper's own base cell reads .087–.095 across Tables 2–7, which
one shared set of runs cannot show — the report says so.) Table 1 trains
on one 15 s excerpt per clip (the "original" data), the others on three (the
"augmented" data). Values are validation MAE, mean (sd) over 10 runs of 10 epochs.

Examples
--------
>>> from moodmap.research.experiments import PAPER_EXPERIMENTS, all_settings
>>> len(PAPER_EXPERIMENTS), len(all_settings())
(7, 33)
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..core.config import ModelConfig, TrainConfig, config_hash, with_run_overrides
from ..core.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    """One column of a table: what changes from the base model, and what the paper measured."""

    label: str
    overrides: tuple[str, ...]  # key=value settings applied to the base model/training
    paper_mae: float
    paper_sd: float


@dataclass(frozen=True)
class Experiment:
    key: str
    table: int
    figure: int | None
    title: str
    parameter: str
    excerpts: int
    settings: tuple[Setting, ...] = field(default_factory=tuple)


def _s(label: str, paper_mae: float, paper_sd: float, *overrides: str) -> Setting:
    return Setting(label, tuple(overrides), paper_mae, paper_sd)


def _kernels(first: tuple[float, ...], sds: tuple[float, ...]) -> tuple[Setting, ...]:
    return tuple(_s(f"{k}×{k}", m, s, f"kernel={k}") for k, m, s in zip((2, 3, 5, 10), first, sds))


PAPER_EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("kernel-original", 1, None, "Kernel size, original data (1 excerpt per clip)", "kernel", 1,
               _kernels((0.097, 0.100, 0.091, 0.130), (0.004, 0.023, 0.013, 0.036))),
    Experiment("kernel", 2, 6, "Kernel size, augmented data (3 excerpts per clip)", "kernel", 3,
               _kernels((0.097, 0.095, 0.096, 0.096), (0.007, 0.007, 0.009, 0.008))),
    Experiment("optimizer", 3, 7, "Optimizer", "optimizer", 3, tuple(
        _s(name, m, s, f"optimizer={name}") for name, m, s in (
            ("adam", 0.087, 0.006), ("sgd", 0.109, 0.023), ("rmsprop", 0.091, 0.009), ("adagrad", 0.089, 0.008),
            ("adadelta", 0.101, 0.011), ("adamax", 0.094, 0.008), ("nadam", 0.101, 0.012)))),
    Experiment("filters", 4, 8, "Number of filters", "filters", 3, tuple(
        _s(str(n), m, s, f"filters={n}") for n, m, s in (
            (4, 0.097, 0.008), (8, 0.093, 0.009), (16, 0.090, 0.006), (32, 0.095, 0.010), (64, 0.092, 0.008)))),
    Experiment("activation", 5, 9, "Activation functions (conv / dense / output)", "activations", 3, (
        _s("relu/relu/sigmoid", 0.095, 0.010, "conv_activation=relu", "dense_activation=relu",
           "output_activation=sigmoid"),
        *(_s(name, m, s, f"conv_activation={name}", f"dense_activation={name}", f"output_activation={name}")
          for name, m, s in (("sigmoid", 0.110, 0.008), ("tanh", 0.117, 0.009), ("relu", 0.285, 0.006),
                             ("softsign", 0.109, 0.010))))),
    Experiment("dropout", 6, 10, "Dropout", "dropout", 3, tuple(
        _s(str(p), m, s, f"dropout={p}") for p, m, s in (
            (0.0, 0.092, 0.013), (0.2, 0.087, 0.008), (0.5, 0.094, 0.007), (0.8, 0.102, 0.004)))),
    Experiment("pool", 7, 11, "Max-pooling size", "pool", 3, tuple(
        _s(f"{p}×{p}", m, s, f"pool={p}") for p, m, s in (
            (2, 0.095, 0.008), (3, 0.087, 0.005), (5, 0.089, 0.007), (10, 0.089, 0.011)))),
)

FINAL_MODEL = ModelConfig()  # §3.8: every table's best value
FINAL_PAPER_MAE, FINAL_PAPER_SD = 0.089, 0.01
RUNS, EPOCHS = 10, 10


def all_settings() -> list[tuple[Experiment, Setting]]:
    """Every (experiment, setting) pair, in table order."""
    return [(experiment, setting) for experiment in PAPER_EXPERIMENTS for setting in experiment.settings]


def configs_for(experiment: Experiment, setting: Setting, train: TrainConfig = TrainConfig()
                ) -> tuple[ModelConfig, TrainConfig]:
    """The model and training configs of one table cell (base model + its overrides)."""
    return with_run_overrides(FINAL_MODEL, train, [*setting.overrides, f"excerpts={experiment.excerpts}"])


def setting_key(model: ModelConfig, train: TrainConfig, feature_hash: str) -> str:
    """Identifies what a run trains; identical table cells (the base model) share their runs."""
    return f"{feature_hash}-{config_hash(model)}-{config_hash(train)}"


def select(keys: list[str] | None) -> tuple[Experiment, ...]:
    """The experiments named by ``keys`` (all when None), in the paper's order; an unknown key is an error."""
    known = {e.key for e in PAPER_EXPERIMENTS}
    unknown = sorted(set(keys or ()) - known)
    if unknown:
        raise ConfigError(None, f"unknown experiment(s) {', '.join(unknown)}; one of {', '.join(sorted(known))}")
    return tuple(e for e in PAPER_EXPERIMENTS if keys is None or e.key in keys)

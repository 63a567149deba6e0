from moodmap.core.config import ModelConfig, TrainConfig
from moodmap.research.experiments import FINAL_MODEL, FINAL_PAPER_MAE, PAPER_EXPERIMENTS, all_settings, configs_for

# PAPER.md, "Results to reproduce": table → [(value, mae, sd)]
PAPER = {
    1: [("2×2", .097, .004), ("3×3", .100, .023), ("5×5", .091, .013), ("10×10", .130, .036)],
    2: [("2×2", .097, .007), ("3×3", .095, .007), ("5×5", .096, .009), ("10×10", .096, .008)],
    3: [("adam", .087, .006), ("sgd", .109, .023), ("rmsprop", .091, .009), ("adagrad", .089, .008),
        ("adadelta", .101, .011), ("adamax", .094, .008), ("nadam", .101, .012)],
    4: [("4", .097, .008), ("8", .093, .009), ("16", .090, .006), ("32", .095, .010), ("64", .092, .008)],
    5: [("relu/relu/sigmoid", .095, .010), ("sigmoid", .110, .008), ("tanh", .117, .009), ("relu", .285, .006),
        ("softsign", .109, .010)],
    6: [("0.0", .092, .013), ("0.2", .087, .008), ("0.5", .094, .007), ("0.8", .102, .004)],
    7: [("2×2", .095, .008), ("3×3", .087, .005), ("5×5", .089, .007), ("10×10", .089, .011)],
}


def test_seven_experiments_and_33_settings():
    assert [e.table for e in PAPER_EXPERIMENTS] == [1, 2, 3, 4, 5, 6, 7]
    assert len(all_settings()) == 33


def test_settings_and_published_numbers_match_the_paper():
    for experiment in PAPER_EXPERIMENTS:
        assert [(s.label, s.paper_mae, s.paper_sd) for s in experiment.settings] == PAPER[experiment.table]


def test_table_1_uses_original_data_and_the_rest_augmented():
    assert {e.table: e.excerpts for e in PAPER_EXPERIMENTS} == {1: 1, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3, 7: 3}


def test_each_setting_changes_one_parameter_of_the_base():
    for experiment, setting in all_settings():
        model, train = configs_for(experiment, setting)
        changed = {k for k, v in vars(model).items() if getattr(FINAL_MODEL, k) != v}
        changed |= {k for k, v in vars(train).items() if getattr(TrainConfig(), k) != v and k != "excerpts"}
        assert changed <= {"kernel", "optimizer", "filters", "conv_activation", "dense_activation",
                           "output_activation", "dropout", "pool"}
        assert len(changed - {"dense_activation", "output_activation"}) <= 1


def test_activation_setting_sets_all_three_layers():
    experiment = next(e for e in PAPER_EXPERIMENTS if e.table == 5)
    model, _ = configs_for(experiment, experiment.settings[2])
    assert (model.conv_activation, model.dense_activation, model.output_activation) == ("tanh",) * 3


def test_final_model_is_every_tables_best_value():
    assert FINAL_MODEL == ModelConfig(filters=16, kernel=3, pool=3, conv_activation="relu", dense_activation="relu",
                                      output_activation="sigmoid", dropout=0.2)
    assert TrainConfig().optimizer == "adam" and FINAL_PAPER_MAE == 0.089

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import TensorDataset

from experiments.methods.training import (
    InMemory,
    TrainConfig,
    fine_tune,
    fit,
    prepare_fine_tune,
    train_from_scratch,
    train_linear_head,
)
from tests.experiments.methods._tiny_ch1 import TinyVGG, blobs, tiny_vgg


def _feature_split(seed: int = 0):
    x, y = blobs(30, 4, 16, spread=0.3, seed=seed)
    train = np.arange(len(y)) % 3 != 0
    return x[train], y[train], x[~train], y[~train]


def _images(n: int = 48, seed: int = 0) -> tuple[TensorDataset, TensorDataset]:
    """Class = which image half is bright: easy, learnable by a tiny CNN."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.rand(n, 3, 8, 8, generator=g) * 0.2
    x[y == 0, :, :4] += 1.0
    x[y == 1, :, 4:] += 1.0
    return TensorDataset(x[: n // 2], y[: n // 2]), TensorDataset(x[n // 2:], y[n // 2:])


def test_linear_head_learns_separable_features_deterministically():
    config = TrainConfig(epochs=30, lr=5e-2, batch_size=16, max_seconds=None)
    state = torch.get_rng_state()
    first = train_linear_head(*_feature_split(), num_classes=4, config=config, device="cpu")
    assert torch.equal(state, torch.get_rng_state())  # caller's RNG untouched
    assert first.test_accuracy >= 0.95 and first.train_accuracy >= 0.95
    assert first.epochs_run == 30 and len(first.history) == 30 and not first.stopped_by_time
    assert first.history[-1][0] < first.history[0][0]  # loss went down
    second = train_linear_head(*_feature_split(), num_classes=4, config=config, device="cpu")
    assert second.history == first.history and second.test_accuracy == first.test_accuracy


def test_time_budget_stops_training():
    config = TrainConfig(epochs=50, batch_size=4, max_seconds=0.0)
    result = train_linear_head(*_feature_split(), num_classes=4, config=config, device="cpu")
    assert result.stopped_by_time and result.epochs_run <= 1 and len(result.history) <= 1
    train, test = _images()
    scratch = train_from_scratch(TinyVGG, 2, train, test, config, "cpu")
    assert scratch.stopped_by_time and scratch.epochs_run <= 1


def test_prepare_fine_tune_freezes_all_but_head_and_named_modules():
    model = tiny_vgg().train()
    tuned = prepare_fine_tune(model, "classifier.3", ["classifier.0"], num_classes=3)
    trainable = {n for n, p in tuned.named_parameters() if p.requires_grad}
    assert trainable == {"classifier.0.weight", "classifier.0.bias",
                         "classifier.3.weight", "classifier.3.bias"}
    assert tuned.classifier[3].out_features == 3 and model.classifier[3].out_features == 5
    assert tuned.classifier[0].training and not tuned.features[4].training
    assert not tuned.classifier[2].training  # dropout outside the trainable modules is off


def test_fit_changes_only_trainable_layers():
    train, test = _images()
    model = tiny_vgg().train()  # frozen parts must still be put in eval mode
    tuned = prepare_fine_tune(model, "classifier.3", ["classifier.0"], num_classes=2)
    before = {k: v.clone() for k, v in tuned.state_dict().items()}
    fit(tuned, train, test, TrainConfig(epochs=2, batch_size=8, max_seconds=None), "cpu")
    after = tuned.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"classifier.0.weight", "classifier.0.bias",
                       "classifier.3.weight", "classifier.3.bias"}  # bn stats included


def test_fine_tune_leaves_the_original_model_untouched():
    model = tiny_vgg()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train, test = _images()
    config = TrainConfig(epochs=3, lr=1e-2, batch_size=8, max_seconds=None)
    result = fine_tune(model, "classifier.3", ["classifier.0"], 2, train, test, config, "cpu")
    assert result.epochs_run == 3 and 0.0 <= result.test_accuracy <= 1.0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.requires_grad for p in model.parameters()) and not model.training


def test_train_from_scratch_learns_an_easy_task():
    train, test = _images()
    config = TrainConfig(epochs=25, lr=1e-2, batch_size=8, max_seconds=None)
    result = train_from_scratch(TinyVGG, 2, train, test, config, "cpu")
    assert result.epochs_run == 25 and not result.stopped_by_time
    assert result.train_accuracy >= 0.9 and result.test_accuracy >= 0.8


def test_in_memory_sets_train_exactly_like_a_data_loader():
    """Batches taken by indexing follow a DataLoader's seeded order: the same run, step for step."""
    train, test = _images()
    config = TrainConfig(epochs=4, lr=1e-2, batch_size=5, max_seconds=None)
    held = [InMemory(*d.tensors) for d in (train, test)]
    runs = [train_from_scratch(TinyVGG, 2, *sets, config, "cpu") for sets in ((train, test), held)]
    assert runs[0].history == runs[1].history and len(runs[0].history) == 4
    assert runs[0].test_accuracy == runs[1].test_accuracy


def test_in_memory_items_and_batches_agree():
    class Doubled(InMemory):
        def prepare(self, batch):
            return batch * 2

    data = Doubled(torch.arange(12.0).reshape(6, 2), np.arange(6) % 2)
    x, y = data.batch(torch.tensor([4, 1]))
    assert torch.equal(x, torch.tensor([[16.0, 18.0], [4.0, 6.0]])) and y.tolist() == [0, 1]
    assert torch.equal(data[4][0], x[0]) and int(data[4][1]) == 0 and len(data) == 6
    assert data.to(torch.device("cpu")) is data


def test_tracking_the_test_set_records_one_accuracy_per_epoch_and_changes_no_training():
    train, test = _images()
    config = TrainConfig(epochs=4, lr=1e-2, batch_size=8, max_seconds=None)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Dropout(0.5),
                                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 2))

    def factory(num_classes: int) -> torch.nn.Module:
        torch.manual_seed(0)
        return __import__("copy").deepcopy(model)

    plain = train_from_scratch(factory, 2, train, test, config, "cpu")
    tracked = train_from_scratch(factory, 2, train, test, TrainConfig(**{**config.__dict__, "track_test": True}), "cpu")
    assert plain.test_history == () and len(tracked.test_history) == 4
    assert tracked.history == plain.history  # the evaluations left dropout in train mode and the RNG alone
    assert tracked.test_history[-1] == tracked.test_accuracy  # the last evaluation is the final one

"""1.2.2 experiments on a tiny network and a synthetic 15 Scene: layers, grayscale, network as classifier, C, PCA."""
from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
import torch
from torch import nn

from experiments.ch1_layers import grayscale, layer_sweep, network_classifier, other_network, pca, svm_c
from experiments.ch1_transfer import baseline, scene_features
from experiments.methods.classify import svm_evaluate
from experiments.methods.inference import fold_batchnorm, for_inference
from experiments.methods.tail import module_chain, split_point
from experiments.results.ch1 import SceneFeatures
from reportgen import UserError
from tests.experiments.test_ch1_transfer import CPU, load_scene, tiny_network, write_scene


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scene")
    return load_scene(write_scene(tmp / "data", train=6, test=3), tmp / "memo")


@pytest.fixture(scope="module")
def net():
    return tiny_network(0)


@pytest.fixture(scope="module")
def features(net, scene) -> SceneFeatures:
    return scene_features(net, scene, CPU, batch_size=16, workers=0)


class Residual(nn.Module):
    """Not a pipeline of its modules: the skip connection reuses the stem's output."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.body = nn.Conv2d(8, 8, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(8, 8)
        self.act = nn.ReLU()
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.stem(x)
        return self.head(self.act(self.fc1(self.pool(y + self.body(y)).flatten(1))))


def residual_network(seed: int = 0):
    net = tiny_network(seed, Residual(), name="residual")
    return net.__class__(**{**net.__dict__, "layers": (("stem", "stem"), ("fc1", "act")), "penultimate": "act",
                            "classifier": "head"})


def test_layer_sweep_scores_every_layer(features) -> None:
    result = layer_sweep(features, baseline(features), jobs=1)
    assert [r.label for r in result.rows] == ["block1", "block2", "relu6", "logits"]
    assert [r.dim for r in result.rows] == [8, 16, 32, 10]
    relu6 = svm_evaluate(features.train["relu6"], features.train_labels, features.test["relu6"],
                         features.test_labels).accuracy
    assert result.penultimate_accuracy == relu6
    assert result.best_accuracy == max(r.accuracy for r in result.rows)
    assert all(0 <= r.accuracy <= 1 for r in result.rows) and hasattr(result.figure, "savefig")


def test_svm_c_never_looks_at_the_test_set(features) -> None:
    cs = (0.01, 1.0, 100.0)
    first = svm_c(features, baseline(features), cs=cs, folds=3, jobs=1)
    rng = np.random.default_rng(0)
    noise = {k: rng.normal(size=v.shape).astype(np.float32) for k, v in features.test.items()}
    scrambled = dataclasses.replace(features, test=noise, test_labels=rng.permutation(features.test_labels))
    second = svm_c(scrambled, baseline(scrambled), cs=cs, folds=3, jobs=1)
    assert first.best_c == second.best_c and first.cv_accuracy == second.cv_accuracy
    assert first.best_c in cs and first.cv_best == max(first.cv_accuracy)
    assert first.test_accuracy == first.test_curve[list(cs).index(first.best_c)]
    assert first.baseline_accuracy == first.test_curve[1] and first.train_images == 90
    assert first.baseline_c == 1.0


def test_svm_c_takes_the_baselines_point_from_the_baseline(features) -> None:
    base = baseline(features, C=0.01)  # with a marker: this point must not be fitted again
    base = dataclasses.replace(base, svm=dataclasses.replace(base.svm, accuracy=0.123456))
    result = svm_c(features, base, cs=(0.01, 1.0), folds=3, jobs=1)
    assert result.test_curve[0] == result.baseline_accuracy == 0.123456 and result.baseline_c == 0.01
    assert 0 <= result.test_curve[1] <= 1

def test_pca_skips_impossible_dimensions_and_reports_the_full_baseline(features) -> None:
    result = pca(features, baseline(features), dims=(2, 4, 8, 64, 500))
    assert [p.dim for p in result.points] == [2, 4, 8]  # relu6 has 32 dimensions: 64 and 500 are skipped
    assert result.full.dim == 32 and 0 <= result.full.accuracy <= 1
    assert all(p.total_seconds >= p.fit_seconds > 0 for p in result.points)
    assert result.best_accuracy == max(p.accuracy for p in result.points)


def test_grayscale_exact_fold_matches_replication(net, scene, features) -> None:
    result = grayscale(net, scene, features, baseline(features), CPU, batch_size=16, workers=0, per_class_on_cpu=0)
    assert result.max_difference < 1e-5 * max(result.output_scale, 1.0)
    assert result.conv == "features.0" and result.check_images == 8
    assert result.exact_accuracy == pytest.approx(result.replication_accuracy, abs=1 / 45)
    assert result.same_predictions >= 0.95
    assert 0 <= result.averaged_accuracy <= 1 and not result.uniform_normalization


def test_batchnorm_fold_is_exact_and_keeps_the_network(net) -> None:
    before = {k: v.clone() for k, v in net.module.state_dict().items()}
    folded = fold_batchnorm(net.module)
    assert folded is not net.module and isinstance(folded.features[1], nn.Identity)
    x = torch.randn(4, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(folded(x), net.module(x), rtol=1e-5, atol=1e-5)
    assert all(torch.equal(net.module.state_dict()[k], v) for k, v in before.items())
    assert for_inference(net.module, 32, CPU) is not net.module
    plain = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    assert fold_batchnorm(plain) is plain


def test_split_point_of_a_pipeline_and_of_a_residual_network(net) -> None:
    names = [n for n, _ in module_chain(net.module)]
    assert names[:2] == ["features.0", "features.1"] and names[-4:] == [f"classifier.{i}" for i in range(4)]
    chain, start, shape = split_point(net.module, net.classifier, net.input_size, 2, CPU)
    assert chain[start][0] == "features.4" and shape == (8, 16, 16)  # conv2 and fc6 train, the head is new
    chain, start, shape = split_point(net.module, net.classifier, net.input_size, 1, CPU)
    assert chain[start][0] == "classifier.0" and shape == (16, 2, 2)
    residual = residual_network()
    assert split_point(residual.module, residual.classifier, residual.input_size, 1, CPU) is None


def test_network_classifier_reports_the_three_ways(net, scene, features) -> None:
    result = network_classifier(net, scene, features, baseline(features), CPU, head_epochs=5, finetune_epochs=2,
                                finetune_seconds=5,
                                batch_size=16, workers=0, per_class_on_cpu=0, finetune_layers=1)
    assert result.finetune_cached_trunk and result.finetune_trained == ["classifier.0"]
    for key in ("svm_accuracy", "head_accuracy", "finetune_accuracy", "svm_subset_accuracy"):
        assert 0 <= getattr(result, key) <= 1
    assert result.svm_accuracy == result.svm_subset_accuracy  # no subset with per_class_on_cpu=0
    assert result.head_epochs == 5 and 1 <= result.finetune_epochs <= 2


def test_network_classifier_falls_back_to_end_to_end_fine_tuning(scene) -> None:
    residual = residual_network()
    feats = scene_features(residual, scene, CPU, batch_size=16, workers=0)
    result = network_classifier(residual, scene, feats, baseline(feats), CPU, head_epochs=2, finetune_epochs=1,
                                finetune_seconds=5,
                                batch_size=16, workers=0, per_class_on_cpu=1, finetune_layers=1)
    assert not result.finetune_cached_trunk and result.finetune_trained == ["fc1"]
    assert result.subset.train_images == 15 and 0 <= result.finetune_accuracy <= 1


def test_other_network_picks_a_different_role_or_says_why_not(net, scene, features) -> None:
    with pytest.raises(UserError, match="no other network is configured"):
        other_network(net, net, net, scene, features, baseline(features), CPU)
    other = tiny_network(seed=5, name="tiny-other")
    result = other_network(net, net, other, scene, features, baseline(features), CPU, batch_size=16, workers=0,
                           per_class_on_cpu=2)
    assert result.role == "visualize" and result.subset.train_images == 30
    assert 0 <= result.accuracy <= 1 and result.dim == result.transfer_dim == 32
    assert other_network(net, other, net, scene, features, baseline(features), CPU, workers=0,
                         per_class_on_cpu=2).role == "compare"



# -- the chapter-1 template on results of the real experiments (tiny network, synthetic data) --------------------

def _stored(tmp_path, name: str, value):
    """The value as the engine hands it to templates: written to the store and read back."""
    from reportgen import store

    store.write_entry(tmp_path / name, value, {})
    return store.read_entry(tmp_path / name, ("experiments",))


def _chapter_results(net, scene, features) -> dict:
    from experiments.ch1_architecture import architecture_output, architecture_params
    from experiments.ch1_predictions import conv1_maps, eval_mode_effect, normalization_effect, predictions
    from experiments.ch1_transfer import data_audit, from_scratch, per_class, pretrained_vs_random
    from tests.experiments.test_ch1_predictions import image_set
    from tests.experiments.test_ch1_transfer import Tiny

    with torch.device("meta"):
        arch = Tiny().eval()
    ours, val = image_set(3, seed=1), image_set(6, labels=[0, 1, 2, 3, 4, 5], seed=2)
    quick = dict(workers=0, per_class_on_cpu=2)
    base = baseline(features)
    return {
        "architecture_params": architecture_params(arch, 32), "architecture_output": architecture_output(arch, [], 32),
        "predictions": predictions(net, ours, val, CPU), "normalization_effect": normalization_effect(net, val,
                                                                                                      ours, CPU),
        "eval_mode_effect": eval_mode_effect(net, val, CPU, passes=3), "conv1_maps": conv1_maps(net, ours, CPU),
        "scene_features": features, "data_audit": data_audit(scene), "per_class": per_class(features, base),
        "baseline": base,
        "pretrained_vs_random": pretrained_vs_random(tiny_network(4), scene, features, base, CPU, **quick),
        "from_scratch": from_scratch(tiny_network(4), scene, features, base, CPU, epochs=2, cpu_max_seconds=5, **quick),
        "layer_sweep": layer_sweep(features, base, jobs=1),
        "svm_c": svm_c(features, base, cs=(0.1, 1.0), folds=3, jobs=1),
        "grayscale": grayscale(net, scene, features, base, CPU, **quick), "pca": pca(features, base, dims=(4, 8)),
        "network_classifier": network_classifier(net, scene, features, base, CPU, head_epochs=2, finetune_epochs=1,
                                                 **quick),
    }


def test_chapter_one_renders_every_answer_from_the_experiments(tmp_path, monkeypatch, net, scene, features) -> None:
    from reportgen.config import Settings
    from reportgen.project import find_project
    from reportgen.questions import answer
    from reportgen.render import figures_of, render_html
    from reportgen.report import template_context
    from reportgen.runner import Outcome
    from reportgen.verdicts import discover_verdicts, judge
    from tests.experiments.test_ch1_transfer import ROOT

    monkeypatch.chdir(ROOT)
    project = find_project(ROOT)
    results = {name: _stored(tmp_path, name, value) for name, value in _chapter_results(net, scene, features).items()}
    outcomes = {name: Outcome(name, "ran", "key") for name in results}
    outcomes["other_network"] = Outcome("other_network", "failed", "key", "no other network is configured: test")
    statuses = {name: (o.status, o.reason) for name, o in outcomes.items()}
    answers = [answer(q, statuses, results) for q in project.load_questions()]
    assert all(a.answered for a in answers if a.question.chapter == 1)
    judged = judge(discover_verdicts(project.verdicts), Settings({}, "test"), results)
    context = template_context(project, Settings({}, "test"), outcomes, results, answers, False, judged)
    sources = {fig.path: str(fig.path) for value in results.values() for fig in figures_of(value)}
    html = render_html(project.templates, project.main_template, context, sources)
    chapter = html[html.index('id="chapter-1"'):html.index('id="chapter-2"')]
    assert "Not computed." not in chapter and "no other network is configured: test" in chapter
    pc, sc = results["per_class"], results["svm_c"]
    for text in (f"{pc.accuracy * 100:.1f} %", pc.worst_class, f"C = <strong>{sc.best_c:.3g}</strong>",
                 "Figure 1.", "Table 1.", "2 per class"):
        assert text in chapter, text
    assert "?" not in re.findall(r"(?:Figure|Table) (\S+)</a>", chapter)  # every reference resolved

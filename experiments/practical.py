"""The practical's questions, restated in our own words, with the experiments each answer rests on."""
from reportgen import Question

Q = Question

QUESTIONS = (
    # Chapter 1 — transfer learning
    Q("1.Q1", "1.1", "★", "From its fully connected layers alone, roughly how many parameters does the network have, "
      "and how does that compare with the exact count?",
      ("architecture_params",),
      (("parameters", "architecture_params.total", "thousands"),
       ("fully connected", "architecture_params.fc_total", "thousands"),
       ("FC share", "architecture_params.fc_share", "pct"))),
    Q("1.Q2", "1.1", "★", "How large is the output of the last layer, and what does each of its values stand for?",
      ("architecture_output",), (("output size", "architecture_output.size", "thousands"),)),
    Q("1.Q3", "1.1", "Bonus", "Run the network on images we chose: what does it predict, why must inputs be "
      "normalized, and why must the network be in evaluation mode?",
      ("predictions", "normalization_effect", "eval_mode_effect"),
      (("top-1 accuracy", "predictions.top1", "pct"), ("top-5 accuracy", "predictions.top5", "pct"))),
    Q("1.Q4", "1.1", "Bonus", "What do the first convolution layer's filters and activation maps look like, "
      "and how can they be read?", ("conv1_maps",), (("filters", "conv1_maps.filters", "thousands"),)),
    Q("1.Q5", "1.2.1", "★", "Why not train the network directly on 15 Scene?",
      ("from_scratch",), (("training images", "from_scratch.train_images", "thousands"),
                          ("from-scratch accuracy", "from_scratch.accuracy", "pct"),
                          ("feature-extraction accuracy", "from_scratch.baseline_accuracy", "pct"))),
    Q("1.Q6", "1.2.1", "★", "What does pre-training on ImageNet bring, compared with the same network untrained?",
      ("pretrained_vs_random",), (("pretrained", "pretrained_vs_random.pretrained", "pct"),
                                  ("random weights", "pretrained_vs_random.random", "pct"))),
    Q("1.Q7", "1.2.1", "", "Where does classification with extracted features fall short?",
      ("per_class",), (("accuracy", "per_class.accuracy", "pct"),
                       ("worst class accuracy", "per_class.worst_accuracy", "pct"))),
    Q("1.Q8", "1.2.2", "", "How does the depth of the layer the features come from change the result?",
      ("layer_sweep",), (("best layer accuracy", "layer_sweep.best_accuracy", "pct"),)),
    Q("1.Q9", "1.2.2", "", "The scenes are grayscale but the network expects colour: how can we feed them?",
      ("grayscale",), (("max output difference", "grayscale.max_difference", "sig"),)),
    Q("1.Q10", "1.2.2", "", "Could the network itself classify the scenes instead of an SVM?",
      ("network_classifier",), (("new last layer", "network_classifier.head_accuracy", "pct"),
                                ("fine-tuned", "network_classifier.finetune_accuracy", "pct"),
                                ("SVM", "network_classifier.svm_accuracy", "pct"))),
    Q("1.Q11", "1.2.2", "", "Which improvements did we try, why, and what did each change?",
      # other_network is shown when computed; when it is not (no second network configured) its reason is shown
      # inside the answer, so that the C and PCA evidence still answers the question.
      ("svm_c", "pca"), (("chosen C", "svm_c.best_c", "sig"), ("accuracy with chosen C", "svm_c.test_accuracy", "pct"),
                         ("best PCA accuracy", "pca.best_accuracy", "pct"))),
    # Chapter 2 — visualizing networks
    Q("2.Q1", "2.1", "★", "Compute saliency maps for the images and interpret them: where are they informative, "
      "where not?", ("saliency_maps",), (("mean concentration", "saliency_maps.mean_concentration", "pct"),)),
    Q("2.Q2", "2.1", "", "What are the limits of saliency maps?", ("saliency_limits",),
      (("rank correlation, randomized weights", "saliency_limits.random_correlation", "sig"),)),
    Q("2.Q3", "2.1", "", "Can saliency serve another purpose than explaining the network?", ("localization",),
      (("mean box area", "localization.mean_box_fraction", "pct"),)),
    Q("2.Q4", "2.1", "", "Do the saliency maps of a second network agree with the first?", ("saliency_compare",),
      (("map agreement", "saliency_compare.mean_correlation", "sig"),)),
    Q("2.Q5", "2.2", "★", "Build targeted adversarial examples with the naive gradient method and interpret them.",
      ("naive_attack",), (("success rate", "naive_attack.success_rate", "pct"), ("median L∞ (levels)",
                                                                          "naive_attack.median_linf", "sig"))),
    Q("2.Q6", "2.2", "", "What do adversarial examples mean in practice for convolutional networks?",
      ("attack_consequences",), (("transfer rate", "attack_consequences.transfer_rate", "pct"),
                                 ("survives JPEG", "attack_consequences.jpeg_survival", "pct"))),
    Q("2.Q7", "2.2", "", "What limits the naive method, and how do better attacks compare?", ("attack_comparison",),
      (("PGD success", "attack_comparison.best_pgd_success", "pct"),)),
    Q("2.Q8", "2.3", "★", "Generate images that the network scores highly for chosen classes; how sure is the "
      "network of them?", ("class_images", "class_images_regularized", "regularizer_ablation"),
      (("mean target probability", "class_images.mean_probability", "pct"),
       ("2nd network top-1, practical", "class_images_regularized.practical.other_top1", "pct"),
       ("2nd network top-1, regularized", "class_images_regularized.regularized.other_top1", "pct"))),
    Q("2.Q9", "2.3", "", "How do the number of steps, the step size and the regularization shape the images?",
      ("class_image_grids",), ()),
    Q("2.Q10", "2.3", "", "Start from a real image with its own class as target: what does that show?",
      ("class_from_image",), (("mean target probability", "class_from_image.mean_probability", "pct"),)),
    Q("2.Q11", "2.3", "", "How do the generated images look with the second network?", ("class_images_compare",),
      (("mean target probability", "class_images_compare.mean_probability", "pct"),)),
)

SECTIONS = {
    "1": "Transfer learning",
    "1.1": "The network's architecture",
    "1.2": "Transfer learning on 15 Scene",
    "1.2.1": "Approach",
    "1.2.2": "Feature extraction",
    "2": "Visualizing neural networks",
    "2.1": "Saliency maps",
    "2.2": "Adversarial examples",
    "2.3": "Class visualization",
}

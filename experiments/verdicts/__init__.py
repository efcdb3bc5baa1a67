"""The report's worded judgements: small pure functions of computed numbers, and the verdicts that apply them.

Each `@verdict` judges one experiment's result when the report is rendered; its cut-offs are settings of the
judged experiment's section (`--set class_images.certain_above=0.8`) that never enter a cache key, so changing
one renders the report again and computes nothing. These modules import neither torch nor the experiments.
"""

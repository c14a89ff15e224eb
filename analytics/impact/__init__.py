"""Before/after comparisons of a remediation: the statistics of an A/B evaluation on the same items.

Arm A holds a model's predictions before a remediation (trained on the labels as they were), arm B after; both
are scored on the same evaluation items against their trusted labels, so every comparison is paired.
``metrics`` computes one arm's accuracy, per-class and macro F1, and expected calibration error;
``paired`` the difference B − A with a paired bootstrap interval, McNemar's test on the items' correctness,
and the difference per subgroup with a test of whether the gain is the same in every subgroup.

Every function is pure (numpy and pandas in, dataclasses and DataFrames out): the store's tables, the engine
that reads them and the page are built on top.
"""

"""Verdicts and findings in words: the renderer layer over the engine's results.

A metric module computes and returns numbers and frozen result types; the modules here turn those results
into the sentences the pages and ``summary --json`` show. They compute nothing new, depend on the metric
modules, and the metric modules never depend on them.

- ``agreement``: the Agreement page's verdict on the headline coefficients, flagged annotators and cohorts.
- ``drift``: what changed over time (``what_changed``) and the reference of a distribution shift.
- ``overview``: the Overview's headline and the comparison window in a sentence.
- ``slices``: which slices are noisier than the rest, and how sure.
"""

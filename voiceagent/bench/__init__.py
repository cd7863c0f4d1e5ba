"""The latency benchmark: a generated corpus of caller turns through the real pipeline.

``voiceagent bench`` (also ``make bench`` and ``scripts/bench_latency.py``) runs
:func:`voiceagent.bench.runner.run_benchmark` and writes JSON, Markdown and PNG plots.
"""

"""The bundled 135M model, for tests that need a fast LLM rather than the default one.

The default language model (configs/pipeline.yaml) is Qwen2.5-Coder-1.5B; tests that start
an agent, a model server or a benchmark only to exercise the plumbing pin the 135M so that
they load and answer in a fraction of the time."""

FAST_LLM = "smollm2-135m-instruct"
FAST_LLM_MODELS = {"llm": {"model": FAST_LLM}}

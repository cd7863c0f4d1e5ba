"""Local LLM (llama.cpp): streamed tokens, grammar-constrained tool calls, cached prompt."""

"""The LLM seam on llama.cpp (llama-cpp-python): streamed tokens, JSON-schema grammars,
the model's own chat template, and the system prompt's KV state computed once.

One :class:`LlamaLLM` serves every call of the process. Every generation runs on one
thread the model owns (llama.cpp has one KV cache per context, so they take turns anyway):
its OpenMP team then stays the only one and stays hot. Called from each call's own worker
thread instead, llama.cpp made a team per thread; once there were more OpenMP threads than
cores, libgomp stopped spinning between operations and SmolLM2 fell from 84 to 29 tokens/s
on 2 cores. Tokens reach the caller's thread through a one-slot queue, so generation still
waits while the caller synthesizes a clause, as a plain generator would.

Each prompt starts with the system prompt, whose KV state is kept per distinct system
prompt: a generation whose prompt does not share the context's current prefix restores
that state instead of evaluating the system prompt again.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from voiceagent.config.pipeline import LLMConfig
from voiceagent.llm.protocol import ChatMessage
from voiceagent.models.paths import ModelNotInstalled, resolve_model
from voiceagent.speech.cpu import ModelThread

log = logging.getLogger("voiceagent.llm")

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class _PrefixState:
    tokens: tuple[int, ...]
    kv: bytes


class LlamaLLM:
    """Implements ``voiceagent.llm.protocol.LLM`` on a local GGUF model."""

    def __init__(self, config: LLMConfig, max_prefix_states: int = 4) -> None:
        import llama_cpp

        path = resolve_model(config.model, "llm")
        with open(path, "rb") as f:
            if f.read(4) != GGUF_MAGIC:
                raise ModelNotInstalled(
                    f"llm model {path} is not a GGUF file (corrupt or wrong format); "
                    "run `voiceagent models install` or point models.llm.model at a .gguf"
                )
        threads = config.n_threads or (os.cpu_count() or 2)
        try:
            self.llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=config.n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=config.n_gpu_layers,
                n_batch=256,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as err:
            raise ModelNotInstalled(
                f"llm model {path} could not be loaded ({err}); the file is corrupt or "
                "truncated: run `voiceagent models install`"
            ) from err
        self.config = config
        self.formatter = _chat_formatter(self.llama)
        self._thread = ModelThread(f"llm-{path.stem[:20]}")
        self._grammars: dict[str, Any] = {}
        self._prefixes: OrderedDict[tuple[int, ...], _PrefixState] = OrderedDict()
        self._max_prefixes = max_prefix_states
        self.reuse_prefix = True  # benchmarks switch it off to measure the gain

    # ------------------------------------------------------------------ LLM protocol

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 128,
        temperature: float | None = None,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        tokens, prefix, stops = self._prompt(messages)
        if len(tokens) + max_tokens > self.config.n_ctx:
            raise ValueError(
                f"prompt of {len(tokens)} tokens + {max_tokens} to generate exceeds "
                f"models.llm.n_ctx={self.config.n_ctx}; shorten the history or raise n_ctx"
            )
        grammar = self._grammar(json_schema) if json_schema is not None else None
        temp = self.config.temperature if temperature is None else temperature

        def generate() -> Iterator[str]:  # runs on the model's thread
            if self.reuse_prefix:
                self._ensure_prefix(prefix)
            else:
                self.llama.reset()
                self.llama._ctx.kv_cache_clear()  # noqa: SLF001 - measure a cold prompt
            pieces: Any = self.llama.create_completion(
                prompt=tokens,
                max_tokens=max_tokens,
                temperature=temp,
                stop=[*stops, *stop],
                grammar=grammar,
                stream=True,
            )
            try:
                for piece in pieces:
                    text = piece["choices"][0]["text"]
                    if text:
                        yield text
            finally:
                pieces.close()

        yield from self._thread.stream(generate)

    def close(self) -> None:
        """Stop the model's thread (after the generation in progress)."""
        self._thread.close()

    # ------------------------------------------------------------------ helpers

    def warm(self, system_prompt: str) -> float:
        """Evaluate and keep ``system_prompt``'s KV state now; returns the seconds it took."""
        start = time.perf_counter()
        _tokens, prefix, _ = self._prompt(
            [ChatMessage("system", system_prompt), ChatMessage("user", "hi")]
        )
        self._thread.run(lambda: self._ensure_prefix(prefix))
        return time.perf_counter() - start

    def _prompt(self, messages: Sequence[ChatMessage]) -> tuple[list[int], list[int], list[str]]:
        """Prompt tokens, the tokens of its system-prompt prefix, and the stop strings."""
        dicts = [{"role": m.role, "content": m.content} for m in messages]
        result = self.formatter(messages=dicts)
        tokens = self._tokenize(result.prompt, not result.added_special)
        prefix: list[int] = []
        if messages and messages[0].role == "system":
            system_text = self.formatter(messages=dicts[:1]).prompt
            # the system block renders the same alone and at the head of the conversation
            common = os.path.commonprefix([system_text, result.prompt])
            if common:
                head = self._tokenize(common, not result.added_special)
                n = 0
                for a, b in zip(head, tokens, strict=False):
                    if a != b:
                        break
                    n += 1
                prefix = tokens[: max(0, n - 1)]  # the last token may merge with what follows
        stops = [s for s in (result.stop if isinstance(result.stop, list) else [result.stop]) if s]
        return tokens, prefix, stops

    def _tokenize(self, text: str, add_bos: bool) -> list[int]:
        return list(self.llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True))

    def _ensure_prefix(self, prefix: list[int]) -> None:
        """Make the context start with ``prefix`` (evaluated once, restored afterwards)."""
        if len(prefix) < 2:
            return
        key = tuple(prefix)
        n = self.llama.n_tokens
        current = tuple(int(t) for t in self.llama.input_ids[: min(n, len(prefix))])
        if n >= len(prefix) and current == key:
            return  # the context already holds it; generate() reuses it by prefix match
        state = self._prefixes.get(key)
        if state is not None:
            self._restore(state)
            self._prefixes.move_to_end(key)
            return
        self.llama.reset()
        self.llama.eval(prefix)
        self._prefixes[key] = self._snapshot(key)
        while len(self._prefixes) > self._max_prefixes:
            self._prefixes.popitem(last=False)

    def _snapshot(self, key: tuple[int, ...]) -> _PrefixState:
        import llama_cpp

        ctx = self.llama._ctx.ctx  # noqa: SLF001
        size = llama_cpp.llama_state_get_size(ctx)
        buffer = (ctypes.c_uint8 * int(size))()
        used = llama_cpp.llama_state_get_data(ctx, buffer, size)
        return _PrefixState(key, bytes(buffer[: int(used)]))

    def _restore(self, state: _PrefixState) -> None:
        import llama_cpp

        ctx = self.llama._ctx.ctx  # noqa: SLF001
        data = (ctypes.c_uint8 * len(state.kv)).from_buffer_copy(state.kv)
        if llama_cpp.llama_state_set_data(ctx, data, len(state.kv)) != len(state.kv):
            self.llama.reset()
            return
        n = len(state.tokens)
        self.llama.input_ids[:n] = state.tokens
        self.llama.n_tokens = n
        self.llama._requires_eval = True  # noqa: SLF001 - logits are not part of the state

    def _grammar(self, schema: dict[str, Any]) -> Any:
        from llama_cpp import LlamaGrammar

        # The grammar emits properties in the schema's order (a model answers better when,
        # say, "tool" comes before its arguments), so only the cache key is sorted.
        key = json.dumps(schema, sort_keys=True)
        grammar = self._grammars.get(key)
        if grammar is None:
            grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
            self._grammars[key] = grammar
        return grammar


def _chat_formatter(llama: Any) -> Any:
    """The model's own chat template (GGUF ``tokenizer.chat_template``)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        raise ModelNotInstalled(
            "llm model has no tokenizer.chat_template in its GGUF metadata; use an instruct "
            "model that carries its chat template"
        )
    model = llama._model  # noqa: SLF001
    eos_id, bos_id = model.token_eos(), model.token_bos()
    eos = model.token_get_text(eos_id) if eos_id != -1 else ""
    bos = model.token_get_text(bos_id) if bos_id != -1 else ""
    return Jinja2ChatFormatter(
        template=template, eos_token=eos, bos_token=bos, stop_token_ids=[eos_id]
    )

"""Point a combination's models at the GPU when this machine and build can use one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voiceagent.bench.config import MatrixEntry
from voiceagent.config.pipeline import PipelineConfig


@dataclass(frozen=True)
class Placement:
    stt: str  # "cpu" | "cuda"
    llm: str
    reason: str


def cuda_available() -> tuple[bool, bool]:
    """(CTranslate2 sees a CUDA device, llama.cpp was built with GPU offload)."""
    try:
        import ctranslate2

        stt = ctranslate2.get_cuda_device_count() > 0
    except Exception:  # noqa: BLE001 - no CUDA runtime means CPU
        stt = False
    try:
        import llama_cpp

        llm = bool(llama_cpp.llama_supports_gpu_offload())
    except Exception:  # noqa: BLE001
        llm = False
    return stt, llm


def combo_config(
    base: PipelineConfig, entry: MatrixEntry, device: Literal["auto", "cpu", "cuda"]
) -> tuple[PipelineConfig, Placement]:
    """``base`` with the entry's models and, for ``auto``/``cuda``, CUDA where available."""
    models = base.models
    stt = models.stt.model_copy(update={"model": entry.stt or models.stt.model})
    llm = models.llm.model_copy(update={"model": entry.llm or models.llm.model})
    tts = models.tts.model_copy(update={"voice": entry.tts or models.tts.voice})
    stt_cuda, llm_cuda = cuda_available() if device != "cpu" else (False, False)
    if device == "cuda" and not (stt_cuda or llm_cuda):
        raise RuntimeError(
            "--device cuda: neither CTranslate2 nor llama.cpp can use CUDA here; check "
            "`nvidia-smi`, and rebuild llama-cpp-python with CMAKE_ARGS=-DGGML_CUDA=on"
        )
    if stt_cuda and stt.device in ("auto", "cuda"):
        compute = "int8_float16" if stt.compute_type == "int8" else stt.compute_type
        stt = stt.model_copy(update={"device": "cuda", "compute_type": compute})
    elif stt.device == "auto":
        stt = stt.model_copy(update={"device": "cpu"})
    if llm_cuda and llm.n_gpu_layers == 0:
        llm = llm.model_copy(update={"n_gpu_layers": -1})
    placement = Placement(
        stt=stt.device,
        llm="cuda" if llm_cuda and llm.n_gpu_layers != 0 else "cpu",
        reason="device=cpu asked"
        if device == "cpu"
        else f"ctranslate2 CUDA: {stt_cuda}, llama.cpp GPU offload: {llm_cuda}",
    )
    new_models = models.model_copy(update={"stt": stt, "llm": llm, "tts": tts})
    return base.model_copy(update={"models": new_models}), placement

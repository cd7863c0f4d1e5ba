import pytest

from voiceagent.bench import devices
from voiceagent.bench.config import MatrixEntry
from voiceagent.bench.sysinfo import ResourceMonitor, ResourceSample, system_info
from voiceagent.config.pipeline import PipelineConfig

pytestmark = pytest.mark.unit


def test_a_matrix_entry_replaces_only_the_models_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "cuda_available", lambda: (False, False))
    config, placement = devices.combo_config(PipelineConfig(), MatrixEntry(name="b",
                                             stt="whisper-base"), "auto")
    assert config.models.stt.model == "whisper-base"
    assert config.models.llm.model == PipelineConfig().models.llm.model
    assert (config.models.stt.device, config.models.llm.n_gpu_layers) == ("cpu", 0)
    assert (placement.stt, placement.llm) == ("cpu", "cpu")


def test_auto_puts_stt_and_llm_on_cuda_when_both_can_use_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(devices, "cuda_available", lambda: (True, True))
    config, placement = devices.combo_config(PipelineConfig(), MatrixEntry(name="g"), "auto")
    assert config.models.stt.device == "cuda"
    assert config.models.stt.compute_type == "int8_float16"
    assert config.models.llm.n_gpu_layers == -1
    assert (placement.stt, placement.llm) == ("cuda", "cuda")


def test_asking_for_cuda_without_it_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "cuda_available", lambda: (False, False))
    with pytest.raises(RuntimeError, match="GGML_CUDA=on"):
        devices.combo_config(PipelineConfig(), MatrixEntry(name="g"), "cuda")


def test_resource_window_summarises_only_the_samples_inside_it() -> None:
    monitor = ResourceMonitor()
    for t, cpu, rss in ((1.0, 50.0, 100.0), (2.0, 150.0, 300.0), (9.0, 999.0, 999.0)):
        monitor.samples.append(ResourceSample(t, cpu, 60.0, rss, None, None))
    window = monitor.window(0.5, 2.5)
    assert window is not None
    assert window.process_cpu_percent_mean == 100.0
    assert window.process_cpu_percent_max == 150.0
    assert window.rss_mib_max == 300.0
    assert window.gpu_util_percent_mean is None
    assert monitor.window(20.0, 30.0) is None


def test_system_info_names_cpu_memory_python_and_package_versions() -> None:
    info = system_info()
    assert info["cpu"] and info["cores_logical"] >= 1 and info["memory_gib"] > 0
    assert info["packages"]["numpy"]
    assert isinstance(info["gpus"], list)

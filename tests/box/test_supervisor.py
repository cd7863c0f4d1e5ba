"""What `voiceagent serve --workers N` starts and tells Kamailio (no process is started)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from voiceagent.box.supervisor import dispatcher_list, plan
from voiceagent.cli import main
from voiceagent.config.pipeline import PipelineConfig, SIPConfig

pytestmark = pytest.mark.unit


def box_args(workers: int, box_calls: int | None = None) -> argparse.Namespace:
    return argparse.Namespace(config=Path("pipeline.yaml"), workers=workers, box_calls=box_calls)


def test_the_box_starts_the_model_server_first_then_the_api_then_each_worker() -> None:
    config = PipelineConfig(sip=SIPConfig(port=5060, rtp_port=30000))
    children = plan(config, box_args(3), "http://127.0.0.1:8091", start_model_server=True)
    assert [c.name for c in children] == ["model-server", "api", "worker1", "worker2",
                                          "worker3"]
    workers = [c.args for c in children[2:]]
    assert [a[a.index("--sip-port") + 1] for a in workers] == ["5062", "5064", "5066"]
    assert [a[a.index("--rtp-port") + 1] for a in workers] == ["30000", "30200", "30400"]
    assert all(a[a.index("--box-calls") + 1] == "12" for a in workers)  # 3 x sip.max_calls
    assert all("--no-http" in a and "http://127.0.0.1:8091" in a for a in workers)
    assert "--no-sip" in children[1].args


def test_a_model_server_already_serving_the_box_is_used_not_started() -> None:
    children = plan(PipelineConfig(), box_args(2, box_calls=6), "http://127.0.0.1:9000",
                    start_model_server=False)
    assert [c.name for c in children] == ["api", "worker1", "worker2"]
    assert children[1].args[children[1].args.index("--box-calls") + 1] == "6"


def test_kamailios_dispatcher_list_names_every_worker_in_set_one() -> None:
    listing = dispatcher_list(PipelineConfig(sip=SIPConfig(port=5060)), 2)
    entries = [line for line in listing.splitlines() if not line.startswith("#")]
    assert entries == ["1 sip:127.0.0.1:5062", "1 sip:127.0.0.1:5064"]


@pytest.mark.parametrize("argv", [["--workers", "-1"], ["--workers", "2", "--box-calls", "0"]])
def test_a_box_of_no_workers_or_no_calls_is_refused_with_a_clear_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", *argv]) == 2
    assert "at least 1" in capsys.readouterr().err

"""ETLContext: phases, progress, memory, errors, checkpoints, listeners."""

from __future__ import annotations

from typing import Any

import pytest

from skype_etl_gui.etl.run.context import ETLContext, MemorySample, Progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def context(clock: FakeClock) -> ETLContext:
    return ETLContext(run_id="run1", memory_limit_mb=1024, progress_interval_s=0.5, clock=clock)


def test_phases_have_status_timing_and_counts(context: ETLContext, clock: FakeClock) -> None:
    events: list[dict[str, Any]] = []
    context.subscribe("phase", events.append)
    context.start_phase("extract")
    clock.now += 2.5
    phase = context.end_phase("extract")
    assert (phase.status, phase.duration_s) == ("completed", 2.5)
    context.start_phase("load")
    context.add_phase_items("load", 10, 0.75)
    context.add_phase_items("load", 5, 0.25)
    clock.now += 9
    phase = context.end_phase("load", "failed")
    assert (phase.status, phase.items, phase.duration_s) == ("failed", 15, 1.0)
    assert [(e["name"], e["status"]) for e in events] == [
        ("extract", "running"),
        ("extract", "completed"),
        ("load", "running"),
        ("load", "failed"),
    ]
    assert context.get_summary()["phases"]["load"]["items"] == 15


def test_progress_rate_eta_and_throttling(context: ETLContext, clock: FakeClock) -> None:
    heard: list[Progress] = []
    context.subscribe("progress", heard.append)
    clock.now += 10
    p = context.update_progress(bytes_read=250, bytes_total=1000, messages=500)
    assert (p.percent, p.rate, p.eta_s) == (25.0, 50.0, 30.0)
    clock.now += 0.1
    context.update_progress(bytes_read=260, messages=510)  # too soon: not sent
    assert len(heard) == 1
    context.update_progress(messages=520, force=True)
    clock.now += 0.6
    context.update_progress(messages=600)
    assert [h.messages for h in heard] == [500, 520, 600]
    heard[0].messages = -1  # listeners get copies
    assert context.progress.messages == 600


def test_memory_warning_near_limit(clock: FakeClock) -> None:
    context = ETLContext(memory_limit_mb=1, clock=clock)  # any process is near 1 MB
    samples: list[MemorySample] = []
    context.subscribe("memory", samples.append)
    sample = context.check_memory()
    context.check_memory()
    assert sample.near_limit and sample.rss_mb > 1 and sample.peak_mb >= sample.rss_mb
    assert len(samples) == 2
    warnings = [e for e in context.drain_errors() if e.error_type == "MemoryNearLimit"]
    assert len(warnings) == 1, "the warning is given once"


def test_memory_not_near_a_roomy_limit(context: ETLContext) -> None:
    assert not context.check_memory().near_limit
    assert context.drain_errors() == []


def test_errors_counted_streamed_and_redacted(context: ETLContext) -> None:
    heard: list[Any] = []
    context.subscribe("error", heard.append)
    context.record_error("transform", "warning", "X", "fixed", "c1", "m1", raw={"a": 1, "content": "hello world"})
    context.record_error("load", "fatal", "DatabaseError", "postgresql://me:hello@host/db said no")
    assert context.error_count == 2
    assert context.error_counts == {"warning": 1, "error": 0, "fatal": 1}
    drained = context.drain_errors()
    assert [e.message for e in drained] == ["fixed", "postgresql://me:***@host/db said no"]
    # the record as JSON, as it was in the export: a password that is a common word is not cut out of it
    assert drained[0].raw_snippet == '{"a": 1, "content": "hello world"}'
    assert context.drain_errors() == []
    assert len(heard) == 2
    with pytest.raises(ValueError):
        context.record_error("load", "catastrophic", "X", "no such severity")


def test_unsubscribe_and_unknown_event(context: ETLContext) -> None:
    heard: list[Any] = []
    unsubscribe = context.subscribe("checkpoint", heard.append)
    context.create_checkpoint(conversation_index=1, entries_done=2)
    unsubscribe()
    context.create_checkpoint(conversation_index=1, entries_done=3)
    assert len(heard) == 1
    with pytest.raises(ValueError):
        context.subscribe("nonsense", heard.append)


def test_checkpoint_round_trip(context: ETLContext) -> None:
    context.update_progress(messages=42, conversations=3)
    checkpoint = context.create_checkpoint(conversation_index=3, entries_done=7)
    assert checkpoint["run_id"] == "run1" and checkpoint["messages"] == 42
    other = ETLContext()
    other.restore_checkpoint(checkpoint)
    assert (other.progress.messages, other.progress.conversations) == (42, 3)
    assert other.get_summary()["checkpoint"]["entries_done"] == 7


def test_summary_holds_no_data(context: ETLContext) -> None:
    summary = context.get_summary()
    assert set(summary) >= {"run_id", "messages", "errors", "duration_s", "memory_peak_mb", "phases"}
    assert not any(isinstance(v, list) and len(v) > 100 for v in summary.values())


def test_redaction_touches_only_where_a_password_is_written() -> None:
    from skype_etl_gui.etl.redact import redact_text

    assert redact_text("host=db password='a b c' dbname=x") == "host=db password=*** dbname=x"
    assert redact_text("postgresql://me:s3cr%40t@h/db?sslmode=require") == "postgresql://me:***@h/db?sslmode=require"
    assert redact_text("say hello to password-less friends") == "say hello to password-less friends"

"""The record's access-log fields (a fixed order, nothing without a value), and its durations."""

from __future__ import annotations

import random

from domain.request_record import RequestRecord, milliseconds

ORDER = [
    "app", "frontdoor", "model", "stream", "provider", "upstream_model", "alias", "attempts", "failed_over",
    "stream_error", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "key", "cost_usd",
    "rejected", "trace_id",
]  # fmt: skip


def test_every_field_with_a_value_in_the_documented_order() -> None:
    record = RequestRecord("o", "openai")
    record.model, record.provider, record.upstream_model, record.alias = "m", "p", "um", "al"
    record.attempts.append({"provider": "p", "model": "um", "result": "ok", "ms": 1.0})
    record.stream, record.failed_over, record.stream_error = True, True, "timeout"
    record.input_tokens, record.output_tokens, record.cache_read_tokens, record.cache_write_tokens = 1, 2, 3, 4
    record.key, record.cost_usd, record.rejected, record.trace_id = "k", 0.5, "tpm", "t"
    fields: dict[str, object] = {"request_id": "r"}
    record.add_fields(fields)
    assert list(fields) == ["request_id", *ORDER]
    assert fields["attempts"] is record.attempts and fields["cost_usd"] == 0.5 and fields["stream"] is True


def test_none_and_empty_strings_are_left_out_zeros_and_false_are_kept() -> None:
    record = RequestRecord()
    record.model, record.provider = "", None
    record.input_tokens, record.output_tokens, record.cost_usd = 0, 0, 0.0
    fields: dict[str, object] = {}
    record.add_fields(fields)
    assert fields == {
        "stream": False, "attempts": [], "failed_over": False, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0,
    }  # fmt: skip


def test_milliseconds_are_what_round_to_two_places_gives() -> None:
    rng = random.Random(15)
    samples = [rng.uniform(0, 0.01) for _ in range(20_000)] + [rng.uniform(0, 600) for _ in range(20_000)]
    samples += [0.0, 0.000005, 0.000015, 0.000125, 0.001125, 0.0105, 1.0, 0.12345]  # ties and near-ties
    samples += [(k + h) / 100_000 for k in range(2000) for h in (0.0, 0.5, 0.4999999, 0.5000001)]  # hundredths, ties
    assert [milliseconds(s) for s in samples] == [round(s * 1000, 2) for s in samples]

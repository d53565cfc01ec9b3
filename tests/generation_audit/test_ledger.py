"""The hash-chained ledger: a clean history verifies; any edit to an entry, to a call it records or to a
stored output is found and named; a truncated tail is found against a head hash written down earlier;
concurrent writers never fork the chain."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from catalog.models import AudioAsset
from generation_audit import ledger
from generation_audit.models import GeneratedOutput, LedgerEntry, ServiceCall
from generation_audit.services import gateway
from generation_audit.services.base import GenerationRequest, ServiceError
from tests import factories
from tests.generation_audit.service_server import ServiceServer, licensed_service, send, wav

DAY = datetime.date(2026, 6, 1)


@dataclass
class History:
    """Three calls through the gateway: #1 refused; #2 allowed and #3 its output; #4 allowed and #5 its failure."""

    refused: ServiceCall
    answered: ServiceCall
    failed: ServiceCall
    output: GeneratedOutput


@pytest.fixture
def history(django_capture_on_commit_callbacks) -> Iterator[History]:  # type: ignore[no-untyped-def]
    server = ServiceServer()
    service = licensed_service(server.url, [factories.recording(1)])
    try:
        with pytest.raises(ServiceError):
            gateway.generate(service, GenerationRequest("a waltz"), territory="GB", at=datetime.date(2027, 2, 1))
        server.answer = send(wav(5))
        with django_capture_on_commit_callbacks(execute=False):  # the output's audit is not what is tested here
            output = gateway.generate(service, GenerationRequest("a waltz"), territory="GB", at=DAY)
        server.answer = send(b"no", "text/plain", status=503)
        with pytest.raises(ServiceError):
            gateway.generate(service, GenerationRequest("a march"), territory="GB", at=DAY)
    finally:
        server.close()
    refused, answered, failed = ServiceCall.objects.order_by("pk")
    yield History(refused, answered, failed, output)


def problems(**options: str) -> list[str]:
    return ledger.verify(**options).problems  # type: ignore[arg-type]


@pytest.mark.django_db
def test_a_clean_history_verifies(history) -> None:  # type: ignore[no-untyped-def]
    result = ledger.verify()

    assert result.ok and result.problems == []
    assert result.entries == 5
    assert result.head_hash == LedgerEntry.objects.get(seq=5).entry_hash
    assert list(LedgerEntry.objects.values_list("event", flat=True)) == ["call", "call", "output", "call", "failed"]


def _edit_payload(h: History) -> None:
    entry = LedgerEntry.objects.get(seq=2)
    LedgerEntry.objects.filter(pk=entry.pk).update(payload={**entry.payload, "territory": "US"})


def _delete_middle(h: History) -> None:
    LedgerEntry.objects.filter(seq=3).delete()


def _swap_seq(h: History) -> None:
    LedgerEntry.objects.filter(seq=2).update(seq=99)
    LedgerEntry.objects.filter(seq=3).update(seq=2)
    LedgerEntry.objects.filter(seq=99).update(seq=3)


def _edit_call_territory(h: History) -> None:
    ServiceCall.objects.filter(pk=h.answered.pk).update(territory="FR")


def _mark_refused_as_allowed(h: History) -> None:
    ServiceCall.objects.filter(pk=h.refused.pk).update(status=ServiceCall.Status.OK)


def _replace_file(h: History) -> None:
    Path(h.output.asset.file.path).write_bytes(wav(6))


def _delete_file(h: History) -> None:
    Path(h.output.asset.file.path).unlink()


def _point_output_at_other_audio(h: History) -> None:
    other = factories.audio_asset(AudioAsset.Kind.GENERATED)
    GeneratedOutput.objects.filter(pk=h.output.pk).update(asset=other)


def _erase_a_failure(h: History) -> None:
    LedgerEntry.objects.filter(seq=5).delete()  # the tail: the chain alone cannot see it, the row can


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("tamper", "found"),
    [
        (_edit_payload, "#2: its content does not match its hash (altered)"),
        (_delete_middle, "#4: expected entry #3 here (entries missing)"),
        (_swap_seq, "#2: its content does not match its hash (altered)"),
        (_edit_call_territory, "#2: call {answered}'s row no longer matches its ledger entry "
                               "(territory: 'GB' in the ledger, 'FR' in the row)"),
        (_mark_refused_as_allowed, "#1: call {refused}'s row no longer matches its ledger entry "
                                   "(allowed: False in the ledger, True in the row)"),
        (_replace_file, "#3: output {output}: its stored file"),
        (_delete_file, "#3: output {output}: its stored file audio/generated"),
        (_point_output_at_other_audio, "#3: output {output}: its asset"),
        (_erase_a_failure, "call {failed} has no 'failed' ledger entry"),
    ],
    ids=["payload", "delete-middle", "swap-seq", "call-territory", "call-status", "replace-file", "delete-file",
         "other-asset", "erase-failure"],
)  # fmt: skip
def test_tampering_is_found_and_names_the_entry(history, tamper: Callable[[History], None], found: str) -> None:  # type: ignore[no-untyped-def]
    tamper(history)
    expected = found.format(
        answered=history.answered.pk, refused=history.refused.pk, failed=history.failed.pk, output=history.output.pk
    )

    found_problems = problems()

    assert any(p.startswith(expected) for p in found_problems), found_problems


@pytest.mark.django_db
def test_a_replaced_file_is_reported_with_both_hashes(history) -> None:  # type: ignore[no-untyped-def]
    _replace_file(history)

    (problem,) = problems()

    assert history.output.asset.sha256 in problem and "(replaced)" in problem


@pytest.mark.django_db
def test_a_truncated_tail_is_found_only_against_the_expected_head(history) -> None:  # type: ignore[no-untyped-def]
    written_down = ledger.head().entry_hash  # type: ignore[union-attr]
    # Erase the last call completely: its entries and its row, so no row points at what is gone.
    LedgerEntry.objects.filter(call=history.failed).delete()
    ServiceCall.objects.filter(pk=history.failed.pk).delete()

    assert problems() == []
    call_command("verify_ledger", stdout=StringIO())  # passes: a shorter chain is still a valid chain
    assert problems(expect_head=written_down) == [
        f"the expected head {written_down} is not in the chain (entries removed or rewritten)"
    ]
    with pytest.raises(CommandError):
        call_command("verify_ledger", "--expect-head", written_down, stdout=StringIO())


@pytest.mark.django_db
def test_verify_ledger_prints_the_head_and_passes_on_a_clean_ledger(history) -> None:  # type: ignore[no-untyped-def]
    out = StringIO()
    head = ledger.head().entry_hash  # type: ignore[union-attr]

    call_command("verify_ledger", "--expect-head", head, stdout=out)

    assert f"Entries checked: 5\nHead hash: {head}\nThe ledger is intact." in out.getvalue()


@pytest.mark.django_db
def test_verify_ledger_fails_and_lists_each_problem(history) -> None:  # type: ignore[no-untyped-def]
    _edit_call_territory(history)
    written_down = ledger.head().entry_hash  # type: ignore[union-attr]
    LedgerEntry.objects.filter(call=history.failed).delete()
    ServiceCall.objects.filter(pk=history.failed.pk).delete()
    out = StringIO()

    with pytest.raises(CommandError, match=r"tampered with: 2 problem\(s\)"):
        call_command("verify_ledger", "--expect-head", written_down, stdout=out)

    printed = out.getvalue()
    assert "Entries checked: 3" in printed
    assert f"#2: call {history.answered.pk}'s row no longer matches" in printed
    assert f"the expected head {written_down} is not in the chain" in printed


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_never_fork_the_chain() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite lets one writer at a time in, so there is no race to lose")
    start, errors = threading.Barrier(2), []

    def writer(name: str) -> None:
        try:
            start.wait()
            for i in range(40):
                ledger.append("note", {"writer": name, "i": i})
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    links = list(LedgerEntry.objects.order_by("seq").values_list("seq", "prev_hash"))
    assert [seq for seq, _ in links] == list(range(1, 81))
    assert len({prev for _, prev in links}) == 80  # no two entries chain from the same one
    result = ledger.verify()
    assert result.ok and result.entries == 80

"""Royalty runs: a month's income through claims, conflicts and splits, to the cent, and released later."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from catalog.models import Label
from rights import actions, disputes, exports, holdings, licensing, runs, splits, usage
from rights.models import Claim, RoyaltyRun, Statement, StatementLine
from tests import factories

pytestmark = pytest.mark.django_db

OCT = datetime.datetime(2026, 10, 5, 9, 0, tzinfo=datetime.UTC)
NOV = datetime.datetime(2026, 11, 10, 9, 0, tzinfo=datetime.UTC)


def at(moment: datetime.datetime):  # type: ignore[no-untyped-def]
    return mock.patch("django.utils.timezone.now", return_value=moment)


class World:
    """The catalogue, parties and claims of the October scenario."""

    def __init__(self) -> None:
        label = Label.objects.create(name="Test Label")
        self.label = factories.party("Harbour Records", label=label)
        self.artist = factories.party("Ada (artist)", kind="artist")
        self.producer = factories.party("Pat (producer)", kind="artist")
        self.rival = factories.party("Rival Records")
        self.uploader = factories.party("Vlog channel", kind="channel")
        self.r1, self.r2, self.r3, self.r4 = (factories.recording(i, label=label) for i in (1, 2, 3, 4))
        splits.set_split(
            recording=self.r1,
            shares=[(self.label, "50", "label"), (self.artist, "30", "artist"), (self.producer, "20", "producer")],
        )
        splits.set_split(recording=self.r3, shares=[(self.label, "70", "label"), (self.artist, "30", "artist")])
        with at(OCT):
            holdings.add_ownership(
                owner=self.label, recording=self.r2, right="master", territories=["WORLD"], share="100"
            )
            self.rival_row = holdings.add_ownership(
                owner=self.rival, recording=self.r2, right="master", territories=["DE"], share="40"
            )
            self.active = self._claim(self.r3)
            self.disputed = self._claim(self.r3)
            user = get_user_model().objects.create_user("vlogger", password="x-not-used-1")
            self.uploader.accounts.add(user)
            disputes.dispute_claim(self.disputed, reason="original", evidence="My own recording.", actor=user)

    def _claim(self, recording) -> Claim:  # type: ignore[no-untyped-def]
        claim = actions.claim_match(factories.match(recording))
        assert claim is not None
        return actions.approve_claim(claim, None)

    def csv(self) -> bytes:
        rows = [
            "isrc,territory,use,quantity,amount,user,claim_id",
            "GBTST2600001,GB,streaming,1000,10.00,u1,",
            "GBTST2600001,US,streaming,1,0.01,u2,",
            "GBTST2600002,DE,streaming,100,5.00,u1,",
            "GBTST2600002,GB,streaming,100,4.00,u3,",
            f"GBTST2600003,US,ugc,50,0.50,u4,{self.active.pk}",
            f"GBTST2600003,US,ugc,20,0.20,u5,{self.disputed.pk}",
            "GBTST2600004,FR,streaming,10,1.00,u1,",
        ]
        return ("\n".join(rows) + "\n").encode()


@pytest.fixture
def world() -> World:
    w = World()
    usage.import_csv(w.csv(), period="2026-10", currency="EUR")
    return w


def paid(run: RoyaltyRun) -> dict[str, int]:
    return {s.party.name: s.paid_minor for s in Statement.objects.filter(run=run).select_related("party")}


def held(run: RoyaltyRun) -> dict[str, int]:
    found: dict[str, int] = {}
    for hold, amount in StatementLine.objects.filter(run=run, kind="held").values_list("hold", "amount_minor"):
        found[hold] = found.get(hold, 0) + amount
    return found


def test_a_month_is_allocated_to_the_cent_through_claims_conflicts_and_splits(world: World) -> None:
    run = runs.run_royalties("2026-10")

    assert run.status == "done" and run.usage_lines == 7
    # R1: 10.00 split 50/30/20, and 0.01 whose single cent goes to the largest remainder (the label).
    # R2: DE 5.00 has 40 % held for the conflict, the label gets its undisputed 3.00; GB 4.00 to the label.
    # R3: the active claim's 0.50 split 70/30; the disputed claim's 0.20 is in escrow.
    # R4: no split, no ownership: its label's party.
    assert paid(run) == {
        "Harbour Records": 500 + 1 + 300 + 400 + 35 + 100,
        "Ada (artist)": 300 + 15,
        "Pat (producer)": 200,
    }
    assert held(run) == {"conflict": 200, "escrow": 20}
    assert run.totals["EUR"] == {"paid": 1851, "held": 220}
    assert sum(run.totals["EUR"].values()) == 2071  # every cent of the 20.71 reported


def test_each_statement_amount_traces_to_its_usage_line_claim_and_split(world: World) -> None:
    run = runs.run_royalties("2026-10")

    line = StatementLine.objects.get(run=run, claim=world.active)
    assert line.parts() == [(world.label.pk, 35, "70.0000"), (world.artist.pk, 15, "30.0000")]
    assert (line.amount_minor, line.split.recording, line.usage_line.row_number) == (50, world.r3, 6)  # type: ignore[union-attr]
    escrow = StatementLine.objects.get(run=run, hold="escrow")
    assert (escrow.parties, escrow.claim, escrow.usage_line.territory) == ([], world.disputed, "US")  # type: ignore[union-attr]
    conflict = StatementLine.objects.get(run=run, hold="conflict")
    assert conflict.conflict.total_share == Decimal("140.0000")  # type: ignore[union-attr]


def test_held_money_is_paid_to_the_winner_in_the_month_the_cause_is_settled(world: World) -> None:
    october = runs.run_royalties("2026-10")
    staff = get_user_model().objects.create_user("staff", password="x-not-used-2")
    with at(NOV):
        disputes.release_disputed_claim(world.disputed, staff, "It is the uploader's own recording.")
        holdings.remove_ownership(world.rival_row, actor=staff, note="Rival withdrew its DE claim.")

    november = runs.run_royalties("2026-11")
    december = runs.run_royalties("2026-12")

    assert november.usage_lines == 0
    assert paid(november) == {"Vlog channel": 20, "Harbour Records": 200}
    sources = set(StatementLine.objects.filter(run=november).values_list("source", flat=True))
    assert sources == {"escrow_release", "conflict_release"}
    assert paid(december) == {}  # released once, not again
    assert paid(october)["Harbour Records"] == 1336  # October itself is unchanged


def test_a_claimant_who_wins_the_dispute_gets_the_escrow_through_the_split(world: World) -> None:
    runs.run_royalties("2026-10")
    staff = get_user_model().objects.create_user("staff", password="x-not-used-2")
    with at(NOV):
        disputes.uphold_dispute(world.disputed, staff, "Our master.")
    with at(NOV + datetime.timedelta(days=31)):  # nobody appealed: reinstated on 11 December
        disputes.enforce_timers()

    assert paid(runs.run_royalties("2026-11")) == {}  # still disputed at the end of November: still held
    december = runs.run_royalties("2026-12")
    assert paid(december) == {"Harbour Records": 14, "Ada (artist)": 6}  # 0.20 split 70/30


def test_a_run_is_deterministic_and_an_auditor_can_re_run_it(world: World) -> None:
    first = runs.run_royalties("2026-10")
    second = runs.run_royalties("2026-10")

    first.refresh_from_db()
    assert first.status == "superseded" and second.status == "done"
    assert first.result_digest == second.result_digest and first.input_digest == second.input_digest
    assert runs.verify_run(second) == (True, second.result_digest)

    out = io.StringIO()
    call_command("run_royalties", "--period", "2026-10", "--verify", stdout=out)
    assert f"Run {second.pk} reproduces exactly" in out.getvalue()


def test_an_auditor_re_run_detects_a_changed_input(world: World) -> None:
    run = runs.run_royalties("2026-10")
    share = world.r1.splits.get().shares.get(party=world.producer)
    type(share).objects.filter(pk=share.pk).update(share=Decimal("19"))  # tampering outside the actions

    with pytest.raises(CommandError, match="does NOT reproduce"):
        call_command("run_royalties", "--period", "2026-10", "--verify", stdout=io.StringIO())
    assert runs.verify_run(run)[0] is False


def test_a_pro_rata_pool_is_shared_by_plays() -> None:
    w = World()
    rows = "isrc,territory,quantity\nGBTST2600001,GB,300\nGBTST2600004,GB,100\n"
    usage.import_csv(rows.encode(), period="2026-10", currency="EUR", pool_amount="100.00")

    run = runs.run_royalties("2026-10", "pro_rata")

    # 75.00 for R1 (split 50/30/20), 25.00 for R4 (its label).
    assert paid(run) == {"Harbour Records": 3750 + 2500, "Ada (artist)": 2250, "Pat (producer)": 1500}
    assert w.label.statements.get(run=run).line_count == 2


def test_a_user_centric_pool_shares_each_users_payment_over_what_they_played() -> None:
    World()
    rows = "isrc,territory,quantity,user\nGBTST2600001,GB,1000,heavy\nGBTST2600004,GB,1,light\n"
    usage.import_csv(rows.encode(), period="2026-10", currency="EUR", pool_amount="10.00")

    pro_rata = paid(runs.run_royalties("2026-10", "pro_rata"))
    user_centric = paid(runs.run_royalties("2026-10", "user_centric"))

    # Pro-rata: R1 999 cents (split 499/300/200 by largest remainder), R4 1 cent.
    assert pro_rata == {"Harbour Records": 499 + 1, "Ada (artist)": 300, "Pat (producer)": 200}
    assert user_centric == {"Harbour Records": 250 + 500, "Ada (artist)": 150, "Pat (producer)": 100}


def test_licence_fee_terms_shape_the_income() -> None:
    w = World()
    d = datetime.date
    shared = licensing.grant_licence(
        reference="REV-60",
        licensor=w.label,
        licensee=w.uploader,
        uses=["streaming"],
        territories=["WORLD"],
        start_date=d(2026, 1, 1),
        fee_model="revenue_share",
        revenue_share="60",
        recordings=[w.r1],
    )
    licensing.grant_licence(
        reference="SYNC-FLAT",
        licensor=w.label,
        licensee=w.uploader,
        uses=["sync"],
        territories=["WORLD"],
        start_date=d(2026, 10, 15),
        fee_model="flat",
        flat_fee="100.00",
        recordings=[w.r1],
    )
    licensing.grant_licence(
        reference="MG",
        licensor=w.label,
        licensee=w.rival,
        uses=["streaming"],
        territories=["GB"],
        start_date=d(2026, 1, 1),
        fee_model="minimum_guarantee",
        revenue_share="50",
        minimum_guarantee="5.00",
        recordings=[w.r4],
    )
    rows = (
        "isrc,territory,quantity,amount,licence\n"
        "GBTST2600001,GB,10,10.00,REV-60\n"
        "GBTST2600004,GB,10,2.00,MG\n"
        "GBTST2600004,FR,10,2.00,MG\n"
    )
    usage.import_csv(rows.encode(), period="2026-10", currency="EUR")

    run = runs.run_royalties("2026-10")

    # REV-60: 60 % of 10.00 = 6.00 over the R1 split; flat fee 100.00 over the R1 split;
    # MG: 50 % of 4.00 = 2.00 earned, topped up by 3.00 to the 5.00 guarantee, all to R4's label.
    assert paid(run) == {
        "Harbour Records": 300 + 5000 + 200 + 300,
        "Ada (artist)": 180 + 3000,
        "Pat (producer)": 120 + 2000,
    }
    assert set(StatementLine.objects.filter(run=run).values_list("source", flat=True)) == {
        "usage",
        "flat_fee",
        "minimum_guarantee",
    }
    # The MG licence covers GB only: the FR line is a finding, not silently allowed.
    assert run.totals["findings"] == [
        f"usage line {w.r4.usage_lines.get(territory='FR').pk}: licence MG does not cover territory FR"
    ]
    assert shared.usage_lines.count() == 1


def test_statements_export_as_csv_and_as_a_dsr_file_the_importer_reads_back(world: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = runs.run_royalties("2026-10")

    text = "".join(exports.statement_csv(run, world.artist, paid_only=True))
    lines = text.splitlines()
    assert lines[0].startswith("run,period,party_id,party,kind,hold,source,currency,amount,amount_minor")
    assert len(lines) == 3 and "GB-TST-26-00001" in text and ",3.00,300," in text

    dsr_text = "".join(exports.statement_dsr(run, world.label))
    assert dsr_text.startswith("HEAD\t1.4\tBasicAudio") and dsr_text.rstrip().split("\n")[-1].startswith("FOOT")
    back = usage.import_dsr(dsr_text.encode())
    assert back.total_amount == Decimal("13.36") and back.currency == "EUR"

    out = io.StringIO()
    call_command("export_statements", "--period", "2026-10", "--out", str(tmp_path), stdout=out)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert f"202610-run{run.pk}-party{world.artist.pk}.csv" in names
    assert f"202610-run{run.pk}-party{world.label.pk}.dsr.tsv" in names
    assert f"202610-run{run.pk}-all-lines.csv" in names


def test_the_command_prints_the_run_and_refuses_a_bad_period(world: World) -> None:
    out = io.StringIO()
    call_command("run_royalties", "--period", "2026-10", stdout=out)

    assert "7 usage lines" in out.getvalue()
    assert "EUR: held 2.20, paid 18.51" in out.getvalue()
    with pytest.raises(CommandError, match="period must be YYYY-MM"):
        call_command("run_royalties", "--period", "October")


def test_a_failed_run_leaves_its_error_and_no_lines(world: World) -> None:
    with mock.patch("rights.runs.release_holds", side_effect=RuntimeError("disk full")), pytest.raises(RuntimeError):
        runs.run_royalties("2026-10")

    run = RoyaltyRun.objects.get()
    assert (run.status, run.error) == ("failed", "disk full")
    assert not StatementLine.objects.exists()


def test_the_vectorised_path_writes_the_same_statement_lines_as_line_by_line_routing(world: World) -> None:
    fast = runs.run_royalties("2026-10")
    with mock.patch("rights.runs._uniform", return_value=None):
        slow = runs.run_royalties("2026-10")

    assert fast.result_digest == slow.result_digest
    assert paid(fast) == paid(slow)

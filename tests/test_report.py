"""What a chapter says: verdicts, the measured-vs-paper FID table and the HTML tables, on hand-made
inputs (a flipped comparison here would flip a verdict in the book)."""
import numpy as np
import pytest

from artlib.repro import report as R

OURS = {"ART-RL": {5: 3.0, 9: 2.0, 17: 1.9}, "EDM (rho=7)": {5: 4.0, 9: 1.5, 17: 1.9}, "Uniform": {5: 9.0, 9: 5.0}}
PAPER = {"ART-RL": {5: 30.0, 9: 4.1}, "EDM": {5: 40.0, 9: 4.0}}


def test_status_is_reproduced_only_when_every_check_holds():
    assert R.status_for([True, True]) == "reproduced"
    assert R.status_for([True, False, True]) == "partly reproduced"
    assert R.status_for([False, False]) == "not reproduced"
    assert R.status_for(iter([True, False])) == "partly reproduced"          # a generator is read once


def test_fid_checks_ask_whether_the_learner_is_lower_per_shared_nfe():
    assert R.fid_checks(OURS) == [True, False, False]                       # 3 < 4; 2 > 1.5; a tie is not a win
    assert R.fid_checks(OURS, learner="Uniform") == [False, False]
    assert R.fid_checks(OURS, learner="EDM (rho=7)", against="Uniform") == [True, True]


def test_fid_summary_names_each_cell_and_the_image_count():
    assert R.fid_summary(OURS, 50000) == ("ART-RL 3.00 vs 4.00 at NFE 5, 2.00 vs 1.50 at NFE 9, "
                                          "1.90 vs 1.90 at NFE 17 (50,000 images per cell).")


def test_fid_comparison_puts_the_papers_value_beside_ours_and_a_verdict_row():
    rows = R.fid_comparison(OURS, PAPER, [5, 9, 17])
    assert rows["ART-RL"] == {5: "3.00 (paper 30.00)", 9: "2.00 (paper 4.10)", 17: "1.90"}
    assert rows["EDM (rho=7)"] == {5: "4.00 (paper 40.00)", 9: "1.50 (paper 4.00)", 17: "1.90"}
    assert rows["Uniform"] == {5: "9.00", 9: "5.00", 17: None}              # no paper row under that name
    assert rows["ART-RL better than EDM (rho=7)?"] == {5: "yes (paper: yes)", 9: "no (paper: no)", 17: "no"}
    # without the learner or the baseline there is no verdict row
    assert list(R.fid_comparison({"Uniform": OURS["Uniform"]}, PAPER, [5])) == ["Uniform"]


def test_table_html_cell_by_cell():
    html = R.table_html({"a<b": {1: 0.123456, 2: None}, "c": {1: "x&y", 2: float("nan")}}, [1, 2],
                        fmt="{:.2f}", header="K", caption="C & D")
    assert html == ('<table class="table artlib-table"><caption>C &amp; D</caption>'
                    "<thead><tr><th>K</th><th>1</th><th>2</th></tr></thead><tbody>"
                    "<tr><th>a&lt;b</th><td>0.12</td><td>–</td></tr>"
                    "<tr><th>c</th><td>x&amp;y</td><td>–</td></tr></tbody></table>")
    assert "<td>3</td>" in R.table_html({"r": {0: np.float32(3.0)}}, [0], fmt="{:.0f}")


@pytest.mark.parametrize("status,kind,source", [("reproduced", "tip", "Paper"), ("partly reproduced", "warning", "Paper"),
                                                ("not reproduced", "danger", "Paper"), ("met", "tip", "Beyond the paper"),
                                                ("partly met", "warning", "Beyond the paper"),
                                                ("not met", "danger", "Beyond the paper"), ("not run", "note", "Beyond the paper")])
def test_verdict_box_colour_and_source_follow_the_status(status, kind, source):
    fields = {"status": status, "claim": "c<1", "criterion": "all < 1", "measured": "m", "command": "run",
              "model": "digits", "learner": "ψ clock"}
    box = R.verdict_html(fields)
    assert box.startswith(f'<div class="admonition {kind} artlib-verdict">')
    assert f"Verdict: {status} (digits)</p>" in box and f"<b>{source}:</b> c&lt;1" in box
    assert "<b>Criterion:</b> all &lt; 1" in box and "<b>Learner:</b> ψ clock" in box
    assert "Learner" not in R.verdict_html({**fields, "learner": ""})


def test_status_words_say_whose_claim_it_is():
    assert [R.status_for(c) for c in ([True], [True, False], [False])] == list(R.PAPER_STATUSES)
    assert [R.status_for(c, beyond=True) for c in ([True], [True, False], [False])] == list(R.BEYOND_STATUSES)
    assert R.cells_missing({"NFE 3": 1.36, "NFE 5": 0.9, "NFE 9": 1.02}, lambda v: v < 1) == "NFE 3 (1.36), NFE 9 (1.02)"
    assert R.cells_missing({"a": 0.5}, lambda v: v < 1) == "none"


def test_verdict_refuses_an_unknown_status_and_carries_its_fields(monkeypatch):
    shown = []
    import IPython.display
    monkeypatch.setattr(IPython.display, "display", lambda obj, metadata=None: shown.append(metadata))
    with pytest.raises(ValueError, match="status must be one of"):
        R.verdict("x", claim="c", criterion="r", measured="m", status="done", key="k")
    R.verdict("leaderboard", claim="c", criterion="r", measured="m.", status="partly reproduced", key="k", profile="paper",
              measured_fid="ART-RL 2.00 vs 1.50")
    f = shown[-1][R.VERDICT_KEY]
    assert f["measured"] == "m. FID, the paper's metric: ART-RL 2.00 vs 1.50"
    assert f["command"] == "python -m artlib reproduce --profile paper --only leaderboard"
    assert (f["chapter"], f["status"], f["key"]) == ("leaderboard", "partly reproduced", "k")


def test_colours_come_from_the_longest_matching_prefix():
    assert R.colour("ART-RL (t clock, K=10)") == R.COLOURS["ART-RL (t clock"]
    assert R.colour("ART-RL") == R.COLOURS["ART-RL"]
    assert R.colour("AYS closed form") == R.COLOURS["AYS closed"] != R.COLOURS["AYS"]
    assert R.colour("something else") == "#17becf"

"""Complexity counting (rdbench.complexity) against the TreeNet paper's Tables II and III."""

from __future__ import annotations

import csv

import pytest
import torch

from rdbench import complexity as cx

torch.set_num_threads(1)


def kmac(result: cx.Complexity, name) -> float:
    return result.kmac_per_px(name)


@pytest.fixture(scope="module")
def treenet() -> cx.Complexity:
    # kMAC/px does not depend on the size for multiples of 64 (only the 1x1 global-attention convs and
    # BatchNorms add a constant, < 0.0001 kMAC/px here), so a small input gives the 768x512 numbers.
    return cx.count("treenet", 256, 256, counters=("torchinfo",))


def test_treenet_matches_table3(treenet):
    assert kmac(treenet, "g_a") == pytest.approx(6.86, abs=0.02)
    assert kmac(treenet, "g_s") == pytest.approx(49.89, abs=0.05)
    assert treenet.encoder() == pytest.approx(9.33, abs=0.05)
    assert treenet.decoder() == pytest.approx(51.98, abs=0.05)
    assert treenet.modules["g_a"].params == 309_952 and round(309_952 / 1e6, 2) == 0.31
    assert treenet.modules["g_s"].params == 858_915 and round(858_915 / 1e6, 2) == 0.86
    expected = {"h_a": (0.370, 184_960), "h_s": (0.857, 683_840), "h_ep": (0.442, 113_092),
                "context": (0.801, 205_056)}
    for name, (k, params) in expected.items():
        assert treenet.modules[name].instances == 4
        assert kmac(treenet, name) == pytest.approx(k, abs=0.001), name
        assert treenet.modules[name].params == params, name
    assert treenet.total_params == sum(p.numel() for p in cx.get_architecture("treenet").build().parameters())


def test_factorized_prior_reproduces_paper_table2():
    result = cx.count("bmshj2018-factorized", counters=("torchinfo",))  # 768x512, as the paper
    assert (result.height, result.width) == (512, 768)
    assert round(result.encoder(), 2) == 36.84
    assert round(result.decoder(), 2) == 147.25


def test_cross_check_counters_disagree_as_documented():
    result = cx.count("treenet", 128, 128)
    assert not result.errors
    assert result.kmac_per_px("context", "ptflops") == 0  # masked convolution skipped
    assert kmac(result, "context") == pytest.approx(0.801, abs=0.001)
    # fvcore counts GDN's convolution (g_a has 15 GDNs) and drops biases
    assert result.kmac_per_px("g_a", "fvcore") > kmac(result, "g_a") + 0.3
    assert result.kmac_per_px("h_ep", "fvcore") < kmac(result, "h_ep")


def test_options_change_the_model_and_drop_paper_numbers():
    result = cx.count("treenet", 128, 128, counters=("torchinfo",), options={"gs_layout": "pyramid321"})
    assert "gs_layout=pyramid321" in result.config and not result.is_default
    assert result.modules["g_s"].params == 737_964
    assert kmac(result, "g_s") == pytest.approx(13.54, abs=0.01)
    rows = {r["module"]: r for r in cx.table3(result, ("torchinfo",)).rows}
    assert rows["g_a"]["paper_kmac_px"] is None


def test_bad_requests_name_the_fix():
    with pytest.raises(ValueError, match="multiples of 64"):
        cx.count("treenet", 500, 768)
    with pytest.raises(ValueError, match="choose one of"):
        cx.get_architecture("treenet2")
    with pytest.raises(ValueError, match="choose from"):
        cx.count("treenet", 64, 64, counters=("thop",))


def test_cli_writes_tables_with_separate_paper_columns(tmp_path):
    from rdbench.cli import main

    out = tmp_path / "complexity"
    assert main(["complexity", "treenet", "--height", "128", "--width", "128", "--counters", "torchinfo",
                 "--out", str(out)]) == 0
    for n in (2, 3):
        for ext in ("csv", "md", "tex"):
            assert (out / f"table{n}.{ext}").stat().st_size > 200
    with open(out / "table2.csv", newline="") as f:
        t2 = {r["architecture"]: r for r in csv.DictReader(f)}
    assert list(t2) == [a for a, arch in cx.ARCHITECTURES.items() if not arch.on_request]  # dpict/ctc/atc: named
    assert float(t2["bmshj2018-factorized"]["encoder_kmac_px_torchinfo"]) == pytest.approx(36.84, abs=0.005)
    assert t2["bmshj2018-factorized"]["paper_decoder_kmac_px"] == "147.250000"
    assert t2["cheng2020-anchor"]["paper_encoder_kmac_px"] == ""  # no sourced number: left empty
    assert float(t2["treenet"]["decoder_kmac_px_torchinfo"]) == pytest.approx(51.98, abs=0.01)
    assert float(t2["treenet"]["paper_decoder_kmac_px"]) == 51.08  # the paper's, in its own column
    with open(out / "table3.csv", newline="") as f:
        t3 = {r["module"]: r for r in csv.DictReader(f)}
    assert int(t3["g_a"]["params"]) == 309_952 and float(t3["h_ep"]["paper_kmac_px"]) == 0.80
    assert int(t3["total"]["params"]) == sum(int(t3[m]["params"]) for m in
                                             ("g_a", "g_s", "h_a", "h_s", "h_ep", "context", "entropy models"))
    md = (out / "table3.md").read_text()
    assert "disagree by design" in md and "| g_a | 1 | 6.86 | 0.310 |" in md
    tex = (out / "table2.tex").read_text()
    assert r"\begin{tabular}" in tex and r"bmshj2018-factorized & FactorizedPrior(N=128, M=192)" in tex
    assert "g\\_a" in (out / "table3.tex").read_text()


def test_time_columns_in_every_format_and_the_report(tmp_path, capsys):
    from rdbench import timing
    from rdbench.cli import main
    from rdbench.report.tables import complexity_tables, rows_to_html

    out = tmp_path / "complexity"
    assert main(["complexity", "treenet", "--height", "128", "--width", "128", "--counters", "torchinfo",
                 "--out", str(out), "--time", "--repeats", "1", "--threads", "1", "2"]) == 0
    with open(out / "table2.csv", newline="") as f:
        reader = csv.DictReader(f)
        t2 = {r["architecture"]: r for r in reader}
    head = reader.fieldnames
    # every learned architecture of Table II is timed; dpict/ctc/atc enter only when named
    assert list(t2) == [a for a, arch in cx.ARCHITECTURES.items() if not arch.on_request]
    for row in t2.values():
        for key in ("encode_ms/MP_1_thread", "decode_ms/MP_1_thread", "encode_ms/MP_2_threads",
                    "decode_ms/MP_2_threads", "encode_gmac_s_1_thread", "decode_gmac_s_1_thread"):
            assert float(row[key]) > 0, (row["architecture"], key)
        # GMAC/s is the row's own MACs over its own time: 1e3 kMAC/px / (ms/MP)
        assert float(row["decode_gmac_s_1_thread"]) == pytest.approx(
            1e3 * float(row["decoder_kmac_px_torchinfo"]) / float(row["decode_ms/MP_1_thread"]), rel=1e-5)
        assert f"torch {torch.__version__}" in row["timed_on"] and row["time_repeats"] == "1"
    # side by side: each part's kMAC/px column is followed by its time columns
    i = head.index("decoder_kmac_px_torchinfo")
    assert head[i + 1:i + 3] == ["decode_ms/MP_1_thread", "decode_ms/MP_2_threads"]
    md, tex = (out / "table2.md").read_text(), (out / "table2.tex").read_text()
    assert "| decoder kMAC/px (torchinfo) | decode ms/MP (1 thread) | decode ms/MP (2 threads) |" in md
    assert f"torch {torch.__version__}" in md and timing.cpu_model() in md and "median of 1" in md
    assert "decode ms/MP (1 thread)" in tex and "decode GMAC/s (torchinfo, 1 thread)" in tex
    assert timing.cpu_model() in tex and "timed on" not in md  # the host is in the notes, not a column
    html = "".join(rows_to_html(t, r) for t, r in complexity_tables(tmp_path).items())  # what the report shows
    assert "<th>decode ms/MP 1 thread</th>" in html and "<th>decoder kMAC/px torchinfo</th>" in html
    assert "<th>decode GMAC/s 1 thread</th>" in html
    assert f"median of 1 runs on {timing.cpu_model()}" in html and f"torch {torch.__version__}" in html
    assert main(["complexity", "treenet", "--time"]) != 0
    assert "add --out" in capsys.readouterr().err


class _Clock:
    """A stand-in for the time module: the clocks move only when the fake codec says it works."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now

    process_time = perf_counter


class _Sleeper(torch.nn.Module):
    """A 'codec' whose compress takes 20 ms and decompress 40 ms of the fake clock (no real sleep: a
    loaded machine must not fail the test): checks the arithmetic of the timing, not the machine."""

    def __init__(self, clock):
        super().__init__()
        self.clock = clock

    def compress(self, x):
        self.clock.now += 0.02
        return {"strings": [], "shape": None}

    def decompress(self, strings, shape):
        self.clock.now += 0.04
        return {"x_hat": None}


def test_time_coding_reports_medians_per_megapixel(monkeypatch):
    from rdbench import timing

    clock = _Clock()
    monkeypatch.setattr(timing, "time", clock)
    x = torch.zeros(1, 3, 500, 1000)  # 0.5 MP
    t = timing.time_coding({"sleeper": _Sleeper(clock)}, x, repeats=3, threads=1)["sleeper"]
    assert len(t.encode) == len(t.decode) == 3 and t.threads == 1
    assert t.ms_per_mpx("encode") == pytest.approx(40) and t.ms_per_mpx("decode") == pytest.approx(80)
    with pytest.raises(ValueError, match="repeats"):
        timing.time_coding({"sleeper": _Sleeper(clock)}, x, repeats=0, threads=1)


def test_an_untimed_row_is_named_in_the_notes():
    """A row Table II counts but does not time (the trit-plane presets) says so, instead of blank cells alone."""
    from rdbench import timing

    counted = [cx.count("treenet", 64, 64, ("torchinfo",)), cx.count("bmshj2018-factorized", 64, 64, ("torchinfo",))]
    t = timing.CodingTime(64 * 64, 1, encode=[0.01], decode=[0.02])
    timings = timing.Timings({"treenet": {1: t}}, 1, timing.Host("cpu", 2, torch.__version__, None))
    table = cx.table2(counted, ("torchinfo",), timings)
    rows = {r["architecture"]: r for r in table.rows}
    assert rows["treenet"]["decode_ms/MP_1_thread"] > 0 and rows["bmshj2018-factorized"]["decode_ms/MP_1_thread"] is None
    assert any(n.startswith("Not timed here: bmshj2018-factorized") for n in table.notes)
    assert not any("Not timed" in n for n in cx.table2(counted[:1], ("torchinfo",), timings).notes)


def test_the_command_leaves_the_callers_grad_mode_alone(capsys):
    """`rdbench complexity` counts without autograd, scoped: run in-process (as tests and notebooks do), it
    must not switch gradients off for what runs next (it did, and training tests in the same worker failed)."""
    from rdbench.cli import main

    assert torch.is_grad_enabled()
    assert main(["complexity", "treenet", "--height", "64", "--width", "64", "--counters", "torchinfo"]) == 0
    assert torch.is_grad_enabled()

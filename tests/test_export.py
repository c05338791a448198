"""``report --export``: each configuration as a museval method folder / SiSEC 2018
submission, read back by museval's MethodStore and by our own ``--entry`` with the
leaderboard's numbers under the leaderboard's names."""

from __future__ import annotations

import pandas as pd
import pytest

from configs import compose_cfg
from repet_bench import report, runner
from repet_bench.export import method_name

CONFIGS = {"repet": ["+algo=repet"], "mix": ["+algo=mix"],
           "decimal": ["+algo=repet", "algo.max_period=4.5"]}


@pytest.fixture(scope="module")
def results(tmp_path_factory, cache):
    root = tmp_path_factory.mktemp("export") / "results"
    for name, overrides in CONFIGS.items():
        assert runner.run(compose_cfg(*overrides, "runner.progress=false"), root / name).ok
    return root


def test_export_round_trips_through_museval_and_entry(results, tmp_path):
    import museval

    out = tmp_path / "export"
    built = report.build_report([results], tmp_path / "report", export=out)
    board = built.leaderboard[built.leaderboard["source"] == "run"].set_index("config")
    assert len(board) == 3
    methods = pd.read_csv(out / "methods.csv")
    assert sorted(methods["label"]) == sorted(board.index)
    for _, row in methods.iterrows():
        folder = out / row["method"]
        assert row["method"] == method_name(row["label"])
        assert (folder / "description.md").read_text().startswith(f"# {row['label']}\n")
        assert sorted(p.name for p in (folder / "test").iterdir()) == [
            "The Easton Ellises - Falcon 69.json"]
        store = museval.MethodStore()
        store.add_eval_dir(folder)
        df = store.df
        assert set(df["method"]) == {row["method"]}  # the label, not "museval" or a cut name
        for target in ("vocals", "accompaniment"):
            sdr = df[(df["target"] == target) & (df["metric"] == "SDR")]
            median = sdr.groupby("track")["score"].median().median()
            assert median == pytest.approx(board.loc[row["label"], f"{target}_SDR"], abs=1e-9)
        # our own --entry reads the method folder (a submission) with the same numbers
        again = report.build_report([results], tmp_path / f"entry-{row['method']}",
                                    entries={"exported": folder}, write=False)
        entry = again.leaderboard[again.leaderboard["config"] == "exported"].iloc[0]
        for column in ("vocals_SDR", "vocals_SIR", "accompaniment_SDR", "accompaniment_ISR"):
            assert entry[column] == pytest.approx(board.loc[row["label"], column], abs=1e-9)
    # a decimal point survives as a comma (MethodStore cuts a name at its last dot)
    assert any("4,5" in m for m in methods["method"])


def test_export_from_the_command_line(results, tmp_path):
    out = tmp_path / "exported"
    assert report.main([str(results), "--out", str(tmp_path / "r"), "--export", str(out)]) == 0
    assert len(list(out.glob("*/test/*.json"))) == 3
    # exporting again replaces each method folder whole (no stale tracks)
    (out / method_name("mix") / "test" / "stale.json").write_text("{}")
    assert report.main([str(results), "--out", str(tmp_path / "r"), "--export", str(out)]) == 0
    assert not (out / method_name("mix") / "test" / "stale.json").exists()

"""Resume trusts only what it can read: damaged result files are rescored or rebuilt."""

from __future__ import annotations

import json
import shutil

from pandas.testing import assert_frame_equal
from test_kill_resume import reference_run, scores, start  # noqa: F401  (fixture)


def rerun(run_dir):
    proc = start(run_dir)
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out + err


def copy_of(reference_run, tmp_path):  # noqa: F811
    run_dir = tmp_path / "run"
    shutil.copytree(reference_run, run_dir)
    return run_dir


def test_a_damaged_museval_json_is_scored_again(tmp_path, reference_run):  # noqa: F811
    run_dir = copy_of(reference_run, tmp_path)
    damaged = sorted((run_dir / "museval" / "test").glob("*.json"))[0]
    damaged.write_text('{"targets": [')  # truncated
    code, said = rerun(run_dir)
    assert code == 0, said
    assert damaged.name in said and "scoring the track again" in said
    assert json.loads((run_dir / "run.json").read_text())["status"] == "complete"
    assert_frame_equal(scores(run_dir), scores(reference_run))


def test_an_empty_run_json_is_rebuilt_from_the_track_records(tmp_path, reference_run):  # noqa: F811
    run_dir = copy_of(reference_run, tmp_path)
    (run_dir / "run.json").write_text("")
    code, said = rerun(run_dir)
    assert code == 0, said
    assert "run.json cannot be read" in said and "rewrites it" in said
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "complete"
    assert_frame_equal(scores(run_dir), scores(reference_run))


def test_a_run_json_no_record_vouches_for_is_a_named_error(tmp_path, reference_run):  # noqa: F811
    run_dir = copy_of(reference_run, tmp_path)
    (run_dir / "run.json").write_text("{not json")
    for record in (run_dir / "tracks" / "test").glob("*.json"):
        doc = json.loads(record.read_text())
        doc["config_hash"] = "another"
        record.write_text(json.dumps(doc))
    code, said = rerun(run_dir)
    assert code == 2
    assert f"{run_dir / 'run.json'} cannot be read" in said and "hydra.run.dir" in said
    assert (run_dir / "run.json").read_text() == "{not json"  # nothing touched


def test_a_rerun_of_a_complete_run_never_marks_it_running(tmp_path, reference_run):  # noqa: F811
    run_dir = copy_of(reference_run, tmp_path)
    proc = start(run_dir)
    try:  # while the rerun is going, run.json still says complete
        while proc.poll() is None:
            assert json.loads((run_dir / "run.json").read_text())["status"] == "complete"
    finally:
        proc.communicate(timeout=600)
    assert proc.returncode == 0


def test_a_record_of_another_configuration_is_scored_again(tmp_path, reference_run):  # noqa: F811
    run_dir = copy_of(reference_run, tmp_path)
    record = sorted((run_dir / "tracks" / "test").glob("*.json"))[0]
    doc = json.loads(record.read_text())
    doc["config_hash"] = "another"
    record.write_text(json.dumps(doc))
    code, said = rerun(run_dir)
    assert code == 0, said
    assert "of another configuration; scoring the track again" in said and "(3 resumed)" in said
    assert json.loads(record.read_text())["config_hash"] != "another"
    assert_frame_equal(scores(run_dir), scores(reference_run))


def test_a_track_scored_before_the_song_level_sdr_is_scored_again(tmp_path, reference_run):  # noqa: F811
    """Resume never leaves a run with some tracks lacking a metric the others have."""
    run_dir = copy_of(reference_run, tmp_path)
    old = sorted((run_dir / "tracks" / "test").glob("*.json"))[0]
    doc = json.loads(old.read_text())
    doc["scale_invariant"] = {t: {k: v for k, v in m.items() if k != "nSDR"}
                              for t, m in doc.pop("whole_track").items()}
    old.write_text(json.dumps(doc))
    code, said = rerun(run_dir)
    assert code == 0, said
    assert "nSDR" in json.loads(old.read_text())["whole_track"]["vocals"]
    assert_frame_equal(scores(run_dir), scores(reference_run))

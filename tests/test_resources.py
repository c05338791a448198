from repet_bench.resources import MB, auto_n_jobs, worker_peak_bytes

GB = 1024**3


def test_peak_grows_with_length_and_is_the_largest_stage():
    assert worker_peak_bytes(420) > worker_peak_bytes(180) > worker_peak_bytes(6)
    assert worker_peak_bytes(420) == worker_peak_bytes(420, ["museval"])
    assert 8 * GB < worker_peak_bytes(420) < 9 * GB  # measured: 8714 MiB at 7 min


def test_auto_workers_are_bounded_by_cores_tracks_and_memory():
    assert auto_n_jobs(180, 50, cores=8, available=64 * GB) == 8  # cores bound
    assert auto_n_jobs(180, 3, cores=8, available=64 * GB) == 3  # tracks bound
    assert auto_n_jobs(420, 50, cores=8, available=24 * GB) == 2  # memory bound
    assert auto_n_jobs(420, 50, cores=8, available=1 * GB) == 1  # never zero
    assert auto_n_jobs(0, 50, cores=2, available=100 * MB) == 1


def test_the_fast_backend_leaves_room_for_more_workers():
    # Measured at 7 min: ~3.3 GB per worker with the fast backend, ~8.7 GB with museval.
    assert 3 * GB < worker_peak_bytes(420, ["separation", "fast"]) < 3.5 * GB
    assert auto_n_jobs(420, 50, cores=8, available=24 * GB, stages=["separation", "fast"]) == 6


def test_auto_workers_are_sized_for_the_runs_evaluation_backends(monkeypatch):
    from repet_bench import resources, runner, workers

    monkeypatch.setattr(runner.data, "track_seconds", lambda ref: 420.0)
    monkeypatch.setattr(resources, "available_memory", lambda: 24 * GB)
    monkeypatch.setattr(workers, "available_memory", lambda: 24 * GB)
    monkeypatch.setattr(resources.os, "cpu_count", lambda: 8)
    fast, museval = ({"algo": {"name": "repet"}, "eval": {"backend": b}}
                     for b in ("fast", "museval"))
    todo = ["track"] * 50
    assert runner.n_workers("auto", todo, [fast]) == 6
    assert runner.n_workers("auto", todo, [museval]) == 2
    assert runner.n_workers("auto", todo, [fast, museval]) == 2  # a sweep with both
    oracle = {"algo": {"name": "sigsep_oracle"}, "eval": {"backend": "fast"}}
    assert runner.n_workers("auto", todo, [oracle]) == 2  # its own 7.0 GB separation peak

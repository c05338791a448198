import numpy as np
import pytest
import soundfile as sf

from conftest import dataset_cfg
from musdb_layout import TEST_NAMES, TRAIN_NAME, VALID_NAME, make_hq_root, make_stems_root
from repet_bench import data


@pytest.fixture(scope="module")
def stems_root(cache, tmp_path_factory):
    return make_stems_root(tmp_path_factory.mktemp("musdb18"), cache)


@pytest.fixture(scope="module")
def hq_root(cache, tmp_path_factory):
    return make_hq_root(tmp_path_factory.mktemp("musdb18hq"), cache)


def test_sample_is_a_one_track_musdb_root(cache, sample_track):
    refs = data.list_tracks(dataset_cfg(), cache)
    assert [r.name for r in refs] == ["The Easton Ellises - Falcon 69"]
    assert refs[0].path.endswith("test/The Easton Ellises - Falcon 69.stem.mp4")
    assert sample_track.rate == 44100 and sample_track.mixture.shape[1] == 2
    assert 5.5 < sample_track.mixture.shape[0] / 44100 < 7
    assert set(sample_track.references) == {"vocals", "accompaniment"}


@pytest.mark.parametrize("layout", ["stems", "hq"])
def test_musdb_layouts_list_subsets_splits_and_filters(layout, stems_root, hq_root, cache):
    root, is_wav = (stems_root, False) if layout == "stems" else (hq_root, True)
    cfg = dict(name="musdb18", root=str(root), is_wav=is_wav)
    def names(**kw):
        return [r.name for r in data.list_tracks(dataset_cfg(**cfg, **kw), cache)]
    assert names(subsets="test") == sorted(TEST_NAMES)
    assert names(subsets=["train", "test"]) == sorted([VALID_NAME, TRAIN_NAME]) + sorted(TEST_NAMES)
    assert names(subsets="train", split="valid") == [VALID_NAME]
    assert names(subsets="train", split="train") == [TRAIN_NAME]
    assert names(subsets="test", tracks=["Al *"]) == ["Al James - Schoolboy Facination"]
    assert names(subsets="test", max_tracks=1) == [sorted(TEST_NAMES)[0]]


def test_stems_and_wav_layouts_decode_the_same_audio(stems_root, hq_root, cache):
    stems = data.list_tracks(dataset_cfg(name="musdb18", root=str(stems_root)), cache)[0]
    wav = data.list_tracks(dataset_cfg(name="musdb18hq", root=str(hq_root), is_wav=True), cache)[0]
    a, b = data.load_track(stems), data.load_track(wav)
    np.testing.assert_allclose(a.mixture, b.mixture, atol=1e-4)
    np.testing.assert_allclose(a.references["vocals"], b.references["vocals"], atol=1e-4)


def test_excerpt_offset_and_duration(hq_root, stems_root, cache):
    for root, is_wav in ((hq_root, True), (stems_root, False)):
        ref = data.list_tracks(dataset_cfg(name="m", root=str(root), is_wav=is_wav,
                                           offset=1.0, duration=2.5), cache)[0]
        track = data.load_track(ref)
        assert abs(track.mixture.shape[0] - 2.5 * 44100) < 2048


@pytest.mark.parametrize("overrides,message", [
    (dict(root=None), "needs its root"),
    (dict(root="/nonexistent/musdb"), "does not exist"),
    (dict(subsets="validation"), "dataset.subsets"),
    (dict(subsets="test", split="valid"), "dataset.split"),
    (dict(tracks=["nothing matches*"]), "no tracks found"),
])
def test_bad_dataset_configs_are_clear_errors(overrides, message, stems_root, cache, monkeypatch):
    monkeypatch.delenv("MUSDB_PATH", raising=False)
    cfg = dataset_cfg(name="musdb18", **{"root": str(stems_root), **overrides})
    with pytest.raises(data.DatasetError, match=message):
        data.list_tracks(cfg, cache)


def test_root_without_subset_folders_and_wrong_layout(tmp_path, hq_root, cache):
    with pytest.raises(data.DatasetError, match="train/ and test/"):
        data.list_tracks(dataset_cfg(name="musdb18", root=str(tmp_path)), cache)
    (tmp_path / "test").mkdir()
    with pytest.raises(data.DatasetError, match="no tracks found"):
        data.list_tracks(dataset_cfg(name="musdb18", root=str(tmp_path)), cache)
    with pytest.raises(data.DatasetError, match="dataset=musdb18hq"):  # wav folders read as stems
        data.list_tracks(dataset_cfg(name="musdb18", root=str(hq_root)), cache)


def test_bad_track_files_name_the_file(tmp_path, cache):
    hq_root = make_hq_root(tmp_path / "own_hq", cache)  # modified below: not the shared one
    broken = tmp_path / "test"
    broken.mkdir()
    (broken / "Broken - Track.stem.mp4").write_bytes(b"\x00" * 5000)
    ref = data.list_tracks(dataset_cfg(name="musdb18", root=str(tmp_path)), cache)[0]
    with pytest.raises(data.DatasetError, match="Broken - Track.stem.mp4"):
        data.load_track(ref)

    hq = data.list_tracks(dataset_cfg(name="musdb18hq", root=str(hq_root), is_wav=True), cache)[0]
    vocals = sf.read(f"{hq.path}/vocals.wav")[0]
    sf.write(f"{hq.path}/vocals.wav", vocals[:1000], 44100)
    with pytest.raises(data.DatasetError, match=r"vocals.wav \(1000 samples\) differ"):
        data.load_track(hq)
    (tmp_path / "hq" / "test" / "T").mkdir(parents=True)
    ref = data.list_tracks(dataset_cfg(name="h", root=str(tmp_path / "hq"), is_wav=True), cache)[0]
    with pytest.raises(data.DatasetError, match="mixture.wav is missing"):
        data.load_track(ref)


@pytest.mark.parametrize("layout", ["stems", "hq"])
def test_decode_cache_gives_identical_audio_and_is_reused(layout, stems_root, hq_root, cache, tmp_path,
                                                          monkeypatch):
    root, is_wav = (stems_root, False) if layout == "stems" else (hq_root, True)
    ref = data.list_tracks(dataset_cfg(name="m", root=str(root), is_wav=is_wav, duration=2.0), cache)[0]
    direct = data.load_track(ref)
    first = data.load_track(ref, tmp_path)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".npz", ".sha256"]  # and no temp file
    monkeypatch.setattr(data, "_decode", lambda ref: pytest.fail("decoded again"))
    second = data.load_track(ref, tmp_path)
    for track in (first, second):
        np.testing.assert_array_equal(track.mixture, direct.mixture)
        np.testing.assert_array_equal(track.references["accompaniment"], direct.references["accompaniment"])
    excerpt = data.TrackRef(ref.name, ref.subset, ref.path, is_wav, 0.5, 2.0)
    assert data.decode_key(ref) != data.decode_key(excerpt)

import numpy as np
import pytest

from repet_bench import masks, phase
from repet_bench.stft import Stft
from repet_bench.config import option


@pytest.fixture
def models():
    rng = np.random.default_rng(0)
    v = rng.random((65, 40, 2)).astype(np.float32)
    v[:, :3] = 0  # silent frames
    b = v * rng.random(v.shape).astype(np.float32)
    return b, v - b


@pytest.mark.parametrize("name,params", [("soft", {}), ("binary", {"threshold": 0.5}),
                                         ("binary", {"threshold": 0.8}), ("wiener", {"power": 2.0}),
                                         ("wiener", {"power": 1.0})])
def test_masks_sum_to_one_and_lie_in_unit_interval(models, name, params):
    bg, fg = masks.compute_masks(name, *models, **params)
    assert bg.shape == fg.shape == models[0].shape
    np.testing.assert_allclose(bg + fg, 1, atol=1e-6)
    assert bg.min() >= 0 and bg.max() <= 1
    assert np.isfinite(bg).all()


def test_soft_mask_is_background_over_mixture(models):
    b, f = models
    bg, _ = masks.soft(b, f)
    v = b + f
    loud = v > 1e-3
    np.testing.assert_allclose(bg[loud], b[loud] / v[loud], atol=1e-5)
    assert (bg[v == 0] == 1).all()  # silent bins go to the background, as nussl


def test_binary_mask_thresholds_the_soft_mask(models):
    soft_bg, _ = masks.soft(*models)
    bg, _ = masks.binary(*models, threshold=0.3)
    assert set(np.unique(bg)) <= {0.0, 1.0}
    np.testing.assert_array_equal(bg == 1, soft_bg >= 0.3)


def test_wiener_mask_sharpens_soft_mask(models):
    soft_bg, _ = masks.soft(*models)
    wiener_bg, _ = masks.wiener(*models, power=2.0)
    above = soft_bg > 0.6
    assert (wiener_bg[above] >= soft_bg[above] - 1e-6).all()


def test_high_pass_assigns_low_bins_to_background(models):
    bg, fg = masks.soft(*models)
    edge = masks.high_pass_rows(1000.0, Stft(128, 32))
    assert edge == 3  # bins at 0, 345, 689 Hz lie below the one closest to 1000 Hz (1034 Hz)
    masks.high_pass(bg, fg, edge)
    assert (bg[:edge] == 1).all() and (fg[:edge] == 0).all()
    assert not (bg[edge:] == 1).all()


def test_all_ones_mask_with_mixture_phase_gives_back_the_mixture():
    x = np.random.default_rng(2).standard_normal((20000, 2)).astype(np.float32)
    stft = Stft()
    spec = stft.forward(x)
    out = phase.reconstruct("mixture", np.ones(spec.shape, np.float32), spec, stft, len(x))
    np.testing.assert_allclose(out, x, atol=2e-5)


def test_no_phase_keeps_the_magnitude_but_not_the_waveform():
    x = np.random.default_rng(3).standard_normal((20000, 1)).astype(np.float32)
    stft = Stft()
    spec = stft.forward(x)
    out = phase.reconstruct("none", np.ones(spec.shape, np.float32), spec, stft, len(x))
    assert out.shape == x.shape
    assert np.corrcoef(out[:, 0], x[:, 0])[0, 1] < 0.5


def test_unknown_strategies_are_named():
    with pytest.raises(ValueError, match="available: soft"):
        masks.compute_masks("fuzzy", np.ones(1), np.ones(1))
    with pytest.raises(ValueError, match="available: mixture"):
        phase.reconstruct("random", None, None, None, 0)


# Scale 1000: STFT magnitudes of real music reach hundreds, and norbert then rescales its
# input in place (a bug once made the masks that factor too large).
@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_mwf_masks_sum_to_one_and_follow_the_models(scale):
    rng = np.random.default_rng(4)
    spec = scale * (rng.standard_normal((129, 700, 2)) + 1j * rng.standard_normal((129, 700, 2)))
    spec = spec.astype(np.complex64)
    v = np.abs(spec)
    bg_model = v * rng.random(v.shape).astype(np.float32)
    bg, fg = masks.compute_masks("mwf", bg_model, v - bg_model, mixture=spec, iterations=1)
    assert bg.shape == spec.shape and np.iscomplexobj(bg)
    # the estimates add up to the mixture, up to norbert's regularisation (weakest bins)
    assert np.linalg.norm((bg + fg) * spec - spec) / np.linalg.norm(spec) < 1e-3
    assert np.median(np.abs(bg + fg - 1)) < 1e-3
    # a background model equal to the mixture takes (almost) everything
    bg, fg = masks.compute_masks("mwf", v, np.zeros_like(v), mixture=spec, iterations=0)
    assert np.abs(fg).max() < 1e-3 and np.allclose(bg, 1, atol=1e-3)


def _inconsistency(spec, target, stft, n):
    """Distance between a target magnitude and the magnitude of the STFT of a signal."""
    return float(np.linalg.norm(np.abs(stft.forward(spec)) - target) / np.linalg.norm(target))


def test_griffin_lim_never_lowers_spectral_consistency_on_the_sample(sample_track):
    from repet_bench.algorithms import Context, get_algorithm

    stft = Stft()
    x = sample_track.mixture.astype(np.float32)
    spec = stft.forward(x)
    models = get_algorithm("repet")(np.abs(spec), Context(stft, len(x)))
    for m in masks.soft(models.background, models.foreground):
        target = np.abs(m * spec)
        mixture_phase = phase.reconstruct("mixture", m, spec, stft, len(x))
        previous = _inconsistency(mixture_phase, target, stft, len(x))
        for iterations in (1, 4, 12):
            gl = phase.reconstruct("griffin_lim", m, spec, stft, len(x), iterations=iterations)
            current = _inconsistency(gl, target, stft, len(x))
            assert current <= previous + 1e-6, (iterations, current, previous)
            previous = current


@pytest.mark.parametrize("mask", [{"name": "soft"}, {"name": "binary", "threshold": 0.5}])
def test_accompaniment_shortcut_equals_its_own_istft(sample_track, mask):
    from repet_bench import separation

    algo = {"name": "repet", "min_period": 0.8, "max_period": 8.0, "period": None, "high_pass_cutoff": 100.0}
    stft_cfg = option("stft")
    x = sample_track.mixture
    est = separation.separate(x, 44100, algo, stft_cfg, mask, {"name": "mixture"}).estimates
    # the long way: the background mask applied and inverted on its own
    stft = Stft()
    spec = stft.forward(x.astype(np.float32))
    from repet_bench.algorithms import Context, get_algorithm

    models = get_algorithm("repet")(np.abs(spec), Context(stft, len(x)))
    bg, fg = masks.compute_masks(mask["name"], models.background, models.foreground,
                                 **{k: v for k, v in mask.items() if k != "name"})
    masks.high_pass(bg, fg, masks.high_pass_rows(100.0, stft))
    direct = phase.reconstruct("mixture", bg, spec, stft, len(x))
    np.testing.assert_allclose(est["accompaniment"], direct, atol=1e-5)
    np.testing.assert_allclose(est["vocals"] + est["accompaniment"], x, atol=1e-5)


@pytest.mark.parametrize("name,params", [("soft", {}), ("binary", {"threshold": 0.3}),
                                         ("wiener", {"power": 2.0})])
def test_masks_computed_over_the_models_equal_the_pure_ones(models, name, params):
    expected = masks.compute_masks(name, *models, **params)
    b, f = (m.copy() for m in models)
    got = masks.compute_masks(name, b, f, overwrite=True, **params)
    for g, e in zip(got, expected):
        assert g.dtype == np.float32
        np.testing.assert_array_equal(g, e)
    # the memory reused is the models' own: no new spectrogram-sized arrays
    assert np.shares_memory(got[1], f)
    if name != "wiener":
        assert np.shares_memory(got[0], b)


@pytest.mark.parametrize("stft", [Stft(), Stft(2048, 1024, "hamming", convention="nussl2018")],
                         ids=["nussl", "nussl2018"])
def test_griffin_lim_in_place_gives_the_bits_of_its_formula(stft):
    """Griffin-Lim's in-place update equals the textbook one-line update bit for bit,
    silent bins (where the target is kept) included."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3 * 44100, 2))
    x[:20000] = 0  # silent frames: bins of zero magnitude
    mixture = stft.forward(x)
    mask = rng.random(mixture.shape).astype(np.float32)
    spec = (mask * mixture).astype(np.complex64)
    target = np.abs(spec)
    for _ in range(3):
        rebuilt = stft.forward(stft.inverse(spec, len(x), single=True), single=True)
        magnitude = np.abs(rebuilt)
        spec = np.where(magnitude > 0, target * rebuilt / np.maximum(magnitude, 1e-30), target)
    expected = stft.inverse(spec.astype(np.complex64, copy=False), len(x))
    assert np.array_equal(phase.griffin_lim(mask, mixture, stft, len(x), 3), expected)


def test_fast_griffin_lim_is_librosas_update_and_converges_faster(sample_track):
    """The fast Griffin-Lim's in-place update is librosa's formula (the phase of
    ``rebuilt - momentum / (1 + momentum) * previous``, previous = 0 at first) bit for bit;
    and on the sample's masked vocals, from the mixture phase, its 16 iterations leave a
    less inconsistent spectrogram than Griffin-Lim's 16 (Perraudin et al. 2013's claim)."""
    stft = Stft()
    x = sample_track.mixture.astype(np.float32)
    mixture = stft.forward(x)
    rng = np.random.default_rng(4)
    mask = rng.random(mixture.shape).astype(np.float32)
    spec = (mask * mixture).astype(np.complex64)
    target = np.abs(spec)
    keep = np.float32(0.99 / 1.99)
    previous = np.zeros_like(spec)
    for _ in range(3):
        rebuilt = stft.forward(stft.inverse(spec, len(x), single=True), single=True)
        direction = -keep * previous + rebuilt
        previous = rebuilt
        magnitude = np.abs(direction)
        spec = np.where(magnitude > 0, target * direction / np.maximum(magnitude, 1e-30), target)
    expected = stft.inverse(spec, len(x))
    got = phase.reconstruct("fast_griffin_lim", mask, mixture, stft, len(x), iterations=3,
                            momentum=0.99)
    assert np.array_equal(got, expected)

    gl, fast = (phase.reconstruct(name, mask, mixture, stft, len(x), iterations=16, **extra)
                for name, extra in (("griffin_lim", {}), ("fast_griffin_lim", {"momentum": 0.99})))
    assert _inconsistency(fast, target, stft, len(x)) < _inconsistency(gl, target, stft, len(x))

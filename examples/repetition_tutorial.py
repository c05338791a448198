# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Putting it all together: repetition
#
# The steps of the chapter "Putting it All Together: Repetition" of the ISMIR 2020 tutorial
# *Open-Source Tools & Data for Music Source Separation* (which used nussl), walked with
# `repet_bench`'s Python API on the MUSDB18 excerpt that ships with `stempeg`: no download.
#
# Open it as a notebook with Jupyter and jupytext (`pip install -e ".[examples]"`, then
# `jupytext --to notebook examples/repetition_tutorial.py`), or run it as a script.
# `tests/test_examples.py` executes it cell by cell on every CI run.
#
# Every call below has the command line's defaults: `rb.separate(mix, rate)` is what
# `python -m repet_bench +algo=repet` runs on each track.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Audio, display

import repet_bench as rb
from repet_bench.algorithms import Context, get_algorithm
from repet_bench.algorithms.repet import beat_spectrum_of
from repet_bench.stft import Stft

# %% [markdown]
# ## A MUSDB18 track
#
# `load_track()` without arguments decodes the embedded sample; with a name and a root it
# reads a track of your MUSDB18 or MUSDB18-HQ copy. The references are the true vocals and
# the accompaniment (drums + bass + other), `(samples, channels)` at 44.1 kHz.

# %%
track = rb.load_track()
mix, rate = track.mixture, track.rate
print(track.ref.name, mix.shape, f"{len(mix) / rate:.1f} s")
display(Audio(mix.T, rate=rate))

# %% [markdown]
# ## REPET step by step
#
# REPET (Rafii & Pardo, 2013) looks for the period of the repeating accompaniment in the
# *beat spectrum* (the autocorrelation of the spectrogram's rows, averaged), models the
# background as the median of period-long segments, and masks the mixture with it.

# %%
stft = Stft()                                        # nussl 1.1.9's: sqrt-Hann 2048, hop 512
spec = stft.forward(mix)                             # (freq, frames, channels), complex
magnitude = np.abs(spec)
lags, beat = beat_spectrum_of(magnitude, stft.frame_seconds)
models = get_algorithm("repet")(magnitude, Context(stft, len(mix)))  # defaults of conf/algo/repet.yaml
period = models.info["period_seconds"]

fig, ax = plt.subplots(figsize=(10, 3))
ax.plot(lags, beat, color="0.2", lw=1)
ax.axvline(period, color="C3", ls="--", label=f"period {period:.2f} s")
ax.set(xlabel="lag (s)", ylabel="beat spectrum", xlim=(0, 6))
ax.legend()
plt.show()

# %% [markdown]
# The soft mask is the repeating model over the mixture. Applied to the mixture
# *magnitude* alone (zero phase) the estimates sound hollow; applied to the complex
# mixture STFT they keep the mixture's phase, which is what REPET does.

# %%
background_mask = np.clip(models.background / np.maximum(magnitude, 1e-12), 0, 1)
vocals_mask = 1 - background_mask

no_phase = stft.inverse((vocals_mask * magnitude).astype(np.complex64), len(mix))
with_phase = stft.inverse(vocals_mask * spec, len(mix))
display(Audio(no_phase.T, rate=rate), Audio(with_phase.T, rate=rate))

# %% [markdown]
# ## The easy way
#
# One call does all of it, with the same choices as the command line (including the
# 100 Hz high-pass that sends the lowest bins to the accompaniment). `phase="none"` is the
# zero-phase version above, as a strategy of the grid.

# %%
methods = {
    "REPET, no phase": dict(algo="repet", phase="none"),
    "REPET": dict(algo="repet"),
    "REPET-SIM": dict(algo="repet_sim"),
    "2DFT": dict(algo="ft2d"),
    "ideal ratio mask (oracle)": dict(algo="irm", references=track.references),
}
separations = {name: rb.separate(mix, rate, masks=True, **kw) for name, kw in methods.items()}
print("REPET's period:", round(separations["REPET"].info["period_seconds"], 2), "s")
for name, result in separations.items():
    print(name)
    display(Audio(result.estimates["vocals"].T, rate=rate))

# %% [markdown]
# ## What each method keeps
#
# The vocals mask of each method (first channel, below 8 kHz).

# %%
fig, axes = plt.subplots(len(separations), 1, figsize=(10, 2.2 * len(separations)),
                         sharex=True)
extent = [0, magnitude.shape[1] * stft.frame_seconds, 0, rate / 2000]
for ax, (name, result) in zip(axes, separations.items()):
    ax.imshow(result.masks["vocals"][..., 0], origin="lower", aspect="auto", extent=extent,
              vmin=0, vmax=1, cmap="magma")
    ax.set(title=f"{name}: vocals mask", ylabel="kHz", ylim=(0, 8))
axes[-1].set_xlabel("time (s)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Evaluation
#
# BSS Eval v4 (museval) on 1 s frames, median over frames, as SiSEC 2018, plus the
# whole-track scale-invariant SDR. Each method's two estimates are scored once, against
# their own references (the original chapter scored the background twice by mistake).

# %%
rows = {}
for name, result in {**separations, "the mixture": rb.separate(mix, rate, "mix")}.items():
    table = rb.aggregate(rb.evaluate(track.references, result.estimates, rate))
    rows[name] = table[["SDR", "SIR", "SAR", "SI-SDR"]].stack()
scores = pd.DataFrame(rows).T.round(2)
scores

# %% [markdown]
# On a 6-second excerpt these numbers say little about a method: the command line runs
# the same calls over MUSDB18 and ranks them with confidence intervals
# (`python -m repet_bench -m +experiment=sisec18`, then `python -m repet_bench.report`).

# %%
assert scores.loc["ideal ratio mask (oracle)", ("vocals", "SDR")] > scores.loc["REPET", ("vocals", "SDR")]
assert scores.loc["REPET", ("vocals", "SDR")] > scores.loc["the mixture", ("vocals", "SDR")]

"""repet_bench: a benchmark harness for REPET-family music/voice separation on MUSDB18.

The Python API (defaults as the command line's, from ``conf/``)::

    import repet_bench as rb
    track = rb.load_track()                           # the embedded MUSDB18 sample
    result = rb.separate(track.mixture, track.rate)   # REPET: .estimates, .info
    scores = rb.evaluate(track.references, result.estimates, track.rate)
    rb.aggregate(scores)                              # SiSEC medians, target × metric
    rb.leaderboard(rb.load_scores("results"))         # every scored run, ranked
"""

from .data import ensure_ffmpeg

try:  # so that musdb/museval/stempeg import after `import repet_bench`, also in user code
    ensure_ffmpeg()
except RuntimeError:
    pass  # no ffmpeg at all: reported, with how to install it, when audio is first read

from .api import aggregate, evaluate, leaderboard, load_scores, load_track, separate  # noqa: E402

__all__ = ["aggregate", "evaluate", "leaderboard", "load_scores", "load_track", "separate"]
__version__ = "0.1.0"

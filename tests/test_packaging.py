"""conf/ and the SiSEC 2018 reference ship inside the wheel, and work from the installed package."""

import subprocess
import sys
import zipfile

import pytest
from pathlib import Path

# Every test here starts the command line in processes of its own.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def test_built_wheel_contains_the_config_tree_and_composes_from_it(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
                    str(REPO)], check=True, timeout=600)
    wheel = next(tmp_path.glob("repet_bench-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(REPO / "conf").as_posix() for p in (REPO / "conf").rglob("*.yaml")}
    assert shipped and {f"repet_bench/conf/{p}" for p in shipped} <= names
    reference = {p.name for p in (REPO / "repet_bench" / "reference").glob("*.csv")}
    assert reference and {f"repet_bench/reference/{p}" for p in reference} <= names

    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    probe = ("from hydra import compose, initialize_config_module\n"
             "from repet_bench.config import register_configs\n"
             "import repet_bench.conf as c; assert c.__file__.startswith(%r), c.__file__\n"
             "register_configs()\n"
             "with initialize_config_module('repet_bench.conf', version_base='1.3'):\n"
             "    print(compose('config', overrides=['+algo=repet']).algo.name)\n"
             "from repet_bench import sisec18\n"
             "ref = sisec18.find_reference_dir(); assert str(ref).startswith(%r), ref\n"
             "print(sorted(sisec18.load_reference(ref).summary.method)[0])\n"
             % (str(unpacked), str(unpacked)))
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                         text=True, env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["repet", "2DFT"]


def test_museval_musdb_and_stempeg_import_in_the_installed_environment():
    """Researchers import museval directly: the environment's bin/ has ffmpeg and ffprobe
    (repet_bench's `ffprobe` command runs the bundled binary), no repet_bench import needed."""
    import shutil

    path = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    assert shutil.which("ffprobe", path=path), "no ffprobe in the environment's bin/"
    out = subprocess.run([sys.executable, "-c", "import museval, musdb, stempeg; print('ok')"],
                         capture_output=True, text=True, env={"PATH": path}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert subprocess.run(
        [sys.executable, "-c", "import sys, museval; print('repet_bench' in sys.modules)"],
        capture_output=True, text=True, env={"PATH": path}, timeout=120).stdout.strip() == "False"
    version = subprocess.run(["ffprobe", "-version"], capture_output=True, text=True,
                             env={"PATH": path}, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("ffprobe version")

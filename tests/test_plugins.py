"""One-file plugins (rdbench/plugins.py): the checkout's codecs/ and metrics/, $RDBENCH_PLUGINS, errors."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rdbench import images, plugins
from rdbench.codecs import codecs, create
from rdbench.metrics import metrics, resolve

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def plugin_env():
    """use(*folders): point $RDBENCH_PLUGINS at folders for one test; the registries are reset after."""
    before = os.environ.get(plugins.ENV)

    def use(*folders):
        os.environ[plugins.ENV] = os.pathsep.join(map(str, folders))
        plugins.reset()

    yield use
    if before is None:
        os.environ.pop(plugins.ENV, None)
    else:
        os.environ[plugins.ENV] = before
    plugins.reset()


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


COPY_CODEC = '''
    from rdbench.codecs.base import Codec

    class Copy(Codec):
        """Test-only: stores the PNG as it is (discovery and error paths, never reported)."""
        name = "{name}"
        default_points = (1,)
        def encode(self, src_png, point, bitstream):
            bitstream.write_bytes(src_png.read_bytes())
        def decode(self, bitstream, out_png):
            out_png.write_bytes(bitstream.read_bytes())
'''


def test_the_checkouts_example_plugins_are_registered_from_their_files():
    assert codecs.origin("pillow-jpeg444") == f"plugin file {REPO / 'codecs' / 'pillow_jpeg444.py'}"
    assert metrics.origin("gmsd") == f"plugin file {REPO / 'metrics' / 'gmsd.py'}"
    assert codecs.origin("jpeg") == "rdbench"  # entry points keep working beside them
    cls = codecs.get("pillow-jpeg444")
    assert cls.__module__.startswith("rdbench_plugin_pillow_jpeg444_")
    assert Path(sys.modules["codecs"].__file__).parent != REPO / "codecs"


def test_a_plugin_folder_named_codecs_does_not_shadow_the_standard_library():
    """From the checkout's root (where `codecs/` is a folder), `codecs` is still the stdlib's, and rdbench lists the
    plugin: the folder is never put on sys.path."""
    code = ("import codecs, sys; assert codecs.lookup('utf-8').name == 'utf-8', codecs; "
            "from rdbench.codecs import codecs as reg; assert 'pillow-jpeg444' in reg.names(); "
            "import encodings.idna; print(codecs.__file__)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop(plugins.ENV, None)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert Path(proc.stdout.strip()).parent != REPO / "codecs"


@pytest.mark.usefixtures("kodak_dir")
def test_the_example_codec_codes_real_images_and_its_rate_rises_with_quality(crop, tmp_path):
    src = tmp_path / "crop.png"
    images.write_png(src, crop(64, 96))
    codec = create("pillow-jpeg444", points=[20, 90])
    assert codec.available()
    sizes, errors = [], []
    for q in codec.points():
        bitstream, out = tmp_path / f"{q}.jpg", tmp_path / f"{q}.png"
        codec.encode(src, q, bitstream)
        codec.decode(bitstream, out)
        sizes.append(bitstream.stat().st_size)
        errors.append(np.abs(images.read_png(out).astype(int) - crop(64, 96).astype(int)).mean())
    assert sizes[0] < sizes[1] and errors[0] > errors[1]
    assert codec.describe()["pillow"]


@pytest.mark.usefixtures("kodak_dir")
def test_the_example_metric_is_zero_for_identical_images_and_grows_with_distortion(crop):
    from helpers import jpeg

    ref = crop(64, 96)
    gmsd = resolve("gmsd")
    assert gmsd.higher_is_better is False and gmsd.bd_transform == "one-minus"
    assert gmsd(ref, ref) == pytest.approx(0, abs=1e-9)
    assert 0 < gmsd(ref, jpeg(ref, 90)) < gmsd(ref, jpeg(ref, 10))


def test_plugins_env_replaces_the_default_folders_and_same_named_files_do_not_collide(plugin_env, tmp_path):
    a = write(tmp_path / "a", "copy.py", COPY_CODEC.format(name="copy-a"))
    b = write(tmp_path / "b", "copy.py", COPY_CODEC.format(name="copy-b"))
    write(tmp_path / "a", "_helper.py", "raise RuntimeError('files starting with _ are not plugins')\n")
    plugin_env(a.parent, b.parent)
    assert {"copy-a", "copy-b"} <= set(codecs.names())
    assert "pillow-jpeg444" not in codecs.names() and "gmsd" not in metrics.names()
    assert codecs.get("copy-a").__module__ != codecs.get("copy-b").__module__
    assert codecs.origin("copy-b") == f"plugin file {b.resolve()}"


def test_a_broken_plugin_file_is_named_with_its_line_and_last_traceback_line(plugin_env, tmp_path):
    bad = write(tmp_path / "p", "broken.py", '''
        from rdbench.codecs.base import Codec

        value = undefined_name + 1
    ''')
    plugin_env(bad.parent)
    for lookup in (codecs.names, metrics.names, lambda: create("jpeg")):  # every lookup says it, not the first only
        with pytest.raises(plugins.PluginError) as err:
            lookup()
        assert f"plugin file {bad.resolve()} is broken (line 4): NameError: name 'undefined_name' is not defined" \
            in str(err.value)
    bad.write_text("def oops(:\n")
    plugins.reset()
    with pytest.raises(plugins.PluginError, match=r"broken\.py is broken \(line 1\): SyntaxError"):
        codecs.names()


def test_a_plugin_reusing_a_name_is_refused_naming_both(plugin_env, tmp_path):
    clash = write(tmp_path / "p", "myjpeg.py", COPY_CODEC.format(name="jpeg"))
    plugin_env(clash.parent)
    with pytest.raises(Exception, match=rf"codec 'jpeg' is defined twice: by rdbench and by plugin file {clash.resolve()}"):
        codecs.get("jpeg")
    write(tmp_path / "q", "one.py", COPY_CODEC.format(name="twin"))
    write(tmp_path / "q", "two.py", COPY_CODEC.format(name="twin"))
    plugin_env(tmp_path / "q")
    with pytest.raises(Exception, match=r"codec 'twin' is defined twice: by plugin file .*one\.py and by plugin file "
                                        r".*two\.py"):
        codecs.names()


def test_a_plugin_folder_that_is_not_there_is_named(plugin_env, tmp_path):
    from rdbench.config import ConfigError, use_plugins

    plugin_env(tmp_path / "nowhere")
    with pytest.raises(plugins.PluginError, match=r"RDBENCH_PLUGINS names .*nowhere, which is not a folder"):
        codecs.names()
    with pytest.raises(ConfigError, match=r"plugins: .*elsewhere is not a folder"):
        use_plugins({"plugins": [str(tmp_path / "elsewhere")]})


def test_the_workflow_check_names_a_broken_plugin_file_once(plugin_env, tmp_path):
    from rdbench.config import ConfigError, check

    bad = write(tmp_path / "p", "broken.py", "import no_such_module_here\n")
    plugin_env(bad.parent)
    config = {"datasets": [str(tmp_path)], "codecs": {"jpeg": {}, "webp": {}}, "metrics": ["psnr-rgb"],
              "anchor": "jpeg", "published": {}}
    with pytest.raises(ConfigError) as err:
        check(config)
    message = str(err.value)
    assert message.count("broken.py is broken") == 1 and "the config has 1 problem(s)" in message
    assert "ModuleNotFoundError: No module named 'no_such_module_here'" in message and "codecs: jpeg" not in message

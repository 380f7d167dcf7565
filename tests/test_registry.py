"""Registry behaviour and plugin discovery through entry points (a dummy plugin, never measured)."""

import sys
import textwrap

import pytest

from rdbench.codecs import Codec, codecs, create
from rdbench.registry import Registry, RegistryError


def test_duplicate_names_raise_and_unknown_names_suggest():
    reg = Registry("thing")
    reg.register("alpha", 1)
    with pytest.raises(RegistryError, match="already registered"):
        reg.register("alpha", 2)
    with pytest.raises(RegistryError, match="Did you mean alpha"):
        reg.get("alpah")
    reg.freeze()
    with pytest.raises(RegistryError, match="frozen"):
        reg.register("beta", 3)


def test_lazy_entries_load_on_first_get_and_broken_ones_say_which():
    reg = Registry("thing")
    reg.register("path", "os.path:join")
    reg.register("broken", "rdbench.no_such_module:X")
    import os.path

    assert reg.get("path") is os.path.join
    with pytest.raises(RegistryError, match="could not load thing 'broken'.*no_such_module"):
        reg.get("broken")


def test_builtin_codecs_arrive_through_the_entry_point_group():
    for name in ("jpeg", "jpeg2000", "webp", "avif", "jpegxl", "hevc444", "vvc420"):
        assert name in codecs.names()
        assert codecs.origin(name) == "rdbench"


def test_every_entry_point_of_pyproject_is_installed():
    """A stale install (pyproject.toml changed since `pip install -e .`) would hide a new built-in codec."""
    import tomllib
    from pathlib import Path

    from rdbench.metrics import metrics

    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
    for group, registry in (("rdbench.codecs", codecs), ("rdbench.metrics", metrics)):
        missing = sorted(set(project["entry-points"][group]) - set(registry.names()))
        assert not missing, f"{group} {missing} not installed: run `pip install -e .` (or `make setup`) again"


@pytest.fixture
def third_party_plugin(tmp_path, monkeypatch):
    """A package that is not rdbench, declaring a codec in the rdbench.codecs group."""
    (tmp_path / "dummy_rd_plugin.py").write_text(textwrap.dedent('''
        from rdbench.codecs import Codec

        class Dummy(Codec):
            """Test-only: copies the PNG. Exists to test discovery, never reported."""
            name = "dummy-plugin"
            default_points = (1,)
            def encode(self, src_png, point, bitstream):
                bitstream.write_bytes(src_png.read_bytes())
            def decode(self, bitstream, out_png):
                out_png.write_bytes(bitstream.read_bytes())
    '''))
    info = tmp_path / "dummy_rd_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dummy-rd-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[rdbench.codecs]\ndummy-plugin = dummy_rd_plugin:Dummy\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("dummy_rd_plugin", None)


def test_a_third_party_package_adds_a_codec_without_touching_rdbench(third_party_plugin):
    reg = Registry("codec", group="rdbench.codecs")
    assert "dummy-plugin" in reg.names()
    assert reg.origin("dummy-plugin") == "dummy-rd-plugin"
    cls = reg.get("dummy-plugin")
    assert issubclass(cls, Codec) and cls().points() == [1]


def test_create_rejects_bad_options():
    with pytest.raises(TypeError, match="codec 'jpeg' has no option 'no_such_option'"):
        create("jpeg", no_such_option=1)

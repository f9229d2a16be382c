import hashlib

import pytest

from fusion_dspy.errors import LocalModelError
from fusion_dspy.lm.weights import EMBEDDED_MODELS, EmbeddedModel, assemble, cache_dir, part_paths


@pytest.fixture
def chunk_packages(tmp_path, monkeypatch):
    """Three fake chunk packages on sys.path, laid out like the real ones (pkg/data/partNN.bin)."""
    root = tmp_path / "site"
    chunks = [b"first-", b"second-", b"third"]
    for i, chunk in enumerate(chunks, start=1):
        package = root / f"fakechunk_part{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{i:02d}.bin").write_bytes(chunk)
    monkeypatch.syspath_prepend(str(root))
    whole = b"".join(chunks)
    return EmbeddedModel(
        name="fake",
        description="fake model",
        package_prefix="fakechunk-part",
        parts=3,
        version="0",
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        extra="fake",
    )


def test_assembles_in_order_verifies_and_reuses(chunk_packages, tmp_path):
    path = assemble(chunk_packages, tmp_path / "models")
    assert path.read_bytes() == b"first-second-third"
    assert path.with_suffix(".verified.json").is_file()
    mtime = path.stat().st_mtime_ns
    assert assemble(chunk_packages, tmp_path / "models") == path
    assert path.stat().st_mtime_ns == mtime


def test_wrong_hash_is_refused_and_nothing_is_left_behind(chunk_packages, tmp_path):
    tampered = chunk_packages.model_copy(update={"sha256": "0" * 64})
    with pytest.raises(LocalModelError, match=r"failed verification.*--force-reinstall"):
        assemble(tampered, tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_a_corrupted_cached_file_is_detected(chunk_packages, tmp_path):
    path = assemble(chunk_packages, tmp_path / "models")
    path.write_bytes(b"first-second-thirX")
    with pytest.raises(LocalModelError, match="failed verification"):
        assemble(chunk_packages, tmp_path / "models")
    assert not path.exists()
    assert assemble(chunk_packages, tmp_path / "models").read_bytes() == b"first-second-third"


def test_missing_packages_name_the_install_command(chunk_packages):
    missing = chunk_packages.model_copy(update={"package_prefix": "nonexistent-chunk-part"})
    with pytest.raises(LocalModelError, match=r"pip install 'fusion-dspy\[fake\]'"):
        part_paths(missing)


def test_cache_dir_honours_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FUSION_DSPY_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "models"


def test_recorded_models_are_pinned():
    small = EMBEDDED_MODELS["local-small"]
    assert small.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert EMBEDDED_MODELS["local"].size == 1_117_320_768

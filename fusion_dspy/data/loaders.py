"""One loader per benchmark. Each reads the local copy (the layout of the project's shared data folder) with
`datasets`, falls back to the hub id when there is no local copy, and fails with one clear message otherwise.
"""

from __future__ import annotations

import csv
import functools
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import datasets

from fusion_dspy.data.locate import DataNotFoundError, find_data_dir

Rows = list[dict[str, Any]]


@functools.cache
def hub_reachable(timeout_s: float = 3.0) -> bool:
    """False when offline mode is set or the hub's host cannot be reached within `timeout_s` (no slow retries)."""
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout_s).close()
    except OSError:
        return False
    return True


def _local_or_hub(
    name: str,
    local: Path | None,
    read_local: Callable[[Path], datasets.Dataset],
    hub: Callable[[], datasets.Dataset] | None,
) -> datasets.Dataset:
    if local is not None and local.exists():
        return read_local(local)
    if hub is not None and not hub_reachable():
        reason = "the hub is unreachable (offline)"
    elif hub is not None:
        try:
            return hub()
        except Exception as exc:  # noqa: BLE001 - offline, missing config, gated: all mean "no hub copy"
            reason = f"the hub is unreachable or refused ({type(exc).__name__})"
    else:
        reason = "it has no hub copy we can use"
    where = str(local) if local is not None else "no data folder found"
    raise DataNotFoundError(
        f"{name}: no local copy ({where}) and {reason}. Pass --data-dir (or set FUSION_DSPY_DATA_DIR) to a folder "
        "laid out like the project's shared/data."
    )


def _path(data_dir: str | Path | None, *parts: str) -> Path | None:
    base = find_data_dir(data_dir)
    return base.joinpath(*parts) if base is not None else None


def _json(path: Path) -> datasets.Dataset:
    return datasets.load_dataset("json", data_files=str(path), split="train")


def load_mgsm(language: str, data_dir: str | Path | None = None) -> Rows:
    """MGSM: `question`, integer `answer` (as text)."""
    local = _path(data_dir, "mgsm", f"mgsm_{language}.tsv")

    def read(path: Path) -> datasets.Dataset:
        return datasets.load_dataset(
            "csv", data_files=str(path), delimiter="\t", column_names=["question", "answer"],
            quoting=csv.QUOTE_NONE, split="train",
        )  # fmt: skip

    def hub() -> datasets.Dataset:
        return datasets.load_dataset("juletxara/mgsm", language, split="test")

    rows = _local_or_hub(f"MGSM ({language})", local, read, hub)
    return [{"question": r["question"], "answer": str(r.get("answer_number", r["answer"]))} for r in rows]


def load_gsm8k(data_dir: str | Path | None = None) -> Rows:
    """GSM8K test, every row in file order: `question`, `answer` (the number after `####`, commas removed)."""
    local = _path(data_dir, "gsm8k", "test.jsonl")

    def hub() -> datasets.Dataset:
        return datasets.load_dataset("openai/gsm8k", "main", split="test")

    rows = _local_or_hub("GSM8K (test)", local, _json, hub)
    return [{"question": r["question"], "answer": r["answer"].rsplit("####", 1)[-1].strip().replace(",", "")}
            for r in rows]  # fmt: skip


def load_wmt24pp(target: str, data_dir: str | Path | None = None) -> Rows:
    """WMT24++ en→`target` (e.g. `de_DE`): `source`, `target`; canary row 0 and bad sources dropped."""
    local = _path(data_dir, "wmt24pp", f"en-{target}.jsonl")

    def hub() -> datasets.Dataset:
        return datasets.load_dataset("google/wmt24pp", f"en-{target}", split="train")

    rows = _local_or_hub(f"WMT24++ (en-{target})", local, _json, hub)
    return [
        {"source": r["source"], "target": r["target"], "id": f"{r['document_id']}#{r['segment_id']}"}
        for r in rows
        if r["segment_id"] != 0 and r["domain"] != "canary" and not r["is_bad_source"]
    ]


def load_ntrex(target: str, data_dir: str | Path | None = None) -> Rows:
    """NTREX-128 newstest2019, line-aligned English sources and `target` (e.g. `deu`) references."""
    base = _path(data_dir, "ntrex128")
    source = base / "newstest2019-src.eng.txt" if base else None
    reference = base / f"newstest2019-ref.{target}.txt" if base else None
    if reference is None or not reference.is_file():
        _local_or_hub(f"NTREX-128 ({target})", reference, _json, None)
    assert source is not None and reference is not None
    src = datasets.load_dataset("text", data_files=str(source), split="train")["text"]
    ref = datasets.load_dataset("text", data_files=str(reference), split="train")["text"]
    docs = _document_ids(base)
    return [{"source": s, "target": t, "id": f"{docs[i]}#{i}"} for i, (s, t) in enumerate(zip(src, ref, strict=True))]


def _document_ids(base: Path | None) -> list[str]:
    assert base is not None
    return datasets.load_dataset("text", data_files=str(base / "DOCUMENT_IDS.tsv"), split="train")["text"]


def load_ntrex_documents(data_dir: str | Path | None = None, max_chars: int = 1500) -> Rows:
    """NTREX's English news documents, whole (lines grouped by DOCUMENT_IDS), cut at `max_chars` on a line end."""
    rows = load_ntrex("deu", data_dir)
    documents: dict[str, list[str]] = {}
    for row in rows:
        documents.setdefault(row["id"].split("#")[0], []).append(row["source"])
    result: Rows = []
    for doc_id, lines in documents.items():
        text = ""
        for line in lines:
            if text and len(text) + len(line) + 1 > max_chars:
                break
            text = f"{text}\n{line}" if text else line
        if text.count(".") >= 2:
            result.append({"id": doc_id, "document": text})
    return result


GEOFACTX_LANGUAGES = {"en": "english", "hi": "hindi", "ja": "japanese", "th": "thai", "sw": "swahili"}


def load_geofactx(language: str, data_dir: str | Path | None = None) -> Rows:
    """GeoFactX test: `question`, `answers` (answer_list), for en hi ja th sw."""
    if language not in GEOFACTX_LANGUAGES:
        raise DataNotFoundError(f"GeoFactX has no language {language!r}; choose from {sorted(GEOFACTX_LANGUAGES)}.")
    local = _path(data_dir, "geofactx", "geofact_x_test.jsonl")
    rows = _local_or_hub("GeoFactX", local, _json, None)
    name = GEOFACTX_LANGUAGES[language]
    return [{"question": r["question"], "answers": list(r["answer_list"])} for r in rows if r["language"] == name]


XLSUM_CONFIGS = {
    "ar": "arabic", "en": "english", "es": "spanish", "fr": "french", "hi": "hindi", "ja": "japanese",
    "ko": "korean", "pt": "portuguese", "ru": "russian", "sw": "swahili", "th": "thai", "zh": "chinese_simplified",
}  # fmt: skip


def load_xlsum(language: str, split: str = "test") -> Rows:
    """XLSum (`id`, `document`, `summary`) from the hub only: its licence forbids redistributing a local copy."""
    if language not in XLSUM_CONFIGS:
        raise DataNotFoundError(f"XLSum has no language {language!r} here; choose from {sorted(XLSUM_CONFIGS)}.")

    def hub() -> datasets.Dataset:
        return datasets.load_dataset("csebuetnlp/xlsum", XLSUM_CONFIGS[language], split=split)

    rows = _local_or_hub(f"XLSum ({language})", None, _json, hub)
    return [{"id": str(r["id"]), "document": r["text"], "summary": r["summary"]} for r in rows]


def load_arena_hard(data_dir: str | Path | None = None, version: str = "v0.1") -> Rows:
    """Arena-Hard questions (English): `id`, `prompt`."""
    local = _path(data_dir, "arena_hard", f"question_{version}.jsonl")
    rows = _local_or_hub(f"Arena-Hard {version}", local, _json, None)
    return [{"id": r["uid"], "prompt": r["prompt"]} for r in rows]


def load_mt_bench(data_dir: str | Path | None = None) -> Rows:
    """MT-Bench first turns (English): `id`, `prompt`."""
    local = _path(data_dir, "mt_bench", "question.jsonl")
    rows = _local_or_hub("MT-Bench", local, _json, None)
    return [{"id": str(r["question_id"]), "prompt": r["turns"][0]} for r in rows]

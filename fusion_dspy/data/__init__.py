"""Benchmark data through `datasets`: local files first (offline), hub ids when reachable."""

from fusion_dspy.data.loaders import (
    load_arena_hard,
    load_geofactx,
    load_gsm8k,
    load_mgsm,
    load_mt_bench,
    load_ntrex,
    load_ntrex_documents,
    load_wmt24pp,
    load_xlsum,
)
from fusion_dspy.data.locate import DATA_DIR_ENV, DataNotFoundError, find_data_dir

__all__ = [
    "DATA_DIR_ENV",
    "DataNotFoundError",
    "find_data_dir",
    "load_arena_hard",
    "load_geofactx",
    "load_gsm8k",
    "load_mgsm",
    "load_mt_bench",
    "load_ntrex",
    "load_ntrex_documents",
    "load_wmt24pp",
    "load_xlsum",
]

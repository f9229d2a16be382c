"""A tiny benchmark folder in the real layout and file formats of the project's shared data folder.

Every row here is synthetic, written for these tests (no benchmark text is copied): enough rows per file for the
loaders, tasks, eval runner and optimiser study to run, with the quirks the loaders handle (WMT24++'s canary row
and bad sources, NTREX's line-aligned files grouped into documents by DOCUMENT_IDS.tsv, GeoFactX's languages).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# MGSM: `question<TAB>answer`, no header; templates filled with numbers so every language has 12 rows.
_MGSM_TEMPLATES = {
    "en": "A baker made {a} rolls in the morning and {b} rolls in the afternoon. How many rolls did she make?",
    "de": "Eine Bäckerin backt morgens {a} Brötchen und nachmittags {b} Brötchen. Wie viele Brötchen backt sie?",
    "fr": "Une boulangère fait {a} petits pains le matin et {b} l'après-midi. Combien de petits pains fait-elle ?",
    "ja": "パン屋さんは朝に{a}個、午後に{b}個のパンを焼きました。全部で何個焼きましたか？",
}
_MGSM_ROWS = [(3 + i, 4 + 2 * i) for i in range(12)]

# WMT24++ en→X: one JSON object per line; row 0 is the canary, and one row is a bad source.
_WMT_PAIRS = {
    "de_DE": [
        ("The library opens at nine o'clock every morning.", "Die Bibliothek öffnet jeden Morgen um neun Uhr."),
        (
            "Our neighbours planted three apple trees in the garden last spring.",
            "Unsere Nachbarn haben im letzten Frühling drei Apfelbäume im Garten gepflanzt.",
        ),
        (
            "The train to the coast was delayed because of the storm.",
            "Der Zug an die Küste hatte wegen des Sturms Verspätung.",
        ),
        (
            "She writes a short letter to her grandmother every week.",
            "Sie schreibt ihrer Großmutter jede Woche einen kurzen Brief.",
        ),
        (
            "The museum will show paintings by local artists until December.",
            "Das Museum zeigt bis Dezember Bilder von Künstlern aus der Region.",
        ),
    ],
    "ja_JP": [
        ("The library opens at nine o'clock every morning.", "図書館は毎朝九時に開きます。"),
        (
            "Our neighbours planted three apple trees in the garden last spring.",
            "隣の人たちは去年の春、庭にりんごの木を三本植えました。",
        ),
        ("The train to the coast was delayed because of the storm.", "海辺へ行く電車は嵐のせいで遅れました。"),
        ("She writes a short letter to her grandmother every week.", "彼女は毎週、祖母に短い手紙を書きます。"),
        (
            "The museum will show paintings by local artists until December.",
            "美術館では十二月まで地元の画家の絵を展示します。",
        ),
    ],
}
BAD_SOURCE = "zzkq vvrp ## lorem broken segment"

# NTREX-128: line-aligned source and reference files; DOCUMENT_IDS.tsv names each line's document.
_NTREX_DOCUMENTS = [
    (
        "fixture.news.1",
        [
            ("A new bridge over the river opened on Monday.", "Am Montag wurde eine neue Brücke eröffnet."),
            ("It took three years to build.", "Der Bau dauerte drei Jahre."),
            ("Cyclists can now cross in five minutes.", "Radfahrer können den Fluss jetzt in fünf Minuten queren."),
        ],
    ),
    (
        "fixture.news.2",
        [
            ("The town council met to discuss the budget.", "Der Stadtrat traf sich, um den Haushalt zu besprechen."),
            ("Members agreed to repair two schools.", "Sie einigten sich darauf, zwei Schulen zu renovieren."),
            ("Work will start in the summer.", "Die Arbeiten beginnen im Sommer."),
            ("Parents welcomed the decision.", "Die Eltern begrüßten die Entscheidung."),
        ],
    ),
    (
        "fixture.news.3",
        [
            ("A small dog was rescued from a frozen lake.", "Ein kleiner Hund wurde aus einem eisigen See gerettet."),
            ("Firefighters used a ladder to reach it.", "Die Feuerwehr erreichte ihn mit einer Leiter."),
            ("The dog is now warm and safe at home.", "Der Hund ist jetzt warm und sicher zu Hause."),
        ],
    ),
]
_NTREX_JAPANESE = [
    "月曜日に川に新しい橋が開通した。", "建設には三年かかった。", "自転車なら五分で渡れる。",
    "町議会は予算について話し合った。", "議員は二つの学校の修理に合意した。", "工事は夏に始まる。",
    "保護者はこの決定を歓迎した。", "凍った湖から小さな犬が救助された。", "消防士がはしごを使って犬に近づいた。",
    "犬は今、家で暖かく安全に過ごしている。",
]  # fmt: skip

# GeoFactX test: one JSON object per line, every language in one file.
_GEOFACTX = {
    "english": [
        ("Which river flows through the city of Vienna?", ["Danube", "Donau"]),
        ("Which ocean lies to the west of Portugal?", ["Atlantic Ocean", "Atlantic"]),
        ("What is the capital city of Kenya?", ["Nairobi"]),
        ("Which mountain range separates France and Spain?", ["Pyrenees"]),
    ],
    "japanese": [
        ("ウィーンを流れる川は何ですか？", ["ドナウ川", "ドナウ"]),
        ("ポルトガルの西にある海洋は何ですか？", ["大西洋"]),
        ("ケニアの首都はどこですか？", ["ナイロビ"]),
        ("フランスとスペインを隔てる山脈は何ですか？", ["ピレネー山脈"]),
    ],
    "hindi": [("केन्या की राजधानी कौन सा शहर है?", ["नैरोबी"])],
}

_ARENA_HARD = [
    ("0f1e2d3c4b5a69788796a5b4c3d2e1f0", "Sorting", "Write a Python function that sorts a list of words by length."),
    ("a1b2c3d4e5f60718293a4b5c6d7e8f90", "Writing", "Draft a polite email asking a colleague to review a report."),
    ("11112222333344445555666677778888", "Planning", "Plan a three-day walking trip for a family with small children."),
]
_MT_BENCH = [
    (901, "writing", ["Write a short poem about a lighthouse.", "Now rewrite it as a limerick."]),
    (902, "reasoning", ["If a train leaves at 3 pm and travels 2 hours, when does it arrive?", "And if it is late?"]),
    (903, "coding", ["Explain what a Python list comprehension is.", "Give an example with a condition."]),
]
# GSM8K test: `{"question", "answer"}` per line, the answer's last line `#### <number>` (thousands with commas).
# As in the real file, rows 0-249 are MGSM's problems (here: the synthetic English MGSM rows, then filler), and
# the rows after them are GSM8K's own.
_GSM8K_MGSM_ROWS = 250
_GSM8K = [
    ("A shop sold 12 cakes on Monday and 15 on Tuesday. How many did it sell?", "12 + 15 = <<12+15=27>>27\n#### 27"),
    ("Tom has 40 marbles and gives away 15. How many are left?", "40 - 15 = <<40-15=25>>25\n#### 25"),
    ("A box holds 6 eggs. How many eggs are in 7 boxes?", "6 * 7 = <<6*7=42>>42\n#### 42"),
    ("Anna reads 9 pages a day for 5 days. How many pages does she read?", "9 * 5 = <<9*5=45>>45\n#### 45"),
    ("A farm packs 250 apples into each of 5 crates. How many apples?", "250 * 5 = <<250*5=1250>>1250\n#### 1,250"),
]  # fmt: skip


def _gsm8k_rows() -> list[dict[str, str]]:
    mgsm = [(_MGSM_TEMPLATES["en"].format(a=a, b=b), a + b) for a, b in _MGSM_ROWS]
    filler = [(f"A jar holds {i} beads and {i} more are added. How many beads?", 2 * i) for i in range(250)]
    first = (mgsm + filler)[:_GSM8K_MGSM_ROWS]
    return [{"question": q, "answer": f"Add the two numbers.\n#### {n}"} for q, n in first] + [
        {"question": q, "answer": a} for q, a in _GSM8K
    ]


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def _lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _wmt_rows(locale: str) -> list[dict[str, Any]]:
    canary = "CANARY fixture 00000000-0000-0000-0000-000000000000"
    rows = [{"domain": "canary", "document_id": "canary", "segment_id": 0, "is_bad_source": True,
             "source": canary, "target": canary}]  # fmt: skip
    for i, (source, target) in enumerate(_WMT_PAIRS[locale], start=1):
        domain = "news" if i <= 3 else "social"
        rows.append({"domain": domain, "document_id": f"test-en-{domain}_fixture.{i}", "segment_id": i,
                     "is_bad_source": False, "source": source, "target": target})  # fmt: skip
    rows.append({"domain": "social", "document_id": "test-en-social_fixture.bad", "segment_id": len(rows),
                 "is_bad_source": True, "source": BAD_SOURCE, "target": BAD_SOURCE})  # fmt: skip
    return [{"lp": f"en-{locale}", **row, "original_target": row["target"]} for row in rows]


def write_benchmark_folder(root: Path) -> Path:
    """Write the tiny benchmark folder under `root` and return it (use it as --data-dir)."""
    for language, template in _MGSM_TEMPLATES.items():
        rows = [f"{template.format(a=a, b=b)}\t{a + b}" for a, b in _MGSM_ROWS]
        _lines(root / "mgsm" / f"mgsm_{language}.tsv", rows)
    for locale in _WMT_PAIRS:
        _jsonl(root / "wmt24pp" / f"en-{locale}.jsonl", _wmt_rows(locale))
    lines = [(doc, src, ref) for doc, pairs in _NTREX_DOCUMENTS for src, ref in pairs]
    _lines(root / "ntrex128" / "newstest2019-src.eng.txt", [src for _, src, _ in lines])
    _lines(root / "ntrex128" / "newstest2019-ref.deu.txt", [ref for _, _, ref in lines])
    _lines(root / "ntrex128" / "newstest2019-ref.jpn.txt", _NTREX_JAPANESE)
    _lines(root / "ntrex128" / "DOCUMENT_IDS.tsv", [doc for doc, _, _ in lines])
    _jsonl(
        root / "geofactx" / "geofact_x_test.jsonl",
        [
            {"question": question, "answer_list": answers, "reasoning": "<step> synthetic", "corrected_answer_list":
             answers, "topic": "Geography", "region": "World", "answer_type": "Place", "language": language}
            for language, rows in _GEOFACTX.items()
            for question, answers in rows
        ],
    )  # fmt: skip
    _jsonl(
        root / "arena_hard" / "question_v0.1.jsonl",
        [{"uid": uid, "category": "arena-hard-v0.1", "cluster": cluster, "prompt": prompt}
         for uid, cluster, prompt in _ARENA_HARD],
    )  # fmt: skip
    _jsonl(
        root / "mt_bench" / "question.jsonl",
        [{"question_id": qid, "category": category, "turns": turns} for qid, category, turns in _MT_BENCH],
    )
    _jsonl(root / "gsm8k" / "test.jsonl", _gsm8k_rows())
    return root


COUNTS = {
    "mgsm": len(_MGSM_ROWS),
    "wmt24pp": {locale: len(pairs) for locale, pairs in _WMT_PAIRS.items()},
    "ntrex_lines": sum(len(pairs) for _, pairs in _NTREX_DOCUMENTS),
    "ntrex_documents": len(_NTREX_DOCUMENTS),
    "geofactx": {"en": len(_GEOFACTX["english"]), "ja": len(_GEOFACTX["japanese"]), "hi": len(_GEOFACTX["hindi"])},
    "arena_hard": len(_ARENA_HARD),
    "mt_bench": len(_MT_BENCH),
    "gsm8k": _GSM8K_MGSM_ROWS + len(_GSM8K),
    "gsm8k_after_mgsm": len(_GSM8K),
}

"""Speculative decoding on the embedded models: the fusor over stored real pools, and the candidates, with and
without each speculative type, against the machine's decode ceiling.

Every configuration runs in a child process with its own llama.cpp server (`ServerSettings.speculative`), the DSPy
cache off. The fusor answers the first `--pools` stored pools of `results/realsize` (translation de, math en) one
after the other, at temperature 0 — where speculation must leave the output token-identical — and at the sampled
temperature `fusion-dspy run` uses. Per type against none: the fusor's time ratio (median over the pools), decode
tokens/s ratio, draft acceptance and prompt-processing time share (from the server's own `timings`). The candidates:
n samples at temperature 0.8 of the 1.5B model with the 0.5B one drafting, answer quality compared on the same
items. The decode ceiling: measured memory bandwidth ÷ model file size (`decode_ceiling.py`).

    python benchmarks/speculative.py --write                                  # the full run: hours on 2 idle cores
    python benchmarks/speculative.py --pools 2 --fusor-model local-small --temperatures 0 \\
        --types none,ngram-simple --candidate-items 0                          # a smoke run: minutes
    python benchmarks/speculative.py --report-only --bandwidth-gb-s 12.3 --write  # the summary of the store, no model

Numbers mean something only on a quiet machine; the load average is recorded with them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from decode_ceiling import decode_ceilings

RESULTS = Path(__file__).with_name("results.json")
RESULT_KEYS = (  # what --write merges into results.json (benchmarks/run.py keeps them)
    "fusor_spec_best_type", "fusor_spec_time_ratio", "fusor_spec_adopted", "spec_identical", "spec_acceptance",
    "decode_ceiling_share", "memory_bandwidth_gb_s", "decode_ceiling_tok_s", "speculative_fusor",
    "speculative_candidates", "speculative_settings", "speculative_load",
)  # fmt: skip
STORE = Path(__file__).resolve().parents[1] / "results" / "speculative" / "runs.jsonl"
REALSIZE = Path(__file__).resolve().parents[1] / "results" / "realsize"
POOLS = {  # stored pools of the real-size evaluation: n=5, temperature 0.8, seed 0, 256 tokens, the 1.5B model
    ("translation", "de"): REALSIZE / "translation/pools/translation/de/openai_local-n5-t0.8-s0-m256.jsonl",
    ("math", "en"): REALSIZE / "math/pools/math/en/openai_local-n5-t0.8-s0-m256.jsonl",
}
MIN_POOLS = 20  # per task, for a type to be adopted as the default
# Named speculative settings; sizes are llama.cpp's defaults unless given (see fusion_dspy/lm/speculative.py).
TYPES: dict[str, dict[str, Any]] = {
    "none": {},
    "ngram-simple": {"type": "ngram-simple"},
    "ngram-simple-short": {"type": "ngram-simple", "ngram_n": 4, "ngram_m": 16},
    "ngram-map-k": {"type": "ngram-map-k", "ngram_n": 4, "ngram_m": 16},
    "ngram-mod": {"type": "ngram-mod", "ngram_n": 8, "ngram_m": 32},
    "ngram-cache": {"type": "ngram-cache"},
    "draft-small": {"draft_model": "local-small", "draft_max": 8},
}


# --- child: one configuration, one server ------------------------------------------------------------------------


def _timings(entries: list[dict[str, Any]]) -> dict[str, float]:
    """The server's timings summed over logged LM calls (llama.cpp reports them with every response)."""
    total: dict[str, float] = {}
    for entry in entries:
        responses = entry.get("response")
        for response in responses if isinstance(responses, list) else [responses]:
            data = getattr(response, "provider_data", None) or {}
            for key, value in (data.get("timings") or {}).items():
                if key in ("prompt_n", "prompt_ms", "predicted_n", "predicted_ms", "draft_n", "draft_n_accepted"):
                    total[key] = total.get(key, 0.0) + float(value)
    return total


def _texts(entries: list[dict[str, Any]]) -> list[str]:
    return [str(o.get("text") if isinstance(o, dict) else o) for entry in entries for o in entry.get("outputs") or []]


def _key(config: dict[str, Any]) -> str:
    """What makes two runs of the same items comparable (not the types, the store or the timeout)."""
    fields = ("role", "model", "task", "language", "temperature", "max_tokens", "n")
    return json.dumps({k: config[k] for k in fields}, sort_keys=True)


def stored(store: Path, config: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """type → item id → its stored run, for `config`'s items."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    if store.exists():
        for line in store.read_text().splitlines():
            row = json.loads(line) if line.strip() else None
            if row and row["key"] == _key(config):
                found.setdefault(row["type"], {})[row["item"]["id"]] = row["item"]
    return found


async def _child(config: dict[str, Any]) -> None:
    """Every type's server at once; each item answered by every type in turn, so a pair shares the machine's load
    of its minute (loads and speeds drift over hours). Each answer is appended to the store as it lands: a killed
    run continues where it stopped."""
    import dspy
    from dspy.clients.base_lm import GLOBAL_HISTORY

    import fusion_dspy as fd
    from fusion_dspy.eval.store import PoolRecord
    from fusion_dspy.lm.embedded import LOCAL_API_KEY, local_options
    from fusion_dspy.lm.server import LocalServer, ServerSettings
    from fusion_dspy.lm.speculative import SpeculativeSettings
    from fusion_dspy.programs import task_by_name

    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
    model, store = config["model"], Path(config["store"])
    task = task_by_name(config["task"])(data_dir=config.get("data_dir"))
    examples = {ex.id: ex for ex in task.load(config["language"])}
    lines = POOLS[(config["task"], config["language"])].read_text().splitlines()  # read only: shared results
    records = [r for r in (PoolRecord.model_validate_json(line) for line in lines if line.strip()) if r.id in examples]
    records = records[: config["items"]]
    done = stored(store, config)
    todo = [r for r in records if any(r.id not in done.get(kind, {}) for kind in config["types"])]
    if not todo:
        return
    options = local_options(max_tokens=config["max_tokens"], temperature=config["temperature"], cache=False)
    program = task.program()
    runners = {}
    for kind in config["types"]:
        settings = ServerSettings.from_env().model_copy(update={"speculative": SpeculativeSettings(**TYPES[kind])})
        server = LocalServer(model, settings)
        lm = dspy.LM(f"openai/{model}", api_base=server.base_url, api_key=LOCAL_API_KEY, **options)
        fusor = fd.NofN(program, fd.Fuser(lm=lm, chain_of_thought=task.chain_of_thought), n=5)
        sampler = fd.RepeatSampler(config["n"], lm=lm, temperature=config["temperature"], seed=0).bind(program)
        runners[kind] = (server, fusor, sampler)
    for record in todo:  # one item at a time: its calls' timings are the history it added
        example = examples[record.id]
        for kind, (_, fusor, sampler) in runners.items():
            if record.id in done.get(kind, {}):
                continue
            before, started = len(GLOBAL_HISTORY), time.perf_counter()
            if config["role"] == "fusor":
                prediction = await fusor.afrom_pool(example.inputs().toDict(), record.pool)
                outputs = [dict(prediction.items())]
            else:
                pool = await sampler.agenerate(example.inputs().toDict())
                outputs = [c.outputs for c in pool.succeeded]
            wall = time.perf_counter() - started
            entries = GLOBAL_HISTORY[before:]
            scores = [s for s in [(await task.ameasure(example, o)).score for o in outputs] if s is not None]
            item = {"id": record.id, "wall_s": wall, "texts": _texts(entries), "timings": _timings(entries),
                    "score": statistics.fmean(scores) if scores else None, "load": os.getloadavg()[0]}  # fmt: skip
            with store.open("a") as handle:
                handle.write(json.dumps({"key": _key(config), "type": kind, "item": item}) + "\n")
    for server, _, _ in runners.values():
        server.close()


# --- parent: configurations, ratios, report ------------------------------------------------------------------------


def run_config(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every type of one configuration in its own process (its servers' memory is freed when it ends); type →
    {"items": [...]} in the pools' order."""
    if config.get("report_only"):  # what is stored, pairs complete over the types stored for every item
        found = stored(Path(config["store"]), config)
        kinds = [k for k in config["types"] if k in found]
        if "none" not in kinds:
            return {}
        order = [i for i in found["none"] if all(i in found[k] for k in kinds)][: config["items"]]
        return {kind: {"items": [found[kind][i] for i in order]} for kind in kinds}
    here = Path(__file__).parent
    done = subprocess.run([sys.executable, str(here / "speculative.py"), "--child", json.dumps(config)],
                          capture_output=True, text=True, timeout=config["timeout_s"], cwd=here)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"configuration {config} failed:\n{done.stderr[-3000:]}")
    found = stored(Path(config["store"]), config)
    order = list(found.get("none", {}))[: config["items"]]
    return {kind: {"items": [found[kind][i] for i in order]} for kind in config["types"]}


def _sum(items: list[dict[str, Any]], key: str) -> float:
    return sum(item["timings"].get(key, 0.0) for item in items)


def _load_range(runs: dict[str, dict[str, Any]]) -> list[float]:
    """The lowest and highest load average the items of a configuration were answered under."""
    loads = [item["load"] for run in runs.values() for item in run["items"]]
    return [min(loads), max(loads)] if loads else []


def _decode_tok_s(items: list[dict[str, Any]]) -> float:
    return _sum(items, "predicted_n") / max(_sum(items, "predicted_ms") / 1000, 1e-9)


def compare(base: list[dict[str, Any]], spec: list[dict[str, Any]], identical_expected: bool) -> dict[str, Any]:
    """One type against none on the same items."""
    drafted = _sum(spec, "draft_n")
    prompt_ms, decode_ms = _sum(spec, "prompt_ms"), _sum(spec, "predicted_ms")
    row: dict[str, Any] = {
        "time_ratio": statistics.median(s["wall_s"] / b["wall_s"] for b, s in zip(base, spec, strict=True)),
        "decode_tok_s_ratio": _decode_tok_s(spec) / max(_decode_tok_s(base), 1e-9),
        "acceptance": _sum(spec, "draft_n_accepted") / drafted if drafted else None,
        "drafted_tokens": drafted,
        "prompt_time_share": prompt_ms / max(prompt_ms + decode_ms, 1e-9),
        "decode_tok_s": _decode_tok_s(spec),
    }
    if identical_expected:
        row["identical"] = all(b["texts"] == s["texts"] for b, s in zip(base, spec, strict=True))
    scores = [[i["score"] for i in items if i["score"] is not None] for items in (base, spec)]
    if all(scores):
        row["score_none"], row["score"] = statistics.fmean(scores[0]), statistics.fmean(scores[1])
    return row


def fusor_runs(args: argparse.Namespace, common: dict[str, Any]) -> dict[str, Any]:
    """Per task, temperature and type: the comparison with none."""
    table: dict[str, Any] = {}
    for task, language in POOLS:
        for temperature in args.temperatures:
            runs = run_config(
                common
                | {
                    "role": "fusor",
                    "model": args.fusor_model,
                    "types": args.types,
                    "task": task,
                    "language": language,
                    "items": args.pools,
                    "temperature": temperature,
                }
            )
            if not runs:
                continue
            base = runs["none"]["items"]
            table[f"{task}-{language}@T{temperature:g}"] = {
                "none": {"pools": len(base), "load": _load_range(runs), "decode_tok_s": _decode_tok_s(base),
                         "prompt_time_share": compare(base, base, False)["prompt_time_share"],
                         "wall_s_median": statistics.median(i["wall_s"] for i in base)},
                **{k: compare(base, r["items"], temperature == 0) for k, r in runs.items() if k != "none"},
            }  # fmt: skip
            name = f"{task}-{language}@T{temperature:g}"
            print(f"fusor {name}: {json.dumps(table[name])}")
    return table


def candidate_runs(args: argparse.Namespace, common: dict[str, Any]) -> dict[str, Any]:
    """n candidates of the candidate model at T=0.8 with and without `--candidate-type`, quality compared."""
    table: dict[str, Any] = {}
    for task, language in POOLS:
        if task not in args.candidate_tasks:
            continue
        runs = run_config(common | {"role": "candidates", "model": args.candidate_model, "task": task,
                                    "types": ["none", args.candidate_type], "language": language,
                                    "items": args.candidate_items, "temperature": 0.8})  # fmt: skip
        if args.candidate_type not in runs:
            continue
        base, spec = runs["none"]["items"], runs[args.candidate_type]["items"]
        row = compare(base, spec, False) | {"decode_tok_s_none": _decode_tok_s(base), "items": len(base),
                                            "load": _load_range(runs)}  # fmt: skip
        row["throughput_tok_s"] = _sum(spec, "predicted_n") / sum(i["wall_s"] for i in spec)
        row["throughput_tok_s_none"] = _sum(base, "predicted_n") / sum(i["wall_s"] for i in base)
        table[f"{task}-{language}"] = row
        print(f"candidates {task}-{language} ({args.candidate_type}): {json.dumps(row)}")
    return table


def summary(fusor: dict[str, Any], candidates: dict[str, Any], ceilings: dict[str, Any],
            args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    """The results.json keys: the best type at temperature 0 (adopted only at ≤ 0.7 on both tasks with outputs
    identical, over at least `MIN_POOLS` pools each: a smoke run adopts nothing), its acceptance, and how close the
    plain fusor and candidates decode to the ceiling."""
    greedy = {k: v for k, v in fusor.items() if k.endswith("@T0")}
    kinds = [k for k in args.types if k != "none"]
    kinds = [k for k in kinds if greedy and all(k in rows for rows in greedy.values())]  # measured on every task
    per_kind = {k: [rows[k]["time_ratio"] for rows in greedy.values()] for k in kinds}
    best = min(kinds, key=lambda k: statistics.median(per_kind[k])) if kinds else None
    ceiling = ceilings["decode_ceiling_tok_s"]
    shares: dict[str, Any] = {}
    if greedy:
        plain = statistics.fmean(rows["none"]["decode_tok_s"] for rows in greedy.values())
        shares[args.fusor_model] = {"fusor_single_stream": plain / ceiling[args.fusor_model]}
    if candidates:
        per_request = statistics.fmean(r["decode_tok_s_none"] for r in candidates.values())
        together = statistics.fmean(r["throughput_tok_s_none"] for r in candidates.values())
        shares.setdefault(args.candidate_model, {}).update({
            "candidates_per_request": per_request / ceiling[args.candidate_model],
            "candidates_together_vs_single_stream_ceiling": together / ceiling[args.candidate_model],
        })  # fmt: skip
    pools = min((rows["none"]["pools"] for rows in greedy.values()), default=0)
    identical = best is not None and all(rows[best].get("identical", True) for rows in greedy.values())
    adopt = (identical and len(greedy) == len(POOLS) and pools >= MIN_POOLS
             and all(r <= 0.7 for r in per_kind[best]))  # fmt: skip
    return {
        "fusor_spec_best_type": best,
        "fusor_spec_time_ratio": statistics.median(per_kind[best]) if best else None,
        "fusor_spec_adopted": best if adopt else None,
        "spec_identical": all(rows[k]["identical"] for rows in greedy.values() for k in kinds) if greedy else None,
        "spec_acceptance": {k: [rows[k]["acceptance"] for rows in greedy.values()] for k in kinds},
        "decode_ceiling_share": shares,
        **ceilings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--pools", type=int, default=20, help="stored pools per task the fusor answers")
    parser.add_argument("--types", default=",".join(TYPES), help=f"speculative settings to try: {', '.join(TYPES)}")
    parser.add_argument("--temperatures", default="0,0.8", help="fusor temperatures (0: outputs must be identical)")
    parser.add_argument("--fusor-model", default="local")
    parser.add_argument("--candidate-model", default="local")
    parser.add_argument("--candidate-type", default="draft-small")
    parser.add_argument("--candidate-items", type=int, default=40, help="items sampled for the candidates (0: skip)")
    parser.add_argument("--candidate-tasks", default="translation,math", help="tasks whose candidates are sampled")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--data-dir", default=None, help="the benchmarks' data folder (default: the tasks' own)")
    parser.add_argument("--timeout", type=float, default=6 * 3600, help="seconds one configuration may take")
    parser.add_argument("--write", action="store_true", help="merge the summary into benchmarks/results.json")
    parser.add_argument("--store", default=str(STORE), help="every answer, appended as it lands (reruns continue)")
    parser.add_argument("--bandwidth-gb-s", type=float, default=None,
                        help="memory bandwidth measured on a quiet machine (benchmarks/decode_ceiling.py); default: "
                        "measure it now")  # fmt: skip
    parser.add_argument("--report-only", action="store_true",
                        help="summarise what the store holds (its types and items): no model starts")  # fmt: skip
    args = parser.parse_args()
    if args.child:
        asyncio.run(_child(json.loads(args.child)))
        return
    args.types = ["none", *[t for t in args.types.split(",") if t and t != "none"]]
    unknown = [t for t in [*args.types, args.candidate_type] if t not in TYPES]
    if unknown:
        parser.error(f"unknown type(s) {unknown}; choose from {', '.join(TYPES)}")
    args.temperatures = [float(t) for t in args.temperatures.split(",")]
    args.candidate_tasks = args.candidate_tasks.split(",")
    Path(args.store).parent.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    ceilings = decode_ceilings(args.bandwidth_gb_s * 1e9 if args.bandwidth_gb_s else None)
    common = {
        "max_tokens": args.max_tokens,
        "n": 5,
        "data_dir": args.data_dir,
        "timeout_s": args.timeout,
        "store": str(Path(args.store).resolve()),
        "report_only": args.report_only,
    }
    fusor = fusor_runs(args, common) if args.pools else {}
    candidates = candidate_runs(args, common) if args.candidate_items else {}
    ranges = [r["none"]["load"] for r in fusor.values()] + [r["load"] for r in candidates.values()]
    ranges = [r for r in ranges if r]
    result = summary(fusor, candidates, ceilings, args) | {
        "speculative_fusor": fusor, "speculative_candidates": candidates,
        "speculative_settings": {"pools": args.pools, "fusor_model": args.fusor_model, "types": args.types,
                                 "temperatures": args.temperatures, "candidate_model": args.candidate_model,
                                 "candidate_type": args.candidate_type, "candidate_items": args.candidate_items,
                                 "max_tokens": args.max_tokens},
        "speculative_load": {  # what the answers were made under (each item records its minute's load)
            "runs": [min(r[0] for r in ranges), max(r[1] for r in ranges)] if ranges else None,
            "report_before": load_before[0], "report_after": os.getloadavg()[0],
        },
    }  # fmt: skip
    print(json.dumps(result, indent=2))
    if args.write:
        previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        RESULTS.write_text(json.dumps(previous | result, indent=2) + "\n")
        print(f"merged into {RESULTS}")


if __name__ == "__main__":
    main()

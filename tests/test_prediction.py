"""Predictions that travel (issue 26.5, 26.6): copy, deepcopy and pickle keep `pred.nofn`; it dumps to JSON in one
call."""

import copy
import json
import pickle

import dspy

import fusion_dspy as fd
from fusion_dspy.testing import ScriptedLM
from tests.conftest import sampler_then_fusor

SAMPLES = [{"answer": a} for a in ["Paris", "Lyon", "Paris, France"]]


def fused_prediction():
    with dspy.context(lm=ScriptedLM(sampler_then_fusor(SAMPLES, {"answer": "Paris, the capital"}))):
        return fd.FusionOfN(dspy.Predict("question -> answer"), n=3)(question="Capital of France?")


def same_metadata(a, b):
    return a.nofn.to_dict() == b.nofn.to_dict() and a.answer == b.answer


def test_copy_keeps_the_metadata():
    pred = fused_prediction()
    assert same_metadata(pred.copy(), pred)
    assert pred.copy(answer="edited").nofn.method == "fused"
    assert pred.without("answer").nofn.candidates is pred.nofn.candidates


def test_deepcopy_keeps_the_metadata_and_the_traces_predictors():
    pred = fused_prediction()
    clone = copy.deepcopy(pred)
    assert same_metadata(clone, pred) and clone.nofn.candidates is not pred.nofn.candidates
    assert [c.trace for c in clone.nofn.candidates] == [c.trace for c in pred.nofn.candidates]
    assert clone.nofn.candidates[0].trace[0][0] is pred.nofn.candidates[0].trace[0][0]  # the same predictor


def test_pickle_round_trips_without_the_in_memory_traces():
    pred = fused_prediction()
    assert pred.nofn.candidates[0].trace  # live predictors and signature classes: not picklable as they are
    back = pickle.loads(pickle.dumps(pred))
    assert same_metadata(back, pred)
    assert back.nofn.path == "fused" and back.nofn.usage == pred.nofn.usage
    assert all(c.trace == [] for c in back.nofn.candidates)


def test_the_metadata_is_json_in_one_call():
    pred = fused_prediction()
    data = json.loads(json.dumps(pred.nofn.to_dict()))
    assert data["method"] == "fused" and data["path"] == "fused" and data["outputs"] == {"answer": "Paris, the capital"}
    assert [c["outputs"]["answer"] for c in data["candidates"]] == ["Paris", "Lyon", "Paris, France"]
    assert data["candidates"][0]["status"] == "ok" and data["usage"]["candidates"]["lm_calls"] == 3
    assert data["provenance"]["support"] and pred.nofn.model_dump() == data
    assert pred.nofn.model_dump(mode="python")["usage"]["aggregation"]["lm_calls"] == 1

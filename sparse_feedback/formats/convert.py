"""Generation files, instruction files, and the conversions between the pipeline's tables."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pandas as pd

from sparse_feedback.errors import InputError
from sparse_feedback.formats.readers import apply_kind, read_raw, read_table, valid_utf8
from sparse_feedback.formats.schema import (
    INSTRUCTIONS, MODEL_OUTPUTS, RANKING_FEEDBACK, RANKING_TASKS, RATING_FEEDBACK, RATING_TASKS,
)
from sparse_feedback.templates import alpaca_prompt, prompt_and_response, user_message


def _responses(value) -> list | None:
    """A generation row's responses as a list (parquet and HF give arrays; a CSV cell may hold a JSON list)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            value = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return None
    return value if isinstance(value, list) else None


def read_generation(path) -> pd.DataFrame:
    """A generation file: ``{instruction, input, responses: [...]}`` per row (JSON, JSONL, parquet, HF)."""
    raw = read_raw(path)
    if "responses" not in raw.frame.columns:
        raise InputError(raw.path, "missing column 'responses' (a list of response texts) for a generation file",
                         column="responses")
    out = apply_kind(raw, INSTRUCTIONS, dedupe=False)
    rows = []
    for i, value in enumerate(out["responses"].tolist()):
        responses = _responses(value)
        if not responses or not all(isinstance(r, str) and valid_utf8(r) for r in responses):
            raise InputError(raw.path, "expected a non-empty list of response texts (valid UTF-8)",
                             where=raw.label(i), column="responses")
        rows.append(responses)
    out["responses"] = pd.Series(rows, index=out.index, dtype=object)
    return out


def read_instructions(path) -> pd.DataFrame:
    """Instructions with optional input (and any extra columns such as ``dataset``), duplicates kept."""
    return read_table(path, INSTRUCTIONS, dedupe=False)


def rating_tasks(generation: pd.DataFrame) -> pd.DataFrame:
    """One row per response: ``instruction, input, response``."""
    out = generation[["instruction", "input", "responses"]].explode("responses", ignore_index=True)
    return out.rename(columns={"responses": "response"})


def ranking_tasks(generation: pd.DataFrame) -> pd.DataFrame:
    """Every unordered pair of an instruction's responses, in index order (0,1), (0,2), ..., (n-2,n-1)."""
    rows = [
        (ins, inp, a, b)
        for ins, inp, responses in generation[["instruction", "input", "responses"]].itertuples(index=False)
        for a, b in combinations(responses, 2)
    ]
    return pd.DataFrame(rows, columns=["instruction", "input", "response1", "response2"], dtype=object)


def _prompts(frame: pd.DataFrame) -> list[str]:
    return [alpaca_prompt(i, x) for i, x in zip(frame["instruction"], frame["input"])]


def _decided(rankings: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Prompts, preferred and rejected texts (as written) of the rows that are not ``equal``."""
    decided = rankings[rankings["feedback"] != "equal"]
    first = (decided["feedback"] == "(a)").to_numpy()
    return (_prompts(decided), np.where(first, decided["output1"], decided["output2"]),
            np.where(first, decided["output2"], decided["output1"]))


def rm_pairs(rankings: pd.DataFrame) -> pd.DataFrame:
    """Ranking feedback → TRL preference pairs ``prompt, chosen, rejected``; ``equal`` rows dropped.

    TRL trains on ``prompt + chosen``: the responses carry the template's leading space, so that text is
    exactly the one this project's trainer scores.

    >>> pairs = rm_pairs(pd.DataFrame({"instruction": ["Say hi."], "input": [""], "output1": ["hi"],
    ...                                "output2": ["yo"], "feedback": ["(b)"]}))
    >>> (pairs["prompt"][0] + pairs["chosen"][0]).endswith("### Response: yo")
    True
    """
    prompts, chosen, rejected = _decided(rankings)
    appended = lambda texts: [prompt_and_response("", "", t)[1] for t in texts]  # noqa: E731
    return pd.DataFrame({"prompt": prompts, "chosen": appended(chosen), "rejected": appended(rejected)})


def rm_pairs_seed_json(rankings: pd.DataFrame) -> dict:
    """Ranking feedback → the original's ``{prompt: {"sentences": [[preferred, rejected], ...]}}``.

    The original's keys end in ``"### Response: "`` (one trailing space); its texts are kept as written.
    """
    out: dict[str, dict] = {}
    for prompt, chosen, rejected in zip(*_decided(rankings)):
        out.setdefault(prompt + " ", {"sentences": []})["sentences"].append([chosen, rejected])
    return out


def rm_ratings(ratings: pd.DataFrame) -> pd.DataFrame:
    """Rating feedback → ``prompt, response, rating`` for a ratings reward model."""
    return pd.DataFrame({"prompt": _prompts(ratings), "response": ratings["output"].to_numpy(),
                         "rating": ratings["rating"].to_numpy()})


def alpaca_eval_records(records: list[dict]) -> list[dict]:
    """Model outputs as AlpacaEval reads them: its judge templates show ``{instruction}`` only and it matches
    outputs on ``instruction`` alone, so a non-empty ``input`` is folded into the instruction (and kept).

    >>> alpaca_eval_records([{"instruction": "Add.", "input": "2, 3", "output": "5"}])
    [{'instruction': 'Add.\\n\\n2, 3', 'input': '2, 3', 'output': '5'}]
    """
    return [{**r, "instruction": user_message(r["instruction"], r["input"])} if r.get("input") else dict(r)
            for r in records]


def unfold_inputs(outputs: pd.DataFrame) -> pd.DataFrame:
    """The inverse of :func:`alpaca_eval_records` where a record carries its input both ways."""
    suffix = "\n\n" + outputs["input"].astype(str)
    folded = (outputs["input"] != "") & np.array([i.endswith(s) for i, s in zip(outputs["instruction"], suffix)],
                                                    dtype=bool)
    if folded.any():
        outputs = outputs.copy()
        outputs.loc[folded, "instruction"] = [i[: -len(s)] for i, s in zip(outputs["instruction"][folded],
                                                                            suffix[folded])]
    return outputs


def read_rating_feedback(path, **kw):
    """Rating feedback: ``instruction, input, output, rating`` (rating an int in 1-7)."""
    return read_table(path, RATING_FEEDBACK, **kw)


def read_ranking_feedback(path, **kw):
    """Ranking feedback: ``instruction, input, output1, output2, feedback`` in ``(a)/(b)/equal``."""
    return read_table(path, RANKING_FEEDBACK, **kw)


def read_model_outputs(path, **kw):
    """One output per instruction, AlpacaEval style (``davinci003.json``): ``instruction, input, output`` + extras.
    An input folded into the instruction for AlpacaEval (and kept as ``input``) is taken out again."""
    return unfold_inputs(read_table(path, MODEL_OUTPUTS, **kw))


def read_rating_tasks(path, **kw):
    """Rating tasks: ``instruction, input, response`` (a rating feedback file reads too, keeping ``rating``)."""
    return read_table(path, RATING_TASKS, **kw)


def read_ranking_tasks(path, **kw):
    """Ranking tasks: ``instruction, input, response1, response2`` (ranking feedback keeps ``feedback``)."""
    return read_table(path, RANKING_TASKS, **kw)

"""Run the LLM judge (``sparse_feedback.judge``) on a project's tasks and store the answers as the LLM source.

The API key is used for this run only: it is passed to the backend and never stored, logged or put in
the job record (``store.redact`` drops it from the job's arguments; errors are scrubbed of it).
"""

from __future__ import annotations

import pandas as pd

from sparse_feedback import formats, judge
from sparse_feedback.errors import SettingsError
from sparse_feedback.jobs import runner
from sparse_feedback.store import Store, StoreError
from sparse_feedback.store.jobs import public_url


def judge_frames(kind: str, judgements) -> pd.DataFrame:
    """Judge results → feedback rows for the store (rankings: one row per pair, split per order on import)."""
    if kind == "ratings":
        return pd.DataFrame([{"instruction": j.instruction, "input": j.input, "output": j.output, "rating": j.rating,
                              "model": j.model, "raw_answer": j.raw_answer} for j in judgements if j.rating is not None])
    return pd.DataFrame([{"instruction": j.instruction, "input": j.input, "output1": j.output1, "output2": j.output2,
                          "feedback": j.feedback, "model": j.model, "position_ab": j.position_ab,
                          "position_ba": j.position_ba, "raw_answer_ab": j.raw_answer_ab,
                          "raw_answer_ba": j.raw_answer_ba} for j in judgements])


class _CostMeter:
    """A budget without a limit: it only adds up money spent, so the live progress can show it."""

    def __init__(self, prices, batch: bool):
        self.prices, self.batch, self.spent = prices, batch, 0.0 if prices.known else None

    def reserve(self, messages) -> float:
        return 0.0

    def settle(self, reserved: float, usage) -> None:
        if usage and self.spent is not None:
            self.spent += self.prices.cost(*usage, self.batch)


def run_llm_judge(store: Store, project: str, protocol: str, base_url: str, model: str, api_key: str | None = None,
                  callback=None, config: judge.JudgeConfig | None = None, cache_path=None, batch=False,
                  prices=None, device: str = "auto") -> str:
    """Judge every ``protocol`` task of ``project`` with an OpenAI-compatible server, or (no ``base_url``) with
    ``model`` run locally on ``device`` (auto, cuda or cpu); returns a summary line.

    Answers go through the judge's answer cache (``judge_cache.db`` under the data home), so a rerun after
    a crash or a failure asks only what is missing. ``batch`` (True, or :class:`BatchOptions`):
    through the server's Batch API (about half the price, up to 24 h; a rerun resumes the same batch).
    Tokens, and money at ``prices`` (default: the prices file's entry), are in the summary."""
    if protocol not in ("ratings", "rankings"):
        raise SettingsError("protocol must be ratings or rankings")
    if not model:
        raise SettingsError("enter the model name (and a server's base URL, or none to run it locally)")
    if not base_url:
        from sparse_feedback.device import resolve_device

        resolve_device(device)  # cuda without a GPU: a DeviceError (a SettingsError), before any work
        if batch:
            raise SettingsError("the Batch API needs a server: enter its base URL, or use Live for a local model")
    generation = store.items_frame(project)
    tasks = formats.rating_tasks(generation) if protocol == "ratings" else formats.ranking_tasks(generation)
    args = {"project": project, "protocol": protocol, "model": model, "batch": bool(batch),
            **({"base_url": public_url(base_url)} if base_url else {"device": device})}
    with runner.in_process(store, "judge", args, scrub=lambda text: judge.redact(text, [api_key])) as outcome:
        try:
            from sparse_feedback.judge.batch import BatchOptions, judge_batch
            from sparse_feedback.judge.costs import load_prices

            # the app's key is the one typed in, never the server's
            backend = (judge.make_backend("openai", model, base_url=base_url, api_key=api_key or None, api_key_env=None)
                       if base_url else judge.make_backend("transformers", model, device=device))
            prices = prices or load_prices(model)
            config = config or judge.JudgeConfig()
            config.budget = _CostMeter(prices, bool(batch))
            with judge.AnswerCache(cache_path) as cache:
                if batch:
                    options = batch if isinstance(batch, BatchOptions) else None
                    result = judge_batch(protocol, tasks, backend, cache, config=config, options=options,
                                         callback=callback, show_progress=False)
                else:
                    result = judge.judge(protocol, tasks, backend, cache, config=config, callback=callback,
                                         show_progress=False)
            result.stats.cost = prices.cost(result.stats.prompt_tokens, result.stats.completion_tokens, bool(batch))
            frame = judge_frames(protocol, result.judgements)
            stored = 0
            if not frame.empty:
                importer = store.import_llm_ratings if protocol == "ratings" else store.import_llm_rankings
                stored = importer(project, frame, model)  # a disagreement order goes stale: the runner recomputes it
            errors = [j.error for j in result.judgements if not j.answered]
            why = f" (the first: {judge.redact(next((e for e in errors if e), 'no answer'), [api_key])[:300]})"
            outcome["message"] = (f"{protocol}: {stored} judgements stored from {model} ({result.stats.cached} of "
                                  f"{result.stats.total} tasks from cache), {len(errors)} task(s) failed"
                                  + (why if errors else "") + (" through the Batch API" if batch else "")
                                  + f"; {result.stats.tokens_line}")
        except Exception as err:
            message = judge.redact(f"{type(err).__name__}: {err}", [api_key])
            outcome["error"] = message
            raise StoreError(f"the judge run failed: {message}") from None
        if errors and len(errors) == len(result.judgements):  # nothing answered: the run failed, and says why
            outcome["error"] = f"every one of the {len(errors)} tasks failed{why}"
            raise StoreError(f"the judge run failed: {outcome['error']}")
    return outcome["message"]

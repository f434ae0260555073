"""Hub cards (README.md with YAML front matter) for feedback datasets and reward models.

The front matter holds what the Hub reads (license, task categories, configs, size) and a ``sparse_feedback``
block with the facts a reader checks (protocol, source, aggregation, counts, consistency), so a card can be parsed
back (:func:`front_matter`). No timestamps: the same export gives the same card, and re-pushing it commits nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

DATA_PATH = "data/train-00000-of-00001.parquet"
_SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
          (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"))


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` bucket.

    >>> size_category(999), size_category(1000), size_category(25_000_000)
    ('n<1K', '1K<n<10K', '10M<n<100M')
    """
    return next((name for limit, name in _SIZES if rows < limit), "1B<n<10B")


def front_matter(card: str) -> dict:
    """The YAML front matter of a card, parsed.

    >>> front_matter("---\\nlicense: mit\\n---\\n# x\\n")
    {'license': 'mit'}
    """
    import yaml

    if not card.startswith("---\n"):
        return {}
    head, _, _ = card[4:].partition("\n---\n")
    return yaml.safe_load(head) or {}


def _yaml(meta: dict) -> str:
    import yaml

    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=120) + "---\n"


@dataclass
class DatasetFacts:
    """What a feedback dataset is; every field goes into its card."""

    name: str  # the repo id
    what: str  # "ranking feedback", "rating feedback", "TRL preference pairs", ...
    protocol: str  # ratings | rankings
    source: str  # human | llm | unknown
    aggregation: str  # one line: how rows were made from the judgements
    rows: int
    counts: dict = field(default_factory=dict)  # {label or rating: rows}
    judges: list = field(default_factory=list)  # LLM judge models (source llm)
    judge_prompt: str | None = None  # the prompt template's text (source llm)
    consistency: dict | None = None  # {"percent", "n_pairs", "low", "high", "against"}
    license: str = "other"
    columns: list = field(default_factory=list)


def dataset_card(facts: DatasetFacts) -> str:
    """A dataset card: YAML front matter the Hub reads, then what the data is, in prose."""
    meta = {
        "license": facts.license,
        "task_categories": ["text-generation", "text-classification"],
        "tags": ["rlhf", "preference", "reward-modeling", "sparse-feedback", facts.protocol],
        "size_categories": [size_category(facts.rows)],
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}],
        "sparse_feedback": {k: v for k, v in asdict(facts).items() if k not in ("name", "license", "judge_prompt")},
    }
    source = {"human": "human annotators (the sparse-feedback annotation app)",
              "llm": "an LLM judge" + (f" ({', '.join(map(str, facts.judges))})" if facts.judges else ""),
              }.get(facts.source, "not stated by the export")
    lines = [_yaml(meta), f"# {facts.name}", "",
             f"{facts.what.capitalize()} collected under the **{facts.protocol}** protocol "
             f"({_PROTOCOLS.get(facts.protocol, facts.protocol)}), exported with sparse-feedback.", "",
             f"- **Source**: {source}",
             f"- **Aggregation**: {facts.aggregation}",
             f"- **Rows**: {facts.rows}" + (f" ({_counts(facts.counts)})" if facts.counts else ""),
             f"- **Columns**: {', '.join(map(str, facts.columns))}" if facts.columns else "",
             f"- **Consistency** between the protocols: {_consistency(facts.consistency)}", ""]
    if facts.judge_prompt:
        lines += ["## Judge prompt", "", "```text", facts.judge_prompt.strip(), "```", ""]
    lines += ["## Load it", "", "```python", "from datasets import load_dataset", "",
              f"rows = load_dataset({facts.name!r}, split='train')", "```", "",
              "or with sparse-feedback: `--input hf://datasets/" + facts.name + "`.", ""]
    return "\n".join(line for line in lines if line is not None)


_PROTOCOLS = {"ratings": "an absolute rating 1-7 per response",
              "rankings": "a pairwise choice (a)/(b)/equal, judged in both orders"}


def _counts(counts: dict) -> str:
    return ", ".join(f"{k}: {v}" for k, v in counts.items())


def _consistency(c: dict | None) -> str:
    """>>> _consistency({"percent": 58.3, "n_pairs": 12, "low": 31.9, "high": 80.7, "against": "llm ratings"})
    '58.3 % of 12 pairs (95 % Wilson interval 31.9-80.7 %), against llm ratings'
    """
    if not c or not c.get("n_pairs"):
        return ("not measured (no pair of this export is also rated by the other protocol)" if c else
                "not measured for this export")
    return (f"{c['percent']:.1f} % of {c['n_pairs']} pairs (95 % Wilson interval {c['low']:.1f}-{c['high']:.1f} %)"
            + (f", against {c['against']}" if c.get("against") else ""))


@dataclass
class ModelFacts:
    """What a reward model is; every field goes into its card."""

    name: str
    base: str
    protocol: str
    train_rows: int | None
    aggregation: str
    lora: dict | None  # {"r", "alpha", "dropout", "targets"}; None: full fine-tune
    accuracy: float | None
    held_out: int
    interval: tuple | None  # Wilson 95 % (low, high)
    command: str
    files: list = field(default_factory=list)


def model_card(facts: ModelFacts) -> str:
    """A model card: base model, protocol, training data and aggregation, LoRA config, held-out accuracy with its
    Wilson interval, and the command that reproduces the run."""
    meta = {"license": "other", "base_model": facts.base, "library_name": "peft" if facts.lora else "transformers",
            "pipeline_tag": "text-classification", "tags": ["reward-model", "rlhf", "sparse-feedback", facts.protocol],
            "sparse_feedback": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(facts).items()
                                if k not in ("name", "files")}}
    accuracy = ("not measured (no held-out pairs)" if facts.accuracy is None or not facts.held_out else
                f"{facts.accuracy:.3f} on {facts.held_out} held-out pairs (95 % Wilson interval "
                f"{facts.interval[0]:.3f}-{facts.interval[1]:.3f})")
    lora = (f"LoRA r={facts.lora['r']}, alpha={facts.lora['alpha']}, dropout={facts.lora['dropout']}, on "
            f"{facts.lora['targets']} (the score head fully trained)" if facts.lora else "full fine-tune")
    lines = [_yaml(meta), f"# {facts.name}", "",
             f"A reward model trained on **{facts.protocol}** feedback ({_PROTOCOLS.get(facts.protocol, '')}) "
             "with sparse-feedback: one scalar per (instruction, input, response).", "",
             f"- **Base model**: {facts.base}",
             f"- **Training data**: {facts.train_rows if facts.train_rows is not None else 'unknown'} "
             f"training rows; {facts.aggregation}",
             f"- **Adapter**: {lora}",
             f"- **Held-out accuracy**: {accuracy}", "",
             "## Reproduce", "", "```bash", facts.command, "```", "",
             "## Use", "", "```bash", f"python -m sparse_feedback rerank --rm {facts.name} --candidates gen.json "
             "--output best.json", "```", ""]
    return "\n".join(lines)

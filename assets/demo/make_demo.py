"""Write the demo project: ``generation.json``, ``llm_ratings.csv``, ``llm_rankings.csv``.

PLACEHOLDER: until the project's generation and judge stages are merged, this writes hand-written
instructions and responses with a placeholder judge (``--placeholder``, the default): each response
carries the score its author gave it, rankings in both orders follow those scores. Once they land, the
real demo is made with the project's own code (see README, "Demo data"):

    python -m sparse_feedback generate ... --output assets/demo/generation.json
    python -m sparse_feedback judge ratings  ... --output assets/demo/llm_ratings.csv
    python -m sparse_feedback judge rankings ... --output assets/demo/llm_rankings.csv

Run: ``python assets/demo/make_demo.py [--output assets/demo]``.
"""

from __future__ import annotations

import argparse
import json
from itertools import combinations
from pathlib import Path

import pandas as pd

# (instruction, input, [(response, placeholder score 1-7), ...]) — five responses each, written for this demo.
DEMO = [
    ("Suggest a name for a cat that likes to sleep in shoe boxes.", "", [
        ("Boxley — a cosy name for a cat who treats every shoe box as a bed.", 6),
        ("Cat.", 1),
        ("How about Sneaker? It nods to the shoe boxes and sounds playful.", 6),
        ("Names are hard. Maybe ask the cat.", 2),
        ("Napoleon Boxaparte, or Nap for short.", 5),
    ]),
    ("Convert the temperature to Celsius.", "68 °F", [
        ("68 °F is 20 °C: subtract 32 and multiply by 5/9.", 7),
        ("About 20 degrees Celsius.", 5),
        ("68 °F equals 36 °C.", 1),
        ("(68 − 32) × 5 ⁄ 9 = 20, so 20 °C — a mild room temperature.", 7),
        ("It is warm.", 2),
    ]),
    ("Write a one-sentence reminder to water the plants.", "", [
        ("Don't forget: the plants are thirsty, give them a drink tonight!", 6),
        ("Water plants.", 3),
        ("Reminder — water the plants before you leave on Friday.", 6),
        ("Plants need sunlight, soil and water to grow well over time.", 2),
        ("🌱 Your green friends would love some water today.", 5),
    ]),
    ("Give two tips for remembering new vocabulary.", "", [
        ("1. Use each new word in a sentence of your own. 2. Review it after a day, then after a week.", 7),
        ("Read more books.", 3),
        ("Make flashcards and test yourself; say the word out loud as you learn it.", 6),
        ("Vocabulary is the set of words a person knows.", 1),
        ("Link the word to a vivid picture, and teach it to a friend the same day.", 6),
    ]),
]


def _implied(s1: int, s2: int) -> str:
    return "(a)" if s1 > s2 else "(b)" if s2 > s1 else "equal"


def build_frames():
    generation = [{"instruction": ins, "input": inp, "responses": [r for r, _ in rs]} for ins, inp, rs in DEMO]
    ratings, rankings = [], []
    for ins, inp, rs in DEMO:
        for response, score in rs:
            ratings.append({"instruction": ins, "input": inp, "output": response, "rating": score,
                            "raw_answer": f"Rating: {score}"})
        for (r1, s1), (r2, s2) in combinations(rs, 2):
            for a, sa, b, sb in ((r1, s1, r2, s2), (r2, s2, r1, s1)):  # both orders
                label = _implied(sa, sb)
                rankings.append({"instruction": ins, "input": inp, "output1": a, "output2": b, "feedback": label,
                                 "raw_answer": f"Answer: {label}"})
    return generation, pd.DataFrame(ratings), pd.DataFrame(rankings)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=str(Path(__file__).resolve().parent))
    args = parser.parse_args(argv)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    generation, ratings, rankings = build_frames()
    (out / "generation.json").write_text(json.dumps(generation, ensure_ascii=False, indent=2) + "\n", "utf-8")
    ratings.to_csv(out / "llm_ratings.csv", index=False)
    rankings.to_csv(out / "llm_rankings.csv", index=False)
    print(f"wrote {len(generation)} instructions, {len(ratings)} ratings, {len(rankings)} rankings to {out}")


if __name__ == "__main__":
    main()

"""Every table kind reads the same from every container: headerless CSV, CSV with a header, JSON, JSONL,
parquet and a saved Hugging Face dataset."""

import json

import pandas as pd
import pytest

from feedback_files import CONTAINERS, EXPECTED, ROWS, csv_header, csv_headerless, write
from sparse_feedback import formats
from sparse_feedback.errors import InputError

READERS = {
    "rating feedback": formats.read_rating_feedback,
    "ranking feedback": formats.read_ranking_feedback,
    "rating tasks": formats.read_rating_tasks,
    "ranking tasks": formats.read_ranking_tasks,
    "instructions": formats.read_instructions,
}


@pytest.mark.parametrize("container", list(CONTAINERS))
@pytest.mark.parametrize("kind", list(READERS))
def test_every_kind_reads_from_every_container(kind, container, tmp_path):
    frame = READERS[kind](write(container, ROWS[kind], tmp_path))
    assert frame.to_dict(orient="records") == EXPECTED[kind]
    assert list(frame.columns) == list(EXPECTED[kind][0])


def test_missing_input_is_the_empty_string_whatever_its_spelling(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join([
        json.dumps({"instruction": "a", "input": None, "output": "x", "rating": 1}),
        json.dumps({"instruction": "b", "input": float("nan"), "output": "x", "rating": 1}),  # NaN
        json.dumps({"instruction": "c", "input": "nan", "output": "x", "rating": 1}),
        json.dumps({"instruction": "d", "input": " NaN ", "output": "x", "rating": 1}),
        json.dumps({"instruction": "e", "output": "x", "rating": 1}),
    ]))
    assert formats.read_rating_feedback(path)["input"].tolist() == [""] * 5


def test_a_file_without_an_input_column_reads_with_empty_inputs(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("instruction,output,rating\nAdd 2 and 3.,5,7\n")
    assert formats.read_rating_feedback(path).to_dict(orient="records") == [
        {"instruction": "Add 2 and 3.", "input": "", "output": "5", "rating": 7}]


def test_header_aliases_response_and_response1_map_to_canonical_columns(tmp_path):
    ratings = csv_header(ROWS["rating feedback"], tmp_path / "r.csv", rename={"output": "response", "rating": "Score"})
    rankings = csv_header(ROWS["ranking feedback"], tmp_path / "k.csv",
                          rename={"output1": "Response1", "output2": "response2", "feedback": "preference"})
    assert formats.read_rating_feedback(ratings).to_dict(orient="records") == EXPECTED["rating feedback"]
    assert formats.read_ranking_feedback(rankings).to_dict(orient="records") == EXPECTED["ranking feedback"]


def test_header_with_an_unknown_extra_column_is_still_detected(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("id,instruction,input,output,rating,annotator\n1,Add 2 and 3.,,5,7,ann\n")
    frame = formats.read_rating_feedback(path)
    assert frame.iloc[0][["instruction", "output", "rating"]].tolist() == ["Add 2 and 3.", "5", 7]
    assert list(frame.columns[4:]) == ["id", "annotator"]  # extras follow the canonical columns


def test_header_with_extra_columns_is_detected_without_a_kind(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("instruction,input,output,rating,annotator\nAdd 2 and 3.,,5,7,ann\n")
    assert formats.read_raw(path).has_header


def test_pandas_index_column_is_kept_as_an_extra(tmp_path):
    path = tmp_path / "r.csv"
    pd.DataFrame(ROWS["rating feedback"]).to_csv(path)  # index=True: a first header cell of ""
    assert formats.read_rating_feedback(path)[["instruction", "rating"]].values.tolist() == [
        [r["instruction"], r["rating"]] for r in ROWS["rating feedback"]]


def test_a_ratings_file_reads_as_rating_tasks_keeping_the_rating(tmp_path):
    frame = formats.read_rating_tasks(csv_headerless(ROWS["rating feedback"], tmp_path / "r.csv"))
    assert list(frame.columns) == ["instruction", "input", "response", "rating"]


def test_a_rankings_file_reads_as_ranking_tasks_keeping_the_feedback(tmp_path):
    frame = formats.read_ranking_tasks(csv_headerless(ROWS["ranking feedback"], tmp_path / "k.csv"))
    assert frame["feedback"].tolist() == ["(a)", "(b)", "equal"]


def test_feedback_label_spellings_are_normalised(tmp_path):
    rows = [dict(ROWS["ranking feedback"][0], output2=str(i), feedback=label)
            for i, label in enumerate(["(A)", " b ", "Equal", "tie", "Output (b)"])]
    assert formats.read_ranking_feedback(csv_headerless(rows, tmp_path / "k.csv"))["feedback"].tolist() == [
        "(a)", "(b)", "equal", "equal", "(b)"]


def test_integer_valued_ratings_are_accepted_as_integers(tmp_path):
    rows = [dict(ROWS["rating feedback"][0], output=str(i), rating=r) for i, r in enumerate(["5.0", " 3 ", "7"])]
    frame = formats.read_rating_feedback(csv_headerless(rows, tmp_path / "r.csv"))
    assert frame["rating"].tolist() == [5, 3, 7] and frame["rating"].dtype == "int64"


def test_bom_and_crlf_line_endings_read_like_plain_utf8(tmp_path):
    plain = csv_headerless(ROWS["rating feedback"], tmp_path / "plain.csv")
    odd = tmp_path / "odd.csv"
    odd.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    expected = formats.read_rating_feedback(plain)
    expected["output"] = expected["output"].str.replace("\n", "\r\n")  # a newline inside quotes stays as written
    assert formats.read_rating_feedback(odd).equals(expected)


def test_jsonl_text_may_hold_unicode_line_separators(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"instruction": "a\u2028b", "output": "c\x1cd", "rating": 4}, ensure_ascii=False) + "\n")
    assert formats.read_rating_feedback(path)["instruction"].tolist() == ["a\u2028b"]


def test_json_lines_saved_as_json_are_read(tmp_path):
    path = tmp_path / "r.json"
    path.write_text("\n".join(json.dumps(r) for r in ROWS["rating feedback"]))
    assert formats.read_rating_feedback(path).to_dict(orient="records") == EXPECTED["rating feedback"]


def test_json_wrapped_in_one_key_is_read(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"data": ROWS["rating feedback"]}))
    assert len(formats.read_rating_feedback(path)) == 3


def test_tab_separated_tables_round_trip(tmp_path):
    frame = formats.read_rating_feedback(write("header.csv", ROWS["rating feedback"], tmp_path))
    out = formats.write_table(frame, tmp_path / "r.tsv")
    assert "\t" in out.read_text().splitlines()[0]
    assert formats.read_rating_feedback(out).equals(frame)


@pytest.mark.parametrize("suffix", ["csv", "seed", "json", "jsonl", "parquet", "hf"])
def test_written_tables_read_back_unchanged(suffix, tmp_path):
    frame = formats.read_ranking_feedback(write("header.csv", ROWS["ranking feedback"], tmp_path))
    path = tmp_path / ("out" if suffix == "hf" else f"out.{suffix}")
    formats.write_table(frame, path, suffix)
    assert formats.read_ranking_feedback(path).to_dict(orient="records") == frame.to_dict(orient="records")


def test_duplicates_keep_the_first_and_count_the_rest(tmp_path):
    rows = ROWS["rating feedback"] + [dict(ROWS["rating feedback"][0], rating=1)] * 2
    notes = []
    frame = formats.read_rating_feedback(csv_headerless(rows, tmp_path / "r.csv"), warn=notes.append)
    assert len(frame) == 3 and frame["rating"].iloc[0] == 7
    assert frame.attrs["duplicates_dropped"] == 2
    assert notes and "dropped 2 duplicate" in notes[0]


def test_instructions_keep_extra_columns_and_duplicates(tmp_path):
    rows = [{"instruction": "a", "dataset": "x"}, {"instruction": "a", "dataset": "x"}]
    for container in ("rows.json", "rows.jsonl", "header.csv", "hf_dataset"):
        frame = formats.read_instructions(write(container, rows, tmp_path))
        assert frame.to_dict(orient="records") == [{"instruction": "a", "input": "", "dataset": "x"}] * 2, container


GENERATION = [
    {"instruction": "Add 2 and 3.", "input": "", "responses": ["5", "6", "five"]},
    {"instruction": "Translate to French.", "input": "Good morning", "responses": ["Bonjour", "Hola"]},
]


@pytest.mark.parametrize("container", ["rows.json", "rows.jsonl", "rows.parquet", "hf_dataset"])
def test_generation_files_read_from_every_container(container, tmp_path):
    frame = formats.read_generation(write(container, GENERATION, tmp_path))
    assert frame.to_dict(orient="records") == GENERATION


def test_generation_keeps_extra_columns(tmp_path):
    rows = [dict(GENERATION[0], generator="alpaca-7b")]
    frame = formats.read_generation(write("rows.json", rows, tmp_path))
    assert frame["generator"].tolist() == ["alpaca-7b"]


@pytest.mark.parametrize("responses", [[], "just text", [1, 2], ["ok", None]])
def test_generation_responses_must_be_a_list_of_texts(responses, tmp_path):
    path = write("rows.json", [GENERATION[0], dict(GENERATION[0], responses=responses)], tmp_path)
    with pytest.raises(InputError) as err:
        formats.read_generation(path)
    second = [n for n, line in enumerate(path.read_text().splitlines(), 1) if line.strip().startswith("{")][1]
    assert err.value.where == f"record 2 (line {second})" and err.value.column == "responses"

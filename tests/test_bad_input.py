"""Bad input through the CLI: one line ``error: FILE: line N, column 'C': ...``, exit 2, no traceback, and
nothing (not even a temporary file) left in the output folder."""

import json

import pandas as pd
import pytest

from feedback_files import ROWS, csv_header, csv_headerless
from sparse_feedback.formats import atomic_path, write_table


@pytest.fixture
def out_dir(tmp_path):
    path = tmp_path / "out"
    path.mkdir()
    return path


def export_ratings(cli, path, out_dir):
    return cli("export", "rm-ratings", "--ratings", path, "--output", out_dir / "rm.csv")


def export_rankings(cli, path, out_dir):
    return cli("export", "rm-pairs", "--rankings", path, "--format", "trl", "--output", out_dir / "pairs.parquet")


def assert_one_line_error(out, path, out_dir, line=None, column=None, says=None) -> str:
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    message = lines[0]
    assert message.startswith("error: ") and str(path) in message, message
    if line is not None:
        assert f"line {line}" in message, message
    if column is not None:
        assert f"column '{column}'" in message, message
    if says is not None:
        assert says in message, message
    assert list(out_dir.iterdir()) == []
    assert out.stdout == ""
    return message


def refused(cli, tmp_path, out_dir, name, content, export=export_ratings, **expect) -> str:
    """Write ``content`` to ``name``, export it, and check the one-line refusal."""
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return assert_one_line_error(export(cli, path, out_dir), path, out_dir, **expect)


@pytest.mark.slow
def test_missing_file_is_named(cli, tmp_path, out_dir):
    path = tmp_path / "nope.csv"
    assert_one_line_error(export_ratings(cli, path, out_dir), path, out_dir, says="file not found")


@pytest.mark.parametrize("name, content", [("r.csv", b""), ("r.csv", b"\n \n"), ("r.json", b""), ("r.jsonl", b"\n"),
                                           ("r.parquet", b""), ("r.csv", b"\xef\xbb\xbf")])
@pytest.mark.slow
def test_empty_file_is_named(cli, tmp_path, out_dir, name, content):
    refused(cli, tmp_path, out_dir, name, content, says="file is empty")


@pytest.mark.slow
def test_header_only_file_holds_no_rows(cli, tmp_path, out_dir):
    refused(cli, tmp_path, out_dir, "r.csv", "instruction,input,output,rating\n", says="no rows")


@pytest.mark.slow
def test_wrong_number_of_columns_names_the_line(cli, tmp_path, out_dir):
    # Line 4: a row of 3 columns, after a row whose quoted text spans two lines.
    refused(cli, tmp_path, out_dir, "r.csv", 'a,,x,5\nb,,"two\nlines",4\nc,,z\n', line=4, says="found 3")


@pytest.mark.slow
def test_headerless_file_with_too_few_columns_for_its_kind_names_the_count(cli, tmp_path, out_dir):
    refused(cli, tmp_path, out_dir, "r.csv", "a,,x\nb,,y\n", line=1, says="expected 4 columns")


@pytest.mark.slow
@pytest.mark.parametrize("rating", ["0", "8", "5.5", "abc", "", "-1", "inf"])
def test_rating_not_an_integer_in_1_to_7_names_line_and_column(cli, tmp_path, out_dir, rating):
    rows = ROWS["rating feedback"][:1] + [dict(ROWS["rating feedback"][1], rating=rating)]
    path = csv_headerless(rows, tmp_path / "r.csv")
    assert_one_line_error(export_ratings(cli, path, out_dir), path, out_dir, line=2, column="rating",
                          says="not an integer rating in 1-7")


@pytest.mark.slow
@pytest.mark.parametrize("rating", [0, 8, 5.5, "abc", True, None])
def test_rating_not_an_integer_in_1_to_7_in_json_names_the_record(cli, tmp_path, out_dir, rating):
    rows = ROWS["rating feedback"][:2] + [dict(ROWS["rating feedback"][2], rating=rating)]
    refused(cli, tmp_path, out_dir, "r.json", json.dumps(rows, indent=1), column="rating",
            says="record 3 (line 14)")


@pytest.mark.slow
def test_unknown_feedback_label_names_line_and_column(cli, tmp_path, out_dir):
    rows = ROWS["ranking feedback"][:2] + [dict(ROWS["ranking feedback"][2], feedback="(c)")]
    path = csv_header(rows, tmp_path / "k.csv")
    # A row is named by the line it starts on: header, rows 1-2, then row 3 on lines 4-5.
    assert_one_line_error(export_rankings(cli, path, out_dir), path, out_dir, line=4, column="feedback",
                          says="unknown feedback label '(c)'")


@pytest.mark.slow
def test_invalid_utf8_names_line_and_column(cli, tmp_path, out_dir):
    refused(cli, tmp_path, out_dir, "r.csv", b"a,,x,5\nb,,caf\xe9 latin-1,4\n", line=2, column="output",
            says="not valid UTF-8 (byte 0xe9)")


@pytest.mark.slow
def test_invalid_utf8_in_a_file_with_a_header_names_the_header_column(cli, tmp_path, out_dir):
    content = b"instruction,input,response1,response2,feedback\na,,x,y,(a)\nb,\xff\xfe,x,y,(b)\n"
    refused(cli, tmp_path, out_dir, "k.csv", content, export=export_rankings, line=3, column="input")


@pytest.mark.slow
def test_invalid_utf8_in_jsonl_names_line_and_column(cli, tmp_path, out_dir):
    content = (b'{"instruction": "a", "output": "x", "rating": 5}\n'
               b'{"instruction": "b\xc3", "output": "y", "rating": 4}\n')
    refused(cli, tmp_path, out_dir, "r.jsonl", content, line=2, column="instruction")


@pytest.mark.slow
def test_utf16_file_is_refused_with_a_hint(cli, tmp_path, out_dir):
    refused(cli, tmp_path, out_dir, "r.csv", "a,,x,5\n".encode("utf-16"), line=1, says="UTF-16")


@pytest.mark.slow
def test_missing_required_column_is_named(cli, tmp_path, out_dir):
    refused(cli, tmp_path, out_dir, "r.csv", "instruction,input,output\na,,x\n", column="rating",
            says="missing column 'rating'")


@pytest.mark.slow
def test_missing_required_column_in_json_is_named(cli, tmp_path, out_dir):
    content = json.dumps([{"instruction": "a", "output1": "x", "output2": "y"}])
    refused(cli, tmp_path, out_dir, "k.json", content, export=export_rankings, column="feedback")


@pytest.mark.slow
def test_empty_instruction_names_line_and_column(cli, tmp_path, out_dir):
    refused(cli, tmp_path, out_dir, "r.csv", "a,,x,5\n ,,y,4\n", line=2, column="instruction")


@pytest.mark.slow
def test_invalid_json_names_the_line(cli, tmp_path, out_dir):
    content = '[\n {"instruction": "a", "output": "x", "rating": 5},\n {"instruction": "b",, }\n]'
    refused(cli, tmp_path, out_dir, "r.json", content, line=3, says="invalid JSON")


@pytest.mark.slow
def test_invalid_jsonl_names_the_line(cli, tmp_path, out_dir):
    content = '{"instruction": "a", "output": "x", "rating": 5}\n\n{"instruction": "b", "output": \n'
    refused(cli, tmp_path, out_dir, "r.jsonl", content, line=3, says="invalid JSON")


@pytest.mark.slow
def test_json_that_is_not_a_list_of_objects_is_refused(cli, tmp_path, out_dir):
    content = '[{"instruction": "a", "output": "x", "rating": 5}, "b"]'
    refused(cli, tmp_path, out_dir, "r.json", content, says="record 2")


@pytest.mark.slow
def test_corrupt_parquet_is_refused(cli, tmp_path, out_dir):
    refused(cli, tmp_path, out_dir, "r.parquet", b"PAR1 this is not parquet PAR1", says="not a readable parquet")


@pytest.mark.slow
def test_generation_without_responses_names_the_column(cli, tmp_path, out_dir):
    path = tmp_path / "gen.json"
    path.write_text(json.dumps([{"instruction": "a", "input": ""}]))
    out = cli("tasks", "ratings", "--input", path, "--output", out_dir / "tasks.csv")
    assert_one_line_error(out, path, out_dir, column="responses")


@pytest.mark.slow
def test_bad_ratings_file_in_consistency_is_a_one_line_error(cli, tmp_path, out_dir):
    ratings = csv_headerless([dict(ROWS["rating feedback"][0], rating=9)], tmp_path / "r.csv")
    rankings = csv_headerless(ROWS["ranking feedback"], tmp_path / "k.csv")
    out = cli("consistency", "--ratings", ratings, "--rankings", rankings, "--json")
    assert_one_line_error(out, ratings, out_dir, line=1, column="rating")


@pytest.mark.slow
def test_unwritable_output_is_a_one_line_error(cli, tmp_path, out_dir):
    path = csv_headerless(ROWS["rating feedback"], tmp_path / "r.csv")
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    out = cli("export", "rm-ratings", "--ratings", path, "--output", blocker / "rm.csv")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.splitlines()) == 1 and out.stderr.startswith("error: ")


@pytest.mark.slow
def test_duplicates_are_allowed_first_counts_and_the_dropped_count_is_reported(cli, tmp_path):
    rows = ROWS["rating feedback"] + [dict(ROWS["rating feedback"][0], rating=1), ROWS["rating feedback"][1]]
    path = csv_headerless(rows, tmp_path / "r.csv")
    out = cli("export", "rm-ratings", "--ratings", path, "--output", tmp_path / "rm.csv")
    assert out.returncode == 0, out.stderr
    assert "dropped 2 duplicate row(s)" in out.stderr and str(path) in out.stderr
    assert pd.read_csv(tmp_path / "rm.csv")["rating"].tolist() == [7, 6, 2]  # the first of each counts


def test_a_failing_write_leaves_no_file_and_no_temporary(tmp_path):
    bad = pd.DataFrame({"x": [1, "mixed types arrow refuses"]})
    with pytest.raises(Exception):
        write_table(bad, tmp_path / "t.parquet")
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "t.csv") as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert list(tmp_path.iterdir()) == []


def test_a_failing_rewrite_keeps_the_previous_file(tmp_path):
    target = tmp_path / "t.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("new, half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["t.csv"]

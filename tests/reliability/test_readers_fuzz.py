"""Random and malformed CSV / JSON / JSONL / parquet into every reader: a clean, valid table or an
InputError with a one-line message — never another exception, never a partial write."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparse_feedback import formats
from sparse_feedback.errors import InputError
from sparse_feedback.formats.readers import valid_utf8

pytestmark = pytest.mark.reliability

# Fixed seed and no example database: the same few seconds of cases on every run, nothing written to disk.
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                database=None)

READERS = [formats.read_rating_feedback, formats.read_ranking_feedback, formats.read_rating_tasks,
           formats.read_ranking_tasks, formats.read_instructions, formats.read_generation]
NAMES = ["instruction", "input", "output", "rating", "output1", "output2", "feedback", "response", "response1",
         "response2", "responses", "score", "Instruction", " input ", "dataset", "id", "", "junk"]

texts = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", "nan", "NaN", " ", "(a)", "(b)", "equal", "tie", "5", "7", "0", "8", "5.5", "abc",
                     "1e400", "-3", 'say "hi", then\nleave', "\r\n", "\ufeff", "\u2028", "\x00"]),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", ",", '"', "\n"]), st.integers(1000, 50_000)),
)
cells = st.one_of(texts, st.integers(-10, 10), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                  st.booleans(), st.none(), st.lists(texts, max_size=3), st.dictionaries(texts, texts, max_size=2))


# Near-valid rows, so clean parses are common too: canonical columns, mostly good values.
def mostly(good, bad=cells):
    """``good`` nine times in ten, else ``bad``."""
    return st.integers(0, 9).flatmap(lambda k: bad if k == 0 else good)


good_texts = mostly(st.text(min_size=1, max_size=15).filter(str.strip), texts)
good_ratings = mostly(st.one_of(st.integers(1, 7), st.integers(1, 7).map(str), st.sampled_from(["5.0", " 3"])))
good_labels = mostly(st.sampled_from(["(a)", "(b)", "equal", "A", "tie"]))
KIND_ROWS = {
    "ratings": {"instruction": good_texts, "input": good_texts, "output": good_texts, "rating": good_ratings},
    "rankings": {"instruction": good_texts, "input": good_texts, "output1": good_texts, "output2": good_texts,
                 "feedback": good_labels},
}


@st.composite
def near_valid_records(draw) -> list[dict]:
    columns = KIND_ROWS[draw(st.sampled_from(list(KIND_ROWS)))]
    rows = draw(st.lists(st.fixed_dictionaries(columns), min_size=1, max_size=5))
    if draw(st.booleans()):  # a duplicate row
        rows.append(rows[0])
    return rows


def _csv_text(rows) -> str:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


@st.composite
def csv_files(draw) -> bytes:
    header = draw(st.booleans())
    if draw(st.booleans()):
        records = draw(near_valid_records())
        width, rows = len(records[0]), [[str(v) for v in r.values()] for r in records]
        if header:
            rows.insert(0, list(records[0]))
            header = False
    else:
        width = draw(st.integers(1, 7))
        rows = [draw(st.lists(texts, min_size=width, max_size=width)) for _ in range(draw(st.integers(0, 5)))]
    if draw(st.integers(0, 3)) == 0 and rows:  # a ragged row
        rows[-1] = rows[-1] + ["extra"]
    if header:
        rows.insert(0, draw(st.lists(st.sampled_from(NAMES), min_size=width, max_size=width)))
    return _csv_text(rows).encode("utf-8", "surrogatepass")


@st.composite
def json_files(draw) -> bytes:
    record = st.dictionaries(st.sampled_from(NAMES), cells, max_size=7)
    data = draw(st.one_of(near_valid_records(), near_valid_records(), st.lists(record, max_size=5),
                          st.lists(cells, max_size=3), cells, st.fixed_dictionaries({"data": near_valid_records()})))
    text = json.dumps(data, indent=draw(st.sampled_from([None, 1])))
    if draw(st.booleans()):  # cut it short
        text = text[: draw(st.integers(0, len(text)))]
    return text.encode("utf-8", "surrogatepass")


@st.composite
def jsonl_files(draw) -> bytes:
    record = st.dictionaries(st.sampled_from(NAMES), cells, max_size=7)
    lines = [json.dumps(r) for r in draw(st.one_of(near_valid_records(), st.lists(record, max_size=5)))]
    if draw(st.booleans()):
        lines.append(draw(st.sampled_from(["{", "[1, 2]", "null", "", "  ", '{"instruction": }'])))
    return "\n".join(lines).encode("utf-8")


@st.composite
def parquet_files(draw) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = draw(st.integers(0, 4))
    column_types = {"text": st.one_of(st.none(), st.text(max_size=10)), "int": st.integers(-10, 10),
                    "float": st.floats(allow_nan=True), "list": st.lists(st.text(max_size=5), max_size=3)}
    columns = {}
    if draw(st.booleans()):
        records = draw(near_valid_records())
        for name in records[0]:  # one arrow type per column: keep ints as ints, the rest as text
            values = [r[name] for r in records]
            typed = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
            columns[name] = values if typed else [None if v is None else str(v) for v in values]
    else:
        for name in draw(st.lists(st.sampled_from(NAMES[:11]), max_size=6, unique=True)):
            values = draw(st.lists(column_types[draw(st.sampled_from(list(column_types)))], min_size=n, max_size=n))
            columns[name] = values
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns) if columns else pa.table({"x": [1] * n}), buffer)
    data = buffer.getvalue()
    if draw(st.integers(0, 3)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


def _mangle(draw, data: bytes) -> bytes:
    """The byte-level troubles of real files: BOMs, CRLF, stray undecodable bytes, emptiness."""
    how = draw(st.sampled_from(["as is", "as is", "as is", "bom", "crlf", "invalid utf-8", "utf-16", "empty",
                                "random"]))
    if how == "bom":
        return b"\xef\xbb\xbf" + data
    if how == "crlf":
        return data.replace(b"\n", b"\r\n")
    if how == "invalid utf-8":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xe9t\xe9", b"\xed\xa0\x80"])) + data[at:]
    if how == "utf-16":
        return data.decode("utf-8", "replace").encode("utf-16")
    if how == "empty":
        return draw(st.sampled_from([b"", b"\n", b"   \r\n"]))
    if how == "random":
        return draw(st.binary(max_size=200))
    return data


@st.composite
def files(draw) -> tuple[str, bytes]:
    suffix, strategy = draw(st.sampled_from([(".csv", csv_files()), (".tsv", csv_files()), (".json", json_files()),
                                             (".jsonl", jsonl_files()), (".txt", json_files()),
                                             (".parquet", parquet_files())]))
    data = draw(strategy)
    return suffix, (data if suffix == ".parquet" else _mangle(draw, data))


def _check_table(frame) -> None:
    """What a clean parse promises: canonical text columns of valid UTF-8, ratings 1-7, known labels."""
    assert len(frame) > 0
    for column in ("instruction", "input", "output", "output1", "output2", "response", "response1", "response2"):
        if column in frame.columns:
            assert all(isinstance(v, str) and valid_utf8(v) for v in frame[column]), column
    assert all(v.strip() for v in frame["instruction"])
    if "rating" in frame.columns and frame["rating"].dtype.kind == "i":
        assert frame["rating"].between(1, 7).all()
    if "feedback" in frame.columns:
        assert set(frame["feedback"].dropna()) <= {"(a)", "(b)", "equal"}
    if "responses" in frame.columns:
        assert all(isinstance(r, list) and r and all(isinstance(x, str) for x in r) for r in frame["responses"])


def _read_everything(path: Path) -> None:
    for reader in READERS:
        try:
            frame = reader(path, **({} if reader in (formats.read_generation, formats.read_instructions)
                                    else {"warn": lambda message: None}))
        except InputError as err:
            message = str(err)
            assert "\n" not in message and "\r" not in message and message.startswith(str(path))
            message.encode("utf-8")  # printable as it is
        else:
            _check_table(frame)


@pytest.mark.slow
@FUZZ
@given(files())
def test_readers_give_a_clean_table_or_an_input_error(case):
    suffix, data = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        _read_everything(path)


@settings(FUZZ, max_examples=40)
@given(st.lists(st.lists(texts, min_size=4, max_size=4), min_size=1, max_size=4),
       st.lists(st.sampled_from([1, 4, 7, 0, 8, 5.5, "abc", None, True]), min_size=4, max_size=4))
def test_typed_records_in_every_container_read_or_fail_the_same_way(rows, ratings):
    """The same records as JSON, JSONL and parquet: all three read, or all three refuse on the same column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [dict(zip(["instruction", "input", "output"], row[:3]), rating=r) for row, r in zip(rows, ratings)]
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / "r.json", Path(tmp) / "r.jsonl", Path(tmp) / "r.parquet"]
        paths[0].write_text(json.dumps(records))
        paths[1].write_text("\n".join(json.dumps(r) for r in records))
        column = [r["rating"] for r in records]
        if len({type(v) for v in column if v is not None}) > 1:  # arrow needs one type: store as text
            column = [None if v is None else str(v) for v in column]
        pq.write_table(pa.table({"instruction": [r["instruction"] for r in records],
                                 "input": [r["input"] for r in records], "output": [r["output"] for r in records],
                                 "rating": column}), paths[2])
        for path in paths:
            try:
                frame = formats.read_rating_feedback(path, warn=lambda message: None)
                _check_table(frame)
                outcomes.append(("ok", len(frame)))
            except InputError as err:
                outcomes.append(("error", err.column))
    assert len(set(outcomes)) == 1, outcomes


@pytest.mark.slow
@settings(FUZZ, max_examples=3)
@given(files())
def test_cli_gives_one_line_and_exit_2_or_a_whole_output(cli, case):
    suffix, data = case
    with tempfile.TemporaryDirectory() as tmp:
        path, out_dir = Path(tmp) / f"fuzz{suffix}", Path(tmp) / "out"
        path.write_bytes(data)
        out_dir.mkdir()
        result = cli("export", "rm-ratings", "--ratings", path, "--output", out_dir / "rm.parquet")
        assert "Traceback" not in result.stderr
        if result.returncode == 0:
            assert [p.name for p in out_dir.iterdir()] == ["rm.parquet"]
            import pandas as pd

            assert len(pd.read_parquet(out_dir / "rm.parquet")) > 0
        else:
            assert result.returncode == 2, result.stderr
            lines = result.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
            assert list(out_dir.iterdir()) == []


def test_cli_main_on_the_issue_s_malformed_files(tmp_path, capsys):
    """A fixed corpus beside the random one, through the CLI's entry point in this process (fast)."""
    from sparse_feedback.cli import main

    corpus = {
        "bom_crlf.csv": b"\xef\xbb\xbfa,,x,5\r\nb,,y,6\r\n",
        "huge.csv": b"a,," + b"y" * 2_000_000 + b",9\n",
        "latin1.csv": b"a,,caf\xe9,5\n",
        "types.json": json.dumps([{"instruction": 3, "output": ["x"], "rating": 5}]).encode(),
        "missing.jsonl": b'{"instruction": "a"}\n',
        "empty.parquet": b"",
    }
    for name, data in corpus.items():
        path, out_dir = tmp_path / name, tmp_path / f"out_{name}"
        path.write_bytes(data)
        out_dir.mkdir()
        code = main(["export", "rm-ratings", "--ratings", str(path), "--output", str(out_dir / "rm.csv")])
        err = capsys.readouterr().err
        if name == "bom_crlf.csv":
            assert code == 0 and [p.name for p in out_dir.iterdir()] == ["rm.csv"], err
        else:
            assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error: "), (name, err)
            assert len(err) < 400 and not any(out_dir.iterdir()), name

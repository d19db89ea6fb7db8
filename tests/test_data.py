import os
import threading
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigd as mg
import minigd.data as data


def test_shapes_dtype_and_defaults():
    x, y = mg.make_linear_data(seed=0)
    assert x.shape == y.shape == (1000,)
    assert x.dtype == y.dtype == np.float64
    assert x.min() >= -10 and x.max() < 10


def test_same_seed_same_data_and_other_seed_other_data():
    a, b, c = (mg.make_linear_data(n=50, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_noise_has_the_requested_spread():
    x, y = mg.make_linear_data(n=100_000, noise=0.1, seed=3)
    residual = y - (1.915 * x + 0.915)
    assert residual.mean() == pytest.approx(0.0, abs=2e-3)
    assert residual.std() == pytest.approx(0.1, rel=0.02)


def test_several_features():
    x, y = mg.make_linear_data(n=20, w=[1.0, 2.0], b=0.0, noise=0.0, seed=0)
    assert x.shape == (20, 2)
    np.testing.assert_allclose(y, x @ [1.0, 2.0])


@pytest.mark.parametrize("kwargs, name", [
    ({"n": 0}, "n"), ({"n": 2.5}, "n"), ({"noise": -1.0}, "noise"),
    ({"low": 1.0, "high": 0.0}, "high"), ({"w": float("nan")}, "w"),
])
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        mg.make_linear_data(**kwargs)


# -- read_csv --------------------------------------------------------------------------

posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs and /dev/zero")


def csv_file(tmp_path, content, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def read(tmp_path, content):
    return mg.read_csv(csv_file(tmp_path, content))


def error_of(tmp_path, content):
    path = csv_file(tmp_path, content)
    with pytest.raises(mg.DataFileError) as caught:
        mg.read_csv(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    return message[len(str(path)):]


@pytest.mark.parametrize("content", [
    "x,y\n1.5,2\n-3,4e1\n",
    "x;y\n1.5;2\n-3;4e1\n",
    "x\ty\n1.5\t2\n-3\t4e1\n",
    "x y\n1.5   2\n  -3 4e1  \n",
    "1.5, 2\n-3 ,4e1\n",
    '"x","y"\n"1.5","2"\n"-3","4e1"\n',
    "\ufeffx,y\r\n1.5,2\r\n-3,4e1\r\n",  # Excel: byte-order mark, Windows line ends
    "x,y\r1.5,2\r-3,4e1",  # old Mac line ends, no final line end
])
def test_separators_quotes_and_line_ends_are_understood(tmp_path, content):
    x, y = read(tmp_path, content)
    np.testing.assert_array_equal(x, [1.5, -3.0])
    np.testing.assert_array_equal(y, [2.0, 40.0])


def test_comments_blank_lines_and_rows_of_separators_are_skipped(tmp_path):
    content = "# made by hand\n\nx,y\n# first\n1,2  # a note\n,\n;;\n   \n3,4\n"
    x, y = read(tmp_path, content)
    np.testing.assert_array_equal(x, [1.0, 3.0])
    np.testing.assert_array_equal(y, [2.0, 4.0])


def test_line_numbers_count_comments_and_blank_lines(tmp_path):
    assert error_of(tmp_path, "# c\n\nx,y\n# c\n\n1,2\n,\n3,abc\n") == (
        ", line 8, column 2: 'abc' is not a number.")


def test_trailing_separators_as_excel_writes_them_are_ignored(tmp_path):
    x, y = read(tmp_path, "x,y,\n1,2,\n3,4,\n5,6\n")
    np.testing.assert_array_equal(x, [1.0, 3.0, 5.0])
    np.testing.assert_array_equal(y, [2.0, 4.0, 6.0])


@pytest.mark.parametrize("content, message", [
    ("1,2\n3,\n", ", line 2, column 2: the cell is empty"),
    ("1,,2\n", ", line 1, column 2: the cell is empty"),
    ("x,y\n1, ,\n", ", line 2, column 2: the cell is empty"),
    ("x,y,z\n1,2,\n", ", line 2, column 3: the cell is empty"),  # the header names that column
    ("1;2\n3;;\n", ", line 2, column 2: the cell is empty"),
])
def test_any_other_empty_cell_is_an_error_naming_line_and_column(tmp_path, content, message):
    assert error_of(tmp_path, content).startswith(message)


@pytest.mark.parametrize("content, message", [
    ("x;y\n2,739;6,168\n", ", line 2, column 1: '2,739' is not a number; it looks like decimal commas"),
    ('"2,5","3,1"\n', ", line 1, column 1: '2,5' is not a number; it looks like decimal commas"),
    ("a\tb\n1\t2\n3,5\t4\n", ", line 3, column 1: '3,5' is not a number; it looks like decimal commas"),
    ("x;y\n1.234,5;2\n", "(1234.5)"),
])
def test_decimal_commas_are_pointed_out_never_reinterpreted(tmp_path, content, message):
    assert message in error_of(tmp_path, content)


def index_warnings(tmp_path, content):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x, y = read(tmp_path, content)
    return x, [str(warning.message) for warning in caught]


@pytest.mark.parametrize("content", [
    ",x,y\n0,0.5,1\n1,0.7,2\n2,0.1,3\n",  # pandas DataFrame.to_csv()
    ",y\n0,1\n1,2\n2,3\n",  # pandas Series.to_csv()
    "i,a,b,y\n0,1,1,1\n1,2,2,2\n2,3,3,3\n3,4,4,4\n",
    '"","x","y"\n"1",0.5,1\n"2",0.7,2\n"3",0.1,3\n',  # R's write.csv
])
def test_a_row_index_column_is_warned_about_and_kept(tmp_path, content):
    x, messages = index_warnings(tmp_path, content)
    assert len(messages) == 1 and "looks like a row index" in messages[0]
    assert str(tmp_path / "data.csv") in messages[0]
    assert x.ndim == 2 or len(x) == 3  # read as data, never dropped


@pytest.mark.parametrize("content", [
    "x,y\n0,1\n1,2\n2,3\n",  # x = 0, 1, 2 is ordinary data
    ",x,y\n5,0.5,1\n6,0.7,2\n7,0.1,3\n",
    ",x,y\n0,0.5,1\n2,0.7,2\n1,0.1,3\n",
])
def test_no_index_warning_for_ordinary_columns(tmp_path, content):
    assert index_warnings(tmp_path, content)[1] == []


BAD_CONTENT = {
    "ragged": ("x,y\n1,2\n3,4,5\n", ", line 3: 3 column(s), but the file started with 2."),
    "header only": ("x,y\n", " has no rows of numbers: it must hold lines like 'x,y'."),
    "comments only": ("# nothing\n\n", " has no rows of numbers: it must hold lines like 'x,y'."),
    "one column": ("y\n1\n2\n", " has 1 column: it needs at least 2 (inputs, then y in the last column)."),
    "nan": ("1,2\n3,NaN\n", ", line 2, column 2: 'NaN' is not finite; remove or fill NaN and "
                           "infinite values."),
    "too big": ("1,2\n3,1e400\n", ", line 2, column 2: '1e400' is not finite; remove or fill NaN and "
                                  "infinite values."),
    "text": ("1,2\n3,4\n5 ,abc\n", ", line 3, column 2: 'abc' is not a number."),
    "second header": ("x,y\n1,2\nx,y\n", ", line 3, column 1: 'x' is not a number."),
    # a first row with a number in it is data, not a header to skip
    "bad first row": ("1,N/A\n2,3\n", ", line 1, column 2: 'N/A' is not a number."),
    "bad first cell": ("0x10,2\n2,3\n", ", line 1, column 1: '0x10' is not a number."),
    "broken quote": ('1,2\n"3,4\n', ", line 2: 1 column(s), but the file started with 2."),
    "not utf-8": (b"1,2\n\xff\xfe,3\n", " is not a text (UTF-8) CSV file."),
}


@pytest.mark.parametrize("name", BAD_CONTENT)
def test_bad_files_name_the_file_line_and_column(tmp_path, name):
    content, message = BAD_CONTENT[name]
    assert error_of(tmp_path, content) == message


@posix_only
def test_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # no writer: opening it for reading would block forever
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(error_message(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert outcome == [f"{fifo} is a named pipe (FIFO), not a CSV file: minigd reads ordinary files only."]


def error_message(path):
    try:
        mg.read_csv(path)
    except mg.DataFileError as error:
        return str(error)
    return "no error"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_is_refused_before_reading():
    assert error_message("/dev/zero") == (
        "/dev/zero is a character device, not a CSV file: minigd reads ordinary files only.")


def test_progress_reports_bytes_up_to_the_total(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_CHUNK_CHARS", 1000)
    path = csv_file(tmp_path, "x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(2000)))
    calls = []
    mg.read_csv(path, progress=lambda done, total: calls.append((done, total)))
    size = path.stat().st_size
    assert len(calls) > 5 and calls[-1] == (size, size)
    assert all(total == size for _, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_progress_must_be_callable(tmp_path):
    with pytest.raises(ValueError, match="progress must be a function"):
        mg.read_csv(csv_file(tmp_path, "1,2\n"), progress=3)


def test_a_big_file_is_read_as_a_stream(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "big.csv"
    np.savetxt(path, rng.normal(size=(200_000, 3)), delimiter=",", fmt="%.17g")  # 12 MB of text
    tracemalloc.start()
    try:
        x, y = mg.read_csv(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    numbers = x.nbytes + y.nbytes
    # the numbers twice (pieces, then joined) and a few chunk-sized buffers; never the whole text
    assert peak < 2 * numbers + 8 * 2**20


def test_ordinary_files_take_the_fast_path(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_CHUNK_CHARS", 4096)
    fast_results, fast = [], data._parse_fast

    def spy(text, layout):
        fast_results.append(fast(text, layout))
        return fast_results[-1]

    monkeypatch.setattr(data, "_parse_fast", spy)
    rng = np.random.default_rng(1)
    rows = "".join(f"{a!r},{b!r},\n" for a, b in rng.normal(size=(3000, 2)).tolist())
    mg.read_csv(csv_file(tmp_path, "# comment\nx,y\n" + rows))
    assert len(fast_results) > 10 and all(result is not None for result in fast_results)


# -- the fast path and the precise path agree, bit for bit, on results and on errors ---

def outcome(path):
    """(x, y) as bytes, or the error message, with the warnings given."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            x, y = mg.read_csv(path)
            result = (x.shape, x.tobytes(), y.tobytes())
        except mg.DataFileError as error:
            result = str(error)
    return result, [str(warning.message) for warning in caught]


def fast_and_precise(path, chunk_chars):
    """read_csv's outcome as it is, and with the fast path switched off."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(data, "_CHUNK_CHARS", chunk_chars)
        fast = outcome(path)
        patch.setattr(data, "_parse_fast", lambda text, layout: None)
        precise = outcome(path)
    return fast, precise


def random_table_text(rng, rows, columns, separator):
    table = rng.normal(scale=10.0 ** rng.integers(-5, 6), size=(rows, columns))
    if rng.random() < 0.3:
        table = np.round(table)
    lines = [separator.join(repr(float(value)) for value in row) for row in table]
    if rng.random() < 0.3:
        lines = [line + separator for line in lines]  # Excel's trailing separators
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(20))
def test_fast_and_precise_paths_agree_on_random_tables(tmp_path, seed):
    rng = np.random.default_rng(seed)
    separator = [",", ";", "\t", " "][seed % 4]
    text = random_table_text(rng, int(rng.integers(1, 400)), int(rng.integers(2, 5)), separator)
    lines = text.splitlines(keepends=True)
    if seed % 3 == 0:  # spoil one cell deep in the file: both must name the same line
        spoiled = int(rng.integers(len(lines)))
        lines[spoiled] = lines[spoiled].replace("0", "O", 1)
    path = csv_file(tmp_path, "".join(lines))
    fast, precise = fast_and_precise(path, chunk_chars=int(rng.integers(16, 2000)))
    assert fast == precise


CELLS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(["", " ", "1 ", " -2", "1_0", "nan", "inf", "-0", "1.", ".5", "+.5", "1e400", "0x1",
                     "2,5", '"3"', '"4', "#", "1#2", "abc", "\xa01", "1\x0c", "\u0661", "١"]),
)
LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r", ",\n", ";\n", "\t\n", " # note\n", "\n\n", "\n# c\n"])


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(st.lists(CELLS, min_size=1, max_size=4), LINE_ENDS), max_size=12),
       separator=st.sampled_from([",", ";", "\t", " ", "  "]), header=st.booleans(),
       chunk_chars=st.integers(1, 64))
def test_fast_and_precise_paths_agree_on_anything(tmp_path_factory, rows, separator, header, chunk_chars):
    text = ("x,y\n" if header else "") + "".join(separator.join(cells) + end for cells, end in rows)
    path = csv_file(tmp_path_factory.mktemp("csv"), text)
    fast, precise = fast_and_precise(path, chunk_chars)
    assert fast == precise

"""CSV text of a table, built a column at a time with Arrow's string kernels.

:func:`csv_chunks` gives the bytes that pandas' ``DataFrame.to_csv(index=False,
lineterminator="\\r\\n")`` writes through Python's csv module (``QUOTE_MINIMAL``), for a
table whose columns all hold text or whole numbers: a field is quoted when it holds a
comma, a double quote, a CR or an LF (its quotes doubled), a lone empty field is written
``""``, a missing value is empty. For any other table (floats, booleans, dates ...) it
gives None and the caller writes it with pandas. The csv module writes one field at a
time, about a second per 100,000 rows of an import report; this is a tenth of that.

It imports only numpy, pandas and pyarrow; :mod:`geoapp.export` uses it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["csv_chunks", "first_byte_in", "starts_with_ascii"]

#: Rows turned into text at once: bounds the memory of a long table's text.
CHUNK_ROWS = 65_536
_NEEDS_QUOTES = '[",\r\n]'


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def csv_chunks(table: pd.DataFrame) -> Iterator[bytes | memoryview] | None:
    """The UTF-8 CSV of ``table`` (header, then rows, CRLF), in pieces; None when a
    column is neither text nor whole numbers, or the table has no row or no column.

    Examples
    --------
    >>> frame = pd.DataFrame({"名称": ["a,b", 'a "b" c', None], "n": [1, -2, 3]})
    >>> b"".join(csv_chunks(frame)).decode()
    '名称,n\\r\\n"a,b",1\\r\\n"a ""b"" c",-2\\r\\n,3\\r\\n'
    >>> csv_chunks(pd.DataFrame({"x": [0.5]})) is None
    True
    """
    if table.shape[1] == 0 or len(table) == 0:
        return None
    if not all(isinstance(label, str) for label in table.columns):
        return None  # pandas writes labels such as NaN its own way
    columns = []
    for position in range(table.shape[1]):
        text = _arrow_text(table.iloc[:, position])
        if text is None:
            return None
        columns.append(text)
    return _chunks(list(table.columns), columns)


def _arrow_text(series: pd.Series) -> pa.Array | None:
    """A column as Arrow text (nulls where missing), or None when it is not text or
    whole numbers."""
    dtype = series.dtype
    if pd.api.types.is_integer_dtype(dtype):
        return pc.cast(pa.array(series, from_pandas=True), pa.large_string())
    text = isinstance(dtype, pd.StringDtype) or (
        pd.api.types.is_object_dtype(dtype)
        and pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")
    )
    if not text:
        return None
    text = pa.array(series, type=pa.large_string(), from_pandas=True)
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


def _chunks(labels: list, columns: list[pa.Array]) -> Iterator[bytes | memoryview]:
    header = io.StringIO()
    csv.writer(header, lineterminator="\r\n").writerow(labels)  # as pandas writes it
    yield header.getvalue().encode("utf-8")
    alone = len(columns) == 1
    for start in range(0, len(columns[0]), CHUNK_ROWS):
        fields = [_field(c.slice(start, CHUNK_ROWS), alone=alone) for c in columns]
        lines = fields[0] if alone else pc.binary_join_element_wise(*fields, _text(","))
        yield _concatenated(pc.binary_join_element_wise(lines, _text(""), _text("\r\n")))


def _field(text: pa.Array, *, alone: bool) -> pa.Array:
    """Fields as the csv module writes them: quoted where needed, missing as empty."""
    if text.null_count:
        text = pc.fill_null(text, _text(""))
    if not alone and not _special(text):
        return text  # the common case, found by one scan of the column's bytes
    need = pc.match_substring_regex(text, _NEEDS_QUOTES)
    if alone:  # a row of one empty field would be an empty line: the csv module writes ""
        need = pc.or_(need, pc.equal(text, ""))
    if not pc.any(need).as_py():
        return text
    quote = _text('"')
    doubled = pc.replace_substring(text, '"', '""')
    quoted = pc.binary_join_element_wise(quote, doubled, quote, _text(""))
    return pc.if_else(need, quoted, text)


def _special(text: pa.Array) -> bool:
    """Whether any string of ``text`` holds a character that needs quotes."""
    data = bytes(_concatenated(text))  # memchr scans of a copy beat one regex search
    return any(ch in data for ch in (b",", b'"', b"\r", b"\n"))


def _concatenated(lines: pa.Array) -> memoryview:
    """All the strings of a large-string array, one after the other: a view of its data
    buffer, nothing copied."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    start, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    data = lines.buffers()[2]
    return memoryview(b"" if data is None else data)[start:end]


def starts_with_ascii(series: pd.Series, prefixes: tuple[str, ...]) -> np.ndarray:
    """Which cells of a column are text starting with one of ``prefixes`` (each one
    ASCII character; numbers and missing cells never are), as ``str.startswith``.

    Examples
    --------
    >>> starts_with_ascii(pd.Series(["=1", "a", None, 5], dtype=object), ("=", "@")).tolist()
    [True, False, False, False]
    >>> starts_with_ascii(pd.Series(["@x", "", "b"], dtype="str"), ("=", "@")).tolist()
    [True, False, False]
    """
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        first = np.frombuffer("".join(prefixes).encode("ascii"), dtype=np.uint8)
        return first_byte_in(pa.array(series.array), first)
    try:
        starts = series.str.startswith(prefixes, na=False)
    except (AttributeError, TypeError):  # no text in the column at all
        return np.zeros(len(series), dtype=bool)
    return starts.to_numpy(dtype=bool, na_value=False)


def first_byte_in(text: pa.Array | pa.ChunkedArray, first: np.ndarray) -> np.ndarray:
    """Which strings of an Arrow text column (chunked or not) start with one of the
    bytes ``first``; False for empty and missing ones. Read off the offsets and the
    data buffer: no string is made.

    Examples
    --------
    >>> first_byte_in(pa.array(["=1", "a", "", None, "@x"]), np.array([61, 64], np.uint8)).tolist()
    [True, False, False, False, True]
    """
    chunks = text.chunks if hasattr(text, "chunks") else [text]
    wanted = np.zeros(256, dtype=bool)
    wanted[first] = True  # a lookup per byte value: np.isin would sort
    out = [np.zeros(0, dtype=bool)]
    for chunk in chunks:
        chunk = chunk.cast(pa.large_string())
        n = len(chunk)
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64)[chunk.offset :][: n + 1]
        data = chunk.buffers()[2]
        nonempty = offsets[1:] > offsets[:-1]
        hit = np.zeros(n, dtype=bool)
        if data is not None and nonempty.any():
            bytes_ = np.frombuffer(data, dtype=np.uint8)
            hit[nonempty] = wanted[bytes_[offsets[:-1][nonempty]]]
        if chunk.null_count:
            hit &= chunk.is_valid().to_numpy(zero_copy_only=False)
        out.append(hit)
    return np.concatenate(out)

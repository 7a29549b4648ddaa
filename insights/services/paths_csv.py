"""Reading an uploaded CSV of conversion paths, with one clear message for every way it can be wrong.

Expected columns (header names are case- and space-insensitive):

    path                          "Paid Search > Email > Direct" (touches in order, ">" between)
    total_conversions             conversions of people who took this path
    total_null                    people who took this path and did not convert
    total_conversion_value        optional: the conversions' value
    touch_days_before_conversion  optional: "9 > 2 > 0", one number per touch (time-decay model)

Comma, semicolon or tab separated; UTF-8 (with or without BOM). Pure Python: no Django.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

REQUIRED = ("path", "total_conversions", "total_null")
OPTIONAL = ("total_conversion_value", "touch_days_before_conversion")
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 100_000
MAX_CHANNELS = 40
SEPARATOR = ">"

SAMPLE_CSV = """path,total_conversions,total_conversion_value,total_null
Paid Search,120,9600,2400
Paid Search > Email,80,7200,900
Meta Ads > Paid Search,95,8550,1500
Meta Ads > Email > Paid Search,40,3800,420
Meta Ads,35,2450,3100
Email,60,4200,700
TikTok Ads > Meta Ads > Paid Search,22,1870,640
TikTok Ads,8,480,1900
Direct,150,12000,800
Meta Ads > Direct,45,3600,380
"""


class PathsCsvError(ValueError):
    """The upload cannot be used; the message says what to fix, in one line."""


@dataclass(frozen=True)
class PathsTable:
    frame: pd.DataFrame  # path, total_conversions, total_conversion_value, total_null[, touch_days...]
    channels: list[str]
    conversions: float
    conversion_value: float
    null_paths: float
    has_touch_times: bool
    text: str


def _decode(data: bytes) -> str:
    if not data or not data.strip():
        raise PathsCsvError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise PathsCsvError(
            f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it or aggregate paths first."
        )
    if b"\0" in data[:4096]:
        raise PathsCsvError("This is not a text CSV file (it looks binary, e.g. an Excel workbook). Export it as CSV.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PathsCsvError(f"The file is not UTF-8 text (byte {exc.start + 1}). Save it as CSV UTF-8.") from exc


def _delimiter(text: str) -> str:
    header = text.splitlines()[0] if text.splitlines() else ""
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def _normalise(name: str) -> str:
    return "_".join(str(name).strip().lower().replace("-", " ").split())


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    raw = frame[column].astype(str).str.strip()
    values = pd.to_numeric(raw.str.replace(r"(?<=\d),(?=\d{3}\b)", "", regex=True), errors="coerce")
    bad = values.isna() | ~np.isfinite(values.fillna(0.0).to_numpy(dtype=float))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        shown = raw.iloc[row] or "(empty)"
        raise PathsCsvError(f"Column {column}, row {row + 2}: “{shown}” is not a number.")
    numbers = values.to_numpy(dtype=float)
    if (numbers < 0).any():
        row = int(np.flatnonzero(numbers < 0)[0])
        raise PathsCsvError(f"Column {column}, row {row + 2}: {raw.iloc[row]} is negative.")
    return numbers


def read_paths_csv(data: bytes) -> PathsTable:
    """Parse and validate an upload; raises PathsCsvError naming the first problem."""
    text = _decode(data)
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=_delimiter(text), dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except pd.errors.EmptyDataError as exc:
        raise PathsCsvError("The file is empty.") from exc
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise PathsCsvError(f"The file is not valid CSV: {detail}.") from exc
    frame.columns = [_normalise(c) for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        found = ", ".join(c for c in frame.columns if c) or "none"
        raise PathsCsvError(
            f"Missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} (found: {found}). "
            f"Needed: {', '.join(REQUIRED)}; optional: {', '.join(OPTIONAL)}."
        )
    if frame.empty:
        raise PathsCsvError("The file has a header but no data rows.")
    if len(frame) > MAX_ROWS:
        raise PathsCsvError(
            f"The file has {len(frame):,} rows; at most {MAX_ROWS:,} paths can be imported. Aggregate identical paths first."
        )

    paths = frame["path"].astype(str).str.strip()
    touches: list[list[str]] = []
    for i, path in enumerate(paths):
        parts = [p.strip() for p in path.split(SEPARATOR)]
        if not path or any(not p for p in parts):
            raise PathsCsvError(f"Row {i + 2}: the path “{path}” has an empty step; write touches as “A > B > C”.")
        touches.append(parts)
    out = pd.DataFrame({"path": [f" {SEPARATOR} ".join(t) for t in touches]})
    out["total_conversions"] = _numbers(frame, "total_conversions")
    out["total_null"] = _numbers(frame, "total_null")
    out["total_conversion_value"] = (
        _numbers(frame, "total_conversion_value") if "total_conversion_value" in frame.columns else 0.0
    )
    has_times = False
    if "touch_days_before_conversion" in frame.columns:
        days = frame["touch_days_before_conversion"].astype(str).str.strip()
        for i, (cell, parts) in enumerate(zip(days, touches, strict=True)):
            if not cell:
                continue
            try:
                values = [float(v) for v in cell.split(SEPARATOR)]
            except ValueError as exc:
                raise PathsCsvError(
                    f"Row {i + 2}: touch_days_before_conversion “{cell}” is not a list of numbers."
                ) from exc
            if len(values) != len(parts) or any(v < 0 or not np.isfinite(v) for v in values):
                raise PathsCsvError(
                    f"Row {i + 2}: touch_days_before_conversion needs one number of days (0 or more) per touch "
                    f"({len(parts)} here)."
                )
        out["touch_days_before_conversion"] = days.to_numpy()
        converting = (out["total_conversions"] > 0) | (out["total_conversion_value"] > 0)
        has_times = bool((days[converting.to_numpy()] != "").all())

    conversions = float(out["total_conversions"].sum())
    if conversions <= 0:
        raise PathsCsvError("No path has a conversion, so there is nothing to attribute.")
    channels = sorted({t for parts in touches for t in parts})
    if len(channels) > MAX_CHANNELS:
        raise PathsCsvError(
            f"The paths name {len(channels)} channels; at most {MAX_CHANNELS} are supported. Group small channels."
        )
    return PathsTable(
        frame=out,
        channels=channels,
        conversions=conversions,
        conversion_value=float(out["total_conversion_value"].sum()),
        null_paths=float(out["total_null"].sum()),
        has_touch_times=has_times,
        text=text,
    )

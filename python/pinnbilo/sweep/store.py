"""The results store of a sweep: one JSON file per finished run, written the moment it finishes.

Layout of the folder::

    runs/<run_id>.json   one row each (atomic: temp file + rename, so a crash leaves no half row)
    results.csv          the whole table, rewritten at the end of a sweep (and on demand)

A restarted sweep reads ``runs/`` and skips every configuration already there.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Dict, List, Mapping, Optional

from ..errors import InputError


class ResultStore:
    """Rows of finished runs, kept in memory and (with a ``folder``) on disk."""

    def __init__(self, folder: Optional[str] = None) -> None:
        self.folder = folder
        self._rows: Dict[str, Dict[str, Any]] = {}
        if folder is not None:
            try:
                os.makedirs(os.path.join(folder, "runs"), exist_ok=True)
            except OSError as exc:
                raise InputError(f"cannot create the results folder {folder!r}: {exc}") from None
            self._read()

    def _read(self) -> None:
        runs = os.path.join(str(self.folder), "runs")
        for name in sorted(os.listdir(runs)):
            if not name.endswith(".json"):
                continue  # temp files of a save that was killed
            try:
                with open(os.path.join(runs, name)) as fh:
                    row = json.load(fh)
            except (OSError, ValueError):
                continue  # unreadable: the run is simply done again
            if isinstance(row, dict) and row.get("run_id") == name[:-5]:
                self._rows[name[:-5]] = row

    def done(self) -> set:
        """The run ids with a row."""
        return set(self._rows)

    def add(self, row: Mapping[str, Any]) -> None:
        """Keep one finished run (on disk at once, atomically)."""
        rid = str(row["run_id"])
        self._rows[rid] = dict(row)
        if self.folder is None:
            return
        runs = os.path.join(self.folder, "runs")
        fd, tmp = tempfile.mkstemp(dir=runs, prefix=f".{rid}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(row, fh, allow_nan=True, default=str)
            os.replace(tmp, os.path.join(runs, f"{rid}.json"))
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def rows(self, run_ids: Optional[List[str]] = None) -> List[Dict[str, Any]]:
        """The rows, in the order of ``run_ids`` (those with a row), or all in the order kept."""
        if run_ids is None:
            return list(self._rows.values())
        return [self._rows[r] for r in run_ids if r in self._rows]

    def write_table(self, table: Any) -> Optional[str]:
        """Write ``table`` (a DataFrame) as results.csv in the folder; returns its path."""
        if self.folder is None:
            return None
        path = os.path.join(self.folder, "results.csv")
        table.to_csv(path, index=False)
        return path

"""What the inventory file formats share: the limits, a lot as read, and what refuses a file."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_BYTES = 20 * 1024 * 1024  # 20 MiB
MAX_LOTS = 50_000


class FileRejected(Exception):
    """The whole file is refused before any lot is looked at; nothing was written."""


class FileTooLarge(FileRejected):
    """More than MAX_BYTES, or more than MAX_LOTS lots (413)."""

    def __init__(self, message: str, **limits: int) -> None:
        super().__init__(message)
        self.limits = limits


class UnreadableFile(FileRejected):
    """Not well-formed XML or CSV, or XML with a DTD or entities (refused, never expanded)."""


class UnknownFormat(FileRejected):
    """Neither a BrickLink XML inventory, nor a BrickStore file, nor our CSV."""


@dataclass(frozen=True)
class Format:
    """One file format: its API name, and what its tags (or columns) are called, by field."""

    name: str
    title: str
    labels: dict[str, str]

    def label(self, field_name: str) -> str:
        return self.labels.get(field_name, field_name)


@dataclass
class RawLot:
    """One lot as the file gives it: the text of each field it has (by our field names),
    and what was wrong with its structure. ``index`` counts the file's lots from 0."""

    index: int
    values: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def too_many_lots() -> FileTooLarge:
    return FileTooLarge(f"A file may hold at most {MAX_LOTS:,} lots; split it.", max_lots=MAX_LOTS)

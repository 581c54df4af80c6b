"""A hardened, streaming reader of XML inventory files, and safe XML text for the writers.

* Hardened: defusedxml's parser refuses entity declarations and external references outright
  (nothing is ever expanded or fetched), and every DTD is refused except the bare
  ``<!DOCTYPE BrickStoreXML>`` that BrickSync writes (no internal subset, no system or public
  id, so it can declare nothing). A "billion laughs" file or an external entity is a refused
  file before any lot is read.
* Streaming: ``iterparse`` hands over one record (``<ITEM>``) at a time and the record is
  dropped once read, so memory does not grow with the lots; the read stops at the first lot past
  the limit. Elements nested deeper than any format needs, or a record holding more elements
  than any lot has, refuse the file (so neither can fill the memory either).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO
from xml.etree.ElementTree import Element, ParseError, TreeBuilder
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException, DTDForbidden
from defusedxml.ElementTree import DefusedXMLParser, iterparse

from .base import MAX_LOTS, Format, RawLot, UnknownFormat, UnreadableFile, too_many_lots

MAX_DEPTH = 8
# Elements inside one record (or one other element at the records' level): a lot has ~40.
MAX_RECORD_ELEMENTS = 500
# Characters XML 1.0 cannot carry at all (not even as a character reference).
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class XmlLayout:
    """Where an XML format keeps its lots: ``root`` > [``container`` >] ``record`` > tags."""

    format: Format
    roots: tuple[str, ...]
    container: str | None
    record: str
    tags: dict[str, str]  # a record's child tag -> the field it gives
    doctypes: tuple[str, ...] = ()  # a bare <!DOCTYPE name> allowed for these names

    @property
    def record_depth(self) -> int:
        return 2 if self.container is None else 3


class InventoryXMLParser(DefusedXMLParser):
    """defusedxml's parser with entities and external references forbidden, and every DTD
    but a bare ``<!DOCTYPE name>`` of the given names."""

    def __init__(self, doctypes: tuple[str, ...]) -> None:
        self.allowed_doctypes = doctypes
        super().__init__(
            target=TreeBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True
        )

    def defused_start_doctype_decl(self, name, sysid, pubid, has_internal_subset):
        if name in self.allowed_doctypes and not (sysid or pubid or has_internal_subset):
            return
        raise DTDForbidden(name, sysid, pubid)


def unreadable(exc: Exception) -> UnreadableFile:
    if isinstance(exc, DefusedXmlException):
        return UnreadableFile(
            "The file declares a DTD or entities, which inventory files may not: refused "
            "(nothing was expanded or fetched)."
        )
    return UnreadableFile(f"The file is not well-formed XML: {exc}.")


def read_xml(stream: IO[bytes], layouts: list[XmlLayout]) -> tuple[XmlLayout, Iterator[RawLot]]:
    """Which layout the file is (by its root element), and its lots, read lazily."""
    doctypes = tuple(name for layout in layouts for name in layout.doctypes)
    events = iterparse(stream, events=("start", "end"), parser=InventoryXMLParser(doctypes))
    try:
        _, root = next(events)
    except (ParseError, DefusedXmlException) as exc:
        raise unreadable(exc) from None
    except StopIteration:  # pragma: no cover - expat reports an empty document itself
        raise UnreadableFile("The file is empty.") from None
    for layout in layouts:
        if root.tag in layout.roots:
            return layout, _lots(events, root, layout)
    roots = " or ".join(f"<{layout.roots[0]}> ({layout.format.title})" for layout in layouts)
    raise UnknownFormat(f"The file's root element is <{root.tag[:40]}>, not {roots}.")


def _is_record(path: list[Element], element: Element, layout: XmlLayout) -> bool:
    """Whether ``element``, the last of ``path`` (the open elements), is one of the lots."""
    if element.tag != layout.record or len(path) != layout.record_depth:
        return False
    return layout.container is None or path[1].tag == layout.container


def _lots(events, root: Element, layout: XmlLayout) -> Iterator[RawLot]:
    path = [root]
    count = 0
    elements = 0  # inside the current element at the records' level
    try:
        for event, element in events:
            if event == "start":
                path.append(element)
                depth = len(path)
                if depth > MAX_DEPTH:
                    raise UnreadableFile(f"Elements are nested more than {MAX_DEPTH} deep.")
                if depth <= layout.record_depth:
                    elements = 0
                else:
                    elements += 1
                    if elements > MAX_RECORD_ELEMENTS:
                        raise UnreadableFile(
                            f"An element holds more than {MAX_RECORD_ELEMENTS} elements."
                        )
                if _is_record(path, element, layout):
                    count += 1
                    if count > MAX_LOTS:
                        raise too_many_lots()
                continue
            record = _is_record(path, element, layout)
            path.pop()
            if record:
                yield _raw_lot(count - 1, element, layout)
            if path and len(path) < layout.record_depth:
                # Read (or of no interest): dropped, so the tree never grows with the file.
                path[-1].remove(element)
    except (ParseError, DefusedXmlException) as exc:
        raise unreadable(exc) from None


def _raw_lot(index: int, record: Element, layout: XmlLayout) -> RawLot:
    lot = RawLot(index)
    for child in record:
        field_name = layout.tags.get(child.tag)
        if field_name is None:
            continue  # a tag we do not keep (BULK, SALE, TQ1...)
        if field_name in lot.values:
            lot.problems.append(f"{child.tag} is given twice")
            continue
        if len(child):
            lot.problems.append(f"{child.tag} holds other elements")
        lot.values[field_name] = child.text or ""
    return lot


def xml_text(value: str) -> str:
    """Text for an element's content: escaped, a carriage return kept (as a character
    reference: a parser would turn a raw one into a newline), and the characters XML cannot
    carry at all (control characters) left out."""
    return escape(NOT_XML.sub("", value), {"\r": "&#13;"})

"""Sections to overlapping chunks that never cross a heading.

A chunk is cut at paragraph, then sentence, then word boundaries, up to
MAX_CHARS; the next chunk of the same section starts with the last
~OVERLAP_CHARS of the previous one (whole words), so a passage cut in two is
still found whole by at least one chunk. Each chunk's title is its heading
path ("Servicios › SEO local"), or the document title before any heading;
a PDF page's chunks are titled "<document> › Página N".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from strategy.knowledge.extraction import Section

MAX_CHARS = 1000
OVERLAP_CHARS = 180
TITLE_SEPARATOR = " › "
_SENTENCE_END = re.compile(r"(?<=[.!?…:;])\s+")


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    title: str
    text: str


def _units(text: str, max_chars: int) -> list[str]:
    """Paragraphs, with any paragraph too long split into sentences, then words."""
    units: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            units.append(paragraph)
            continue
        for sentence in _SENTENCE_END.split(paragraph):
            while len(sentence) > max_chars:
                cut = sentence.rfind(" ", 0, max_chars)
                cut = cut if cut > max_chars // 2 else max_chars
                units.append(sentence[:cut].strip())
                sentence = sentence[cut:].strip()
            if sentence:
                units.append(sentence)
    return units


def _tail(text: str, size: int) -> str:
    """The last `size`-ish characters of `text`, starting at a word."""
    if len(text) <= size:
        return text
    start = text.find(" ", len(text) - size)
    return text[start + 1:] if start != -1 else text[-size:]


def _section_chunks(text: str, max_chars: int, overlap: int) -> list[str]:
    chunks: list[str] = []
    current = ""
    fresh = False  # whether `current` holds anything beyond the carried-over overlap
    for unit in _units(text, max_chars - overlap - 2):
        candidate = f"{current}\n\n{unit}" if current else unit
        if len(candidate) <= max_chars or not fresh:
            current, fresh = candidate, True
            continue
        chunks.append(current)
        carried = _tail(current, overlap)
        current, fresh = f"{carried}\n\n{unit}" if carried else unit, True
    if current and fresh:
        chunks.append(current)
    return chunks


def chunk_sections(sections: list[Section], *, document_title: str, max_chars: int = MAX_CHARS,
                   overlap: int = OVERLAP_CHARS) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in sections:
        title = TITLE_SEPARATOR.join(section.path) if section.path else document_title
        if section.page is not None:
            title = f"{document_title}{TITLE_SEPARATOR}Página {section.page}"
        for text in _section_chunks(section.text, max_chars, overlap):
            chunks.append(Chunk(index=len(chunks), title=title[:300], text=text))
    return chunks

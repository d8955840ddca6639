"""What an upload is (decided by its bytes, not its name) and its text as
sections: Markdown headings, DOCX heading styles and PDF pages each start a
section whose heading path becomes the title of its chunks.

Detection is strict on purpose: a PDF must carry the `%PDF-` header, a DOCX
must be a zip holding `word/document.xml` (and not expand into a bomb), and
Markdown/text must decode as UTF-8 with no NUL or stray control bytes. The
declared extension has to agree with what the bytes are.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from project.api.errors import ApplicationError

PDF, DOCX, MARKDOWN, TEXT = "pdf", "docx", "markdown", "text"
CONTENT_TYPES = {
    PDF: "application/pdf",
    DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    MARKDOWN: "text/markdown",
    TEXT: "text/plain",
}
_EXTENSIONS = {"pdf": PDF, "docx": DOCX, "md": MARKDOWN, "markdown": MARKDOWN, "txt": TEXT, "text": TEXT}
# A DOCX's XML compresses very well; past this much expanded data it is a zip bomb, not a brochure.
_DOCX_MAX_EXPANDED = 200 * 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class UnsupportedDocument(ApplicationError):
    status = 400
    code = "unsupported_type"


class UnreadableDocument(Exception):
    """The bytes are of a supported kind but no text can be taken from them."""


@dataclass(frozen=True, slots=True)
class Section:
    path: tuple[str, ...]  # heading path, outermost first; () before the first heading
    text: str
    page: int | None = None  # a PDF page: its chunks are titled by document and page


def _extension(filename: str) -> str:
    name = (filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _decode_text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    # A few stray control characters happen in pasted text; many mean it is binary.
    if "\x00" in text or len(_CONTROL.findall(text[:65536])) > 8:
        return None
    return text


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "word/document.xml" not in names or "[Content_Types].xml" not in names:
                return False
            return sum(info.file_size for info in archive.infolist()) <= _DOCX_MAX_EXPANDED
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def detect_kind(*, data: bytes, filename: str) -> str:
    """The document kind of `data`, or UnsupportedDocument naming why not."""
    extension = _extension(filename)
    if extension and extension not in _EXTENSIONS:
        raise UnsupportedDocument(
            f"Tipo de archivo no admitido (.{extension}). Sube un PDF, DOCX, Markdown o texto.",
            fields={"file": ["unsupported_type"]},
        )
    if b"%PDF-" in data[:1024]:
        kind = PDF
    elif data[:4] == b"PK\x03\x04" and _is_docx(data):
        kind = DOCX
    elif (text := _decode_text(data)) is not None:
        kind = MARKDOWN if extension in ("md", "markdown") or (not extension and _looks_like_markdown(text)) else TEXT
    else:
        raise UnsupportedDocument(
            "El contenido del archivo no es un PDF, DOCX, Markdown ni texto UTF-8.",
            fields={"file": ["unsupported_type"]},
        )
    declared = _EXTENSIONS.get(extension)
    if declared and declared != kind and {declared, kind} != {MARKDOWN, TEXT}:
        raise UnsupportedDocument(
            f"El archivo se llama .{extension} pero su contenido no lo es.", fields={"file": ["unsupported_type"]},
        )
    return kind


_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _looks_like_markdown(text: str) -> bool:
    return any(_ATX.match(line) for line in text.splitlines()[:200])


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    return re.sub(r"\n[ ]+", "\n", text).strip()


def _heading_text(raw: str) -> str:
    return re.sub(r"[*_`]+", "", raw).strip()


def _sections_from_headings(items: list[tuple[int | None, str]]) -> list[Section]:
    """(level, text) items, level None for body text, to sections by heading path."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    body: list[str] = []

    def flush() -> None:
        text = _clean("\n".join(body))
        if text:
            sections.append(Section(tuple(title for _, title in path), text))
        body.clear()

    for level, text in items:
        if level is None:
            body.append(text)
            continue
        flush()
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, text))
    flush()
    return sections


def markdown_sections(text: str) -> list[Section]:
    items: list[tuple[int | None, str]] = []
    in_fence = False
    lines = text.replace("\r\n", "\n").split("\n")
    for number, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            items.append((None, line))
            continue
        match = None if in_fence else _ATX.match(line)
        if match:
            items.append((len(match.group(1)), _heading_text(match.group(2))))
        elif (not in_fence and number + 1 < len(lines) and line.strip() and re.fullmatch(r" {0,3}(=+|-{2,}) *",
                                                                                          lines[number + 1])):
            # Setext heading: the underline on the next line says its level.
            items.append((1 if "=" in lines[number + 1] else 2, _heading_text(line)))
            lines[number + 1] = ""
        else:
            items.append((None, line))
    return _sections_from_headings(items)


def text_sections(text: str) -> list[Section]:
    text = _clean(text)
    return [Section((), text)] if text else []


_DOCX_HEADING = re.compile(r"^(?:heading|t[ií]tulo|encabezado)\s*(\d)$", re.IGNORECASE)


def docx_sections(data: bytes) -> list[Section]:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many kinds on a broken file
        raise UnreadableDocument(f"DOCX ilegible: {type(exc).__name__}") from exc
    items: list[tuple[int | None, str]] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells = list(dict.fromkeys(cell.text.strip() for cell in row.cells if cell.text.strip()))
                if cells:
                    items.append((None, " | ".join(cells)))
            continue
        text = block.text.strip()
        if not text:
            continue
        style = (block.style.name if block.style is not None else "") or ""
        match = _DOCX_HEADING.match(style.strip())
        if match:
            items.append((max(1, int(match.group(1))), text))
        elif style.strip().lower() in ("title", "título", "titulo"):
            items.append((1, text))
        else:
            items.append((None, text))
    return _sections_from_headings(items)


def pdf_sections(data: bytes) -> list[Section]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnreadableDocument("PDF cifrado: súbelo sin contraseña.")
        sections = []
        for number, page in enumerate(reader.pages, start=1):
            text = _clean(page.extract_text() or "")
            if text:
                sections.append(Section((), text, page=number))
        return sections
    except UnreadableDocument:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise UnreadableDocument(f"PDF ilegible: {type(exc).__name__}") from exc


def extract_sections(*, data: bytes, kind: str) -> list[Section]:
    """The document's text as sections; UnreadableDocument when it has none."""
    if kind == PDF:
        sections = pdf_sections(data)
    elif kind == DOCX:
        sections = docx_sections(data)
    else:
        text = _decode_text(data)
        if text is None:
            raise UnreadableDocument("El texto no es UTF-8.")
        sections = markdown_sections(text) if kind == MARKDOWN else text_sections(text)
    if not sections:
        raise UnreadableDocument("El documento no contiene texto (¿un PDF escaneado?).")
    return sections

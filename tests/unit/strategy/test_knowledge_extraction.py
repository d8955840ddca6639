"""Knowledge uploads: the kind is decided by the bytes, and each kind yields
its text as sections (Markdown headings, DOCX heading styles, PDF pages)."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from strategy.knowledge.chunking import chunk_sections
from strategy.knowledge.extraction import (
    DOCX,
    MARKDOWN,
    PDF,
    TEXT,
    UnreadableDocument,
    UnsupportedDocument,
    detect_kind,
    extract_sections,
)


def make_pdf(pages: list[str]) -> bytes:
    from weasyprint import HTML

    body = "".join(f'<section style="page-break-after: always"><h1>Sección {n}</h1><p>{text}</p></section>'
                   for n, text in enumerate(pages, start=1))
    return HTML(string=f"<html><body>{body}</body></html>").write_pdf()


def make_docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Servicios", level=1)
    document.add_paragraph("Somos una agencia de Valencia especializada en pymes.")
    document.add_heading("SEO local", level=2)
    document.add_paragraph("Optimizamos el Perfil de Empresa de Google y las reseñas.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Paquete", "Precio"
    table.cell(1, 0).text, table.cell(1, 1).text = "Crecimiento", "990 €"
    document.add_heading("Precios", level=1)
    document.add_paragraph("El paquete Arranque cuesta 490 € al mes.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_pdf_detected_and_split_by_page():
    data = make_pdf(["Campañas de Google Ads para clínicas dentales.", "Tarifas: el paquete Arranque cuesta 490 €."])
    assert detect_kind(data=data, filename="folleto.pdf") == PDF
    sections = extract_sections(data=data, kind=PDF)
    assert [(s.path, s.page) for s in sections] == [((), 1), ((), 2)]
    assert "Google Ads" in sections[0].text and "clínicas" in sections[0].text
    assert "490 €" in sections[1].text and "Google Ads" not in sections[1].text
    chunks = chunk_sections(sections, document_title="Folleto")
    assert [c.title for c in chunks] == ["Folleto › Página 1", "Folleto › Página 2"]


def test_docx_heading_styles_make_the_path_and_tables_are_kept():
    data = make_docx()
    assert detect_kind(data=data, filename="servicios.docx") == DOCX
    sections = extract_sections(data=data, kind=DOCX)
    assert [s.path for s in sections] == [("Servicios",), ("Servicios", "SEO local"), ("Precios",)]
    assert "Perfil de Empresa" in sections[1].text and "Crecimiento | 990 €" in sections[1].text
    assert sections[2].text == "El paquete Arranque cuesta 490 € al mes."


def test_markdown_headings_nest_and_reset():
    text = ("Intro sin título.\n\n# Servicios\n\nTexto general.\n\n## SEO\n\nPosicionamiento.\n\n"
            "```\n# no es un título\n```\n\n### Local\n\nMapas.\n\n# Precios\n\n490 €\n")
    data = text.encode()
    assert detect_kind(data=data, filename="kb.md") == MARKDOWN
    sections = extract_sections(data=data, kind=MARKDOWN)
    assert [s.path for s in sections] == [(), ("Servicios",), ("Servicios", "SEO"), ("Servicios", "SEO", "Local"),
                                          ("Precios",)]
    assert "# no es un título" in sections[2].text  # a fenced block is not a heading


def test_plain_text_and_bom():
    data = "\ufeffNuestros precios empiezan en 490 € al mes.\nAtendemos toda España.".encode()
    assert detect_kind(data=data, filename="notas.txt") == TEXT
    assert detect_kind(data=data, filename="") == TEXT
    sections = extract_sections(data=data, kind=TEXT)
    assert sections[0].path == () and sections[0].text.startswith("Nuestros precios")
    # Without an extension, ATX headings make it Markdown.
    assert detect_kind(data=b"# Hola\n\ntexto", filename="notas") == MARKDOWN


def test_exe_renamed_pdf_is_refused():
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + os.urandom(4096)
    with pytest.raises(UnsupportedDocument) as excinfo:
        detect_kind(data=exe, filename="catalogo.pdf")
    assert excinfo.value.code == "unsupported_type" and excinfo.value.status == 400


def test_binary_junk_and_foreign_extensions_are_refused():
    with pytest.raises(UnsupportedDocument):
        detect_kind(data=os.urandom(10_000), filename="datos.txt")
    with pytest.raises(UnsupportedDocument):
        detect_kind(data=b"texto inocente", filename="programa.exe")
    with pytest.raises(UnsupportedDocument):
        detect_kind(data=b"texto inocente pero \x00 con nulos", filename="notas.txt")


def test_content_must_match_the_declared_extension():
    with pytest.raises(UnsupportedDocument):
        detect_kind(data=b"Esto es texto, no un PDF.", filename="informe.pdf")
    with pytest.raises(UnsupportedDocument):
        detect_kind(data=make_pdf(["hola"]), filename="notas.txt")


def test_zip_that_is_not_a_docx_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hola")
    with pytest.raises(UnsupportedDocument):
        detect_kind(data=out.getvalue(), filename="documento.docx")


def test_docx_zip_bomb_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\x20" * (210 * 1024 * 1024))
    data = out.getvalue()
    assert len(data) < 1024 * 1024
    with pytest.raises(UnsupportedDocument):
        detect_kind(data=data, filename="bomba.docx")


def test_pdf_header_with_garbage_fails_at_extraction_not_silently():
    data = b"%PDF-1.7\n" + os.urandom(2000)
    assert detect_kind(data=data, filename="roto.pdf") == PDF
    with pytest.raises(UnreadableDocument):
        extract_sections(data=data, kind=PDF)


def test_pdf_without_text_is_unreadable():
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(UnreadableDocument):
        extract_sections(data=out.getvalue(), kind=PDF)

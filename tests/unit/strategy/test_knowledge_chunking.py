"""Chunks never cross a heading, carry their heading path, stay under the
size bound and overlap with their neighbour inside a section."""

from __future__ import annotations

from strategy.knowledge.chunking import MAX_CHARS, OVERLAP_CHARS, chunk_sections
from strategy.knowledge.extraction import Section, markdown_sections


def _long_section(prefix: str, sentences: int) -> str:
    return " ".join(f"{prefix} frase número {n} sobre campañas de publicidad y posicionamiento." for n in range(sentences))


def test_chunks_respect_headings_and_carry_the_path():
    md = (f"# Servicios\n\n{_long_section('Servicios', 40)}\n\n## SEO local\n\nFichas de Google Maps.\n\n"
          f"# Precios\n\nEl paquete Arranque cuesta 490 €.\n")
    chunks = chunk_sections(markdown_sections(md), document_title="Dossier")
    titles = [c.title for c in chunks]
    assert titles.count("Servicios") >= 3
    assert titles[-2:] == ["Servicios › SEO local", "Precios"]
    # A heading starts a fresh chunk: no chunk mixes two sections' text.
    assert chunks[-1].text == "El paquete Arranque cuesta 490 €."
    assert chunks[-2].text == "Fichas de Google Maps."
    assert all("Servicios frase" in c.text for c in chunks if c.title == "Servicios")
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_consecutive_chunks_of_a_section_overlap():
    chunks = chunk_sections([Section(("Guía",), _long_section("Guía", 60))], document_title="x")
    assert len(chunks) >= 4
    for previous, current in zip(chunks, chunks[1:]):
        tail = previous.text[-OVERLAP_CHARS // 2:]
        assert tail in current.text, (previous.text[-80:], current.text[:120])
        assert len(current.text) <= MAX_CHARS + 40
    # Together the chunks hold every sentence.
    joined = " ".join(c.text for c in chunks)
    assert all(f"frase número {n} " in joined for n in range(60))


def test_paragraphs_are_not_cut_when_they_fit():
    paragraphs = [f"Párrafo {n}. " + "texto " * 30 for n in range(12)]
    chunks = chunk_sections([Section((), "\n\n".join(p.strip() for p in paragraphs))], document_title="Notas")
    assert all(c.title == "Notas" for c in chunks)
    for paragraph in paragraphs:
        assert any(paragraph.strip() in c.text for c in chunks)


def test_a_giant_word_run_is_still_bounded():
    chunks = chunk_sections([Section((), "palabra" * 1000)], document_title="x")
    assert len(chunks) >= 7 and all(len(c.text) <= MAX_CHARS for c in chunks)

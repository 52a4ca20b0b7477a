"""A matcher for lexicon phrases: several words, alternatives, numbers, anchors.

VADER's lexicon holds single words, and the signal lists (legal terms, emotive words,
insults) hold phrases too, so both use this matcher. Phrase syntax (one per key):

- words separated by spaces, matched case-insensitively on word boundaries:
  ``"cancelled my appointment"``;
- ``a|b`` in place of a word accepts any of the alternatives:
  ``"waited|waiting {n} hour|hours|hrs"``; brackets hold alternatives of several words:
  ``"(could not|couldn't) get through"``, and an empty choice makes a slot optional:
  ``"(could not|couldn't) (have|) asked for more"``;
- ``{n}`` accepts a number, in digits (``2``, ``2.5``) or words (``two``, ``an``, ``few``);
- a leading ``^`` ties the phrase to the start of the text (after the ``@handles`` a
  reply opens with), a trailing ``$`` to the end
  of a clause (end of text, one of ``. , ; : ! ?``, or a dash between spaces). Answers
  such as "Nothing." to "what could we do better?" only mean "all was well" when they
  stand alone.

Matching walks the text's words once, looking candidates up by their first word, and
takes the longest phrase at each position, so the cost grows with the length of the text.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from triage.lexicon import LexiconError

T = TypeVar("T")

# Words (letters, digits, inner ' & *: "couldn't", "a&e", "f**k"), numbers ("2", "2.5"), the
# punctuation that ends a clause (kept as tokens so that phrases do not run across it), and
# a dash between spaces ("No - excellent service"); a dash inside a word is not a token.
TOKEN_RE = re.compile(r"\d+(?:[.:]\d+)?|[^\W\d_](?:[\w&'*]*[^\W_])?|[.,;:!?]|(?<=\s)[-\u2013\u2014](?=\s)")
_CLAUSE_END = frozenset(".,;:!?-\u2013\u2014")
_NUMBER_WORDS = frozenset(
    "a an one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty "
    "forty fifty sixty ninety hundred few several couple".split()
)
_NUMBER = "{n}"
# Replies open with the handles they answer; the text proper (and "^") starts after them.
_LEADING_HANDLES_RE = re.compile(r"\s*(?:@\w+[\s,:]*)+")
# A slot is a bracketed group of alternatives that may hold spaces, or one word (with "|").
_SLOT_RE = re.compile(r"\(([^()]*)\)|([^\s()]+)")


@dataclass(frozen=True, slots=True)
class Phrase(Generic[T]):
    key: str  # the lexicon key it came from
    value: T  # what the lexicon says about it (a valence, a signal kind ...)
    at_start: bool
    at_clause_end: bool


@dataclass(frozen=True, slots=True)
class PhraseMatch(Generic[T]):
    phrase: Phrase[T]
    start: int
    end: int
    text: str  # as written


@dataclass(frozen=True, slots=True)
class Tokens:
    raw: list[str]  # the text's tokens as written
    words: list[str]  # the same, lower-case
    first: int  # index of the first word after the handles a reply opens with ("@nhs @ward7 ...")


def tokenize(text: str) -> Tokens:
    raw = TOKEN_RE.findall(text)
    first = 0
    if text.lstrip().startswith("@"):
        handles = _LEADING_HANDLES_RE.match(text)
        first = len(TOKEN_RE.findall(handles.group(0))) if handles else 0
    return Tokens(raw, list(map(str.lower, raw)), first)


Span = tuple[int, int, Phrase[T]]  # first word, last word, the phrase matched


@dataclass(frozen=True, slots=True)
class Scan(Generic[T]):
    tokens: Tokens
    word_spans: list[tuple[int, int]]  # first and last word of each match
    matches: list[PhraseMatch[T]]  # (a shared phrase gives one per entry, with the same span)


def _is_number(word: str) -> bool:
    return word[0].isdigit() or word in _NUMBER_WORDS


class PhraseMatcher(Generic[T]):
    """Finds the phrases of a lexicon in text."""

    def __init__(
        self,
        phrases: Mapping[str, T] | Iterable[tuple[str, T]],
        *,
        single_words: bool = False,
        shared: bool = False,
    ) -> None:
        """``single_words`` lets an entry be one word (word lists); a phrase lexicon refuses them.

        ``shared`` lets several entries hold the same phrase (a term on two lists): a match
        then reports each of them. Otherwise a phrase listed twice is a lexicon error.
        """
        # Tries over words: each node maps the next word (or "{n}") to a node, and "" to the
        # phrases that end there (anchored ones first, as the more specific). Phrases tied to
        # the start of the text have a trie of their own, walked at that one word only.
        self._root: dict[str, Any] = {}
        self._start_root: dict[str, Any] = {}
        self._shared = shared
        self.phrases: list[Phrase[T]] = []
        for key, value in phrases.items() if isinstance(phrases, Mapping) else phrases:
            phrase, sequences = self._parse(key, value, single_words)
            self.phrases.append(phrase)
            for seq in sequences:
                node = self._start_root if phrase.at_start else self._root
                for word in seq:
                    node = node.setdefault(word, {})
                ends = node.setdefault("", [])
                if phrase in ends:
                    continue  # two alternatives of one entry that spell the same words
                anchors = (phrase.at_start, phrase.at_clause_end)
                same = [p for p in ends if (p.at_start, p.at_clause_end) == anchors]
                if same and not shared:
                    raise LexiconError(f"phrase {key!r}: {' '.join(seq)!r} is also in {same[0].key!r}")
                ends.append(phrase)
        self._numbers = self._has_number(self._root) or self._has_number(self._start_root)
        self._sort_ends(self._root)
        self._sort_ends(self._start_root)

    @classmethod
    def _sort_ends(cls, node: dict[str, Any]) -> None:
        for key, child in node.items():
            if key:
                cls._sort_ends(child)
            else:
                child.sort(key=lambda p: -(p.at_start + p.at_clause_end))

    @classmethod
    def _has_number(cls, node: dict[str, Any]) -> bool:
        return any(key == _NUMBER or (key and cls._has_number(child)) for key, child in node.items())

    @staticmethod
    def _parse(key: str, value: T, single_words: bool) -> tuple[Phrase[T], list[tuple[str, ...]]]:
        spec = key.strip().lower()
        at_start = spec.startswith("^")
        at_end = spec.endswith("$")
        body = spec.strip("^$ ")
        if _SLOT_RE.sub("", body).strip():
            raise LexiconError(f"phrase {key!r}: unbalanced brackets")
        slots: list[list[tuple[str, ...]]] = []
        for group, word in _SLOT_RE.findall(body):
            alternatives: list[tuple[str, ...]] = []
            for alt in (group or word).split("|"):
                alt = alt.strip()
                words = (_NUMBER,) if alt == _NUMBER else tuple(TOKEN_RE.findall(alt))
                if not words and not group:  # only a bracketed group may hold an empty choice
                    raise LexiconError(f"phrase {key!r}: {alt!r} holds no word")
                alternatives.append(words)
            slots.append(alternatives)
        sequences = [tuple(itertools.chain.from_iterable(combo)) for combo in itertools.product(*slots)]
        shortest = min((len(seq) for seq in sequences), default=0)
        if shortest == 0 or (shortest < 2 and not (at_start or at_end or single_words)):
            raise LexiconError(f"phrase {key!r}: a single word belongs in [words], not among phrases")
        return Phrase(key, value, at_start, at_end), sequences

    def find(self, text: str) -> list[PhraseMatch[T]]:
        """Non-overlapping matches, left to right, the longest at each position."""
        return self.scan(text).matches

    def scan(self, text: str, tokens: Tokens | None = None) -> Scan[T]:
        """The phrases found in ``text``, whose ``tokens`` may be passed in when already known."""
        if tokens is None:
            tokens = tokenize(text)
        return self.scan_found(text, tokens, self.find_spans(tokens))

    def find_spans(self, tokens: Tokens) -> list[Span[T]]:
        """(first word, last word, phrase) of each match in ``tokens``."""
        return self._find_spans(tokens.words, tokens.first)

    def scan_found(self, text: str, tokens: Tokens, found: list[Span[T]]) -> Scan[T]:
        """The :class:`Scan` of ``text`` from matches found on its ``tokens`` (by this matcher or a
        :class:`PhraseLayers` it belongs to)."""
        if not found:
            return Scan(tokens, [], [])
        # Character positions only when something matched.
        spans = [m.span() for m in TOKEN_RE.finditer(text)]
        if len(spans) != len(tokens.words):  # tokens of another spelling of the text: start again
            return self.scan(text)
        matches = []
        for first, last, phrase in found:
            start, end = spans[first][0], spans[last][1]
            matches.append(PhraseMatch(phrase, start, end, text[start:end]))
        return Scan(tokens, [(first, last) for first, last, _ in found], matches)

    def _find_spans(self, words: list[str], start: int) -> list[Span[T]]:
        """(first word, last word, phrase) of each match; "^" phrases only at word ``start``."""
        root, start_root = self._root, self._start_root
        # Most words start no phrase: find the ones that may in one pass, then walk from those.
        if _NUMBER in root:
            starts = [i for i, w in enumerate(words) if w in root or w[0].isdigit() or w in _NUMBER_WORDS]
        else:
            starts = [i for i, w in enumerate(words) if w in root]
        n = len(words)
        if start < n and start_root and start not in starts:
            first = words[start]
            if first in start_root or (_NUMBER in start_root and _is_number(first)):
                starts = sorted([*starts, start])
        found: list[Span[T]] = []
        free = 0  # words before this are inside an earlier match
        for i in starts:
            if i < free:
                continue
            best = self._walk(root, words, i)
            if i == start and start_root:
                anchored = self._walk(start_root, words, i)
                if anchored is not None and (best is None or anchored[0] >= best[0]):
                    if self._shared and best is not None and anchored[0] == best[0]:
                        anchored = (anchored[0], anchored[1] + best[1])
                    best = anchored
            if best is not None:
                found.extend((i, best[0] - 1, phrase) for phrase in best[1])
                free = best[0]
        return found

    def _walk(self, root: dict[str, Any], words: list[str], i: int) -> tuple[int, list[Phrase[T]]] | None:
        """The longest phrase of ``root`` starting at word ``i``: (end, phrases), or None."""
        n = len(words)
        numbers = self._numbers
        best: tuple[int, list[Phrase[T]]] | None = None
        stack: list[tuple[dict[str, Any], int]] = [(root, i)]
        while stack:
            node, j = stack.pop()
            ends = node.get("")
            if ends and (best is None or j > best[0]):
                fits = [p for p in ends if not (p.at_clause_end and j < n and words[j] not in _CLAUSE_END)]
                if fits:
                    best = (j, fits if self._shared else fits[:1])
            if j < n:
                child = node.get(words[j])
                if child is not None:
                    stack.append((child, j + 1))
                if numbers and _NUMBER in node and _is_number(words[j]):
                    stack.append((node[_NUMBER], j + 1))
        return best


class PhraseLayers:
    """Several lexicons' matchers walked as one: a single pass over a text's words finds each
    lexicon's matches exactly as its own matcher would (the longest at each position, none
    overlapping within a lexicon; two lexicons may match the same words).

    Sentiment phrases and signal terms are found this way, so the words are looked up
    once rather than once per lexicon.
    """

    def __init__(self, matchers: list[PhraseMatcher[Any]]) -> None:
        self._layers = range(len(matchers))
        self._shared = [m._shared for m in matchers]
        self._anchored = [bool(m._start_root) for m in matchers]
        # The matchers' tries merged: "" maps each layer to the phrases ending at that node.
        self._root: dict[str, Any] = {}
        self._start_root: dict[str, Any] = {}
        for layer, matcher in enumerate(matchers):
            _merge(self._root, matcher._root, layer)
            _merge(self._start_root, matcher._start_root, layer)
        self._numbers = any(m._numbers for m in matchers)

    def find_spans(self, tokens: Tokens) -> list[list[Span[Any]]]:
        """Each layer's (first word, last word, phrase) matches, as its own ``find_spans`` gives them."""
        words, start = tokens.words, tokens.first
        root, start_root = self._root, self._start_root
        if _NUMBER in root:
            starts = [i for i, w in enumerate(words) if w in root or w[0].isdigit() or w in _NUMBER_WORDS]
        else:
            starts = [i for i, w in enumerate(words) if w in root]
        n = len(words)
        if start < n and start_root and start not in starts:
            first = words[start]
            if first in start_root or (_NUMBER in start_root and _is_number(first)):
                starts = sorted([*starts, start])
        found: list[list[Span[Any]]] = [[] for _ in self._layers]
        free = [0 for _ in self._layers]  # per layer: words before this are inside an earlier match
        for i in starts:
            active = [layer for layer in self._layers if i >= free[layer]]
            if not active:
                continue
            bests = self._walk(root, words, i, active)
            anchored = self._walk(start_root, words, i, active) if i == start and start_root else {}
            for layer in active:
                best = bests.get(layer)
                at_start = anchored.get(layer) if self._anchored[layer] else None
                if at_start is not None and (best is None or at_start[0] >= best[0]):
                    if self._shared[layer] and best is not None and at_start[0] == best[0]:
                        at_start = (at_start[0], at_start[1] + best[1])
                    best = at_start
                if best is not None:
                    found[layer].extend((i, best[0] - 1, phrase) for phrase in best[1])
                    free[layer] = best[0]
        return found

    def _walk(
        self, root: dict[str, Any], words: list[str], i: int, active: list[int]
    ) -> dict[int, tuple[int, list[Phrase[Any]]]]:
        """For each active layer, the longest phrase starting at word ``i``: (end, phrases)."""
        n = len(words)
        numbers = self._numbers
        best: dict[int, tuple[int, list[Phrase[Any]]]] = {}
        stack: list[tuple[dict[str, Any], int]] = [(root, i)]
        while stack:
            node, j = stack.pop()
            ends = node.get("")
            if ends:
                for layer in active:
                    phrases = ends.get(layer)
                    if not phrases:
                        continue
                    known = best.get(layer)
                    if known is not None and j <= known[0]:
                        continue
                    cut = j < n and words[j] not in _CLAUSE_END  # no clause ends here
                    fits = [p for p in phrases if not (p.at_clause_end and cut)]
                    if fits:
                        best[layer] = (j, fits if self._shared[layer] else fits[:1])
            if j < n:
                child = node.get(words[j])
                if child is not None:
                    stack.append((child, j + 1))
                if numbers and _NUMBER in node and _is_number(words[j]):
                    stack.append((node[_NUMBER], j + 1))
        return best


def _merge(into: dict[str, Any], node: dict[str, Any], layer: int) -> None:
    for key, child in node.items():
        if key:
            _merge(into.setdefault(key, {}), child, layer)
        else:
            into.setdefault("", {})[layer] = child

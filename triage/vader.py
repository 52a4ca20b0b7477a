"""VADER with its per-word loop made cheaper; the scores are exactly those of vaderSentiment 3.3.2.

For every lexicon word in a text, vaderSentiment's negation and idiom checks lower-case
the text's whole word list again (four times per word), and its emoji pass walks the
text one character at a time. With the NHS lexicon more words are lexicon words, so
that loop is most of the cost of scoring. This subclass lower-cases once per text and
runs the emoji pass only on text that holds one of VADER's emoji (one set test in C
finds out: "£", "é" and curly quotes are not emoji); everything else — the lexicon,
boosters, "but", punctuation emphasis, normalisation — is VADER's own code.
``tests/triage/test_sentiment.py`` checks the scores equal the parent class's.
"""

from __future__ import annotations

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
    SentiText,
    scalar_inc_dec,
)

_NEGATE = frozenset(NEGATE)


def _negation_word(word: str) -> bool:
    return word in _NEGATE or "n't" in word


class FastVader(SentimentIntensityAnalyzer):
    def polarity_scores(self, text: str) -> dict[str, float]:
        if not text.isascii() and not self.emojis.keys().isdisjoint(text):
            text = self._describe_emoji(text)
        text = text.strip()
        sentitext = SentiText(text)
        words = sentitext.words_and_emoticons
        lowered = [w.lower() for w in words]
        is_cap_diff = sentitext.is_cap_diff
        lexicon = self.lexicon
        last = len(words) - 1
        sentiments: list[float] = []
        for i, item_lower in enumerate(lowered):
            if item_lower in BOOSTER_DICT:
                sentiments.append(0)
            elif i < last and item_lower == "kind" and lowered[i + 1] == "of":
                sentiments.append(0)
            elif item_lower not in lexicon:
                sentiments.append(0)
            else:
                sentiments.append(self._valence(words, lowered, i, is_cap_diff))
        sentiments = self._but_check(words, sentiments)
        return self.score_valence(sentiments, text)

    def _describe_emoji(self, text: str) -> str:
        """vaderSentiment's emoji pass, as it is: each emoji becomes its description."""
        emojis = self.emojis
        parts: list[str] = []
        prev_space = True
        for char in text:
            description = emojis.get(char)
            if description is not None:
                if not prev_space:
                    parts.append(" ")
                parts.append(description)
                prev_space = False
            else:
                parts.append(char)
                prev_space = char == " "
        return "".join(parts)

    def _valence(self, words: list[str], lowered: list[str], i: int, is_cap_diff: bool) -> float:
        """``sentiment_valence`` for a lexicon word, on the pre-lowered word list."""
        lexicon = self.lexicon
        item_lower = lowered[i]
        valence = lexicon[item_lower]
        if item_lower == "no" and i != len(words) - 1 and lowered[i + 1] in lexicon:
            valence = 0.0
        if (
            (i > 0 and lowered[i - 1] == "no")
            or (i > 1 and lowered[i - 2] == "no")
            or (i > 2 and lowered[i - 3] == "no" and lowered[i - 1] in ("or", "nor"))
        ):
            valence = lexicon[item_lower] * N_SCALAR
        if words[i].isupper() and is_cap_diff:
            valence = valence + C_INCR if valence > 0 else valence - C_INCR
        for start_i in range(3):
            if i > start_i and lowered[i - (start_i + 1)] not in lexicon:
                s = scalar_inc_dec(words[i - (start_i + 1)], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = _negation_check(valence, lowered, start_i, i)
                if start_i == 2:
                    valence = _special_idioms_check(valence, lowered, i)
        return self._least(valence, lowered, i)

    def _least(self, valence: float, lowered: list[str], i: int) -> float:
        if i > 1 and lowered[i - 1] not in self.lexicon and lowered[i - 1] == "least":
            if lowered[i - 2] != "at" and lowered[i - 2] != "very":
                valence = valence * N_SCALAR
        elif i > 0 and lowered[i - 1] not in self.lexicon and lowered[i - 1] == "least":
            valence = valence * N_SCALAR
        return valence


def _negation_check(valence: float, lowered: list[str], start_i: int, i: int) -> float:
    if start_i == 0:
        if _negation_word(lowered[i - 1]):
            valence = valence * N_SCALAR
    elif start_i == 1:
        if lowered[i - 2] == "never" and lowered[i - 1] in ("so", "this"):
            valence = valence * 1.25
        elif lowered[i - 2] == "without" and lowered[i - 1] == "doubt":
            pass
        elif _negation_word(lowered[i - 2]):
            valence = valence * N_SCALAR
    else:
        never_so = lowered[i - 3] == "never" and lowered[i - 2] in ("so", "this")
        if never_so or lowered[i - 1] in ("so", "this"):
            valence = valence * 1.25
        elif lowered[i - 3] == "without" and (lowered[i - 2] == "doubt" or lowered[i - 1] == "doubt"):
            pass
        elif _negation_word(lowered[i - 3]):
            valence = valence * N_SCALAR
    return valence


def _special_idioms_check(valence: float, lowered: list[str], i: int) -> float:
    w3, w2, w1, w0 = lowered[i - 3], lowered[i - 2], lowered[i - 1], lowered[i]
    onezero = f"{w1} {w0}"
    twoonezero = f"{w2} {w1} {w0}"
    twoone = f"{w2} {w1}"
    threetwoone = f"{w3} {w2} {w1}"
    threetwo = f"{w3} {w2}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in SPECIAL_CASES:
            valence = SPECIAL_CASES[seq]
            break
    if len(lowered) - 1 > i:
        zeroone = f"{w0} {lowered[i + 1]}"
        if zeroone in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroone]
    if len(lowered) - 1 > i + 1:
        zeroonetwo = f"{w0} {lowered[i + 1]} {lowered[i + 2]}"
        if zeroonetwo in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in BOOSTER_DICT:
            valence = valence + BOOSTER_DICT[n_gram]
    return valence

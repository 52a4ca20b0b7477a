"""Accuracy of triage against public labelled data, beside plain VADER.

    BENCH_DATA=/work/shared/data .venv/bin/python -m bench.triage_accuracy [--section NAME ...]

Sections (each a function taking the data folder and printing its figures):

- ``sentiment``: 3-class macro-F1 on the NHS Friends and Family Test comments
  (``nhs-feedback-dev/neas_fft_sentiment.csv``, label ``sentiment_3class``; labels from
  the compound score, >= 0.05 positive, <= -0.05 negative) and Pearson r of the compound
  score against the human mean on the VADER tweets (``vader-tweets``). The FFT comments
  are also split in two halves by a hash of their id (the lexicon was tuned looking at
  the first half only) to show how far the figure depends on what was looked at.
- ``speed``: texts per second of ``Scorer.score`` and of ``SentimentScorer.score`` against
  bare ``SentimentIntensityAnalyzer.polarity_scores`` on the same texts.

Targets: macro-F1 well above plain VADER's (about 0.46), r at least 0.86.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from listener.intake.triage_setup import build_scorer, load_resources  # noqa: E402
from triage.sentiment import SentimentScorer, label_for  # noqa: E402

FFT_FILE = Path("nhs-feedback-dev/neas_fft_sentiment.csv")
TWEETS_FILE = Path("vader-tweets/tweets_GroundTruth.txt")
TARGET_F1_OVER_VADER = 0.46
TARGET_R = 0.86


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    scores = []
    for cls in sorted(set(gold)):
        tp = sum(g == cls and p == cls for g, p in zip(gold, predicted, strict=True))
        fp = sum(g != cls and p == cls for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == cls and p != cls for g, p in zip(gold, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)


def _three_class(compound: float) -> str:
    label = label_for(compound)
    return "neutral_or_mixed" if label == "neutral" else label


def load_fft(data: Path) -> list[dict[str, str]]:
    with (data / FFT_FILE).open(encoding="utf-8", newline="") as fh:
        return [row for row in csv.DictReader(fh) if row["text"].strip()]


def load_tweets(data: Path) -> list[tuple[float, str]]:
    out = []
    with (data / TWEETS_FILE).open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3:
                out.append((float(parts[1]), parts[2]))
    return out


def sentiment_section(data: Path) -> None:
    vader = SentimentIntensityAnalyzer()
    ours = SentimentScorer(load_resources().sentiment)
    systems: dict[str, Callable[[str], float]] = {
        "plain VADER": lambda t: vader.polarity_scores(t)["compound"],
        "Listening Post": lambda t: ours.score(t).compound,
    }
    rows = load_fft(data)
    halves = {
        "all": rows,
        "half A (looked at)": [r for r in rows if zlib.crc32(r["comment_id"].encode()) % 2 == 0],
        "half B (not looked at)": [r for r in rows if zlib.crc32(r["comment_id"].encode()) % 2 == 1],
    }
    tweets = load_tweets(data)
    human = [rating for rating, _ in tweets]

    print(f"NHS FFT comments: 3-class macro-F1 ({len(rows)} comments)")
    f1: dict[str, dict[str, float]] = {}
    for name, score in systems.items():
        compounds = {r["comment_id"]: score(r["text"]) for r in rows}
        f1[name] = {
            part: macro_f1(
                [r["sentiment_3class"] for r in sub], [_three_class(compounds[r["comment_id"]]) for r in sub]
            )
            for part, sub in halves.items()
        }
    _table(f1, list(halves))
    print(f"VADER tweets: Pearson r of compound with the human mean ({len(tweets)} tweets)")
    r = {
        name: {"r": statistics.correlation(human, [score(t) for _, t in tweets])}
        for name, score in systems.items()
    }
    _table(r, ["r"])
    lp_f1, lp_r = f1["Listening Post"]["all"], r["Listening Post"]["r"]
    print(
        f"targets: macro-F1 well above {TARGET_F1_OVER_VADER} -> {lp_f1:.3f} "
        f"({'met' if lp_f1 >= TARGET_F1_OVER_VADER + 0.15 else 'NOT met'}); "
        f"r >= {TARGET_R} -> {lp_r:.3f} ({'met' if lp_r >= TARGET_R else 'NOT met'})"
    )


def _table(figures: dict[str, dict[str, float]], columns: list[str]) -> None:
    base, ours = figures["plain VADER"], figures["Listening Post"]
    width = max(len(c) for c in columns) + 2
    print(f"  {'':{width}} {'plain VADER':>12} {'Listening Post':>15} {'ratio':>7}")
    for col in columns:
        print(f"  {col:{width}} {base[col]:>12.3f} {ours[col]:>15.3f} {ours[col] / base[col]:>7.2f}")


def speed_section(data: Path) -> None:
    texts = [t for _, t in load_tweets(data)] + [r["text"] for r in load_fft(data)]
    vader = SentimentIntensityAnalyzer()
    scorer = build_scorer()
    sentiment = SentimentScorer(load_resources().sentiment)
    runs = {
        "bare VADER polarity_scores": vader.polarity_scores,
        "SentimentScorer.score": sentiment.score,
        "Scorer.score_text (all signals)": scorer.score_text,
    }
    rates = {name: len(texts) / _best_time(fn, texts) for name, fn in runs.items()}
    print(f"throughput on {len(texts)} tweets and FFT comments (best of 3, one core)")
    bare = rates["bare VADER polarity_scores"]
    for name, rate in rates.items():
        print(f"  {name:34} {rate:>9,.0f} texts/s   {rate / bare:>5.2f} x bare VADER")


def _best_time(fn: Callable[[str], object], texts: list[str], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for text in texts:
            fn(text)
        best = min(best, time.perf_counter() - start)
    return best


SECTIONS: dict[str, Callable[[Path], None]] = {"sentiment": sentiment_section, "speed": speed_section}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--section", action="append", choices=sorted(SECTIONS), help="run only these")
    args = parser.parse_args(argv)
    folder = os.environ.get("BENCH_DATA")
    if not folder:
        print("skipped: set BENCH_DATA to the folder holding nhs-feedback-dev/ and vader-tweets/")
        return 0
    data = Path(folder)
    for name in args.section or list(SECTIONS):
        print(f"--- {name} ---")
        SECTIONS[name](data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

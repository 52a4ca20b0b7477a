"""Accuracy of triage against public labelled data, beside plain VADER.

    BENCH_DATA=/work/shared/data .venv/bin/python -m bench.triage_accuracy [--section NAME ...]

Sections (each a function taking the data folder and printing its figures):

- ``sentiment``: 3-class macro-F1 on the NHS Friends and Family Test comments
  (``nhs-feedback-dev/neas_fft_sentiment.csv``, label ``sentiment_3class``; labels from
  the compound score, >= 0.05 positive, <= -0.05 negative) and Pearson r of the compound
  score against the human mean on the VADER tweets (``vader-tweets``). The FFT comments
  are split in two halves by a hash of their id, and each choice of the lexicon made by
  looking at data (each ``[service.*]`` group, ``[mixed] min_balance``) is checked by
  swapped halves: the option best on A (among those that keep the tweets' r at plain
  VADER's or above) is scored on B, and the other way round.
- ``speed``: texts per second of ``listening-post score`` (JSON lines in and out, on one
  process and on ``--processes``), ``Scorer.score`` and ``SentimentScorer.score`` against
  bare ``SentimentIntensityAnalyzer.polarity_scores`` on the same texts, interleaved.

Targets: macro-F1 on the held-out halves at least 0.65, tweets r no lower than plain VADER's;
``listening-post score`` at 0.7 or more of bare VADER's rate.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import os
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from listener.intake.scoring_pool import ScoringPool  # noqa: E402
from listener.intake.triage_setup import load_resources  # noqa: E402
from listening_post.cli.score import score_stream  # noqa: E402
from triage.scoring import Scorer, TriageResources  # noqa: E402
from triage.sentiment import SentimentScorer, label_for  # noqa: E402

FFT_FILE = Path("nhs-feedback-dev/neas_fft_sentiment.csv")
TWEETS_FILE = Path("vader-tweets/tweets_GroundTruth.txt")
TARGET_HELD_OUT_F1 = 0.65
TARGET_SCORE_RATIO = 0.7  # listening-post score's rate / bare VADER's, issue 21
SPEED_SEGMENTS = 5


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


MIN_BALANCE_CHOICES = (0.2, 0.3, 0.4, 0.5, 0.7, 1.0)


def halves(rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """Two halves of the comments by a hash of their id: stable, and blind to the text."""
    return {
        "A": [r for r in rows if zlib.crc32(r["comment_id"].encode()) % 2 == 0],
        "B": [r for r in rows if zlib.crc32(r["comment_id"].encode()) % 2 == 1],
    }


@dataclass(frozen=True)
class Figures:
    f1: dict[str, float]  # "all", "A", "B"
    r: float


class Evaluator:
    """Scores the FFT comments and the tweets with one system; each text once per system."""

    def __init__(self, data: Path) -> None:
        self.rows = load_fft(data)
        self.parts = {"all": self.rows, **halves(self.rows)}
        self.tweets = load_tweets(data)

    def figures(self, compound: Callable[[str], float]) -> Figures:
        by_id = {r["comment_id"]: compound(r["text"]) for r in self.rows}
        f1 = {
            part: macro_f1(
                [r["sentiment_3class"] for r in sub], [_three_class(by_id[r["comment_id"]]) for r in sub]
            )
            for part, sub in self.parts.items()
        }
        r = statistics.correlation([h for h, _ in self.tweets], [compound(t) for _, t in self.tweets])
        return Figures(f1, r)


def _variant(resources: TriageResources, **changes: object) -> Callable[[str], float]:
    scorer = Scorer(replace(resources, sentiment=replace(resources.sentiment, **changes)))
    return lambda text: scorer.score_text(text).compound


def _decisions(resources: TriageResources) -> dict[str, dict[str, dict[str, object]]]:
    """Each choice of the lexicon that was made looking at data: name -> {option: field changes}."""
    lexicon = resources.sentiment
    out: dict[str, dict[str, dict[str, object]]] = {}
    for group in lexicon.service:
        without = {g: w for g, w in lexicon.service.items() if g != group}
        out[f"[service.{group}] neutral"] = {"yes": {}, "no": {"service": without}}
    out["[mixed] min_balance"] = {f"{v:g}": {"min_balance": v} for v in MIN_BALANCE_CHOICES}
    return out


def _shipped(resources: TriageResources, options: dict[str, dict[str, object]]) -> str:
    lexicon = resources.sentiment
    for option, changes in options.items():
        if all(getattr(lexicon, k) == v for k, v in changes.items()):
            return option
    raise ValueError("the shipped lexicon is none of the options")


def sentiment_section(data: Path) -> None:
    vader = SentimentIntensityAnalyzer()
    resources = load_resources()
    ev = Evaluator(data)
    plain = ev.figures(lambda t: vader.polarity_scores(t)["compound"])
    shipped = ev.figures(_variant(resources))
    print(f"NHS FFT comments: 3-class macro-F1 ({len(ev.rows)} comments, halves A and B by a hash of the id)")
    print(f"  {'':12} {'plain VADER':>12} {'Listening Post':>15}")
    for part in ("all", "A", "B"):
        print(f"  {part:12} {plain.f1[part]:>12.3f} {shipped.f1[part]:>15.3f}")
    print(f"VADER tweets: Pearson r of compound with the human mean ({len(ev.tweets)} tweets)")
    print(f"  {'r':12} {plain.r:>12.3f} {shipped.r:>15.3f}")

    print("swapped halves: each choice made on one half (tweets r kept >= plain VADER), scored on the other")
    print(f"  {'choice':30} {'option':>8} {'F1 A':>6} {'F1 B':>6} {'r':>6}")
    chosen: dict[str, dict[str, object]] = {"A": {}, "B": {}}
    for name, options in _decisions(resources).items():
        figs = {option: ev.figures(_variant(resources, **changes)) for option, changes in options.items()}
        allowed = [o for o in options if figs[o].r >= plain.r] or list(options)
        keep = _shipped(resources, options)
        pick = {
            half: max(allowed, key=lambda o, h=half: (round(figs[o].f1[h], 4), o == keep))
            for half in ("A", "B")
        }
        chosen["A"].update(options[pick["A"]])
        chosen["B"].update(options[pick["B"]])
        for option, fig in figs.items():
            marks = " shipped" * (option == keep) + " chosen on A" * (option == pick["A"])
            marks += " chosen on B" * (option == pick["B"])
            print(f"  {name:30} {option:>8} {fig.f1['A']:>6.3f} {fig.f1['B']:>6.3f} {fig.r:>6.3f}{marks}")
            name = ""
    on_b = ev.figures(_variant(resources, **chosen["A"]))
    on_a = ev.figures(_variant(resources, **chosen["B"]))
    held_out = (on_b.f1["B"] + on_a.f1["A"]) / 2
    met = "met" if held_out >= TARGET_HELD_OUT_F1 else "NOT met"
    print(f"  choices made on A, scored on B: {on_b.f1['B']:.3f}; made on B, scored on A: {on_a.f1['A']:.3f}")
    print(f"  held-out macro-F1, mean of the two: {held_out:.3f} (target >= {TARGET_HELD_OUT_F1}: {met})")
    r_met = "met" if round(shipped.r, 3) >= round(plain.r, 3) else "NOT met"
    print(f"  tweets r {shipped.r:.3f} against plain VADER's {plain.r:.3f} (target: no lower: {r_met})")


def speed_section(data: Path, processes: int = 2) -> None:
    """``listening-post score`` (JSON lines in and out) against bare VADER on the same texts.

    The two run interleaved in ``SPEED_SEGMENTS`` segments, so a machine busy with other
    work slows both alike; the pool runs on ``processes`` processes (its start-up included).
    """
    texts = [t for _, t in load_tweets(data)] + [r["text"] for r in load_fft(data)]
    lines = [json.dumps({"id": i, "text": t}).encode() + b"\n" for i, t in enumerate(texts)]
    vader = SentimentIntensityAnalyzer()
    resources = load_resources()
    scorer = Scorer(resources)
    sentiment = SentimentScorer(resources.sentiment)
    pool = ScoringPool(resources, processes, min_batch=1) if processes > 1 else None
    runs: dict[str, Callable[[list[str], list[bytes]], object]] = {
        "bare VADER polarity_scores": lambda ts, _: [vader.polarity_scores(t) for t in ts],
        "SentimentScorer.score": lambda ts, _: [sentiment.score(t) for t in ts],
        "Scorer.score_text (all signals)": lambda ts, _: [scorer.score_text(t) for t in ts],
        "listening-post score, 1 process": lambda _, ls: score_stream(
            ls, io.StringIO(), io.StringIO(), scorer
        ),
    }
    if pool is not None:
        runs[f"listening-post score, {processes} processes"] = lambda _, ls: _score_command(ls, scorer, pool)
        began = time.perf_counter()
        _score_command(lines[:100], scorer, pool)  # the processes start once per worker or command
        started = time.perf_counter() - began
        print(f"  the pool's {processes} processes started in {started:.2f} s (not counted below)")
    seconds = dict.fromkeys(runs, 0.0)
    cpu = dict.fromkeys(runs, 0.0)  # this process's CPU time: what other work on the machine cannot inflate
    size = -(-len(texts) // SPEED_SEGMENTS)
    try:
        for start in range(0, len(texts), size):
            part, part_lines = texts[start : start + size], lines[start : start + size]
            for name, fn in runs.items():
                gc.collect()
                began, began_cpu = time.perf_counter(), time.process_time()
                fn(part, part_lines)
                seconds[name] += time.perf_counter() - began
                cpu[name] += time.process_time() - began_cpu
    finally:
        if pool is not None:
            pool.close()
    load = os.getloadavg()[0]
    print(
        f"throughput on {len(texts)} tweets and FFT comments ({os.cpu_count()} CPUs, load average {load:.1f})"
    )
    bare, bare_cpu = seconds["bare VADER polarity_scores"], cpu["bare VADER polarity_scores"]
    print(f"  {'':34} {'texts/s':>9}   {'x bare VADER':>12}   {'(CPU time)':>10}")
    for name, spent in seconds.items():
        ratio, cpu_ratio = bare / spent, bare_cpu / cpu[name]
        pooled = pool is not None and name.endswith("processes")
        shown = "   (in the pool)" if pooled else f"   {cpu_ratio:>10.2f}"
        target = ""
        if name.startswith("listening-post score"):
            best = ratio if pooled else max(ratio, cpu_ratio)
            met = "met" if best >= TARGET_SCORE_RATIO else "NOT met"
            target = f"   target >= {TARGET_SCORE_RATIO}: {met}"
        print(f"  {name:34} {len(texts) / spent:>9,.0f}   {ratio:>12.2f}{shown}{target}")


def _score_command(lines: list[bytes], scorer: Scorer, pool: ScoringPool | None) -> None:
    score_stream(lines, io.StringIO(), io.StringIO(), scorer, pool)


SECTIONS: dict[str, Callable[[Path], None]] = {"sentiment": sentiment_section, "speed": speed_section}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--section", action="append", choices=sorted(SECTIONS), help="run only these")
    parser.add_argument("--processes", type=int, default=2, help="processes for the pooled score run")
    args = parser.parse_args(argv)
    folder = os.environ.get("BENCH_DATA")
    if not folder:
        print("skipped: set BENCH_DATA to the folder holding nhs-feedback-dev/ and vader-tweets/")
        return 0
    data = Path(folder)
    for name in args.section or list(SECTIONS):
        print(f"--- {name} ---")
        if name == "speed":
            speed_section(data, args.processes)
        else:
            SECTIONS[name](data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

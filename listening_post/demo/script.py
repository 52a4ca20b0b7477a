"""The scripted day the demo plays: written for the demo, in our own words (no real people).

Each ``Beat`` is one post arriving at a minute of the scripted day (08:00 = minute 0).
The day has ordinary traffic (questions, praise, complaints), one post that shares an
NHS number, then a story that grows: cancelled cancer scans after a booking failure at a
fictional diagnostic centre, with a solicitor, a made-up local paper and a made-up radio
station joining in. After it, the ordinary day carries on.

The story starts at minute 40 so that, at the default speed (one scripted minute a
second), the crisis is detected and alerted well inside the demo's first two minutes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Beat:
    minute: float  # minutes after 08:00 of the simulated day
    platform: str  # "x" | "facebook" | "instagram" | "bluesky" | "rss"
    handle: str  # author handle (X, Instagram, Bluesky), name (Facebook) or outlet (news)
    followers: int
    text: str
    url: str | None = None
    title: str | None = None  # news items only
    note: str | None = None  # what the demo tells the viewer when this post arrives


ORDINARY: tuple[Beat, ...] = (
    Beat(1, "x", "sam_in_cov", 210, "@NHSCovWarks is the walk-in centre in the city open on bank holidays?"),
    Beat(
        4,
        "facebook",
        "Priya Shah",
        0,
        "Huge thanks to the district nurses who looked after my dad this week. Kind, patient and brilliant.",
    ),
    Beat(7, "x", "leam_runner", 95, "@NHSCovWarks where can I get my flu jab if I work 9-5? #FluJab"),
    Beat(9, "instagram", "bethan.walks", 0, "Do I need to book or can I just turn up at the pharmacy?"),
    Beat(
        10,
        "x",
        "warks_mum3",
        480,
        "Waited 3 weeks for a call back from the GP surgery about my son's referral. Still nothing. "
        "@NHSCovWarks",
    ),
    Beat(
        13,
        "facebook",
        "Dave Turner",
        0,
        "Is the minor injuries unit in Rugby still closing at 8pm? Conflicting info online.",
    ),
    Beat(
        16,
        "x",
        "nuneaton_nan",
        60,
        "@NHSCovWarks thank you to the hospital pharmacy team in Nuneaton, so helpful this morning ❤️",
    ),
    Beat(
        19,
        "x",
        "covcyclist",
        1300,
        "Three hours in A&E with a broken wrist and nobody told us anything. Staff were run off their feet. "
        "@NHSCovWarks",
    ),
    Beat(
        22, "facebook", "Hannah Price", 0, "How do I register with a GP when I've just moved to Kenilworth?"
    ),
    Beat(
        25,
        "x",
        "stratford_steve",
        240,
        "@NHSCovWarks the receptionist at my surgery was so rude to my mother today. Not acceptable.",
    ),
    Beat(
        28,
        "x",
        "bedworth_bee",
        35,
        "Got my covid booster sorted in 10 minutes at the community pharmacy. Easy! @NHSCovWarks",
    ),
    Beat(31, "facebook", "Tom Wilkins", 0, "Can I get a repeat prescription over the bank holiday weekend?"),
    Beat(
        32, "instagram", "kev_in_cov", 0, "Had mine yesterday in Earlsdon, took five minutes. Thank you! 💪"
    ),
    Beat(
        33,
        "bluesky",
        "warwick-gp-nurse.bsky.social",
        0,
        "@nhscovwarks.bsky.social are the community flu clinics still running in Warwick this month?",
    ),
    Beat(
        34,
        "x",
        "worried_rob",
        140,
        "@NHSCovWarks my appointment letter never came, my NHS number is 943 476 5919, can you check?",
        note="This post shares an NHS number in public: the queue flags it, "
        "and the guidance says to move to a private message.",
    ),
    Beat(36, "x", "cov_student", 310, "@NHSCovWarks is there a mental health helpline I can call at night?"),
    Beat(
        38,
        "facebook",
        "Linda Morris",
        0,
        "The new physio service at the health centre in town is excellent, thank you.",
    ),
    # After the story the ordinary day carries on.
    Beat(
        70,
        "x",
        "kenilworth_k",
        75,
        "@NHSCovWarks why does it take 6 weeks to get a blood test appointment round here?",
    ),
    Beat(
        76, "facebook", "Sarah Cole", 0, "Does the walk-in centre do travel vaccinations or is that the GP?"
    ),
    Beat(
        83, "x", "rugby_ray", 180, "@NHSCovWarks shout out to the 111 call handler last night, calm and kind."
    ),
    Beat(
        87,
        "bluesky",
        "leamingtonlou.bsky.social",
        0,
        "Lovely care from the midwives at the birth centre this week, thank you @nhscovwarks.bsky.social 💙",
    ),
    Beat(91, "x", "alcester_ann", 65, "@NHSCovWarks how do I get a copy of my child's red book replaced?"),
)

SUBJECT = "cancelled cancer scans at Riverside Diagnostic Centre"

# The story grows: a few posts, then a surge, a solicitor, the local paper, the radio.
STORY: tuple[Beat, ...] = (
    Beat(
        40,
        "x",
        "jen_from_tile_hill",
        420,
        "@NHSCovWarks my mum's cancer scan at Riverside Diagnostic Centre was cancelled the night before. "
        "No explanation. Terrified.",
        note="The story starts: cancelled cancer scans at Riverside Diagnostic Centre (a made-up clinic).",
    ),
    Beat(
        41,
        "x",
        "paulwarks",
        150,
        "Same here, my urgent scan at Riverside Diagnostic Centre cancelled by text. "
        "This is a disgrace @NHSCovWarks",
    ),
    Beat(
        42,
        "facebook",
        "Karen Holt",
        0,
        "My husband's cancer scan at Riverside was cancelled too. We have waited months. "
        "Absolutely disgusting.",
    ),
    Beat(
        43,
        "x",
        "aliceinleam",
        880,
        "Riverside Diagnostic Centre cancelled my biopsy scan AGAIN. How is this allowed?? @NHSCovWarks 😡",
    ),
    Beat(
        44,
        "x",
        "midlands_mike",
        2100,
        "Hearing dozens of cancer scans cancelled at Riverside Diagnostic Centre after a booking system "
        "failure. Patients left in the dark. @NHSCovWarks",
    ),
    Beat(
        45,
        "x",
        "grace_p",
        60,
        "@NHSCovWarks cancelled scan, cancelled again, nobody answers the phone at Riverside. "
        "I'm scared it's spreading.",
    ),
    Beat(
        46,
        "facebook",
        "Mark Ellis",
        0,
        "Riverside cancelled my dad's scan for suspected cancer. He's 81. Shameful.",
    ),
    Beat(
        47,
        "x",
        "nurse_retired_cov",
        530,
        "Cancer patients at Riverside Diagnostic Centre having scans cancelled with no warning is dangerous. "
        "@NHSCovWarks answer us",
    ),
    Beat(
        48,
        "x",
        "jbrown_solicitors",
        3400,
        "We are advising several families whose cancer scans at Riverside Diagnostic Centre were cancelled. "
        "Our solicitors are looking at negligence claims. @NHSCovWarks",
        note="A firm of solicitors joins in: the story is now legal in nature.",
    ),
    Beat(
        49,
        "x",
        "tom_h",
        90,
        "@NHSCovWarks my wife's cancer scan at Riverside cancelled. I will be speaking to a solicitor. "
        "This is negligence.",
    ),
    Beat(
        50,
        "rss",
        "The Coventry Chronicle",
        0,
        "Cancer patients' scans cancelled at Riverside Diagnostic Centre after a booking failure, "
        "families say. NHS Coventry and Warwickshire ICB has been approached for comment.",
        url="https://www.coventry-chronicle.example/news/riverside-scans-cancelled",
        title="Cancer scans cancelled at Riverside Diagnostic Centre",
        note="The local paper runs the story (on its news feed, and on X).",
    ),
    Beat(
        50.5,
        "x",
        "CovChronicle",
        38500,
        "Families say cancer scans were cancelled at Riverside Diagnostic Centre after a booking failure. "
        "@NHSCovWarks has been approached for comment "
        "https://www.coventry-chronicle.example/news/riverside-scans-cancelled",
    ),
    Beat(51, "x", "sue_rugby", 210, "Another one, my scan at Riverside cancelled. Disgraceful @NHSCovWarks"),
    Beat(
        52,
        "facebook",
        "Beverley Shaw",
        0,
        "Riverside Diagnostic Centre cancelled my scan too, nobody will tell me when it is rebooked. Awful.",
    ),
    Beat(
        53,
        "x",
        "leamington_lou",
        300,
        "@NHSCovWarks cancelled cancer scans at Riverside and total silence from you. Unacceptable.",
    ),
    Beat(
        54,
        "x",
        "warwick_will",
        120,
        "Riverside scan cancelled, mum in tears, @NHSCovWarks please sort this out",
    ),
    Beat(
        55,
        "x",
        "covdad",
        45,
        "My scan at Riverside Diagnostic Centre was cancelled as well. What is going on @NHSCovWarks?",
    ),
    Beat(
        56,
        "x",
        "ombudsman_watch",
        1500,
        "Patients with cancelled scans at Riverside Diagnostic Centre should complain to the Ombudsman. "
        "@NHSCovWarks",
    ),
    Beat(
        57,
        "facebook",
        "Nadia Akhtar",
        0,
        "Cancelled my cancer scan at Riverside with one day's notice. Shocking and cruel.",
    ),
    Beat(
        59,
        "x",
        "HoERadioNews",
        21000,
        "Patients say scans at Riverside Diagnostic Centre were cancelled after a booking system fault. "
        "We've asked @NHSCovWarks for a response.",
        note="A local radio station reports it too.",
    ),
)

DAY: tuple[Beat, ...] = tuple(sorted(ORDINARY + STORY, key=lambda b: b.minute))
DAY_MINUTES = 100.0  # the scripted day ends here (in scripted minutes after 08:00)

"""Rule ``alt-text`` (policy 7.1: describe images for people who can't see them)."""

from __future__ import annotations

import re

from triage.lint.config import LintConfig
from triage.lint.findings import Finding
from triage.lint.reply import Reply

_UNHELPFUL_RE = re.compile(
    r"(?:image|photo|picture|pic|graphic|img|screenshot|logo)s?\s*\d*|\S+\.(?:jpe?g|png|gif|webp|heic)|IMG_\d+",
    re.IGNORECASE,
)


def check_alt_text(
    reply: Reply, rules: LintConfig, *, platform: str, has_image: bool, image_alt: str | None
) -> list[Finding]:
    if not has_image:
        return []
    alt = (image_alt or "").strip()
    if not alt:
        return [
            Finding(
                "alt-text",
                "block",
                0,
                0,
                "The image has no description (alt text). People using screen readers won't know what "
                "it shows (policy 7.1).",
                "Describe what the image shows and any words in it, in a sentence or two.",
            )
        ]
    if _UNHELPFUL_RE.fullmatch(alt) or len(alt) < rules.min_alt_text_length:
        return [
            Finding(
                "alt-text",
                "warn",
                0,
                0,
                f"The image description '{alt}' is too short to tell people what the image shows "
                "(policy 7.1).",
                "Describe what the image shows and any words in it, in a sentence or two.",
            )
        ]
    if len(alt) > rules.max_alt_text_length:
        return [
            Finding(
                "alt-text",
                "block" if platform == "x" else "warn",
                0,
                0,
                f"The image description is {len(alt)} characters; keep it under "
                f"{rules.max_alt_text_length} (X refuses longer ones). Put the detail in the post "
                "or a linked page (policy 7.1).",
                "Shorten the description to the main points.",
            )
        ]
    return []

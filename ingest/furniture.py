"""Lines that are not content: page furniture, site chrome, form boilerplate.

Shared by every reader, so a banner is dropped the same way from a PDF, a web page or an
extracted text file.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

# Embargo banners survive extraction garbled ("UNDER EMBROIDERY", "UNDER EMBARG0"), so the
# match is fuzzy on the second word rather than a fixed string.
_EMBARGO = re.compile(r"^\s*under\s+(em\w*|\w*bargo\w*)(\s+until\b.*)?\s*$", re.I)

_CHROME = [
    r"skip to (main )?content",
    r"back to top",
    r"cookies? (settings|policy|preferences)",
    r"accept (all )?cookies",
    r"(print|share) (this )?page",
    r"jump to navigation",
    r"main menu",
    r"search this site",
    r"please enter your (comment|name|email)( address)?( here)?!?",
    r"leave a (reply|comment)",
    r"save my name, email,? and website in this browser.*",
    r"post comment",
    r"more articles",
    r"related articles",
    r"you may also like",
    r"share (on|via) (facebook|twitter|x|linkedin|email)",
    r"follow us( on .*)?",
    r"page \d+( of \d+)?",
    r"\d{1,3}",  # bare page number
    r"https?://\S+",  # a bare link list line (PDF extracts append link targets)
    r"www\.\S+",
    r"for further information about (the|these|this) data.*please see annex \w+",
    r"source: .{0,120}",  # a figure's source line
]
_CHROME_RE = re.compile(r"^\s*(" + "|".join(_CHROME) + r")\s*$", re.I)


def is_embargo_banner(line: str) -> bool:
    """'UNDER EMBARGO UNTIL …' and its garbled extractions."""
    m = _EMBARGO.match(line)
    if not m:
        return False
    word = m.group(1).upper()
    if line.strip().isupper() and word.startswith("EM"):
        return True  # an all-caps "UNDER EM…" line alone is the banner, however garbled
    return SequenceMatcher(None, word, "EMBARGO").ratio() >= 0.6 or "BARGO" in word


def is_furniture_line(line: str) -> bool:
    """True for a whole line that carries no content: banners, chrome, page numbers, links."""
    stripped = line.strip()
    if not stripped:
        return False
    return is_embargo_banner(stripped) or bool(_CHROME_RE.match(stripped))

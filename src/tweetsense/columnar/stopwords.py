"""Words too common to say what a post is about, left out of the ``term`` drivers.

Lowercase, as the tokens are; the words of the web's plumbing (rt, amp, https) are here too.
"""

from __future__ import annotations

_WORDS = """
    a about above after again against all also am amp an and any are aren't as at be because
    been before being below between both but by can can't cannot com could couldn't did
    didn't do does doesn't doing don't down during each few for from further get got gt had
    hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself
    him himself his how how's http https i i'd i'll i'm i've if in into is isn't it it's its
    itself just let's like lt me more most much mustn't my myself new no nor not now of off
    on once one only or other ought our ours ourselves out over own really rt same say says
    shan't she she'd she'll she's should shouldn't so some still such than that that's the
    their theirs them themselves then there there's these they they'd they'll they're
    they've this those through to too under until up upon us very via was wasn't we we'd
    we'll we're we've were weren't what what's when when's where where's which while who
    who's whom why why's will with won't would wouldn't www yes yet you you'd you'll you're
    you've your yours yourself yourselves
"""

STOPWORDS = frozenset(_WORDS.split())

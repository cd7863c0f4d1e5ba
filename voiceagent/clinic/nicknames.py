"""First names a caller goes by and the name on file: "Walt" for Walter, "Patty" for Patricia.

The front desk verifies a caller by name, date of birth and phone; a caller who gives the name
they go by still matches when the date of birth and phone agree exactly."""

from __future__ import annotations

# the usual English short forms, each to the formal names it stands for
_FORMAL: dict[str, tuple[str, ...]] = {
    "patty": ("patricia",), "patsy": ("patricia",), "trish": ("patricia",),
    "rick": ("richard", "eric", "frederick"), "rich": ("richard",), "dick": ("richard",),
    "bill": ("william",), "will": ("william",), "billy": ("william",), "liam": ("william",),
    "bob": ("robert",), "rob": ("robert",), "bobby": ("robert",), "bert": ("robert", "albert"),
    "jim": ("james",), "jimmy": ("james",), "jamie": ("james",),
    "kate": ("katherine", "catherine", "kathleen"), "katie": ("katherine", "catherine"),
    "kathy": ("katherine", "kathleen", "catherine"), "cathy": ("catherine",),
    "liz": ("elizabeth",), "beth": ("elizabeth",), "betty": ("elizabeth",),
    "lisa": ("elizabeth",), "peggy": ("margaret",), "maggie": ("margaret",),
    "meg": ("margaret", "megan"), "chuck": ("charles",), "charlie": ("charles",),
    "ted": ("edward", "theodore"), "ed": ("edward", "edwin"), "eddie": ("edward",),
    "nate": ("nathaniel", "nathan"), "tony": ("anthony",), "mike": ("michael",),
    "sue": ("susan", "suzanne"), "susie": ("susan",), "jen": ("jennifer",),
    "jenny": ("jennifer",), "tom": ("thomas",), "tommy": ("thomas",), "dave": ("david",),
    "dan": ("daniel",), "danny": ("daniel",), "joe": ("joseph",), "sam": ("samuel",
                                                                          "samantha"),
    "andy": ("andrew",), "drew": ("andrew",), "steve": ("steven", "stephen"),
    "chris": ("christopher", "christine", "christina"), "matt": ("matthew",),
    "greg": ("gregory",), "jerry": ("gerald", "jerome"), "larry": ("lawrence",),
    "hank": ("henry",), "harry": ("harold", "henry"), "hal": ("harold",),
    "peg": ("margaret",), "deb": ("deborah",), "debbie": ("deborah",), "barb": ("barbara",),
    "pam": ("pamela",), "cindy": ("cynthia",), "sandy": ("sandra",), "becky": ("rebecca",),
    "vicky": ("victoria",), "alex": ("alexander", "alexandra"), "ben": ("benjamin",),
    "nick": ("nicholas",), "pete": ("peter",), "ron": ("ronald",), "don": ("donald",),
    "ken": ("kenneth",), "gene": ("eugene",), "al": ("albert", "alan", "alfred"),
}


def same_first_name(said: str, on_file: str) -> bool:
    """Whether the first name said can be the one on file: the same, a usual short form
    of it, or its start ("Walt" for Walter)."""
    a, b = said.strip().lower(), on_file.strip().lower()
    if not a or not b:
        return False
    if a == b or b in _FORMAL.get(a, ()) or a in _FORMAL.get(b, ()):
        return True
    return len(a) >= 3 and b.startswith(a)

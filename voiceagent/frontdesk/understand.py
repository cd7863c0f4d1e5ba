"""Every caller turn understood, whatever was asked last.

:func:`understand` runs every extractor on the caller's words: what they want (one or more
intents), a question for the clinic, a clear yes or no, the details they volunteered (name,
date of birth, phone, email, insurance and plan type, member and group IDs, subscriber,
referring physician and NPI, reason and body part, surgery or injury date, claim details,
availability, provider and language preference), a correction, and the turns that are not
clinic business at all (a wrong number, a sales call, an attempt to talk the assistant out of
its role, a third party asking about a patient).

Extractors are precise rather than eager: a value is taken only where the words say what it
is ("my number is ...", "born on ...", "Dr. Chen sent me"), or where the answer to the
pending question parses as that field. So a date of birth never becomes a first name and a
member ID never becomes a spelled last name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from voiceagent.clinic.config import ClinicConfig
from voiceagent.frontdesk import router as intents
from voiceagent.frontdesk.clinicfacts import match_payer
from voiceagent.intake import (
    IntakeError,
    parse_appointment_request,
    parse_date_of_birth,
    parse_full_name,
    parse_mbi,
    parse_member_id,
    parse_npi,
    parse_past_date,
    parse_phone,
)
from voiceagent.intake.dates import number_groups
from voiceagent.intake.names import FullName, without_leads
from voiceagent.intake.result import Parsed
from voiceagent.intake.tokens import spoken_chars

normalize = intents.normalize


class Social(StrEnum):
    """A turn that is not clinic business: the dialog handles it before anything else."""

    WRONG_NUMBER = "wrong_number"
    SPAM = "spam"
    INJECTION = "security_refusal"
    THIRD_PARTY = "privacy_refusal"


@dataclass(frozen=True)
class Value:
    """A detail the caller gave, as the state stores it, and how to read it back."""

    value: str
    readback: str = ""


@dataclass
class Understanding:
    text: str
    intents: list[str] = field(default_factory=list)
    question: bool = False
    yes: bool = False
    no: bool = False
    values: dict[str, Value] = field(default_factory=dict)
    correction: bool = False
    social: Social | None = None
    scores: dict[str, float] = field(default_factory=dict)  # the router's, computed once

    @property
    def intent(self) -> str | None:
        return self.intents[0] if self.intents else None


# --- turns that are not clinic business -----------------------------------------------------

_INJECTION = re.compile(
    r"\b(ignore|disregard|forget) (all |any |your |the |previous |prior |above |earlier )*"
    r"(instructions|rules|prompts?|programming|guidelines)|\b(developer|debug|admin|god) mode\b|"
    r"\bsystem,? prompt\b|\b(repeat|print|show|reveal) (everything in )?your (system|"
    r"instructions|prompt|rules)\b|\byou are now\b|\bjailbreak\b|\bpretend (you are|to be) "
    r"(not|a|an|my)\b|\bact as (a|an|my)\b|\b(patient|client) (list|roster|database)\b|"
    r"\b(list|read|tell me|give me|send me) (me )?(all|every|each|the) (patients?|"
    r"appointments|people|names|phone numbers)\b|\bwho else\b.*\b(schedule|coming|booked)\b|"
    r"\bdump (the|your)\b|\bsql\b|\bdrop table\b|\boverride\b.*\b(rules|security)\b|"
    r"\bcancel (every|all|them all|everyone|everybody)\b|\bcancel all (the )?appointments\b|"
    r"\b(authorization|auth|override|admin|access) code\b|\b(skip|bypass|don'?t ask (any|for)?)"
    r" ?(the )?(verification|identity|security)\b|\b(run|call|execute|invoke) (the )?"
    r"(function|tool|command|script)\b|\bmaintenance (script|mode)\b|\blet'?s play a game\b|"
    r"\bpretend (you'?re|you are|to be)\b|\brole ?play\b|\b(read|tell|give) me (the|your|today'?s)"
    r" (list|schedule|patient schedule|appointments? list)\b|\b(what'?s|who'?s) on the schedule"
    r"\b|\bthe (clinic'?s )?(patient )?schedule (today|tomorrow|for today|for tomorrow)\b|"
    r"\bnew instructions\b|\bfrom now on you\b|"
    r"\b(it|tech|technical) (support|department|desk|team)\b.{0,120}\b(schedul\w*|patient|"
    r"password|login|log in|records|list|names|database|access|verify)\b|\bhelp ?desk\b.{0,120}"
    r"\b(schedul\w*|patient|password|login|records|list|access)\b|\b(your|the) (password|"
    r"login|admin password|credentials)\b|\bread me\b.{0,30}\b(appointments|schedule|"
    r"patients|names)\b|\bpatient names\b|\bfirst few names\b",
    re.I)
_WRONG_NUMBER = re.compile(
    r"\bwrong number\b|\bisn'?t (this|that) (the )?[a-z' ]{2,30}\?|\b(is|isn't) this "
    r"(the )?(pizza|restaurant|pharmacy|dentist|dental|bank|school|vet|salon|hotel|taxi|"
    r"cab|auto|garage|plumber|insurance company)\b|\b(you'?re|you are|this is|it'?s) not (the |a )?"
    r"(pharmacy|dentist|dental|doctor'?s office|restaurant|bank|school|vet|salon|hotel|"
    r"garage)\b|\brefill (my|a|the)\b|\b(animal|pet) hospital\b|\bveterinar|"
    r"\b(my|the) (dog|cat|puppy|kitten|pet)\b.{0,40}\b(shot|shots|vaccine|appointment|in|"
    r"checkup|groom)|\bmust have the wrong\b|\bwrong (place|office|clinic|business|one)\b|"
    r"\bpepperoni\b|\bpizza\b|\b(order|table) for "
    r"(pick ?up|delivery|two|four)\b|\bdialed the wrong\b|\bmeant to call\b",
    re.I)
_SPAM = re.compile(
    r"\b(car|vehicle|auto|extended) warranty\b|\bbusiness loan\b|\bmerchant (services|"
    r"account)\b|\bgoogle (listing|business|ranking)\b|\bseo\b|\bcredit card processing\b|"
    r"\bcongratulations\b.*\b(won|winner|selected)\b|\b(you'?ve|you have) (won|been selected)\b|"
    r"\bfree (cruise|vacation|gift card)\b|\bstudent loan\b|\bsocial security number (has|was) "
    r"been\b|\bspecial offer\b|\blimited time\b|\bpress (one|1|nine|9) (to|now)\b|"
    r"\b(this is|i'?m) (a|an) (sales|marketing|recruit)|\bcalling (on behalf of|from) .{0,30}"
    r"(marketing|solutions|capital|funding|warranty|energy|solar)\b|\bsolar panels?\b|"
    r"\blower your (rates?|bill)\b|\bmarketing\b.*\b(clinics?|practices?|patients)\b|"
    r"\b(clinics?|practices?|businesses)\b.{0,80}\b(marketing|google reviews|five[- ]star "
    r"reviews|more reviews|leads|seo)\b|\bgrowth partners\b|"
    r"\bnew patients a month\b|\bis the owner (available|in)\b|\b(short|quick|brief) survey\b|"
    r"\bpress (one|two|1|2)\b.*\bpress (one|two|1|2)\b|\bwhoever does your (marketing|"
    r"advertising|website)\b",
    re.I)
# someone asking about another person's visits or records
_THIRD_PARTY = re.compile(
    r"\b(my|his|her|our|the) (wife|husband|spouse|partner|mom|mother|dad|father|son|"
    r"daughter|kid|child|boyfriend|girlfriend|employee|client|patient|brother|sister|"
    r"grandmother|grandfather|friend|neighbou?r)'?s? (next )?(appointment|appointments|visit|"
    r"visits|schedule|records?|progress|diagnosis|results|notes|treatment|chart|information|"
    r"info|bill|balance)\b|"
    r"\b(when|what time|what day) (is|are|was|were) (my )?(his|her|their|my (wife|husband|"
    r"mom|mother|dad|father|son|daughter|kid|child|partner|spouse|employee|client)'?s?)\b.*"
    r"\b(appointment|visit|session|therapy)\b|"
    r"\b(is|was|did) (he|she|my (wife|husband|mom|mother|dad|father|son|daughter|kid|child|"
    r"partner|spouse|employee|client)) (still )?(coming|there|seen|in|booked|scheduled|"
    r"show(ed)? up|attend|make it)\b|"
    r"\b(calling|call) (from|on behalf of) .{0,40}(office|clinic|practice|firm|attorney|"
    r"lawyer|employer|insurance)\b.*\b(patient|records?|appointment|visit|attendance|"
    r"progress|notes)\b|"
    r"\b(verify|confirm|check) (that |whether |if )?(a |the |our |my )?(patient|employee|"
    r"client|worker)\b.*\b(attend|appointment|visit|coming|seen|came)\b|"
    r"\b(her|his|their) (next |last |upcoming )?(appointment|appointments|visit|visits|"
    r"records?|progress|notes|schedule|diagnosis|results|sessions?)\b|"
    r"\bwhen'?s (his|her|their) (next|last)\b|\bwhen (his|her|their) (next|last)\b|"
    r"\b(what time|when|what day) (she'?s|he'?s|they'?re|she is|he is|they are) (coming|"
    r"supposed to come|due|scheduled|booked)\b|"
    r"\b(is|if) (she|he|they)('s| is| are)? (still )?(on the schedule|on the books|booked)\b|"
    r"\b(he|she|they)('s| has| have)( actually| really)? been (coming|attending|showing up|"
    r"going)\b|\bif (he|she|they)('s| is| are) (coming|showing up|attending)\b|"
    r"\b(has|have|is|was) (he|she|they) (been )?"
    r"(coming|attending|showing up|had|seen|going)\b|\b(how many|what) .{0,30}\b(does|did|has)"
    r" (he|she)\b|\bwrong with (him|her|it)\b.*\b(he|she|his|her)\b|\bwhat('?s| is| did) "
    r".{0,25}\bwrong with (him|her)\b|\b(one of )?(our|an?) (employees?|workers?(?! comp)|"
    r"staff member)\b.{0,160}\b(appointments?|visits?|attend\w*|confirm|verify|coming|"
    r"schedule|therapy|treatment|sessions?)\b|"
    r"\b(human resources|hr|payroll|supervisor|manager|school|coach|case worker)\b.{0,200}"
    r"\b(she|he|they) (has|have|had|is|was|were|says|said|attends?|goes)\b.{0,200}"
    r"\b(verify|confirm|check|make sure)\b|"
    r"\bwhat'?s (her|his|their) "
    r"(cell|phone|number|address|email|date of birth|birthday)\b|"
    r"\b(read|tell) me (back )?(what|the|which) (number|phone|address|email|info|information|"
    r"details)\b.*\b(have|file|gave)\b|\bwhat (phone |cell )?(number|address|email|phone) "
    r"do you have\b|\b(we'?re|i'?m) (his|her|their) (employer|boss|lawyer|attorney)\b|"
    r"\ballowed to know\b|"
    r"\b(read|tell|give) me (back )?what you have\b|\bwhich (phone |cell )?number i gave\b|"
    r"\bwhat (phone |cell )?(number|address|email) (i gave|you have|is on file)\b|"
    r"\bjust tell me the (number|address|phone)\b",
    re.I)


def social_turn(text: str) -> Social | None:
    if _INJECTION.search(text):
        return Social.INJECTION
    if _SPAM.search(text):
        return Social.SPAM
    if _WRONG_NUMBER.search(text):
        return Social.WRONG_NUMBER
    if _THIRD_PARTY.search(text) and not _REFERRING.search(text):
        return Social.THIRD_PARTY
    return None


# a doctor's office sending a patient over gives details, it asks for none
_REFERRING = re.compile(r"\b(refer|referring|referral|sending (over|you)|send (over|you)|"
                        r"fax(ed|ing)? (over|you|the))\b(?!.*\b(when|what time|did (she|he)|"
                        r"has (she|he)|is (she|he)|tell me|verify|progress|notes|records)\b)",
                        re.I)


# --- questions ---------------------------------------------------------------------------

_QUESTION_START = ("what", "what's", "whats", "where", "where's", "when", "when's", "how",
                   "how's", "do", "does", "is", "are", "can", "could", "will", "which", "who",
                   "should", "would", "did", "have", "has")
_FILLER_START = {"eh", "um", "uh", "oh", "and", "also", "so", "okay", "ok", "well", "hi", "hey",
                 "hello", "yeah", "alright", "right", "sorry", "ugh", "hmm", "then"}
_NOT_QUESTIONS = re.compile(r"^(can|could|may|would|will) (i|we|you) (please )?(book|schedule|"
                            r"make|get|set|come|have|see|cancel|reschedule|move|change|speak|"
                            r"talk|leave|help|transfer|put|just|switch|push|take)\b|"
                            r"^(do|does) (you|it|that) (work|suit)\b")


def is_question(text: str) -> bool:
    """A question for the clinic by its form (not "can I book an appointment?", which is a
    request, and not an answer like "Linda Park" or "May, the fifteenth")."""
    text = re.sub(r"(?i)\bhow(?:'s| is| are) (?:it going|you(?: doing)?|your day|things)\b,?",
                  "", text)  # small talk, not a question for the clinic
    for sentence in sentences(text):
        words = normalize(sentence).split()
        while words and words[0] in _FILLER_START:
            words = words[1:]
        c = " ".join(words)
        if not c or _NOT_QUESTIONS.match(c):
            continue
        if re.search(r"\b(i think|i guess|i believe|i suppose|maybe)\s*\?$", c + "?" if
                     sentence.rstrip().endswith("?") else c):
            continue  # "the other guy's insurance is paying, I think?": a statement
        asks = re.search(r"(^|, |\band |\bask )(how|what|when|where|which|who|do you|does|"
                         r"is there|are you|can i|should i|do i|will i|would i|am i)\b", c) or \
            re.match(r"(quick question|one question|a question)\b", c) or (
                sentence.rstrip().endswith("?") and re.search(
                    r"\b(how (much|long|many|often|early|soon)|what (is|are|time|do|does|"
                    r"should)|where (is|are|do|does|should)|when (is|are|do|does|should))\b", c))
        uptalk = sentence.rstrip().endswith("?") and ((len(words) <= 12 or
                                                       words[0] in _QUESTION_START) and not (
            re.match(r"(i'?d like|i would like|i want|i need|i'?m calling|i have|i had|my |"
                     r"it'?s |it says|this is)", c)) or bool(asks))
        if uptalk or (words[0] in _QUESTION_START and len(words) >= 3) \
                or re.match(r"(i was wondering|i wanted to ask|quick question|may i ask|"
                            r"i have a question)( about| if| whether)? (if |whether )?(you|your|"
                            r"the|what|where|when|how|do|does|is|are|there|i need)\b", c):
            return True
    return False


# --- details the caller volunteers ---------------------------------------------------------

_BODY_PARTS = ("knee", "knees", "back", "lower back", "low back", "neck", "shoulder", "shoulders",
               "hip", "hips", "ankle", "ankles", "foot", "feet", "heel", "wrist", "hand", "hands",
               "elbow", "arm", "leg", "legs", "hamstring", "calf", "achilles", "thumb", "finger",
               "fingers", "jaw", "tmj", "spine", "rotator cuff", "acl", "meniscus", "pelvic floor",
               "shin", "shins", "thigh", "quad", "glute", "toe", "toes", "rib", "tailbone",
               "pelvis", "groin", "ribs", "balance", "vertigo", "posture", "sciatica")
_CONDITION = re.compile(
    r"\b(pain|hurts?|hurting|sore|soreness|stiff|stiffness|injur(y|ed|ies)|sprain(ed)?|"
    r"strain(ed)?|torn|tear|broke|broken|fracture[ds]?|surgery|replaced|replacement|repair|"
    r"reconstruction|rehab|therapy|tendinitis|tendonitis|arthritis|bursitis|plantar|sciatica|"
    r"vertigo|dizzy|dizziness|balance|weak|weakness|numb|numbness|tingling|pinched|herniated|"
    r"bulging|disc|incontinence|leak|leaking|postpartum|pregnan\w*|concussion|stroke|"
    r"fell|fall|accident|whiplash|frozen|impingement|carpal|tennis elbow|golfer|b ?p ?p ?v|"
    r"crystals|spins?|spinning)\b", re.I)
_SURGERY = re.compile(r"\b(surgery|surgeries|replaced|replacement|repair(ed)?|reconstruction|"
                      r"operation|operated|scoped|arthroscop\w*|fusion|acl|rotator cuff)\b", re.I)
_DOCTOR = re.compile(
    r"\b(?i:dr|doctor)\.?\s+([A-Z][a-zA-Z'\-]+(?:\s+[A-Z][a-zA-Z'\-]+)?)")
# "the doctor is Rebecca Lund": the referring doctor named without the title
_DOCTOR_IS = re.compile(r"\b(?i:the|my|his|her|our) (?i:referring )?(?i:doctor|physician|surgeon|"
                        r"provider|pcp)(?:'s name)? (?i:is|was) (?:(?i:dr|doctor)\.? )?"
                        r"([A-Z][a-zA-Z'\-]+(?:\s+[A-Z][a-zA-Z'\-]+)?)")
_REFERRED = re.compile(r"\b(referr(al|ed|ing)|refer (a|the|this|our|him|her)|sent me|send me|"
                       r"told me to (call|come|see|"
                       r"start|get|do)|said (to )?call|prescription|prescribed|order for (pt|"
                       r"physical therapy|therapy)|wants me to (do|get|start|have|begin|see))"
                       r"\b", re.I)
_PRACTICE = re.compile(
    r"\b(?:at|from|with|over at|of)\s+((?:the\s+)?(?:[A-Z][\w'&\-]*\s+){0,4}"
    r"(?:Orthopedics|Orthopaedics|Ortho|Clinic|Medical(?: Center| Group)?|Health(?:care)?|"
    r"Associates|Hospital|Family Medicine|Sports Medicine|Spine(?: Center)?|Group|"
    r"Physicians|Partners|Urgent Care))\b")
_EMAIL = re.compile(r"\b([a-z0-9._%+\-]+)\s*(?:@| at )\s*([a-z0-9\-]+(?:\s*(?:\.| dot )\s*"
                    r"[a-z0-9\-]+)+)\b", re.I)
_RELATION = re.compile(r"\b(my|under my|through my|on my) (husband|wife|spouse|partner|"
                       r"mom|mother|dad|father|parent|parents)'?s?\b", re.I)
_RELATION_KIND = {"husband": "spouse", "wife": "spouse", "spouse": "spouse", "partner": "spouse",
                  "mom": "parent", "mother": "parent", "dad": "parent", "father": "parent",
                  "parent": "parent", "parents": "parent"}
_INSURANCE_CONTEXT = re.compile(
    r"\b(insurance|insured|plan|coverage|covered|policy|member|medicare|medicaid|through (my|"
    r"work|the)|i have|i've got|we have|it's|on my|under my|carrier|card|pay|self|cash|"
    r"advantage|supplement)\b", re.I)
_NAME = r"[A-ZÁÉÍÓÚÑ][a-záéíóúñü]*'?[A-Z]?[a-záéíóúñü][a-záéíóúñü'\-]*"  # Ann, O'Malley, Joaquín
_SPANISH = re.compile(r"\b(spanish|espa[nñ]ol|habla|hablan|hablo)\b", re.I)
_TIME_WORDS = re.compile(
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow|tonight|"
    r"morning|mornings|afternoon|afternoons|evening|evenings|next week|this week|"
    r"asap|as soon as possible|earliest|soonest|first available|noon|same time|same day|"
    r"later that day|(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve) "
    r"(o'?clock|thirty|fifteen|forty five|am|pm|a m|p m)|"
    r"\d{1,2}(:\d\d)? ?(am|pm|a m|p m|o'clock)|(at|around|after|before) (\d{1,2}|one|two|"
    r"three|four|five|six|seven|eight|nine|ten|eleven|twelve))\b", re.I)
# how callers tell of an injury at work or on the road
_INJURY_STORY = re.compile(r"\b(felt (it|something) (go|pop|snap|give)|pulling|lifting|lifted|"
                           r"strained|pulled|tweaked|twisted|rolled my|got hurt|hurt (it|my)|"
                           r"injured)\b", re.I)
_DATE_CONTEXT = {
    "dob": re.compile(r"\b(born|birth ?day|date of birth|d ?o ?b|birthdate|birth year|"
                      r"wrong year)\b", re.I),
    "surgery_date": re.compile(r"\b(surgery|replaced|replacement|operation|operated|repair|"
                               r"reconstruction|scoped|fusion)\b", re.I),
    "date_of_injury": re.compile(r"\b(injur\w*|hurt|accident|fell|fall|crash|happened|"
                                 r"slipped|tripped)\b", re.I),
}
_LABELLED = {
    "phone": re.compile(r"\b(phone|number|cell|call me|reach me|text me|mobile)\b", re.I),
    "member_id": re.compile(r"\b(member|subscriber|policy|insurance|medicare|mbi)\s*"
                            r"(id|i d|number|no|#)\b|\bmember ?id\b|\bid (number )?is\b|"
                            r"\bid'?s\b", re.I),
    "group_number": re.compile(r"\bgroup\s*(number|no|#|id)?\b", re.I),
    "claim_number": re.compile(r"\bclaim\s*(number|no|#)\b", re.I),
    "npi": re.compile(r"\bn ?p ?i\b", re.I),
}
_SAME_NUMBER = re.compile(r"\b(same|this) (number|phone)\b|\bnumber i'?m calling from\b|"
                          r"\bthe one i'?m (calling|on)\b", re.I)
_CORRECTION = re.compile(r"^(sorry|no|oh|wait|oops|actually|i mean|correction)\b|\bactually\b|"
                         r"\bi mean\b|\bnot\b.+\bbut\b|\bi said\b|\bmeant\b|\bit'?s (actually)\b",
                         re.I)
_AFTER_LABEL = re.compile(r"(?:\bis\b|:|\bit'?s\b|\bnumber\b|\bid\b|\bat\b)\s*(.+)$", re.I)


def _after(label: re.Pattern[str], text: str) -> str | None:
    """The words after a label ("my member ID is X Y Z 1 2 3" -> "X Y Z 1 2 3")."""
    m = label.search(text)
    if not m:
        return None
    rest = text[m.end():]
    rest = re.sub(r"^[\s.\u2026,]*(?:(?:hold on|one sec(?:ond)?|let me (?:see|check)|um|uh)"
                  r"[\s.\u2026,]*)*", " ", rest, flags=re.I)  # "Group number... hold on... 2 0"
    rest = re.sub(r"^\s*('s|is|was|it's|it is|:|would be|should be|number)\s*", "", rest,
                  flags=re.I)
    rest = re.split(r"\b(and (my|the|i|it)|but|because|also|group|and group)\b|[.;]", rest,
                    maxsplit=1)[0]
    return rest.strip(" ,") or None


def _put_name(out: dict[str, Value], name: Parsed[FullName]) -> None:
    out["full_name"] = Value(name.readback, name.readback)
    out["first_name"] = Value(name.value.first)
    out["last_name"] = Value(name.value.last)


def sentences(text: str) -> list[str]:
    """The sentences of a turn, as the STT punctuated it."""
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def _clause_with(pattern: re.Pattern[str], text: str) -> str | None:
    for clause in re.split(r"(?<=[.!?;])\s+|,\s*(?=and |but |i |my )", text):
        if pattern.search(clause):
            return clause
    return None


def extract(text: str, clinic: ClinicConfig, now: datetime, *, caller_id: str | None = None,
            known: dict[str, str] | None = None, pending: str | None = None
            ) -> dict[str, Value]:
    """The details the caller's words volunteer, each only where the words say what it is."""
    known = known or {}
    out: dict[str, Value] = {}
    norm = normalize(text)
    today = now.date()

    # name: "my name is ...", "this is ...", "it's ... calling"
    m = re.search(r"(?<!his )(?<!her )(?<!their )(?<!his )\b(?:my name is|my name's|"
                  r"(?<!his )(?<!her )name is|this is|i'm|i am|it's|the patient is|"
                  r"patient'?s name is|the patient'?s)\s+"
                  rf"({_NAME}(?:\s+{_NAME}){{1,2}})\b", text)
    if m and not re.match(r"(?i)(calling|trying|looking|wondering|having|just|not|a |an )",
                          m.group(1)):
        try:
            name = parse_full_name(m.group(1))
            if _plausible_name(name.value.first, name.value.last, clinic):
                _put_name(out, name)
                letters = (letter_run(text[m.end():], name.value.first, name.value.last) or
                           "").replace(" ", "")
                if len(letters) >= 2 and letters.lower() == name.value.last.lower():
                    out["last_name_spelled"] = Value(name.value.last)  # "Priya Raman, R A M A N"
        except IntakeError:
            pass

    if "full_name" not in out:  # a name said as a sentence of its own: "... today. Nadia Petrov."
        bare = bare_name(text, clinic)
        try:
            said_alone = parse_full_name(bare) if bare is not None else None
        except IntakeError:
            said_alone = None
        if said_alone is not None:
            _put_name(out, said_alone)

    if known.get("coverage_kind") in ("workers_comp", "auto") or _INJURY_STORY.search(text):
        # "I was pulling totes off the top rack and felt it go. That was November tenth."
        when = re.search(r"\b(?:that|it) (?:was|happened)(?: on)? ([^.!?]+)", text, re.I)
        if when and not _SURGERY.search(text):
            try:
                parsed = parse_past_date(when.group(1), today, what="date",
                                         kind="date_of_injury", max_years=10, recent=True)
                if parsed.value <= today:
                    out["date_of_injury"] = Value(parsed.value.isoformat(), parsed.readback)
            except IntakeError:
                pass

    # dates: a date of birth, a surgery date or an injury date, by the words around them
    corrected = bool(re.search(r"\b(no wait|sorry|actually|i mean|correction|not the)\b", text,
                               re.I))
    for key, context in _DATE_CONTEXT.items():
        clause = _clause_with(context, text)
        if corrected and clause is not None:
            # "It happened November fifth. No wait, it was the sixth": from the correction on
            later = re.split(r"\b(?:no wait|sorry|actually|i mean)\b", text, flags=re.I)[-1]
            month = re.search(r"(january|february|march|april|may|june|july|august|september|"
                              r"october|november|december)", clause, re.I)
            if re.search(r"\d|first|second|third|th\b", later, re.I):
                clause = later if re.search(r"(january|february|march|april|may|june|july|"
                                            r"august|september|october|november|december)",
                                            later, re.I) or not month else \
                    f"{month.group(1)} {re.sub(r'^.*?(the )', '', later)}"
        if clause is None or not re.search(r"\d|(january|february|march|april|may|june|july|"
                                           r"august|september|october|november|december|"
                                           r"teenth|first|second|third|th\b)|\b(oh|one|two|"
                                           r"three|four|five|six|seven|eight|nine|ten|eleven|"
                                           r"twelve)\b", clause, re.I):
            continue
        try:
            if key == "dob" and corrected:
                parsed = parse_date_of_birth(clause, today)  # the corrected date, whole
            elif key == "dob":
                parsed = parse_date_of_birth(_after(context, clause) or clause, today)
            else:
                parsed = parse_past_date(clause, today, what="date", kind=key, max_years=10,
                                         recent=True)
        except IntakeError:
            continue
        if key == "dob" and re.search(r"\b(her|his|their|wife'?s|husband'?s|mom'?s|dad'?s|"
                                      r"mother'?s|father'?s) (birthday|birth ?date|date of "
                                      r"birth|dob)\b", clause, re.I):
            out["subscriber_dob"] = Value(parsed.value.isoformat(), parsed.readback)
        elif key == "dob" or parsed.value <= today:
            out[key] = Value(parsed.value.isoformat(), parsed.readback)

    # the referring office's fax: "Our fax is six oh eight, five five five, three three one nine"
    fax = re.search(r"\b(?:our|the office'?s?|office|their|clinic'?s?) fax(?: number)?(?: is|:)?"
                    r"\s+([^.;]+?)(?:,? and\b|[.;]|$)", text, re.I)
    if fax:
        try:
            out["referring_fax"] = Value(parse_phone(fax.group(1)).value)
        except IntakeError:
            pass

    # phone: labelled, or the number they are calling from
    if _SAME_NUMBER.search(text) and caller_id:
        try:
            phone = parse_phone(caller_id)
            out["phone"] = Value(phone.value, phone.readback)
        except IntakeError:
            pass
    elif not _LABELLED["phone"].search(text) and not re.search(
            r"\b(member|id|claim|group|npi|policy|medicare|subscriber|number is)\b", text, re.I):
        run = re.search(r"(?:\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\d)\b"
                        r"[\s,\-]*){10,11}", text, re.I)
        _take(out, "phone", parse_phone, run.group(0) if run else None)
    else:
        span = _after(_LABELLED["phone"], text)
        if span and re.search(r"\d|\b(oh|zero|one|two|three|four|five|six|seven|eight|nine)\b",
                              span, re.I):
            try:
                phone = parse_phone(span)
                out["phone"] = Value(phone.value, phone.readback)
            except IntakeError:
                pass

    m = re.search(r"\b(?:ends?|ending) (?:in|with)\s+(.+?)(?:,|\bnot\b|$)", text, re.I)
    if m and known.get("phone") and "phone" not in out:
        tail = "".join(c for c in spoken_chars(m.group(1), "digits")[0] if c.isdigit())
        if 1 <= len(tail) <= 4:
            fixed = known["phone"][:-len(tail)] + tail
            try:
                phone = parse_phone(fixed)
                out["phone"] = Value(phone.value, phone.readback)
            except IntakeError:
                pass

    if "phone" in out and re.search(r"\badjuster\b", text, re.I):
        out["adjuster_phone"] = out.pop("phone")
    m = re.search(r"\badjuster\b.{0,60}?((?:\b(?:zero|oh|one|two|three|four|five|six|seven|"
                  r"eight|nine|hundred|\d)\b[\s,.\-]*){7,12})", text, re.I)
    if m and "adjuster_phone" not in out:
        try:
            phone = parse_phone(m.group(1))
            out["adjuster_phone"] = Value(phone.value, phone.readback)
        except IntakeError:
            pass
    m = re.search(r"\b(?:it|that|the (?:injury|accident))? ?(?:happened|was|occurred) "
                  r"(?:on )?(.+?)(?:[.;]|$)", text, re.I)
    if m and "date_of_injury" not in out and re.search(r"\b(work|job|accident|injur|hurt|fell|"
                                                       r"happened|comp)\w*", text, re.I):
        try:
            hurt = parse_past_date(m.group(1), today, what="date", kind="date_of_injury",
                                   max_years=10, recent=True)
            out["date_of_injury"] = Value(hurt.value.isoformat(), hurt.readback)
        except IntakeError:
            pass
    if re.search(r"\b(don'?t|do not|doesn'?t) (have|know)\b.{0,25}\b(claim|member|id|"
                 r"insurance card|card|number|adjuster|group)\b|\bnot sure\b|"
                 r"\b(no|haven'?t got( a)?) (claim|card|id) (number )?yet\b", text, re.I):
        out["unknown_answer"] = Value("yes")

    m = _EMAIL.search(text)
    if m and ("email" in norm or "@" in text or " dot " in text.lower()):
        domain = re.sub(r"\s*(?:\.| dot )\s*", ".", m.group(2).lower())
        address = f"{m.group(1).lower()}@{domain}"
        out["email"] = Value(address, address.replace("@", " at ").replace(".", " dot "))

    # insurance: payer, plan type, subscriber, IDs
    payer = match_payer(clinic, text)
    if payer is not None and (payer.accepted is not None or payer.self_pay) and (
            _INSURANCE_CONTEXT.search(text) or payer.self_pay or pending == "payer" or
            normalize(payer.name) in norm):
        out["payer_named"] = Value(payer.name)
    plan = plan_type(norm)
    if plan:
        out["plan_type"] = Value(plan)
    rel = _RELATION.search(text)
    if rel and re.search(r"\b(plan|insurance|coverage|policy|through|under)\b", norm):
        out["subscriber_relationship"] = Value(_RELATION_KIND[rel.group(2).lower()])
    m = re.search(r"\b(?:subscriber|policy ?holder|insured)(?: is| name is|'s name is)?\s+"
                  r"([A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+){1,2})", text) or (
        re.search(r"\b(?i:his|her|their) name(?: is|'s)\s+([A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+)"
                  r"{1,2})", text) if rel or known.get("subscriber_relationship") else None) or (
        re.search(r"\b(?i:main one|primary|policy ?holder|the one on it|holder)\b[^.]{0,20}?[,.]?"
                  r"\s+([A-Z][a-z'\-]+\s+[A-Z][a-z'\-]+)", text)) or (
        re.search(r"\b(?i:he'?s|she'?s|they'?re) on my (?i:insurance|plan)\b.*"
                  r"\b(?i:i'?m|my name is)\s+([A-Z][a-z'\-]+\s+[A-Z][a-z'\-]+)", text)) or (
        re.search(r"\b(?:under|in) (?:my (?:husband|wife|dad|father|mom|mother|partner)'?s? "
                  r"name,?\s*)?([A-Z][a-z'\-]+\s+[A-Z][a-z'\-]+)'s name\b", text))
    m = m or re.search(r"\b(?i:under|through|on) my (?i:husband|wife|spouse|partner|mom|mother|"
                       r"dad|father)(?:'s)?(?: (?i:name|plan|insurance|job|work))?[.,]\s+"
                       r"([A-Z][a-z'\-]+\s+[A-Z][a-z'\-]+)", text)  # "under my husband. Greg L."
    me = re.search(r"\b(?i:subscriber|policy ?holder|insured|card ?holder)(?:'s| is) (?i:me|myself)"
                   r",?\s+(?:(?i:i'?m|it'?s)\s+)?([A-Z][a-z'\-]+\s+[A-Z][a-z'\-]+)", text)
    if me:
        # "The subscriber's me, Rachel Lindgren, and my birthday is October nineteenth": the
        # caller is the subscriber, so their birthday is the subscriber's
        m = me
        if "dob" in out:
            out["subscriber_dob"] = out.pop("dob")
    if m:
        out["subscriber_name"] = Value(m.group(1))
    if ("payer_named" in out or pending in ("payer", "member_id")) and "member_id" not in out:
        # "I'm on my dad's plan, it's Cigna. He just texted it. U eight two two ...", "She has
        # Medicare. The number's eight R nine six ...": the sentence shaped like an ID
        for sentence in sentences(text)[1:]:
            if re.search(r"\b(group|claim|npi|phone|cell)\b", sentence, re.I):
                continue  # "Group eight eight one two four." is not the member ID
            said = re.sub(r"(?i)^.*?\b(?:number(?:'s| is)|id(?:'s| is)|number on the card is|"
                          r"it'?s)\s+", "", sentence)
            if answer_shape(said, clinic, today) not in (Shape.IDENTIFIER, Shape.SPELLING):
                continue
            parse = parse_mbi if "medicare" in norm and "advantage" not in norm else \
                parse_member_id
            _take(out, "member_id", parse, said)
            if "member_id" in out:
                break
    if "payer_named" in out and "member_id" not in out:
        # "Blue Cross, X O F two two five one ...": the ID said right after the plan
        m = re.search(r"[,;:]\s*((?:[A-Za-z]|zero|oh|one|two|three|four|five|six|seven|eight|"
                      r"nine|\d)(?:[\s\-]+(?:[A-Za-z]|zero|oh|one|two|three|four|five|six|"
                      r"seven|eight|nine|\d)){5,})\s*\.?$", text, re.I)
        _take(out, "member_id", parse_member_id, m.group(1) if m else None)
    for key in ("member_id", "group_number", "claim_number"):
        span = _after(_LABELLED[key], text)
        if not span:
            continue
        try:
            if key == "member_id" and "medicare" in norm and "advantage" not in norm:
                parsed_id = parse_mbi(span)
            else:
                parsed_id = parse_member_id(span, min_len=3 if key == "group_number" else 4)
            out[key] = Value(parsed_id.value, parsed_id.readback)
        except IntakeError:
            pass
    span = _after(_LABELLED["npi"], text)
    if span:
        try:
            npi = parse_npi(span)
            out["referring_npi"] = Value(npi.value, npi.readback)
        except IntakeError:
            pass

    # referral and reason
    doctor = _DOCTOR.search(text) or _DOCTOR_IS.search(text)
    if doctor and (_REFERRED.search(text) or _SURGERY.search(text) or re.search(
            r"\b(my|the|his|her) (surgeon|doctor|physician|orthopedist|ortho|pcp|provider|"
            r"ob|obgyn|neurologist|chiropractor)\b|\bdid (it|the surgery|my surgery)\b|"
            r"\bit'?s from\b", norm) or known.get("referred") or known.get("surgery")):
        # (a doctor named later in a call about a referral is the one who referred)
        provider = clinic.match_provider(doctor.group(0))
        if provider is None:  # the clinic's own therapists are not referring physicians
            doctor_name = re.sub(r"'s$", "", doctor.group(1).strip())  # "Dr. Nakamura's office"
            out["referring_provider"] = Value(f"Dr. {doctor_name}")
    practice = _PRACTICE.search(text)
    if practice and (doctor or _REFERRED.search(text)):
        out["referring_practice"] = Value(practice.group(1).strip())
    if _REFERRED.search(text):
        out["referred"] = Value("yes")
    part = next((p for p in sorted(_BODY_PARTS, key=len, reverse=True)
                 if re.search(rf"\b{re.escape(p)}\b", norm)), None)
    if part and (_CONDITION.search(text) or re.search(
            r"\b(my|for|the|his|her) ((right|left|lower|upper) )?" + re.escape(part), norm)):
        out["body_part"] = Value(part)
    if _CONDITION.search(text) or part:
        out["reason"] = Value(text.strip()[:300])
    if _SURGERY.search(text):
        out["surgery"] = Value(_clause_with(_SURGERY, text) or text[:200])
    if any(w in norm for w in ("workers comp", "worker's comp", "workers' comp", "workman's comp",
                                "workmans comp", "workers compensation", "hurt at work",
                                "injured at work", "on the job", "work injury")):
        out["coverage_kind"] = Value("workers_comp")
    elif any(w in norm for w in ("car accident", "auto accident", "car crash", "rear ended",
                                  "fender bender", "was in a crash", "hit by a car",
                                  "motor vehicle", "auto claim", "auto insurance", "pip claim")):
        out["coverage_kind"] = Value("auto")
    m = re.search(rf"\badjuster(?: lady| guy| woman| man)?(?:'s name)?(?: is| was|'s)?\s+"
                  rf"({_NAME}(?:\s+{_NAME}){{0,2}})", text)
    if m and "number" not in m.group(1).lower():
        out["adjuster_name"] = Value(m.group(1))
    m = re.search(r"\b(?:extension|ext\.?|x)\s+((?:(?:zero|oh|one|two|three|four|five|six|"
                  r"seven|eight|nine|\d)[\s,\-]*){1,6})", text, re.I)
    if m and re.search(r"\badjuster\b", text, re.I):
        chars, _ = spoken_chars(m.group(1), "digits")
        extension = "".join(c for c in chars if c.isdigit())
        if extension:
            out["adjuster_extension"] = Value(extension)
    m = re.search(rf"\b(?:attorney|lawyer)(?:'s name)?(?: is| was|'s)\s+({_NAME}(?:\s+{_NAME})"
                  rf"{{0,2}})", text)
    if m:
        out["attorney_name"] = Value(m.group(1))
        if "phone" in out:  # "my attorney is X, at Y. Six oh eight ...": the attorney's number
            out["attorney_phone"] = out.pop("phone")
    carrier = _CARRIER.search(norm)
    if carrier and (out.get("coverage_kind") or known.get("coverage_kind")):
        out["carrier"] = Value(carrier.group(1).title())
    m = re.search(r"\b(?:i work(?: \w+){0,2}? (?:at|for)|my employer is|employer is|employed by|"
                  r"work for|my job (?:at|with)|i'?m employed at)\s+([A-Za-z0-9'&\- ]{2,60}?)"
                  r"(?:[.,;]|$| and | but )", text, re.I)
    if m:
        out["employer"] = Value(m.group(1).strip())

    # when, who and which language
    past = re.search(r"\b(had|was|were|did|happened|replaced|repaired|operated|hurt|injured|"
                     r"fell|since|ago|last)\b", norm) and not re.search(
        r"\b(next|this|tomorrow|available|openings?|come in|appointment|book|schedule|works?|"
        r"prefer|best|better|free|good for me)\b", norm)
    phone_only = "phone" in out and not re.search(
        r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow|morning|"
        r"afternoon|evening|week)s?\b", norm)  # "reach me at six oh eight ..." is no time
    if _TIME_WORDS.search(text) and not past and not phone_only and not any(
            k in out for k in ("dob", "surgery_date", "date_of_injury")):
        try:
            request = parse_appointment_request(text, now.replace(tzinfo=None))
            out["when"] = Value(request.readback, request.readback)
        except IntakeError:
            pass
    for p in clinic.providers:
        last = p.name.split(",")[0].split()[-1]
        first = p.name.split(",")[0].replace("Dr.", "").split()[0]
        if re.search(rf"\b({re.escape(last)}|{re.escape(first)})\b", text, re.I) and \
                re.search(r"\b(with|see|prefer|wants?|like|request|book)\b", norm):
            out["provider_pref"] = Value(p.id, p.name.split(",")[0])
            break
    if _SPANISH.search(text):
        out["language"] = Value("es", "Spanish")
    return out


def _take(out: dict[str, Value], key: str, parse: Any, said: str | None) -> None:
    """``out[key]`` from a spoken-form parser, when the words parse."""
    if not said:
        return
    try:
        parsed = parse(said)
    except IntakeError:
        return
    out[key] = Value(parsed.value, parsed.readback)


_LETTER_RUN = re.compile(r"\b[A-Za-z]\b(?:[\s,.\-]+\b[A-Za-z]\b)+")


def letter_run(text: str, first_name: str = "", last_name: str = "") -> str | None:
    """The letters of a spelling said among other words ("J A C O B S E N. With an E N at
    the end, not O N" -> "J A C O B S E N"): the longest run of single letters, if it is
    clearly one (three letters, or two capitals); the one that spells the last name heard, if
    one does; never the first name spelled too ("K A T H E R I N E, and Schaefer is ...")."""
    def letters(run: str) -> str:
        return "".join(c for c in run if c.isalpha())

    runs: list[str] = []
    for m in _LETTER_RUN.finditer(text):
        # "A M U N D S E N. S E N, not S O N": a sentence break ends a spelling (unless every
        # letter had its own full stop: "J. A. C."); "G R A C I E L A, E S T R A D A": two
        pieces = [p for p in re.split(r"[.!?]\s+", m.group(0)) if len(letters(p)) > 1]
        runs.extend(pieces if len(pieces) > 1 else [m.group(0)])
        runs.extend(p for p in re.split(r"[.!?,]\s+", m.group(0)) if len(letters(p)) > 1)
    named = [r for r in runs if last_name and letters(r).lower() == last_name.lower()]
    if named:
        return " ".join(letters(named[0]))
    if first_name:
        runs = [r for r in runs if letters(r).lower() != first_name.lower()]
    if not runs:
        return None
    best = max(runs, key=lambda r: len(letters(r)))
    chars = letters(best)
    if len(chars) >= 3 or (len(chars) == 2 and chars.isupper()):
        return " ".join(chars)
    return None


def without_spellings(text: str) -> str:
    """The words with the spelled letters taken out ("His name is Tyler, T Y L E R,
    Kaczmarek." -> "His name is Tyler Kaczmarek.")."""
    bare = _LETTER_RUN.sub(" ", text)
    return re.sub(r"\s*,(\s*,)+\s*|\s*,\s+(?=[A-Z][a-z])", " ", bare)


def spelled_names(text: str) -> list[str]:
    """Names said with their spelling after them ("Patricia, P A T R I C I A, Dunleavy,
    D U N L E A V Y" -> ["Patricia", "Dunleavy"])."""
    return [m.group(1) for m in re.finditer(rf"\b({_NAME}),?\s+((?:[A-Z][\s,.\-]+)+[A-Z])\b",
                                            text)
            if re.sub(r"[^A-Z]", "", m.group(2)) == m.group(1).upper()]


def glued_spelling(text: str) -> bool:
    """Whether a one- or two-word answer to "spell your last name" can be the name glued
    into a word ("Smith."), not "Thanks." or "Okay"."""
    words = re.findall(r"[A-Za-z']+", text)
    return 1 <= len(words) <= 2 and not {w.lower() for w in words} & _NOT_NAME_WORDS


def plan_type(norm: str) -> str | None:
    if re.search(r"\b(no|not|not an?|isn't|isnt|it's not) (medicare )?advantage\b", norm):
        return "medicare"  # "just regular Medicare, no Advantage plan"
    if re.search(r"\bmedicare advantage\b|\badvantage plan\b|\bhumana\b.*\bmedicare\b|"
                 r"\bmedicare\b.*\b(humana|through (united|aetna|humana|cigna))\b|"
                 r"\bhumana\b", norm):
        return "medicare_advantage"
    if re.search(r"\b(supplement|medigap|supplemental|secondary)\b", norm) and \
            "medicare" not in norm:
        return "supplement"
    if re.search(r"\b(original|regular|traditional|straight|plain|just) medicare\b|"
                 r"\bmedicare part b\b|\bred,? white and blue\b", norm):
        return "medicare"  # a bare "Medicare" may still be an Advantage plan: asked
    if re.search(r"\btri ?care\b", norm):
        return "tricare"
    if re.search(r"\b(medicaid|badger ?care|forwardhealth|forward health)\b", norm):
        return "medicaid"
    if re.search(r"\b(self pay|self-pay|pay (cash|myself|out of pocket)|no insurance|"
                 r"don't have (any )?insurance|uninsured)\b", norm):
        return "self_pay"
    return None


_CARRIER = re.compile(r"\b(progressive|state farm|geico|allstate|american family|usaa|"
                      r"liberty mutual|farmers|nationwide|travelers|erie|sentry|acuity|"
                      r"west bend|the hartford|amtrust|accident fund)\b")
_NOT_NAME_WORDS = {
    "pain", "knee", "back", "neck", "hip", "shoulder", "ankle", "foot", "appointment", "insurance",
    "medicare", "evaluation", "therapy", "yes", "no", "okay", "hello", "morning", "afternoon",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "book",
    "schedule", "calling", "fine", "good", "sure", "thanks", "thank", "sorry", "hi", "just",
    "doctor", "dr", "surgery", "referral", "number", "phone", "birth", "first", "second", "third",
    "fourth", "fifth", "tenth", "twentieth", "teenth", "nineteen", "twenty", "thirty", "forty",
    "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "oh", "zero", "one", "two",
    "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "self",
    "pay", "cash", "card", "id", "member", "group", "claim", "same", "cell", "email", "nope",
    "yep", "yeah", "nah", "it", "that", "that's", "this", "what", "how", "when", "where", "why",
    "who", "can", "could", "would", "will", "do", "does", "is", "are", "i", "you", "we", "they",
    "he", "she", "my", "your", "not", "all", "correct", "right", "wrong", "great", "perfect",
    "works", "work", "none", "other", "both", "either", "evening", "night", "week", "today",
    "tomorrow", "wait", "hold", "on", "hang",
}


def _plausible_name(first: str, last: str, clinic: ClinicConfig) -> bool:
    words = {first.lower(), last.lower()}
    if words & _NOT_NAME_WORDS or any(w.endswith(("teenth", "ieth")) for w in words):
        return False
    if len(first) < 2 or len(last) < 2:
        return False
    if _CARRIER.search(f"{first} {last}".lower()):
        return False  # "State Farm" is the other driver's insurer
    payer = match_payer(clinic, f"{first} {last}")
    if payer is None or payer.self_pay:
        return True
    # "Blue Cross", "Medica Dean" are plans; "Oscar Halvorsen" is a man called Oscar
    vocabulary = {w for p in (*clinic.insurance.accepted, *clinic.insurance.not_accepted)
                  if p.name == payer.name for n in (p.name, *p.aliases)
                  for w in normalize(n).split()}
    return not {first.lower(), last.lower()} <= vocabulary


_PLACE_WORDS = re.compile(r"\b(hospital|clinic|health|medical|center|centre|ortho\w*|street|"
                          r"avenue|road|drive|insurance|group|associates|care)\b", re.I)


def bare_name(text: str, clinic: ClinicConfig) -> str | None:
    """A first and last name said as a sentence of its own, the first or the last of the
    turn ("I need to move my three o'clock. Nadia Petrov."), not a place or a plan."""
    sentences = [s.strip(" ,") for s in re.split(r"[.!?]+", text) if s.strip(" ,")]
    for sentence in (sentences[:1] + sentences[-1:]) if len(sentences) > 1 else []:
        sentence = re.sub(r"^(?:(?:hi|hello|hey|yes|yeah|um|uh|oh|okay|so),?\s+)+", "",
                          sentence, flags=re.I)
        m = re.fullmatch(rf"({_NAME})\s+({_NAME})", sentence)
        if m and not _PLACE_WORDS.search(sentence) and _plausible_name(m.group(1), m.group(2),
                                                                       clinic):
            return sentence
    return None


def name_in(text: str, clinic: ClinicConfig) -> str | None:
    """A first and last name inside a longer answer ("Oh sure, it's Walter, Walter Brennan,
    like the old actor"): the first two capitalised words in a row that read as a name."""
    for m in re.finditer(rf"(?=\b({_NAME})\s+({_NAME})\b)", text):  # "It's Mariah Betts"
        if _plausible_name(m.group(1), m.group(2), clinic) and m.group(1).lower() not in (
                "i", "i'm", "it's", "oh", "hi", "hello", "well", "okay", "sure", "yes", "so"):
            return f"{m.group(1)} {m.group(2)}"
    return None


# what callers say for the problems a specialty treats
_SPECIALTY_CUES: dict[str, tuple[str, ...]] = {
    "pelvic": ("pelvic", "incontinen", "leak", "bladder", "postpartum", "pregnan", "prolapse",
               "had a baby", "after the baby"),
    "vestibular": ("vertigo", "dizz", "vestibular", "b ?p ?p ?v", "room spin", "spinning",
                   "inner ear", "balance", "crystals"),
}


def specialties_called_for(text: str) -> set[str]:
    """The specialties ("pelvic", "vestibular") whose problems the words describe ("leaking
    since the baby", "BPPV")."""
    said = text.lower()
    return {concept for concept, cues in _SPECIALTY_CUES.items()
            if re.search(rf"\b({'|'.join(cues)})", said)}


def describes_problem(text: str) -> bool:
    """Whether the words tell of a problem a physical therapist treats ("the room spins")."""
    return bool(_CONDITION.search(text))


def plausible_name_answer(text: str, clinic: ClinicConfig) -> bool:
    """Whether an answer to "may I have your name?" reads as a name at all."""
    try:
        name = parse_full_name(text)
    except IntakeError:
        return False
    if re.search(r"\d|@|\?", text) or intents.is_affirmative(text) or \
            intents.is_negative(text):
        return False
    words = {w.lower() for w in re.findall(r"[A-Za-z']+", without_leads(text))}
    if words & (_NOT_NAME_WORDS | _TIME_NAMES):  # "Next Wednesday. Same time."
        return False
    return _plausible_name(name.value.first, name.value.last, clinic)


_TIME_NAMES = {"next", "same", "time", "last", "this", "week", "weeks", "day", "days",
               "month", "later", "earlier", "early", "late", "anytime", "noon"}


class Shape(StrEnum):
    """What a bare answer looks like, whatever was asked."""

    SPELLING = "spelling"  # letters one by one
    IDENTIFIER = "identifier"  # letters and digits, or a long run of digits
    PHONE = "phone"  # ten digits
    DATE = "date"  # a full date
    PAYER = "payer"  # an insurance the clinic knows
    NAME = "name"  # a person's name
    OTHER = "other"


_NUMBER_WORD = re.compile(r"\b(zero|oh|one|two|three|four|five|six|seven|eight|nine|\d)\b",
                          re.I)


def answer_shape(text: str, clinic: ClinicConfig, today: date) -> Shape:
    """The shape of an answer said on its own ("B R A N D T", "six oh eight ...")."""
    chars, unknown = spoken_chars(text, "mixed")
    letters = sum(c.isalpha() for c in chars)
    digits = sum(c.isdigit() for c in chars)
    content = [w for w in unknown if len(w) > 2 and w.lower() not in ("dot", "com")]
    month = re.search(r"\b(january|february|march|april|may|june|july|august|september|"
                      r"october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|"
                      r"nov|dec)\b", text, re.I)
    groups = number_groups(text)
    grouped = letters == 0 and not content and len(groups) == 3 and len(groups[0]) <= 2 and \
        len(groups[1]) <= 2 and len(groups[2]) in (2, 4)  # month, day, year
    ungrouped = text.count(",") < 2  # "four four seven, two nine one, oh three" is an ID
    if month or grouped or (letters == 0 and 5 <= digits <= 8 and ungrouped) or re.search(
            r"\d{1,2}/\d{1,2}/\d{2,4}", text):  # grouped: "Three, three, seventy six"
        try:
            parse_date_of_birth(text, today)
            return Shape.DATE
        except IntakeError:
            if month:
                return Shape.OTHER
    single = re.findall(r"\b[A-Za-z]\b", text)
    if digits == 0 and (len(single) >= 3 or re.search(r"\bas in\b", text, re.I)) and \
            len(content) <= 2:
        return Shape.SPELLING
    if digits >= 4 and letters >= 1 and len(content) <= 2:
        return Shape.IDENTIFIER
    if (digits == 10 or (digits == 11 and chars and chars[0] == "1")) and letters == 0:
        return Shape.PHONE
    if digits > 10 and letters == 0:
        try:
            parse_phone(text)  # "... four nine, uh, no, sorry, three nine two zero"
            return Shape.PHONE
        except IntakeError:
            pass
    if digits >= 5 and letters == 0 and len(content) <= 2:
        return Shape.IDENTIFIER
    payer = match_payer(clinic, text)
    if payer is not None and len(text.split()) <= 6:
        return Shape.PAYER
    if plausible_name_answer(text, clinic) and len(text.split()) <= 5:
        return Shape.NAME
    return Shape.OTHER


def understand(text: str, clinic: ClinicConfig, router: intents.IntentRouter, now: datetime,
               *, caller_id: str | None = None, known: dict[str, str] | None = None,
               pending: str | None = None) -> Understanding:
    """Everything one caller turn says (see the module docstring)."""
    u = Understanding(text)
    u.social = social_turn(text)
    u.yes, u.no = intents.is_affirmative(text), intents.is_negative(text)
    u.question = is_question(text)
    scores = u.scores = router.scores(text)
    order = {name: n for n, name in enumerate(intents.KNOWN_INTENTS)}
    ranked = sorted((i for i, s in scores.items() if s >= router.min_score),
                    key=lambda i: (-scores[i], order.get(i, 99)))
    u.intents = ranked
    u.values = extract(text, clinic, now, caller_id=caller_id, known=known, pending=pending)
    u.correction = bool(_CORRECTION.search(text)) and bool(u.values or u.no)
    return u


def dob_plausible(value: str, today: date) -> bool:
    born = date.fromisoformat(value)
    return 0 <= (today - born).days / 365.25 <= 115

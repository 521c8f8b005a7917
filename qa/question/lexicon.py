"""Word lists that turn the head noun of a wh-phrase into an answer type ("which governor" ->
person, "which team" -> organisation, "which breed" -> thing).

Lemmas, lower case. A noun not listed makes a "thing" answer named by that noun: the focus noun
itself then tells the reader what to look for.
"""

from __future__ import annotations

PERSON = frozenset("""
person man woman people boy girl child son daughter wife husband mother father brother sister
minister president premier chancellor leader politician lawmaker legislator senator congressman
congresswoman representative mp mep governor mayor official spokesman spokeswoman spokesperson
secretary ambassador envoy diplomat commissioner king queen prince princess monarch emperor ruler
dictator pope bishop cardinal priest chair chairman chairwoman chairperson ceo executive boss
founder owner billionaire entrepreneur investor banker economist analyst scientist researcher
doctor surgeon nurse professor teacher student judge lawyer attorney prosecutor defendant suspect
victim witness hostage prisoner survivor soldier general commander officer captain pilot
astronaut explorer inventor author writer novelist poet journalist reporter editor presenter host
actor actress singer rapper musician composer conductor producer director filmmaker artist
painter sculptor designer architect dancer comedian model chef player footballer striker
goalkeeper midfielder defender forward quarterback pitcher batsman bowler athlete runner driver
cyclist golfer boxer swimmer skier sprinter coach manager referee umpire champion winner
runner-up finalist nominee laureate recipient candidate challenger incumbent successor
predecessor rival opponent activist campaigner protester whistleblower celebrity star influencer
heir detective agent spy member deputy adviser advisor aide negotiator mediator
alumnus alumni graduate physicist chemist mathematician philosopher engineer theologian historian
biologist astronomer physician pharmacist dentist psychologist psychiatrist sociologist linguist
reformer missionary monk nun saint prophet guru disciple apostle sultan tsar czar pharaoh chief
chieftain warrior knight duke earl baron nobleman farmer citizen settler colonist refugee migrant
immigrant ancestor descendant cousin uncle aunt grandfather grandmother pupil teammate contestant
narrator character protagonist villain landlord tenant patient voter guitarist drummer pianist
violinist vocalist playwright screenwriter lyricist photographer cricketer jockey wrestler fighter
gymnast sailor veteran sergeant colonel lieutenant admiral marshal
""".split())

ORGANISATION = frozenset("""
organisation organization company firm corporation business conglomerate startup team club side
squad franchise party agency group alliance coalition bloc bank lender insurer newspaper
magazine paper network broadcaster channel station publisher studio label band orchestra
university college school union federation association league body institution charity
foundation airline carmaker automaker manufacturer maker retailer supermarket chain brand
ministry department committee council parliament government cabinet court regulator watchdog
authority militia faction cartel consortium outlet website platform exchange hospital
""".split())

PLACE = frozenset("""
country nation state city town village region province county district capital continent island
place location area port airport stadium venue arena river lake mountain sea ocean border
territory neighbourhood neighborhood street site destination resort kingdom republic
municipality suburb hometown birthplace park building prison station beach coast valley desert
forest peninsula bay canal embassy headquarters ground venue hall theatre theater museum gallery
church cathedral temple mosque palace castle square shelter camp base harbour harbor
""".split())

DATE = frozenset("year date day month decade century week era weekday time hour season".split())

DURATION = frozenset("duration period length term sentence spell stint".split())

MONEY = frozenset("""
price cost fee fine salary wage pay budget sum fund funding revenue profit loss income earnings
bonus compensation ransom bail tax bill investment deal valuation money fortune debt
""".split())

PERCENT = frozenset("percentage percent proportion share rate".split())

NUMBER = frozenset("""
number total count figure population score tally margin turnout temperature speed distance
height weight age amount quantity
""".split())

WORK = frozenset("""
book film movie song album show series novel play painting poem opera musical documentary
programme program podcast single track sculpture artwork title memoir biography anthem
""".split())

STATEMENT = frozenset("""
statement message response reaction comment remark warning promise pledge quote reply answer
explanation announcement claim argument verdict
""".split())

REASON = frozenset("reason cause motive explanation purpose".split())

BY_TYPE: tuple[tuple[str, frozenset[str]], ...] = (
    ("person", PERSON), ("organisation", ORGANISATION), ("place", PLACE), ("date", DATE),
    ("duration", DURATION), ("money", MONEY), ("percent", PERCENT), ("work", WORK),
    ("reason", REASON), ("statement", STATEMENT), ("number", NUMBER),
)

SPEECH_VERBS = frozenset("""
say tell warn announce claim argue state declare insist add reply respond react write tweet post
comment explain suggest promise pledge vow admit deny describe call urge predict acknowledge
reveal confirm note stress emphasise emphasize remark ask
""".split())

MONEY_VERBS = frozenset("cost pay spend raise earn charge sell buy fine bill owe lose invest "
                        "donate award offer bid fetch borrow lend receive worth".split())

NAMING_VERBS = frozenset("call name term dub describe title label nickname".split())
"""Speech verbs that also name things: "what is X called" asks for a name, not a statement."""

VAGUE_VERBS = frozenset("do happen be have become mean".split())
"""Verbs whose "what" asks for an action or a definition, not a thing."""

EMPTY_NOUNS = frozenset("kind type sort form name variety".split())
"""Nouns that name nothing themselves: "what kind of dog" is about dogs."""

REASON_VERBS = frozenset("cause prompt lead trigger spark drive motivate".split())
"""'What caused/prompted X?' asks for a reason."""


NATIONS: tuple[frozenset[str], ...] = tuple(frozenset(group.split("|")) for group in (
    "america|american|americans|united states|us|u.s.|usa", "britain|british|united kingdom|uk|u.k.",
    "england|english", "scotland|scottish|scots", "wales|welsh", "ireland|irish", "france|french",
    "netherlands|dutch|holland", "poland|polish|pole|poles", "finland|finnish|finn|finns",
    "denmark|danish|dane|danes", "switzerland|swiss", "spain|spanish|spaniard|spaniards",
    "philippines|philippine|filipino|filipinos", "greece|greek|greeks", "turkey|turkish|türkiye",
    "norway|norwegian", "sweden|swedish|swede|swedes", "china|chinese", "japan|japanese",
    "iceland|icelandic", "portugal|portuguese", "new zealand|new zealander", "soviet|ussr",
    "europe|european|eu|european union", "peru|peruvian", "cyprus|cypriot",
    "myanmar|burma|burmese", "united arab emirates|uae|emirati",
))
"""Names of one nation that share no first letters ("Polish" and "Poland", "Dutch" and "the
Netherlands", "American" and "US"); other pairs ("Swedish", "Sweden") match on their prefix."""
NATION_PHRASES = frozenset(form for group in NATIONS for form in group if " " in form)

REGIONS = frozenset("""
european african asian american latin arab arabian nordic scandinavian baltic balkan caribbean
pacific atlantic mediterranean middle eastern western northern southern central gulf
""".split())
"""Words for a region or direction: a question may describe its answer with them ("Which Asian
country...?") whether or not the article does."""


def nation_forms(word: str) -> frozenset[str]:
    """Every other name of the nation ``word`` names (lower case), or nothing."""
    word = word.lower()
    return next((group for group in NATIONS if word in group), frozenset())


THING_LABELS: dict[str, frozenset[str]] = {
    noun: frozenset(labels.split()) for nouns, labels in (
        ("language tongue dialect", "LANGUAGE NORP"),
        ("nationality religion faith ethnicity tribe denomination sect", "NORP"),
        ("battle war storm hurricane typhoon cyclone election tournament championship cup "
         "olympics festival summit conference revolution", "EVENT"),
        ("treaty law act constitution amendment accord charter", "LAW"),
        ("product car vehicle aircraft plane jet ship vessel drug vaccine device phone "
         "smartphone", "PRODUCT"),
    ) for noun in nouns.split()
}
"""The named-entity labels that name a thing of this kind ("which language" -> LANGUAGE): a span
with another kind of name ("which sport" answered by a place) does not answer it."""


def type_of_noun(lemma: str) -> str | None:
    """The answer type a wh-phrase headed by ``lemma`` asks for, or ``None`` (a "thing")."""
    lemma = lemma.lower()
    for kind, words in BY_TYPE:
        if lemma in words:
            return kind
    return None

"""Properties of arXiv ids (ids.py) and link extraction (sources/links.py), checked with hypothesis.

ids: every well-formed id, old style or new, with or without a version, parses and formats back to
itself, through every accepted spelling (arXiv: prefix, OAI identifier, abs/pdf URLs); whatever
parses formats to a canonical ASCII id that parses to the same thing; anything else is an
InvalidArxivId, never another exception.

links: in any text, no extracted URL ends in sentence punctuation or an unbalanced bracket,
extraction is idempotent (extracting from the extracted URLs gives the same links), and every
kind is a known one.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from support import hypothesis_profile  # noqa: F401  (loads the profile)

from dailypapers import ids
from dailypapers.errors import InvalidArxivId
from dailypapers.models import LINK_KINDS
from dailypapers.sources import links

# -- arXiv ids -------------------------------------------------------------------------

versions = st.none() | st.integers(min_value=1, max_value=10**6)


@st.composite
def new_style(draw) -> ids.ArxivId:
    year = draw(st.integers(min_value=7, max_value=99))
    month = draw(st.integers(min_value=4 if year == 7 else 1, max_value=12))
    digits = 5 if year >= 15 else 4
    number = draw(st.integers(min_value=0, max_value=10**digits - 1))
    return ids.ArxivId(f"{year:02d}{month:02d}.{number:0{digits}d}", draw(versions))


ARCHIVES = ["hep-th", "hep-ph", "hep-lat", "hep-ex", "astro-ph", "cond-mat", "gr-qc", "quant-ph", "nucl-th",
            "math-ph", "funct-an", "alg-geom", "q-alg", "chao-dyn", "cs", "math", "physics", "nlin"]


@st.composite
def old_style(draw) -> ids.ArxivId:
    archive = draw(st.sampled_from(ARCHIVES) | st.from_regex(r"[a-z][a-z\-]{0,12}", fullmatch=True))
    if draw(st.booleans()):  # math.AG/0101001, cs.LG/9901001
        archive += "." + draw(st.text(string.ascii_uppercase, min_size=2, max_size=2))
    year, month = draw(st.integers(min_value=0, max_value=99)), draw(st.integers(min_value=1, max_value=12))
    number = draw(st.integers(min_value=0, max_value=999))
    return ids.ArxivId(f"{archive}/{year:02d}{month:02d}{number:03d}", draw(versions))


any_id = new_style() | old_style()


def spellings(aid: ids.ArxivId) -> list[str]:
    text = str(aid)
    return [text, f"arXiv:{text}", f"arxiv:{text}", f"oai:arXiv.org:{text}", f"  {text}\n",
            f"https://arxiv.org/abs/{text}", f"http://www.arxiv.org/abs/{text}/", f"https://export.arxiv.org/abs/{text}",
            f"https://arxiv.org/pdf/{text}.pdf", f"https://arxiv.org/pdf/{text}", f"https://arxiv.org/html/{text}",
            f"https://arxiv.org/abs/{text}?context=cs", f"https://arxiv.org/abs/{text}#section"]


@given(any_id)
@example(ids.ArxivId("2405.15738", 2))
@example(ids.ArxivId("hep-th/9901001", None))
@example(ids.ArxivId("math.AG/0101001", 3))
@example(ids.ArxivId("0704.0001", None))  # the first new-style id
@example(ids.ArxivId("1412.9999", 1))  # the last four-digit month
@example(ids.ArxivId("1501.00001", 1))  # the first five-digit month
def test_parse_then_format_is_the_same_id(aid):
    for raw in spellings(aid):
        parsed = ids.parse(raw)
        assert parsed == aid, raw
        assert str(parsed) == str(aid)
        assert ids.normalize(raw) == aid.id
        assert parsed.is_old_style == ("/" in aid.id)


# text that looks like ids: digits (ASCII and others), dots, slashes, v, letters, prefixes
id_like = st.text(alphabet=st.sampled_from(list("0123456789.v/-aAhetpZ:") + ["٢", "١", "０", "𝟘", "\n", " "]),
                  max_size=24)
id_fragments = st.lists(st.sampled_from(["2405", "1501", "0704", ".", "15738", "0001", "v", "2", "0", "hep-th", "/",
                                         "9901001", "arXiv:", "https://arxiv.org/abs/", ".pdf", "٢٤٠٥", "١٥٧٣٨",
                                         "０", "\n", "?x", "#y"]), max_size=8).map("".join)


@given(st.text(max_size=40) | id_like | id_fragments)
@example("٢٤٠٥.١٥٧٣٨")  # Arabic-Indic digits: \d matched them; now not an id
@example("２４０５.１５７３８")  # fullwidth digits
@example("2405.15738v٢")  # a non-ASCII version number
@example("2405.15738\n")  # $ matched before a trailing newline
@example("hep-th/9901001v1\n")
def test_whatever_parses_is_a_canonical_ascii_id(raw):
    try:
        parsed = ids.parse(raw)
    except InvalidArxivId as exc:
        assert isinstance(exc, ValueError)
        return
    text = str(parsed)
    assert text.isascii() and text.isprintable() and text == text.strip(), repr(text)
    assert ids.parse(text) == parsed
    assert parsed.version is None or parsed.version >= 1


@pytest.mark.parametrize("raw", ["٢٤٠٥.١٥٧٣٨", "２４０５.１５７３８", "2405.15738v٢", "hep-th/٩٩٠١٠٠١", "2405.15738v"])
def test_non_ascii_digits_are_not_ids(raw):
    with pytest.raises(InvalidArxivId):
        ids.parse(raw)


# -- links -----------------------------------------------------------------------------

HOSTS = ["github.com", "www.github.com", "gitlab.com", "gitlab.kitware.com", "bitbucket.org", "huggingface.co",
         "hf.co", "codeberg.org", "gist.github.com", "raw.githubusercontent.com", "foo.github.io", "example.org",
         "www.example.com", "arxiv.org", "doi.org", "EXAMPLE.org", "xn--bcher-kva.example"]
segment = st.text(alphabet=string.ascii_letters + string.digits + "-_.~()%+!$&'*,;=:@", min_size=1, max_size=12)
punct = st.sampled_from(list(".,;:!?*$&'\"()[]{}<>") + ["...", ").", "),", "'.", '".', "\\_", "\\%", "\n", "-\n"])


@st.composite
def url(draw) -> str:
    scheme = draw(st.sampled_from(["https://", "http://", "HTTPS://", ""]))
    host = draw(st.sampled_from(HOSTS))
    path = "/".join(draw(st.lists(segment, max_size=5)))
    tail = draw(st.sampled_from(["", "/", ".git", "/tree/main", "/-/tree/main", "?q=1", "#readme", "/blob/x.py"]))
    return f"{scheme}{host}/{path}{tail}"


words = st.sampled_from(["Code", "at", "see", "and", "the", "models:", "(", ")", "\\url{", "}", "\\href{", "}{here}",
                         "data", "page", "github.", "com", "huggingface", "www.", "—", "«", "»"])
texts = st.lists(st.one_of(url(), words, punct, st.text(max_size=6)), max_size=14).map(
    lambda parts: "".join(p if p in ("\n",) else p + " " if i % 3 else p for i, p in enumerate(parts)))


@given(texts | st.text(max_size=200))
@example("see https://github.com/a/b).")
@example("https://en.wikipedia.org/wiki/A_(b)),")
@example("www.example.com/a/.")
@example("https://example.org/x?y=1&")
@example("https://example.org/(")
@example("https://example.org/a)(")
@example("https://example.org/a)(b")
@example("https://github.com/)0")  # found: a github link whose owner was ")0"
@example("(see https://example.org/a)b, c)")  # found: a project link that kept the unbalanced ")b"
@example("https://github.com/tree/mainhttps://x")  # found: github.com/tree/mainhttps: (a trailing colon)
@example("https://huggingface.co/0/tree/main")  # found: hf_model .../0, extracted again a project link
@example("https://github.com/:/x")  # found: a github link whose owner was ":"
@example("https://codeberg.org/0/0/0/-/tree/main")  # found: codeberg.org/0/0/0, extracted again 0/0
def test_links_are_clean_and_extraction_is_idempotent(text):
    found = links.extract(text, "abstract")
    for link in found:
        assert link.kind in LINK_KINDS and link.source == "abstract"
        assert link.url == link.url.strip() and link.url.startswith(("https://", "http://")), link
        assert link.url[-1] not in ".,;:!?*$&'\"([{<", link
        assert link.url.count("(") >= link.url.count(")"), link
        host = link.url.split("/")[2].lower()
        assert not any(host == h or host.endswith("." + h) for h in ("arxiv.org", "doi.org")), link
    again = links.extract(" ".join(link.url for link in found), "abstract")
    assert again == found, (text, found, again)
    for link in found:  # each URL alone is found again as itself
        assert links.extract(link.url, "comments") == [type(link)(link.kind, link.url, "comments")], link


@pytest.mark.parametrize("text, expected", [
    ("https://github.com/)0", []),
    ("https://github.com/a/b:/c", [("github", "https://github.com/a/b")]),
    ("https://github.com/:/x", []),
    ("https://github.com/a/:x", [("github", "https://github.com/a")]),
    ("https://codeberg.org/a/b/c/-/tree/main", [("code", "https://codeberg.org/a/b")]),
    ("https://huggingface.co/gpt2/tree/main", [("project", "https://huggingface.co/gpt2")]),
    ("(code: https://github.com/a/b)x", [("github", "https://github.com/a/b")]),
    ("(see https://example.org/a)b, c)", [("project", "https://example.org/a")]),
    ("https://en.wikipedia.org/wiki/Foo_(bar)_baz", [("project", "https://en.wikipedia.org/wiki/Foo_(bar)_baz")]),
])
def test_regressions_found_by_the_properties(text, expected):
    assert [(link.kind, link.url) for link in links.extract(text, "abstract")] == expected

import gzip
import json

import pytest
from sources_helpers import DATA, needs_data

from dailypapers.models import LINK_KINDS, Link
from dailypapers.sources import links


def urls(text, source="abstract"):
    return [(link.kind, link.url) for link in links.extract(text, source)]


@pytest.mark.parametrize("text, expected", [
    ("The code is available at http://github.com/foo/bar.", [("github", "https://github.com/foo/bar")]),
    ("code (https://github.com/foo/bar), data", [("github", "https://github.com/foo/bar")]),
    ("see https://github.com/foo/bar; or", [("github", "https://github.com/foo/bar")]),
    ("[https://github.com/foo/bar]", [("github", "https://github.com/foo/bar")]),
    ("at https://github.com/Foo/Bar.git/", [("github", "https://github.com/Foo/Bar")]),
    ("https://github.com/foo/bar/tree/main/sub#readme", [("github", "https://github.com/foo/bar")]),
    ("https://www.GitHub.com/foo/bar/", [("github", "https://github.com/foo/bar")]),
    ("github.com/foo/bar.", [("github", "https://github.com/foo/bar")]),
    ("https://github. com/x/y", [("github", "https://github.com/x/y")]),
    ("https://gitlab.com/grp/sub/repo/-/tree/main", [("code", "https://gitlab.com/grp/sub/repo")]),
    ("https://bitbucket.org/team/repo/src/master/", [("code", "https://bitbucket.org/team/repo")]),
    ("https://huggingface.co/meta-llama/Llama-2-7b/tree/main", [("hf_model", "https://huggingface.co/meta-llama/Llama-2-7b")]),
    ("http://huggingface.co/datasets/owner/name.", [("hf_dataset", "https://huggingface.co/datasets/owner/name")]),
    ("https://huggingface.co/datasets/squad", [("hf_dataset", "https://huggingface.co/datasets/squad")]),
    ("https://huggingface.co/spaces/a/b/blob/main/app.py", [("hf_space", "https://huggingface.co/spaces/a/b")]),
    ("Project page: https://foo.github.io/bar/.", [("project", "https://foo.github.io/bar")]),
    ("https://en.wikipedia.org/wiki/Foo_(bar).", [("project", "https://en.wikipedia.org/wiki/Foo_(bar)")]),
    ("\\url{https://github.com/jdg900/MMR}", [("github", "https://github.com/jdg900/MMR")]),
    ("\\href{https://github.com/a/b}{here}", [("github", "https://github.com/a/b")]),
    ("https://github.com/a/my\\_repo", [("github", "https://github.com/a/my_repo")]),
    ("https://EXAMPLE.org/Page", [("project", "https://example.org/Page")]),
])
def test_extract_examples(text, expected):
    assert urls(text) == expected


@pytest.mark.parametrize("text", [
    "see arXiv:2401.00001 and https://arxiv.org/abs/2401.00001.",
    "https://export.arxiv.org/pdf/2401.00001v2",
    "DOI https://doi.org/10.1103/PhysRevB.74.024520 and http://dx.doi.org/10.1/x",
    "mail me at someone@github.com or mailto:someone@example.org",
    "https://huggingface.co/papers/2401.00001",
    "https://github.com/",
    "no links here at all",
    "",
    None,
])
def test_non_links(text):
    assert links.extract(text, "abstract") == []


def test_source_is_recorded_and_kinds_are_known():
    found = links.extract("https://github.com/a/b https://a.github.io https://huggingface.co/x/y", "comments")
    assert {link.source for link in found} == {"comments"}
    assert {link.kind for link in found} <= set(LINK_KINDS)


def test_deduplicated_in_order_of_appearance():
    text = "https://b.github.io, http://github.com/A/b. See github.com/a/b/ and https://b.github.io/"
    assert urls(text) == [("project", "https://b.github.io"), ("github", "https://github.com/A/b")]


def test_line_wrapping_repairs():
    assert urls("at https://github.com/lixinustc/KVQE-\nChallengeCVPR-NTIRE2025.") == [
        ("github", "https://github.com/lixinustc/KVQE-ChallengeCVPR-NTIRE2025")]
    assert urls("Code: github.\ncom/Euphoria16/DocMark.") == [("github", "https://github.com/Euphoria16/DocMark")]


def test_dedupe_keeps_first_and_fills_stars():
    merged = links.dedupe([Link("github", "https://github.com/a/b", "abstract"),
                           Link("github", "https://github.com/A/B", "hf", stars=7)])
    assert merged == [Link("github", "https://github.com/a/b", "abstract", stars=7)]


def test_idempotent_on_examples():
    text = ("Code http://github.com/foo/bar.git, models https://huggingface.co/o/m/resolve/main/x.bin; "
            "page (https://x.github.io/p/#top) https://en.wikipedia.org/wiki/A_(b)), www.example.com/a/.")
    first = links.extract(text, "abstract")
    again = links.extract(" ".join(link.url for link in first), "abstract")
    assert again == first


@pytest.fixture(scope="module")
def listings():
    with gzip.open(DATA / "arxiv_cs_listings.jsonl.gz") as f:
        return {row["id"]: row for row in map(json.loads, f)}


@needs_data
@pytest.mark.parametrize("arxiv_id, field, expected", [
    ("2503.11792", "summary", [("github", "https://github.com/ubc-3d-vision-lab/StyleMorpheus")]),
    ("2503.20068", "summary", [("github", "https://github.com/Project-AgML/AgML")]),
    ("2504.13131", "summary", [("github", "https://github.com/lixinustc/KVQE-ChallengeCVPR-NTIRE2025")]),
    ("2505.05446", "summary", [("github", "https://github.com/Euphoria16/DocMark")]),
    ("2504.04732", "summary", [("github", "https://github.com/DanielMing123/Inverse++")]),
    ("2505.06708", "summary", [("github", "https://github.com/qiuzh20/gated_attention"),
                               ("hf_model", "https://huggingface.co/QwQZh/gated_attention")]),
    ("2503.13399", "summary", [("hf_dataset", "https://huggingface.co/datasets/jmhb/microvqa"),
                               ("project", "https://jmhb0.github.io/microvqa")]),
    ("2508.17230", "summary", [("project", "https://4d-visual-pretraining.github.io")]),
    ("2503.13881", "comment", [("github", "https://github.com/jdg900/MMR")]),
    ("2503.11806", "comment", [("project", "https://www.projectaria.com/scenescript")]),
    ("2503.20101", "comment", [("code", "https://gitlab.kitware.com/nest-public/kw_ebs_star_tracking")]),
    ("2503.22526", "summary", []),  # only a doi.org link
])
def test_real_abstracts(listings, arxiv_id, field, expected):
    assert urls(listings[arxiv_id][field]) == expected


@needs_data
@pytest.mark.slow
def test_idempotent_and_clean_on_all_real_listings(listings):
    checked = 0
    for row in listings.values():
        for text in (row["summary"], row["comment"]):
            found = links.extract(text, "abstract")
            if not found:
                continue
            checked += 1
            assert links.extract(" ".join(link.url for link in found), "abstract") == found, row["id"]
            for link in found:
                assert link.url == link.url.strip() and link.url[-1] not in ".,;:]}'\"", link
                assert link.url.count("(") >= link.url.count(")"), link
                assert "arxiv.org" not in link.url.lower() and "doi.org" not in link.url.lower()
    assert checked > len(listings) // 5  # about 27% of listings carry a link

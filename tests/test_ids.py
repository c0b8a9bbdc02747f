import pytest

from dailypapers import ids
from dailypapers.errors import InvalidArxivId


@pytest.mark.parametrize("raw, ident, version", [
    ("2405.15738", "2405.15738", None),
    ("2405.15738v1", "2405.15738", 1),
    ("2405.15738v12", "2405.15738", 12),
    ("0704.0001", "0704.0001", None),
    ("1412.8544", "1412.8544", None),
    (" 1412.8544\n", "1412.8544", None),
    ("hep-th/9901001", "hep-th/9901001", None),
    ("hep-th/9901001v2", "hep-th/9901001", 2),
    ("funct-an/9301001", "funct-an/9301001", None),
    ("math.AG/0101001", "math.AG/0101001", None),
    ("cond-mat/0603029v1", "cond-mat/0603029", 1),
])
def test_parse_plain_ids(raw, ident, version):
    parsed = ids.parse(raw)
    assert (parsed.id, parsed.version) == (ident, version)
    assert ids.normalize(raw) == ident
    assert ids.is_valid(raw)


@pytest.mark.parametrize("raw, expected", [
    ("arXiv:2405.15738v1", "2405.15738v1"),
    ("ARXIV:1412.8544", "1412.8544"),
    ("oai:arXiv.org:hep-th/9901001", "hep-th/9901001"),
    ("oai:arXiv.org:1412.8544", "1412.8544"),
    ("https://arxiv.org/abs/hep-th/9901001v2", "hep-th/9901001v2"),
    ("http://arxiv.org/abs/1111.2011v2", "1111.2011v2"),
    ("http://export.arxiv.org/pdf/2405.15738v1.pdf", "2405.15738v1"),
    ("https://arxiv.org/pdf/2405.15738", "2405.15738"),
    ("https://arxiv.org/html/2405.15738v1/", "2405.15738v1"),
    ("https://www.arxiv.org/abs/2405.15738v3", "2405.15738v3"),
    ("arxiv.org/abs/2405.15738", "2405.15738"),
])
def test_parse_prefixes_and_urls(raw, expected):
    assert str(ids.parse(raw)) == expected


def test_old_style_flag_and_str():
    assert ids.parse("hep-th/9901001v2").is_old_style
    assert not ids.parse("2405.15738").is_old_style
    assert str(ids.parse("hep-th/9901001v2")) == "hep-th/9901001v2"
    assert str(ids.parse("2405.15738")) == "2405.15738"


@pytest.mark.parametrize("raw", [
    "", "abc", "0000.0000", "1313.00001", "0712.12345", "2405.15738v", "2405.15738v0",
    "2405.15738 v1", "hep-th/990100", "hep-th/9901001v0", "HEP-TH/9901001", "12345.6789",
    "https://example.com/abs/2405.15738", "2405.157380",
])
def test_invalid_ids_raise(raw):
    with pytest.raises(InvalidArxivId):
        ids.parse(raw)
    assert not ids.is_valid(raw)


def test_invalid_id_is_a_value_error_with_the_input():
    with pytest.raises(ValueError) as info:
        ids.normalize("not-an-id")
    assert info.value.raw == "not-an-id"


def test_four_digit_numbers_after_2014_are_invalid():
    assert not ids.is_valid("2405.1573")


def test_urls_with_query_or_fragment():
    assert str(ids.parse("https://arxiv.org/abs/2405.15738v2?context=cs#x")) == "2405.15738v2"


def test_non_string_is_a_typed_error():
    with pytest.raises(InvalidArxivId):
        ids.parse(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw, expected", [
    ("https://huggingface.co/papers/2410.00907", "2410.00907"),
    ("huggingface.co/papers/2410.00907v2/", "2410.00907v2"),
    ("https://hf.co/papers/2410.00907?utm=x#y", "2410.00907"),
    ("https://huggingface.co/papers/hep-th/9901001", "hep-th/9901001"),
])
def test_hugging_face_paper_links(raw, expected):
    assert str(ids.parse(raw)) == expected


def test_other_hugging_face_pages_are_not_ids():
    for raw in ("https://huggingface.co/models/2410.00907", "https://huggingface.co/papers/", "https://huggingface.co/papers/x"):
        assert not ids.is_valid(raw)

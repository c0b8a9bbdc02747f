"""Where tests find recorded data: tests/data in the repository (a copy of the fixtures, the
first 20,000 arXiv listings and a link to the demo's Hugging Face archive), so a fresh clone
is self-contained. DAILYPAPERS_TEST_DATA points the tests at the full shared data instead."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("DAILYPAPERS_TEST_DATA", ROOT / "tests" / "data"))
FIXTURES = DATA / "fixtures"
LISTINGS = DATA / "arxiv_cs_listings.jsonl.gz"
HF = DATA / "hf_daily_papers.jsonl.gz"

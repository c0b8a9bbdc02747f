"""Full text and thumbnails of papers: the PDF fetched from arXiv (fetch), its text extracted
(extract) and set out in paragraphs (paragraphs), its first page rendered small (render), and
the paper served as Markdown with it (markdown). The worker job that runs them is job.py."""

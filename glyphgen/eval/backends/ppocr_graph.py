"""An equivalent, faster graph for PP-OCRv4's recognizer on CPU (needs the ``onnx`` package).

PP-LCNetV3, the backbone of PP-OCRv4's mobile recognizer, follows each of its 28 convolutions
with a "learnable affine block" (a scalar scale and shift), a hard-swish, and a second affine
block (PP-LCNetV3: https://github.com/PaddlePaddle/PaddleClas, ``legendary_models/pp_lcnet_v3.py``).
Exported to ONNX these become 8 element-wise nodes per convolution (``Mul Add Add Clip Mul Div
Mul Add``), which onnxruntime neither fuses nor keeps in its blocked (NCHWc) layout: about half
of the run time on 2 cores goes to them and to the layout reorders around them.

The rewrite, per convolution ``y = conv(x)``, with scalars ``a, b, c, d`` from the graph:

1) ``a * y + b`` is folded into the convolution: ``W' = a W``, ``B' = a B + b``;
2) ``hardswish(y) = y * clip(y + 3, 0, 6) / 6`` becomes ``y * HardSigmoid(y)`` (alpha 1/6,
   beta 1/2): the same function in 2 nodes instead of 4;
3) ``c * h + d`` is folded into the next convolution when that one has no padding (a 1x1
   pointwise convolution: ``W'' = c W``, ``B'' = B + d * sum(W)``). Before a padded
   convolution it stays: zero padding of ``c h + d`` is not zero padding of ``h``.

The result computes the same function up to float rounding (probabilities within 1e-5 of
the shipped graph; tests/eval/test_eval_backends.py checks that it reads the same text), and
runs about 1.4x faster (bench/eval_throughput.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

# Bump when the rewrite changes: recorded in reports beside the model's name.
FUSION_VERSION = 1


def fused_model_bytes(path: Path) -> tuple[bytes, dict[str, int]]:
    """The rewritten model, serialized, and what was rewritten. Raises ImportError without onnx."""
    import onnx

    model = onnx.load(str(path))
    stats = fuse_affine_hardswish(model)
    return model.SerializeToString(), stats


def fuse_affine_hardswish(model: Any) -> dict[str, int]:
    """Rewrite ``model`` (an ``onnx.ModelProto``) in place; returns counts of what changed."""
    from onnx import helper, numpy_helper

    graph = model.graph
    consts: dict[str, Any] = {}  # Constant node output name -> the Constant node
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            consts[node.output[0]] = node
    consumers: dict[str, list[Any]] = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)

    def value(name: str) -> np.ndarray | None:
        node = consts.get(name)
        return None if node is None else numpy_helper.to_array(node.attribute[0].t)

    def set_value(name: str, array: np.ndarray) -> None:
        tensor = numpy_helper.from_array(array.astype(np.float32), name)
        consts[name].attribute[0].t.CopyFrom(tensor)

    def only_consumer(name: str, op_type: str) -> Any | None:
        users = consumers[name]
        return users[0] if len(users) == 1 and users[0].op_type == op_type else None

    def scalar(node: Any) -> float | None:
        """The scalar constant operand of a binary Mul/Add, if it has one."""
        for name in node.input:
            v = value(name)
            if v is not None and v.size == 1:
                return float(v.ravel()[0])
        return None

    def own_weights(conv: Any) -> bool:
        """Weight and bias are constants used by this convolution alone (safe to change)."""
        return (
            len(conv.input) == 3
            and all(n in consts for n in conv.input[1:])
            and all(len(consumers[n]) == 1 for n in conv.input[1:])
        )

    removed: set[int] = set()
    replacement: dict[int, list[Any]] = {}  # id(last removed node) -> nodes emitted there
    stats: Counter[str] = Counter()
    for conv in list(graph.node):
        if conv.op_type != "Conv" or not own_weights(conv):
            continue
        y = conv.output[0]
        # 1) conv -> Mul(a) -> Add(b)
        mul_a = only_consumer(y, "Mul")
        add_b = mul_a and only_consumer(mul_a.output[0], "Add")
        if mul_a is None or add_b is None:
            continue
        a, b = scalar(mul_a), scalar(add_b)
        if a is None or b is None:
            continue
        # 2) z -> {Add(3) -> Clip(0, 6), z} -> Mul -> Div(6)
        z = add_b.output[0]
        users = sorted(consumers[z], key=lambda n: n.op_type)
        if [n.op_type for n in users] != ["Add", "Mul"]:
            continue
        add3, mul = users
        clip = only_consumer(add3.output[0], "Clip")
        div = only_consumer(mul.output[0], "Div")
        if (
            clip is None
            or div is None
            or clip.output[0] not in mul.input
            or scalar(add3) != 3.0
            or [_as_float(value(n)) for n in clip.input[1:]] != [0.0, 6.0]
            or scalar(div) != 6.0
        ):
            continue
        weight, bias = value(conv.input[1]), value(conv.input[2])
        assert weight is not None and bias is not None
        set_value(conv.input[1], weight * a)
        set_value(conv.input[2], bias * a + b)
        h = div.output[0]
        hsig = f"{h}__hardsigmoid"
        for node in (mul_a, add_b, add3, clip, mul):
            removed.add(id(node))
        replacement[id(div)] = [
            helper.make_node("HardSigmoid", [y], [hsig], alpha=1 / 6, beta=0.5, name=hsig),
            helper.make_node("Mul", [y, hsig], [h], name=f"{h}__hardswish"),
        ]
        stats["hardswish"] += 1
        # 3) h -> Mul(c) -> Add(d) -> unpadded Conv
        mul_c = only_consumer(h, "Mul")
        add_d = mul_c and only_consumer(mul_c.output[0], "Add")
        nxt = add_d and only_consumer(add_d.output[0], "Conv")
        if mul_c is None or add_d is None or nxt is None or not own_weights(nxt):
            stats["affine_kept"] += 1
            continue
        c, d = scalar(mul_c), scalar(add_d)
        pads = [v for att in nxt.attribute if att.name == "pads" for v in att.ints]
        auto_pad = [att.s for att in nxt.attribute if att.name == "auto_pad"]
        if c is None or d is None or any(pads) or auto_pad not in ([], [b"NOTSET"], [b"VALID"]):
            stats["affine_kept"] += 1
            continue
        w2, b2 = value(nxt.input[1]), value(nxt.input[2])
        assert w2 is not None and b2 is not None
        set_value(nxt.input[2], b2 + d * w2.sum(axis=(1, 2, 3)))
        set_value(nxt.input[1], w2 * c)
        removed.update((id(mul_c), id(add_d)))
        nxt.input[0] = h
        stats["affine_folded"] += 1

    # Rebuild the node list in its order, replacements where the hard-swish ended; then drop
    # the constants nothing reads any more (a, b, c, d, 3, 0, 6).
    nodes = []
    for node in graph.node:
        if id(node) in replacement:
            nodes.extend(replacement[id(node)])
        elif id(node) not in removed:
            nodes.append(node)
    used = {name for node in nodes for name in node.input} | {o.name for o in graph.output}
    nodes = [n for n in nodes if n.op_type != "Constant" or n.output[0] in used]
    del graph.node[:]
    graph.node.extend(nodes)
    return dict(stats)


def _as_float(v: np.ndarray | None) -> float | None:
    return None if v is None or v.size != 1 else float(v.ravel()[0])

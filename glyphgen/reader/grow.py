"""Growing a trained recognizer without starting over: more output classes, or a wider and
deeper net that computes what the trained one computes until training moves it.

Widening follows Net2WiderNet (Chen, Goodfellow and Shlens, "Net2Net", ICLR 2016, sec. 2.2):
each new channel copies an existing one (its input weights and its BatchNorm), and every
consumer of that channel divides its weights over the copies, so the sum it sees is
unchanged. Copies would then stay identical under training, so a little noise on their
input weights breaks the tie. A new context layer starts with its BatchNorm scale at zero:
its residual branch adds nothing until it learns to.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, cast

import torch
from torch import nn

from glyphgen.reader.net import LineRecognizer, NetConfig


@torch.no_grad()
def grow_vocabulary(model: LineRecognizer, new_size: int) -> LineRecognizer:
    """A copy of ``model`` whose classifier has ``new_size`` classes; old rows are kept and new
    ones start near the blank's bias, so nothing already learnt changes until training."""
    old = model.cfg.num_classes
    if new_size < old:
        raise ValueError(f"a vocabulary can only grow ({old} -> {new_size})")
    cfg = NetConfig(**{**model.cfg.to_dict(), "num_classes": new_size})  # type: ignore[arg-type]
    grown = LineRecognizer(cfg)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("classifier.")}
    grown.load_state_dict(state, strict=False)
    grown.classifier.weight[:old] = model.classifier.weight
    grown.classifier.bias[:old] = model.classifier.bias
    grown.classifier.weight[old:] *= 0.01
    grown.classifier.bias[old:] = model.classifier.bias[1:].min()
    return grown


def _larger(a: Any, b: Any) -> Any:
    """The larger of two sizes, or of two tuples of sizes position by position."""
    if isinstance(a, tuple):
        return tuple(max(x, y) for x, y in zip(a, b, strict=True))
    return max(a, b)


def larger_net(trained: NetConfig, asked: NetConfig) -> NetConfig:
    """Each size the larger of the trained net's and the asked one's (classes: the trained
    net's): what ``init`` plus a config's ``net`` section grows to, never shrinking."""
    sizes = {f.name: _larger(getattr(trained, f.name), getattr(asked, f.name))
             for f in fields(NetConfig) if f.name != "num_classes"}  # fmt: skip
    return NetConfig(**sizes, num_classes=trained.num_classes)


def check_growth(old: NetConfig, new: NetConfig) -> None:
    """Refuse a target net that is not at least as large as ``old`` in every dimension."""
    grown = larger_net(old, new)
    smaller = [
        f"{f.name} {getattr(old, f.name)} -> {getattr(new, f.name)}"
        for f in fields(NetConfig)
        if f.name != "num_classes" and getattr(grown, f.name) != getattr(new, f.name)
    ]
    if smaller:
        raise ValueError(
            "a trained recognizer can only grow (Net2Net widening keeps what it learnt); "
            f"smaller: {', '.join(smaller)}. Ask for at least the trained net's sizes, or "
            "train from zero without init"
        )


ChannelMap = tuple[torch.Tensor, torch.Tensor]  # (old channel of each new one, its share)
Conv = nn.Conv1d | nn.Conv2d
Norm = nn.BatchNorm1d | nn.BatchNorm2d


def _layers(module: nn.Module) -> list[tuple[Conv, Norm]]:
    """The convolutions in ``module``, in order, each with the BatchNorm right after it."""
    convs = [m for m in module.modules() if isinstance(m, Conv)]
    norms = [m for m in module.modules() if isinstance(m, Norm)]
    return list(zip(convs, norms, strict=True))


def _copies(old: int, new: int, gen: torch.Generator) -> ChannelMap:
    """Channel map of a widened layer: new channel j copies old channel ``index[j]`` (the
    first ``old`` are themselves); ``share[j]`` is 1 / (copies of that old channel)."""
    index = torch.cat([torch.arange(old), torch.randint(old, (new - old,), generator=gen)])
    share = 1.0 / torch.bincount(index, minlength=old)[index].float()
    return index, share


def _widen_conv(
    old: Conv,
    new: Conv,
    out_map: ChannelMap,
    in_map: ChannelMap | None,
    noise: float,
    gen: torch.Generator,
) -> None:
    weight = old.weight.index_select(0, out_map[0])  # (out, in, k...)
    if in_map is not None:
        shape = (1, -1) + (1,) * (weight.dim() - 2)
        weight = weight.index_select(1, in_map[0]) * in_map[1].view(shape)
    n_old = old.weight.shape[0]
    spread = noise * weight[:n_old].std()
    weight[n_old:] += spread * torch.randn(weight[n_old:].shape, generator=gen)
    new.weight.copy_(weight)
    if old.bias is not None and new.bias is not None:
        new.bias.copy_(old.bias.index_select(0, out_map[0]))


def _widen_norm(old: Norm, new: Norm, out_map: ChannelMap) -> None:
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(new, name).copy_(getattr(old, name).index_select(0, out_map[0]))


@torch.no_grad()
def widen(
    model: LineRecognizer, target: NetConfig, noise: float = 0.01, seed: int = 0
) -> LineRecognizer:
    """``model`` grown to ``target``'s widths, hidden size, embedding and context layers
    (each at least the model's; same classes). With ``noise=0`` the grown net's output
    equals the model's (to float rounding); the default noise moves it slightly so the copied
    channels can part ways under training."""
    old_cfg = model.cfg
    target = NetConfig(**{**target.to_dict(), "num_classes": old_cfg.num_classes})  # type: ignore[arg-type]
    check_growth(old_cfg, target)
    gen = torch.Generator().manual_seed(seed)
    grown = LineRecognizer(target).eval()

    # 1) the backbone: a chain of conv + BatchNorm pairs, each fed by the one before
    channel_map: ChannelMap | None = None  # the first conv reads the one grey channel
    for (oc, on), (nc, nn_) in zip(_layers(model.backbone), _layers(grown.backbone), strict=True):
        out_map = _copies(oc.out_channels, nc.out_channels, gen)
        _widen_conv(oc, nc, out_map, channel_map, noise, gen)
        _widen_norm(on, nn_, out_map)
        channel_map = out_map
    assert channel_map is not None
    hidden_map = channel_map  # the last backbone conv makes the per-step features

    # 2) residual context layers keep the hidden map on both sides; new ones add zero
    old_context = _layers(model.context)
    for i, (conv, norm) in enumerate(_layers(grown.context)):
        if i < len(old_context):
            _widen_conv(old_context[i][0], conv, hidden_map, hidden_map, noise, gen)
            _widen_norm(old_context[i][1], norm, hidden_map)
        else:
            norm.weight.zero_()
            norm.bias.zero_()

    # 3) projection to the embedding, and the classifier reading it
    embed_map = _copies(old_cfg.embed, target.embed, gen)
    old_project, new_project = cast(nn.Conv1d, model.project[0]), cast(nn.Conv1d, grown.project[0])
    _widen_conv(old_project, new_project, embed_map, hidden_map, noise, gen)
    index, share = embed_map
    grown.classifier.weight.copy_(model.classifier.weight.index_select(1, index) * share)
    grown.classifier.bias.copy_(model.classifier.bias)
    return grown.train(model.training)

"""07 · Attention and a tiny transformer: what it shows, and its two exercise checkers."""

from __future__ import annotations

import math
import re

import pytest

from tests.notebooks import _checkers
from tests.notebooks._nb import cell_tagged, mime_types, text_of

NB = "07_attention_and_transformers.ipynb"


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in:\n{text}"
    return float(match.group(1))


def test_attention_by_hand_matches_pytorch(executed):
    nb = executed(NB)
    lookup = text_of(cell_tagged(nb, "lookup"))
    assert "output : 20.65" in lookup  # pulled towards key 1's value
    assert "query x 16: weights [0.0, 1.0, 0.0, 0.0]  output 20.00" in text_of(
        cell_tagged(nb, "sharpness"))
    assert "scores (5, 5)  weights (5, 5)  out (5, 8)" in text_of(cell_tagged(nb, "by-hand"))
    assert _number(r"scaled_dot_product_attention\| = (\S+)",
                   text_of(cell_tagged(nb, "sdpa-compare"))) < 1e-5
    mha = text_of(cell_tagged(nb, "mha-compare"))
    assert _number(r"weights: max difference (\S+)", mha) < 1e-5
    assert _number(r"output:  max difference (\S+)", mha) < 1e-5
    heads = text_of(cell_tagged(nb, "heads"))
    assert "per head: (1, 2, 5, 5)" in heads and heads.rstrip().endswith("True")
    assert "image/png" in mime_types(cell_tagged(nb, "heatmap"))


def test_scale_table(executed):
    """Raw scores grow like sqrt(d) and saturate the softmax; scaled ones stay at std 1."""
    rows = text_of(cell_tagged(executed(NB), "scale-table")).splitlines()[1:]
    table = [[float(v) for v in row.split()] for row in rows]
    assert [int(r[0]) for r in table] == [4, 16, 64, 256]
    for d, raw_std, scaled_std, _, top_scaled in table:
        assert raw_std == pytest.approx(math.sqrt(d), rel=0.1)
        assert scaled_std == pytest.approx(1.0, abs=0.05)
        assert top_scaled < 0.3
    assert table[-1][3] > 0.85  # d = 256 unscaled: nearly one-hot


def test_masks(executed):
    nb = executed(NB)
    causal = text_of(cell_tagged(nb, "causal"))
    assert _number(r"is_causal=True\)\| = (\S+)", causal) < 1e-6
    conventions = text_of(cell_tagged(nb, "mask-conventions"))
    assert "(True = forbidden) agree: True" in conventions
    assert "match the causal weights by hand: True" in conventions
    assert conventions.rstrip().endswith("tensor([nan, nan, nan, nan, nan])")


def test_order_and_positions(executed):
    nb = executed(NB)
    assert text_of(cell_tagged(nb, "equivariance")).rstrip().endswith("input): True")
    positions = cell_tagged(nb, "positions")
    assert text_of(positions).rstrip().endswith("still equivariant? False")
    assert "image/png" in mime_types(positions)


def test_tiny_transformer(executed):
    nb = executed(NB)
    assert "parameters: 9450" in text_of(cell_tagged(nb, "model"))
    trained = cell_tagged(nb, "final-accuracy")
    text = text_of(trained)
    assert _number(r"accuracy per digit (\S+),", text) >= 0.95  # 1.000 on this seed
    assert _number(r"whole sequences (\S+)", text) >= 0.8
    assert "image/svg+xml" in mime_types(trained)  # the TrainingMonitor's static picture
    blind = text_of(cell_tagged(nb, "no-positions"))
    assert _number(r"accuracy per digit (\S+),", blind) < 0.6  # ~0.31: guessing from the bag
    # the trained attention is the anti-diagonal: query i reads key 7 - i
    seen = cell_tagged(nb, "trained-attention")
    text = text_of(seen)
    assert "predicted: [6, 2, 9, 5, 1, 4, 1, 3]" in text
    for head in (0, 1):
        keys = eval(_line(text, f"head {head}: ").split("key ", 1)[1])  # noqa: S307
        assert sum(k == 7 - i for i, k in enumerate(keys)) >= 6, keys
    assert "image/png" in mime_types(seen)


def _line(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(start))


# --- the exercise checkers, run in-process on right and wrong answers ----------------------------
def _scores(q, k):
    return q @ k.transpose(-2, -1)


def attention(t, q, k, v, causal=False, masked=None, scale=None, dim=-1):
    """A configurable attention: the right one by default, the typical mistakes by options."""
    s = _scores(q, k) * (1 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if causal:
        n = s.shape[-1]
        keep = t.ones(n, n, dtype=t.bool).tril()
        if masked == "flipped":
            keep = t.ones(n, n, dtype=t.bool).triu()
        if masked == "diagonal":
            keep = t.ones(n, n, dtype=t.bool).tril(-1)
        if masked == "zero":
            s = s.masked_fill(~keep, 0.0)
        elif masked == "after":
            return (t.softmax(s, dim) * keep) @ v
        elif masked == "big":
            s = s.masked_fill(~keep, -1e9)
        elif masked != "ignored":
            s = s.masked_fill(~keep, float("-inf"))
    return t.softmax(s, dim=dim) @ v


def _no_causal_argument(t, q, k, v):
    return attention(t, q, k, v)


ATTENTION = [
    # learner's answer (t, q, k, v, causal), is it right, what the checker must say
    pytest.param(lambda t, *a, causal=False: attention(t, *a, causal=causal), True, "Correct",
                 id="right"),
    pytest.param(lambda t, *a, causal=False: attention(t, *a, causal=causal, masked="big"),
                 True, "Correct", id="right-minus-1e9"),
    pytest.param(lambda t, q, k, v, causal=False: attention(t, q.float(), k.float(), v.float(),
                                                            causal=causal),
                 True, "Correct", id="right-float32"),
    pytest.param(lambda t, *a, causal=False: attention(t, *a, causal=causal, scale=1.0), False,
                 "You forgot the scale", id="no-scale"),
    pytest.param(lambda t, q, k, v, causal=False: attention(t, q, k, v, scale=1 / q.shape[-1]),
                 False, "divided the scores by d", id="scale-by-d"),
    pytest.param(lambda t, q, k, v, causal=False: attention(t, q, k, v,
                                                            scale=math.sqrt(q.shape[-1])),
                 False, "multiplied the scores by sqrt(d)", id="times-sqrt-d"),
    pytest.param(lambda t, q, k, v, causal=False: attention(t, q, k, v,
                                                            scale=1 / math.sqrt(k.shape[-2])),
                 False, "number of keys", id="sqrt-of-length"),
    pytest.param(lambda t, *a, causal=False: attention(t, *a, dim=-2), False,
                 "Softmax over the wrong dimension", id="softmax-dim-2"),
    pytest.param(lambda t, *a, causal=False: attention(t, *a, dim=0), False,
                 "Softmax over the batch dimension", id="softmax-dim-0"),
    pytest.param(lambda t, q, k, v, causal=False: _scores(q, k) / math.sqrt(q.shape[-1]) @ v,
                 False, "You skipped the softmax", id="no-softmax"),
    pytest.param(lambda t, q, k, v, causal=False: t.softmax(
        _scores(q, k) / math.sqrt(q.shape[-1]), -1), False, "You return the attention weights",
        id="weights"),
    pytest.param(lambda t, q, k, v, causal=False: (attention(t, q, k, v), None), False,
                 "not a tuple", id="tuple"),
    pytest.param(lambda t, q, k, v, causal=False: t.softmax(q @ k, -1) @ v, False,
                 "k.transpose(-2, -1)", id="no-transpose"),
    pytest.param(lambda t, q, k, v, causal=False: v[..., :3, :], False, "Not yet: your output",
                 id="other"),
    pytest.param(lambda t, q, k, v, causal=False: v.mean(), False, "Wrong shape: ()",
                 id="shape"),
    pytest.param(lambda t, q, k, v, causal=False: q.tolist(), False, "not list", id="list"),
    # the causal part
    pytest.param(_no_causal_argument, False, "causal=True) raised TypeError", id="no-argument"),
    pytest.param(lambda t, *a, causal=False: None if causal else attention(t, *a), False,
                 "Not done yet: without a mask it is right", id="causal-none"),
    pytest.param(lambda t, *a, causal=False: attention(t, *a, causal=causal, masked="ignored"),
                 False, "causal=True changes nothing", id="mask-ignored"),
    pytest.param(lambda t, *a, causal=False: attention(t, *a, causal=causal, masked="flipped"),
                 False, "Your mask is flipped", id="mask-flipped"),
    pytest.param(lambda t, *a, causal=False: attention(t, *a, causal=causal, masked="zero"),
                 False, "exp(0) = 1", id="mask-zero"),
    pytest.param(lambda t, *a, causal=False: attention(t, *a, causal=causal, masked="after"),
                 False, "after the softmax", id="mask-after-softmax"),
    pytest.param(lambda t, *a, causal=False: attention(t, *a, causal=causal, masked="diagonal"),
                 False, "hide the diagonal too", id="mask-diagonal"),
]


@pytest.mark.parametrize("library", ["nbtorch", "torch"])
@pytest.mark.parametrize(("answer", "right", "message"), ATTENTION)
def test_attention_checker(library, answer, right, message):
    module = _checkers.library(library)
    ns = _checkers.load(NB, ("exercise-attention", "checker-attention"), module)
    check = ns["check_attention"]
    if answer is _no_causal_argument:
        _checkers.expect(check, lambda q, k, v: answer(module, q, k, v), right, message)
    else:
        _checkers.expect(
            check, lambda q, k, v, causal=False: answer(module, q, k, v, causal=causal), right,
            message)


MASKS = [
    pytest.param(lambda t, n: t.ones(n, n, dtype=t.bool).triu(diagonal=1), True, "Correct",
                 id="bool"),
    pytest.param(lambda t, n: ~t.ones(n, n, dtype=t.bool).tril(), True, "Correct",
                 id="bool-inverted-tril"),
    pytest.param(lambda t, n: t.full((n, n), float("-inf")).triu(diagonal=1), True, "Correct",
                 id="float"),
    pytest.param(lambda t, n: t.nn.Transformer.generate_square_subsequent_mask(n), True,
                 "Correct", id="generate"),
    pytest.param(lambda t, n: t.full((n, n), -1e9).triu(diagonal=1), True, "Correct",
                 id="float-minus-1e9"),
    pytest.param(lambda t, n: t.ones(n, n, dtype=t.bool).tril(), False,
                 "True where attending is NOT allowed", id="sdpa-convention"),
    pytest.param(lambda t, n: t.ones(n, n, dtype=t.bool).triu(), False,
                 "also forbids the diagonal", id="bool-diagonal"),
    pytest.param(lambda t, n: t.full((n, n), float("-inf")).tril(diagonal=-1), False,
                 "blocks the past", id="float-flipped"),
    pytest.param(lambda t, n: t.full((n, n), float("-inf")).triu(), False,
                 "also blocks the diagonal", id="float-diagonal"),
    pytest.param(lambda t, n: t.ones(n, n).triu(diagonal=1), False, "added to the scores",
                 id="float-ones"),
    pytest.param(lambda t, n: t.ones(n, n, dtype=t.bool).triu(diagonal=2), False,
                 "exactly the pairs", id="bool-other"),
    pytest.param(lambda t, n: t.ones(n, n, dtype=t.long).triu(diagonal=1), False,
                 "refused the mask", id="int-mask"),
    pytest.param(lambda t, n: t.ones(n + 1, n + 1, dtype=t.bool).triu(diagonal=1), False,
                 "Wrong shape: (7, 7)", id="shape"),
    pytest.param(lambda t, n: [[False] * n] * n, False, "not list", id="list"),
]


@pytest.mark.parametrize("library", ["nbtorch", "torch"])
@pytest.mark.parametrize(("answer", "right", "message"), MASKS)
def test_mask_checker(library, answer, right, message):
    module = _checkers.library(library)
    check = _checkers.load(NB, ("exercise-mask", "checker-mask"), module)["check_mha_mask"]
    _checkers.expect(check, lambda n: answer(module, n), right, message)

"""CaHDC-RGA in a form that scores images fast on the CPU, behind one callable.

``fast_cahdc(model)`` returns ``f(images) -> CaHDCOutput`` for (N, 1, H, W) float tensors, in eval
mode and without autograd. The variants (issue 9, section 5), measured by bench/infer_cahdc.py:

- ``eager``: the module as it is (NCHW);
- ``channels-last``: weights and input in NHWC, which oneDNN's convolutions take without
  reordering every tensor (the 1-channel input and the 1-channel attention head otherwise
  spend as long in layout conversion as a 32-channel conv in arithmetic);
- ``compile``: ``torch.compile`` of the channels-last model with Inductor's weight freezing
  (convs pre-packed for oneDNN and fused with their ReLUs; compiled again for each new input
  size);
- ``onnxruntime``: exported to ONNX (opset 17) and run by ONNX Runtime's CPU provider.

All give the same scores within 1e-4 (bench/infer_cahdc.py checks it). ``DEFAULT_VARIANT`` is the
fastest measured here. MC dropout needs the dropout layers to sample, which only the eager forms
do: ``fast_cahdc`` refuses a model whose dropout is switched on in eval mode for the other two.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable

import torch
from torch import Tensor, nn

from inference.nets.cahdc_rga import CaHDCOutput, CaHDCRGA

VARIANTS = ("eager", "channels-last", "compile", "onnxruntime")
DEFAULT_VARIANT = "onnxruntime"

Scorer = Callable[[Tensor], CaHDCOutput]


def fast_cahdc(
    model: CaHDCRGA, variant: str = DEFAULT_VARIANT, threads: int | None = None
) -> Scorer:
    """A callable that scores (N, 1, H, W) images with ``model`` in the form ``variant``.

    ``threads``: intra-op threads for ONNX Runtime (torch's own setting serves the others);
    None takes torch's current ``torch.get_num_threads()``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    # eval() would switch off dropout that mc_dropout(True) switched on in an eval-mode model.
    sampling = not model.training and any(
        m.training and m.p > 0 for m in model.modules() if isinstance(m, nn.Dropout)
    )
    if sampling and variant in ("compile", "onnxruntime"):
        raise ValueError(f"MC dropout is on: use 'eager' or 'channels-last', not {variant!r}")
    if not sampling:
        model.eval()
    if variant == "eager":
        return _no_grad(model, channels_last=False)
    if variant == "channels-last":
        return _no_grad(model.to(memory_format=torch.channels_last), channels_last=True)
    if variant == "compile":
        return _compiled(model.to(memory_format=torch.channels_last))
    return _onnxruntime(model, threads or torch.get_num_threads())


def _no_grad(module: Callable[[Tensor], CaHDCOutput], channels_last: bool) -> Scorer:
    def score(images: Tensor) -> CaHDCOutput:
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            out = module(images)
        # Callers get plain contiguous tensors whatever the layout inside.
        return CaHDCOutput(*(t.contiguous() for t in out))

    return score


def _compiled(model: CaHDCRGA) -> Scorer:
    from torch._inductor import config

    compiled = torch.compile(model, dynamic=False)

    def score(images: Tensor) -> CaHDCOutput:
        # Freezing folds the weights in as constants, which lets Inductor pre-pack them for
        # oneDNN and fuse each conv with its ReLU (its CPU inference setting); it applies when
        # a new input shape is compiled, so it is on around every call, not only the first.
        with config.patch(freezing=True), torch.inference_mode():
            out = compiled(images.contiguous(memory_format=torch.channels_last))
        return CaHDCOutput(*(t.contiguous() for t in out))

    return score


def onnx_bytes(model: CaHDCRGA, sample_hw: tuple[int, int] = (96, 64)) -> bytes:
    """The model as an ONNX graph with batch, height and width left free."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of the dynamo one (which needs
        # onnxscript); it is the one torch==2.13 ships working with `onnx` alone.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model.eval(),
            (torch.zeros(1, model.extractor.stem.in_channels, *sample_hw),),
            buffer,
            dynamo=False,  # the TorchScript exporter needs only `onnx`, not onnxscript
            input_names=["images"],
            output_names=list(CaHDCOutput._fields),
            dynamic_axes={"images": {0: "n", 2: "h", 3: "w"}},
            opset_version=17,
        )
    return buffer.getvalue()


def _onnxruntime(model: CaHDCRGA, threads: int) -> Scorer:
    import onnxruntime as ort  # only this variant needs it

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(onnx_bytes(model), options, providers=["CPUExecutionProvider"])

    def score(images: Tensor) -> CaHDCOutput:
        feed = {"images": images.detach().float().contiguous().numpy()}
        return CaHDCOutput(*(torch.from_numpy(a) for a in session.run(None, feed)))

    return score


def fast_convnet4_trunk(model: nn.Module, threads: int | None = None) -> Callable[[Tensor], Tensor]:
    """ConvNet-4's deterministic trunk (its four conv blocks, flattened: `model.embed`) run by
    ONNX Runtime: about 2.5x eager PyTorch at 256 x 256 here (its 10 x 10 convolution on one
    input channel is slow in oneDNN). MC-dropout queries run it once per image and only the
    head T times (`inference.active.strategies.mc_dropout_passes(..., trunk=...)`). Equal to
    `model.embed` within 1e-5 (tests)."""
    import onnxruntime as ort

    width, height = model.input_size
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model.features.eval(),
            (torch.zeros(1, model.features[0].in_channels, height, width),),
            buffer,
            dynamo=False,
            input_names=["images"],
            output_names=["features"],
            dynamic_axes={"images": {0: "n"}},
            opset_version=17,
        )
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Torch runs the head between two trunk calls: ORT's threads spinning for work meanwhile
    # would take the cores from it.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

    def trunk(images: Tensor) -> Tensor:
        feed = {"images": images.detach().float().contiguous().numpy()}
        return torch.from_numpy(session.run(None, feed)[0]).flatten(1)

    return trunk

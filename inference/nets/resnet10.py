"""ResNet-10 from MONAI, set up as the MRI paper's baseline: 2-D, one grey channel."""

from __future__ import annotations

from torch import nn


def resnet10(n_outputs: int = 2, *, in_channels: int = 1, conv1_stride: int = 2) -> nn.Module:
    """MONAI's ResNet-10 (basic blocks, one per stage, widths 64/128/256/512) for 2-D images.

    Source: He et al. 2016 ("Deep residual learning", the MRI paper's reference [15]) as
    implemented by `monai.networks.nets.resnet10`. MONAI defaults to a stride-1 first
    convolution (MedicalNet's 3-D volumes); we set stride 2 as in He et al.'s stem, which the
    MRI paper's 512x512 slices also need to stay affordable on a CPU (4x fewer activations).
    Global average pooling makes any input size work; n_outputs=1 gives a regressor.
    """
    from monai.networks.nets import resnet10 as monai_resnet10

    if n_outputs < 1:
        raise ValueError("n_outputs must be at least 1")
    return monai_resnet10(
        spatial_dims=2,
        n_input_channels=in_channels,
        conv1_t_stride=conv1_stride,
        num_classes=n_outputs,
    )

"""Moving a model out of descent: ONNX export, and PyTorch both ways.

``to_onnx`` needs the ``onnx`` package (``pip install 'descent[onnx]'``), ``to_torch``
and ``from_torch`` need PyTorch; each is imported only when called.
"""

from descent.interop.onnx_export import to_onnx
from descent.interop.torch_convert import from_torch, to_torch

__all__ = ["from_torch", "to_onnx", "to_torch"]

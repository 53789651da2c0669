"""lamina.onnx: export a model to ONNX by tracing one forward pass (torch.onnx.export's names).

    lamina.onnx.export(model, example_input, "model.onnx")

See ``export`` and docs/ARCHITECTURE.md ("ONNX export") for how tracing works and how to add an
op mapping. Needs the ``onnx`` Python package."""
from ._export import export, supported_ops, supported_modules

__all__ = ["export", "supported_ops", "supported_modules"]

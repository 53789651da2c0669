"""lamina.onnx: export a model to ONNX by tracing one forward pass (torch.onnx.export's names).

    lamina.onnx.export(model, example_input, "model.onnx")

See ``export`` and docs/ARCHITECTURE.md ("ONNX export") for how tracing works and how to add an
op mapping. Needs the ``onnx`` Python package (and NumPy); both are imported only when an export
runs, so ``import lamina`` does not need them."""

__all__ = ["export", "supported_ops", "supported_modules"]


def export(model, example_input, path, input_names=None, output_names=None, opset_version=17, dynamic_axes=None,
           verbose=False):
    """Writes `model` as an ONNX model to `path` by tracing one forward pass on `example_input`
    (a tensor or a tuple of arguments, tuples of tensors nested: flattened in order) in eval
    mode; returns the onnx.ModelProto. Shapes are
    static except axis 0 of inputs/outputs named in `dynamic_axes` (torch's format). An op or
    layer without an ONNX mapping raises lamina.NotImplementedError naming it. See
    lamina.onnx._export.export for details."""
    from ._export import export as _export
    return _export(model, example_input, path, input_names=input_names, output_names=output_names,
                   opset_version=opset_version, dynamic_axes=dynamic_axes, verbose=verbose)


def supported_ops():
    """Names of the lamina functions and Tensor methods that export maps to ONNX."""
    from ._export import supported_ops as _ops
    return _ops()


def supported_modules():
    """Names of the lamina.nn layers exported as ONNX nodes."""
    from ._export import supported_modules as _mods
    return _mods()

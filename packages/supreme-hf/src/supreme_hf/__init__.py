"""Hugging Face datasets for SUPREME: ``datasets = ["hf:ORG/NAME"]``.

Any image-classification dataset of the Hugging Face Hub, or a local directory written by
``save_to_disk``, Parquet files or an ``imagefolder`` directory, becomes a SUPREME dataset
by name; its ``[dataset."hf:ORG/NAME"]`` table says where it is and which columns hold the
images and labels (:class:`~supreme_hf.config.HfConfig`, docs/datasets.md).
"""

from supreme_hf.config import HfConfig
from supreme_hf.dataset import HfDataset

__all__ = ["HfConfig", "HfDataset"]

"""Augmentation lab: the transform catalogue, the pipeline model, its files, previews and timings.

The trainer and the loader need only:
    load_pipeline(path) -> A.Compose            # a file saved by the page, A.save or a preset, validated
    resolve_pipeline("competition" | path)      # a preset name or a file path -> the file's Path
(the DataLoader's worker_init_fn, which reseeds each worker's copy of the pipeline, is
core.loader.seed_worker)
"""
from core.augment.catalogue import catalogue, get_entry
from core.augment.pipeline import (LibraryStep, OneOf, Pipeline, Step, build_pipeline, build_torchvision, new_one_of,
                                   new_step, reseed)
from core.augment.preset_files import load_preset, preset_names, preset_path, resolve_pipeline
from core.augment.serialize import (load_pipeline, parse_pipeline, pipeline_to_dict, pipeline_to_text,
                                    python_snippet, read_pipeline, save_pipeline)

__all__ = ["catalogue", "get_entry", "LibraryStep", "OneOf", "Pipeline", "Step", "build_pipeline", "build_torchvision",
           "new_one_of", "new_step", "reseed", "load_preset", "preset_names", "preset_path",
           "resolve_pipeline", "load_pipeline", "parse_pipeline", "pipeline_to_dict", "pipeline_to_text",
           "python_snippet", "read_pipeline", "save_pipeline"]

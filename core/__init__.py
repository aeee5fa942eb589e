"""Mask Lab core: data, augmentation, loading and training for the face-mask competition.

Pages, the CLI and tests all call the same plain functions found here by name.
"""

"""Shared helpers for the deep-learning foundations course: checks, gradient checking, examples,
plotting and widgets. Students receive this package; it holds no exercise solutions."""

__version__ = "0.1.0"

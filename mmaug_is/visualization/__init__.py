"""Registered visualizers (mmdet ``VISUALIZERS``)."""
from .browse import draw_training_sample, mark_pasted
from .outlines import OutlineVisualizer, draw_outlines

__all__ = ['OutlineVisualizer', 'draw_outlines', 'draw_training_sample', 'mark_pasted']

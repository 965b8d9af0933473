"""Registered visualizers (mmdet ``VISUALIZERS``)."""
from .outlines import OutlineVisualizer, draw_outlines

__all__ = ['OutlineVisualizer', 'draw_outlines']

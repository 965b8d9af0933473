"""``argparse`` value types that check an option when the command line is read.

A bad value stops the tool before any work with argparse's one-line error, which names
the option, e.g. ``error: argument --size: must be an integer >= 8, got '0'`` (exit 2).
"""
import argparse

__all__ = ['at_least', 'fraction', 'int_list']


def at_least(low, kind=int):
    """Type of a number (``kind``: ``int`` or ``float``) that must be ``>= low``."""
    noun = 'an integer' if kind is int else 'a number'

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'must be {noun} >= {low}, got {text!r}') from None
        if not value >= low:  # also refuses nan
            raise argparse.ArgumentTypeError(f'must be {noun} >= {low}, got {text!r}')
        return value

    parse.__name__ = f'{kind.__name__} >= {low}'
    return parse


def fraction(text):
    """Type of a number in ``(0, 1]``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'must be a number in (0, 1], got {text!r}') from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f'must be a number in (0, 1], got {text!r}')
    return value


def int_list(low=0, allow_empty=False):
    """Type of comma-separated integers, each ``>= low`` (``''``: none, if allowed)."""
    wanted = f'comma-separated integers >= {low}'

    def parse(text):
        parts = [part.strip() for part in text.split(',') if part.strip()]
        if not parts and not allow_empty:
            raise argparse.ArgumentTypeError(f'must be {wanted}, got {text!r}')
        try:
            values = tuple(int(part) for part in parts)
        except ValueError:
            raise argparse.ArgumentTypeError(f'must be {wanted}, got {text!r}') from None
        if any(value < low for value in values):
            raise argparse.ArgumentTypeError(f'must be {wanted}, got {text!r}')
        return values

    parse.__name__ = wanted
    return parse

"""Former home of the nurture ROI code, now split by concern (see :mod:`leadnb.roi`).

Kept only while ``tests/test_asof.py`` reaches the analysis cut here as ``_clip_as_of``; once it
uses :func:`leadnb.roi.monthly.clip_as_of`, this module goes (the params layer already parses
the section with ``leadnb.roi:RoiConfig``).
"""

from leadnb.roi.monthly import clip_as_of as _clip_as_of
from leadnb.roi.params import RoiConfig

__all__ = ["RoiConfig", "_clip_as_of"]

"""Former home of the nurture ROI code, now split by concern (see :mod:`leadnb.roi`).

Kept only while the params layer names the section parser ``"leadnb.roi.nurture:RoiConfig"``
and ``tests/test_asof.py`` reaches the analysis cut here; both move to ``leadnb.roi:RoiConfig``
and :func:`leadnb.roi.monthly.clip_as_of`, then this module goes.
"""

from leadnb.roi.monthly import clip_as_of as _clip_as_of
from leadnb.roi.params import RoiConfig

__all__ = ["RoiConfig", "_clip_as_of"]

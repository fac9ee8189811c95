"""leadnb: tested metric logic behind the lead-analysis notebooks.

Every number a notebook shows comes from a function in this package. Functions take and return
pandas DataFrames with the canonical column names of the public contract; ``as_of`` is always an
argument, never the clock.
"""

from leadnb.errors import DataError, LeadnbError, NotEnoughData, ParamsError

__version__ = "0.1.0"

__all__ = ["DataError", "LeadnbError", "NotEnoughData", "ParamsError", "__version__"]

"""``python -m leadnb``: the same as the ``leadnb`` command."""

from leadnb.run.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

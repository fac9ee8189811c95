"""``python -m leadnb``: the same as the ``leadnb`` command."""

from leadnb.run.cli import entry

if __name__ == "__main__":
    entry()

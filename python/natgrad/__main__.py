"""``python -m natgrad``: see :mod:`natgrad.cli`."""

from natgrad.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

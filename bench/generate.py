"""The benchmark corpus: ``python bench/generate.py --lines N [--form syslog] -o FILE``.

The generator lives in the test kit (:mod:`esalog.testing.generate`), shared by tests and bench."""

from esalog.testing.generate import main

if __name__ == "__main__":
    main()

"""The optional compiled core (``esalog._core``): built when a C compiler and Cython are at hand.

Everything else is in pyproject.toml. A failed build leaves the pure-Python path, and says so once:
``esalog --version`` names the core that runs.
"""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """Build the extension when possible; a failure (no compiler, no Cython) warns instead of failing."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # any build failure leaves the pure-Python path
            self.warn(f"esalog: compiled core not built ({exc}); the pure-Python path runs")

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self.warn(f"esalog: compiled core not built ({exc}); the pure-Python path runs")


setup(
    ext_modules=[Extension("esalog._core", ["src/esalog/_core.pyx"], optional=True,
                           extra_compile_args=["-O2"])],
    cmdclass={"build_ext": OptionalBuildExt},
)

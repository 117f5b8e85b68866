"""The optional compiled core (``esalog._core``): built when a C compiler and Cython are at hand.

Everything else is in pyproject.toml. A failed build leaves the pure-Python path, and says so once:
``esalog --version`` names the core that runs. Where PCRE2's headers are installed (``pcre2-config``,
Debian's libpcre2-dev), the core also uses PCRE2's JIT for the rules it proves equal to Python ``re``.
"""

import shlex
import shutil
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def pcre2_flags() -> dict[str, list]:
    """Compiler and linker settings for PCRE2, empty when its headers are not installed."""
    config = shutil.which("pcre2-config")
    if config is None:
        return {}
    try:
        cflags = subprocess.run([config, "--cflags"], capture_output=True, text=True, check=True).stdout
        libs = subprocess.run([config, "--libs8"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {"define_macros": [("ESALOG_HAVE_PCRE2", "1")], "extra_compile_args": shlex.split(cflags),
            "extra_link_args": shlex.split(libs)}


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


pcre2 = pcre2_flags()
setup(
    ext_modules=[Extension("esalog._core", ["src/esalog/_core.pyx"], optional=True, depends=["src/esalog/_pcre2.h"],
                           define_macros=pcre2.get("define_macros", []),
                           extra_compile_args=["-O2", *pcre2.get("extra_compile_args", [])],
                           extra_link_args=pcre2.get("extra_link_args", []))],
    cmdclass={"build_ext": OptionalBuildExt},
)

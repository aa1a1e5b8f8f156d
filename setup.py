"""Builds the bytelite Python package (pyproject.toml has the metadata): the extension modules
bytelite._runtime and bytelite._train are CMake targets (python/CMakeLists.txt), built here and
installed, with libbytelite, into the package directory of the wheel.

Environment variables:
  BYTELITE_BUILD_DIR   CMake build directory (default: a directory under setuptools' build_temp)
  BYTELITE_CMAKE_ARGS  extra CMake arguments, e.g. "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
  BYTELITE_BUILD_JOBS  parallel build jobs (default: the number of CPUs)
"""

import os
import shlex
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def run(self):
        build_dir = os.environ.get("BYTELITE_BUILD_DIR") or os.path.join(
            os.path.abspath(self.build_temp), "cmake")
        configure = ["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                     "-DBYTELITE_BUILD_TESTS=OFF", "-DBYTELITE_PYTHON=ON",
                     "-DPython_EXECUTABLE=" + sys.executable]
        configure += shlex.split(os.environ.get("BYTELITE_CMAKE_ARGS", ""))
        subprocess.check_call(configure)
        jobs = os.environ.get("BYTELITE_BUILD_JOBS", str(os.cpu_count() or 1))
        subprocess.check_call(["cmake", "--build", build_dir, "--target", "bytelite_python",
                               "-j", jobs])
        subprocess.check_call(["cmake", "--install", build_dir, "--component", "python",
                               "--prefix", os.path.abspath(self.build_lib)])


setup(ext_modules=[CMakeExtension("bytelite._runtime"), CMakeExtension("bytelite._train")],
      cmdclass={"build_ext": CMakeBuild})

"""What a results file measured, for the Python side of the benchmarks (the twin of
bench/harness.h's provenance()): the commit and whether the measured code had uncommitted
changes, the build type and flags, the thread backend, the CPU model and the date.

Every results file carries it as "provenance"; bench/report.py joins only files whose commit and
machine agree and calls a committed report stale when the measured code (bench/measured_paths.txt)
changed after its commit. Standard library only.
"""

import datetime
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measured_paths():
    """The git pathspecs of bench/measured_paths.txt."""
    with open(os.path.join(ROOT, "bench", "measured_paths.txt")) as f:
        lines = [line.strip() for line in f]
    return [line for line in lines if line and not line.startswith("#")]


def git(*args):
    """git's stdout in the repository, or None when git or the repository is unavailable."""
    try:
        out = subprocess.run(["git", "-C", ROOT] + list(args), stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.decode("utf-8", "replace")


def commit():
    """(HEAD's commit, whether the measured paths have uncommitted changes)."""
    head = git("rev-parse", "HEAD")
    if head is None:
        return "unknown", False
    changes = git("--no-optional-locks", "status", "--porcelain", "--untracked-files=no", "--",
                  *measured_paths())
    return head.strip(), bool(changes and changes.strip())


def cpu_model():
    """/proc/cpuinfo's 'model name' ("" when unavailable)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def provenance(build_type, flags, thread_backend, **extra):
    """The "provenance" object: the keys harness.h writes, then `extra`."""
    sha, dirty = commit()
    out = {
        "commit": sha,
        "dirty": dirty,
        "build_type": build_type,
        "flags": flags,
        "thread_backend": thread_backend,
        "cpu": cpu_model(),
        "hardware_threads": os.cpu_count(),
        "date": utc_now(),
    }
    out.update(extra)
    return out


def app_version(app):
    """What `app --version` prints (the commit the binary was built from, which can differ from
    the checkout's HEAD that provenance() records), or None when it cannot be run."""
    try:
        run = subprocess.run([app, "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    return run.stdout.strip() or None


def ember_build(build_dir):
    """(build type, flags) of an ember build dir, read from its CMakeCache.txt, as
    bench/CMakeLists.txt describes them (None, None when there is no cache)."""
    cache = {}
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            for line in f:
                if ":" in line and "=" in line and not line.startswith(("#", "//")):
                    key, value = line.rstrip("\n").split("=", 1)
                    cache[key.split(":", 1)[0]] = value
    except OSError:
        return None, None
    build_type = cache.get("CMAKE_BUILD_TYPE", "")
    flags = " ".join(x for x in (cache.get("CMAKE_CXX_FLAGS", ""),
                                 cache.get("CMAKE_CXX_FLAGS_" + build_type.upper(), "")) if x)
    if cache.get("EMBER_NATIVE", "OFF").upper() in ("ON", "1", "TRUE", "YES"):
        flags += " -march=native"
    else:
        flags += " (x86-64 baseline; kernels also for avx2,avx512, picked at run time)"
    return build_type, flags.strip()


EMBER_THREAD_BACKEND = "ember thread pool (core/src/parallel.cpp)"

"""matplotlib for the plot scripts, installed on first use and set to the PNG backend.

    from pyplot_setup import plt

pip first; Debian's system Python refuses a plain pip install (PEP 668), so then pip with
--break-system-packages, then apt-get python3-matplotlib.
"""
import subprocess
import sys


def _install():
    attempts = [[sys.executable, "-m", "pip", "install", "-q", "matplotlib"],
                [sys.executable, "-m", "pip", "install", "-q", "--break-system-packages", "matplotlib"],
                ["apt-get", "install", "-y", "-q", "python3-matplotlib"]]
    for command in attempts:
        try:
            if subprocess.call(command) == 0:
                return
        except OSError:
            continue
    sys.exit("could not install matplotlib (tried pip and apt-get python3-matplotlib)")


try:
    import matplotlib
except ImportError:
    _install()
    import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402,F401

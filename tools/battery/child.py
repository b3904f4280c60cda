"""A battery child process: ``python tools/battery/child.py`` with pickled cases on stdin (see core)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from battery.core import child_main  # noqa: E402

if __name__ == "__main__":
    child_main()

"""`python -m skype_etl_gui.etl.run.worker`: the producer as a process of its own (settings on stdin).

A module apart from ipc.py so that what it pickles names the real module, not `__main__`.
"""

import sys

from skype_etl_gui.etl.run.ipc import worker_main

if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))

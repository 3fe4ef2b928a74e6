"""`python -m skype_etl_gui.etl.run.rederive_worker`: a reprocess's reading and deriving as a process of its own.

A module apart from reprocess.py so that what it pickles names the real module, not `__main__`.
"""

import sys

from skype_etl_gui.etl.run.reprocess import worker_main

if __name__ == "__main__":
    sys.exit(worker_main())

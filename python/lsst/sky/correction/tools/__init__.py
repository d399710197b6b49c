"""Tools built on the library, not part of it: the demo, the validation and the peers.

* `demo`: ``make demo`` (simulate a visit into a repository, ``pipetask run``,
  previews and a summary against the truth).
* `validation`: sky correction measured against simulated truth, beside the
  peers, with figures (``python -m lsst.sky.correction.tools.validation``).
* `peers`: the per-detector sep and photutils backgrounds the validation and
  the benchmarks compare with.

They import the library; nothing in the library imports them.  Their extra
dependencies (matplotlib, sep, photutils) are the ``plot`` and ``bench``
extras.
"""

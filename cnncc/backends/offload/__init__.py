"""Generic offloading accelerator backend (``offload``): on-chip memory + PU + DMA; per layer the exact optimum
of the regular strategy space (tile sizes with a ragged last tile x loop order x residency; ``exhaustive.py``),
certified by z3 (``certify.py``), checked by a step-level z3 search on small decompositions (``steplevel.py``)
and replayed by an independent simulator (``simulate.py``). Entry points: ``backend.OffloadBackend`` and the
typed ``spec.OffloadSpec``; layers become problems in ``layers.py``, one shape is solved in ``solve.py``."""

"""Arm Ethos-U65 / Ethos-U55 backend: a Vela-calibrated analytic performance model (see
shared/reference/ethos-u65.md). The typed spec is :mod:`.spec`, the Backend class :mod:`.backend` (registered in
:mod:`cnncc.backends.registry`)."""

"""Test oracle: Vela 5.2.0's own weight encoder (the MLW encoder inside ``ethosu.regor``), called through its
exported C entry point ``ml_encode_ethosu_stream`` with ctypes, exactly as Regor's ``mle_encode_proxy`` calls it
(128 Ki-value buffering, no flags). ``None`` when ethos-u-vela is not installed."""

from __future__ import annotations

import ctypes
import glob
import importlib.util
import os

import numpy as np


class _Result(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("length", ctypes.c_int32), ("source", ctypes.c_int32),
                ("sections", ctypes.c_void_p), ("section_count", ctypes.c_int32)]


class _Params(ctypes.Structure):
    _fields_ = [("hint", ctypes.c_int32), ("flags", ctypes.c_uint16), ("realloc", ctypes.c_void_p)]


class _State(ctypes.Structure):
    _fields_ = [("new_dim", ctypes.c_uint8), ("end_dim", ctypes.c_uint8), ("eos", ctypes.c_bool)]


_SOURCE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_int32, ctypes.POINTER(_State), ctypes.POINTER(ctypes.c_int16),
                           ctypes.c_int32, ctypes.c_void_p)


def _library():
    spec = importlib.util.find_spec("ethosu")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = [p for d in spec.submodule_search_locations for p in glob.glob(os.path.join(d, "regor*.so"))]
    if not found:
        return None
    lib = ctypes.CDLL(found[0])
    lib.ml_encode_ethosu_stream.argtypes = [ctypes.POINTER(_Result), ctypes.POINTER(_Params), _SOURCE,
                                            ctypes.c_void_p, ctypes.c_void_p]
    lib.ml_encode_ethosu_stream.restype = ctypes.c_int32
    lib.mle_free.argtypes = [ctypes.POINTER(_Result)]
    return lib


LIB = _library()


def vela_stream_bytes(stream: np.ndarray) -> int:
    """Bytes Vela's encoder writes for one weight stream (int16 values in read order)."""
    return len(vela_stream_data(stream))


def vela_stream_data(stream: np.ndarray) -> bytes:
    """The bytes Vela's encoder writes for one weight stream (for debugging the size model)."""
    assert LIB is not None
    data = np.ascontiguousarray(np.asarray(stream, np.int16).ravel())
    pos = [0]

    def source(query, state, buf, size, arg):
        n = min(size, data.size - pos[0])
        if n:
            ctypes.memmove(buf, data.ctypes.data + 2 * pos[0], 2 * n)
        pos[0] += n
        state[0].eos = n < size
        return n

    cb = _SOURCE(source)
    res, params = _Result(), _Params(128 * 1024, 0, None)
    if LIB.ml_encode_ethosu_stream(ctypes.byref(res), ctypes.byref(params), cb, None, None) < 0:
        raise RuntimeError("Vela's weight encoder failed")
    out = ctypes.string_at(res.data, res.length)
    LIB.mle_free(ctypes.byref(res))
    return out

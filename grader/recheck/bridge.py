"""A data-only bridge between the trusted test runner and the process that runs student code.

The clean re-check (``grader.recheck``) runs test cells in one process and student code in
another, sandboxed one. Only data crosses between them: numbers, strings, arrays, lists, tuples,
dicts, random generators, and references to objects that stay on their own side (a student's
function, a test's stand-in). Nothing is pickled or unmarshalled, so nothing the student side
sends can run code on the test side, and the test side decides by itself whether a check passed.

Wire format: each message is a 4-byte big-endian length, a JSON header and the raw bytes of the
arrays it carries (``"blobs"``: their lengths). Values are tagged JSON objects (``"t"``).
A call's mutable arguments (arrays, lists, dicts, generators) are numbered in the order they are
encoded (``"slot"``); the answer sends back the new content of those the call changed, so that a
function that modifies its input in place is seen doing so.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import math
import socket
import struct
import sys
import time
import types
import warnings

import numpy as np

MAX_MESSAGE = 64 * 2**20  # bytes; a course value is far smaller
READ_SIZE = 1 << 18  # bytes asked of the socket at once
MAX_DEPTH = 64
MAX_ITEMS = 1_000_000  # encoded values in one message
# Modules whose objects each side takes from its own copy (np.exp, checks), never by reference.
SHARED_MODULES = ("numpy", "helpers", "math")
DTYPES = {np.dtype(t).str for t in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128")}
# Exceptions re-raised as themselves on the other side; any other becomes its nearest base here.
EXCEPTIONS = {cls.__name__: cls for cls in (
    ArithmeticError, AssertionError, AttributeError, FloatingPointError, IndexError, KeyError,
    LookupError, MemoryError, NameError, NotImplementedError, OverflowError, RecursionError,
    RuntimeError, StopIteration, TimeoutError, TypeError, UnboundLocalError, ValueError,
    ZeroDivisionError)}
WARNINGS = {cls.__name__: cls for cls in (
    Warning, UserWarning, DeprecationWarning, PendingDeprecationWarning, RuntimeWarning,
    FutureWarning, SyntaxWarning, ImportWarning, UnicodeWarning, BytesWarning, ResourceWarning)}
BIT_GENERATORS = {"PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM,
                  "MT19937": np.random.MT19937, "Philox": np.random.Philox, "SFC64": np.random.SFC64}
# What the test side lends to student code: functions written in the tests (stand-ins, lambdas).
LENDABLE = (types.FunctionType, types.MethodType, functools.partial)


class BridgeError(Exception):
    """The other side sent something that is not a valid message, or went away."""


class BridgeClosed(BridgeError):
    """The other side closed the bridge (it exited, crashed or was killed)."""


class BridgeTimeout(BridgeError, TimeoutError):
    """The other side did not answer before ``Peer.deadline``."""


class BridgedError(Exception):
    """An exception of the other side whose type has no counterpart here."""


# ---------------------------------------------------------------- shared modules

def _shared(module_name) -> bool:
    return isinstance(module_name, str) and any(
        module_name == m or module_name.startswith(m + ".") for m in SHARED_MODULES)


def shared_name(obj) -> tuple[str, str] | None:
    """(module, name) when ``obj`` is a shared module or one of its attributes (``np.exp``)."""
    if isinstance(obj, types.ModuleType):
        name = vars(obj).get("__name__")
        return (name, "") if _shared(name) and sys.modules.get(name) is obj else None
    try:
        module, name = getattr(obj, "__module__", None), getattr(obj, "__name__", None)
    except Exception:  # noqa: BLE001 - a student object whose attributes raise
        return None
    if not (_shared(module) and isinstance(name, str)):
        return None
    owner = sys.modules.get(module)
    if owner is not None and vars(owner).get(name) is obj:
        return module, name
    if vars(np).get(name) is obj:  # ufuncs and re-exports name a module they do not live in
        return "numpy", name
    return None


def _resolve_shared(module: str, name: str):
    owner = sys.modules.get(module) if _shared(module) else None
    if owner is None:
        raise BridgeError(f"no shared module {module!r} here")
    if not name:
        return owner
    if name not in vars(owner):
        raise BridgeError(f"{module}.{name} does not exist here")
    return vars(owner)[name]


# ---------------------------------------------------------------- references

class Remote:
    """An object that lives on the other side: calling it or reading an attribute asks that side."""

    __slots__ = ("_peer", "_id", "_label", "__weakref__")
    _OWN = frozenset({"_peer", "_id", "_label", "__class__"})
    # Dunder attributes read from the remote object; every other dunder is this proxy's own.
    _FORWARDED = frozenset({"__name__", "__qualname__", "__module__", "__doc__", "__code__",
                            "__globals__", "__defaults__", "__kwdefaults__", "__wrapped__"})

    def __init__(self, peer: Peer, handle: int, label: str):
        object.__setattr__(self, "_peer", peer)
        object.__setattr__(self, "_id", handle)
        object.__setattr__(self, "_label", label)

    def __getattribute__(self, name):
        if name in Remote._OWN or (name.startswith("__") and name not in Remote._FORWARDED):
            return object.__getattribute__(self, name)
        peer = object.__getattribute__(self, "_peer")
        return peer.request("getattr", target=object.__getattribute__(self, "_id"), name=name)

    def __setattr__(self, name, value):
        raise AttributeError("objects of student code are read-only here")

    def __call__(self, *args, **kwargs):
        return object.__getattribute__(self, "_peer").call(self, args, kwargs)

    def __iter__(self):
        peer = object.__getattribute__(self, "_peer")
        return iter(peer.request("items", target=object.__getattribute__(self, "_id")))

    def __repr__(self):
        return f"<{object.__getattribute__(self, '_label')} of the other side>"


def handle_of(remote: Remote) -> int:
    return object.__getattribute__(remote, "_id")


# ---------------------------------------------------------------- encoding

class Encoder:
    """Values to tagged JSON plus blobs.

    ``received`` are the mutable arguments of the request being answered: any of them found in
    the value is sent as ``{"t": "r", "slot": k}``, a reference to the caller's own object.
    """

    def __init__(self, peer: Peer, received: list | None = None):
        self.peer = peer
        self.blobs: list[bytes] = []
        self.slots: list = []  # slot -> mutable object of this message (kept alive: ids stay unique)
        self._slot_of: dict[int, int] = {}
        self.received = received or []
        self._received_of = {id(o): i for i, o in enumerate(self.received)}
        self._count = 0

    def _blob(self, data: bytes) -> int:
        self.blobs.append(data)
        return len(self.blobs) - 1

    def encode(self, value, depth: int = 0, *, as_content: bool = False):
        self._count += 1
        if depth > MAX_DEPTH or self._count > MAX_ITEMS:
            raise BridgeError("a value too deep or too large to send")
        if not as_content:
            k = self._received_of.get(id(value))
            if k is not None and self.received[k] is value:
                return {"t": "r", "slot": k}
        cls = type(value)
        if value is None:
            return {"t": "n"}
        if cls is bool:
            return {"t": "b", "v": value}
        if issubclass(cls, np.generic):
            return self._scalar(value)
        # Subclasses of the plain types are read with the base type's own methods: a student's
        # __eq__, __float__ or __iter__ plays no part in what is sent.
        if issubclass(cls, bool):
            return {"t": "b", "v": bool(int.__index__(value))}
        if issubclass(cls, int):
            text = int.__repr__(value)
            if len(text) > 5000:
                raise BridgeError("an integer too large to send")
            return {"t": "i", "v": text}
        if issubclass(cls, float):
            return {"t": "f", "v": float.hex(float.__float__(value))}
        if issubclass(cls, complex):
            plain = complex.__complex__(value)
            return {"t": "c", "v": [float.hex(plain.real), float.hex(plain.imag)]}
        if issubclass(cls, str):
            return {"t": "s", "v": str.__str__(value)}
        if issubclass(cls, bytes | bytearray):
            return {"t": "y", "blob": self._blob(bytes(value))}
        if issubclass(cls, tuple):
            return {"t": "u", "v": [self.encode(v, depth + 1) for v in tuple.__iter__(value)]}
        if issubclass(cls, frozenset | set):
            items = list(set.__iter__(value)) if issubclass(cls, set) else list(frozenset.__iter__(value))
            return {"t": "e", "v": [self.encode(v, depth + 1) for v in items]}
        mutable = issubclass(cls, np.ndarray | list | np.random.Generator) or (
            issubclass(cls, dict) and "__builtins__" not in value and dict.__len__(value) <= 100_000)
        if mutable:
            k = self._slot_of.get(id(value))
            if k is not None:
                return {"t": "same", "slot": k}
            k = self._slot_of[id(value)] = len(self.slots)
            self.slots.append(value)
            return self._mutable(value, cls, k, depth)
        shared = shared_name(value)
        if shared is not None and (not shared[1] or self.peer.role == "tests"):
            return {"t": "q", "m": shared[0], "n": shared[1]}
        return self._reference(value)

    def _mutable(self, value, cls, k: int, depth: int) -> dict:
        if issubclass(cls, np.ndarray):
            plain = np.ndarray.view(value, np.ndarray)  # the real buffer, not a subclass's view of it
            if plain.dtype.str not in DTYPES and plain.dtype.newbyteorder("=").str in DTYPES:
                plain = plain.astype(plain.dtype.newbyteorder("="))  # big-endian: sent as native
            if plain.dtype.str in DTYPES:
                return {"t": "a", "slot": k, "dtype": plain.dtype.str, "shape": list(plain.shape),
                        "ro": not plain.flags.writeable,
                        "blob": self._blob(np.ascontiguousarray(plain).tobytes())}
            if plain.dtype.kind == "O":
                return {"t": "o", "slot": k, "shape": list(plain.shape),
                        "v": [self.encode(v, depth + 1) for v in plain.ravel().tolist()]}
            raise BridgeError(f"arrays of dtype {plain.dtype} cannot be sent")
        if issubclass(cls, list):
            return {"t": "l", "slot": k, "v": [self.encode(v, depth + 1) for v in list.__iter__(value)]}
        if issubclass(cls, dict):
            items = list(dict.items(value))
            return {"t": "d", "slot": k, "k": [self.encode(key, depth + 1) for key, _ in items],
                    "v": [self.encode(v, depth + 1) for _, v in items]}
        state = value.bit_generator.state
        return {"t": "g", "slot": k, "v": self.encode(state, depth + 1)}

    def _scalar(self, value) -> dict:
        arr = np.asarray(value)
        if arr.dtype.str not in DTYPES and arr.dtype.newbyteorder("=").str in DTYPES:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        if arr.dtype.str not in DTYPES:
            return self._reference(value)
        return {"t": "z", "dtype": arr.dtype.str, "blob": self._blob(arr.tobytes())}

    def _reference(self, value) -> dict:
        if isinstance(value, Remote) and object.__getattribute__(value, "_peer") is self.peer:
            return {"t": "x", "id": handle_of(value)}  # the other side's own object, back to it
        if not self.peer.lends_objects and not isinstance(value, LENDABLE):
            raise BridgeError(f"an object of type {type(value).__name__} cannot be passed to "
                              "student code in the re-check")
        label = getattr(type(value), "__name__", "object")
        return {"t": "h", "id": self.peer.export(value), "label": str(label)[:80]}


# ---------------------------------------------------------------- decoding

def _text(value) -> str:
    if not isinstance(value, str):
        raise BridgeError("expected a string")
    return value


def _list(value) -> list:
    if not isinstance(value, list):
        raise BridgeError("expected a list")
    return value


def _shape(shape) -> tuple[int, ...]:
    if not isinstance(shape, list) or len(shape) > 32 or not all(
            type(n) is int and 0 <= n < 2**40 for n in shape):
        raise BridgeError("bad shape")
    return tuple(shape)


def _key(key):
    try:
        hash(key)
    except TypeError:
        raise BridgeError("an unhashable dict key") from None
    if isinstance(key, Remote):
        raise BridgeError("a reference as a dict key")
    return key


def _generator(state) -> np.random.Generator:
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in BIT_GENERATORS:
        raise BridgeError("an unknown random generator")
    bit_generator = BIT_GENERATORS[name]()
    try:
        bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as err:
        raise BridgeError(f"a bad generator state: {err}") from None
    return np.random.Generator(bit_generator)


class Decoder:
    """Tagged JSON back to values, refusing anything malformed.

    ``sent``: the mutable arguments this side sent in the request being answered, which the
    answer may refer to by slot (``{"t": "r"}``).
    """

    def __init__(self, peer: Peer, blobs: list[bytes], sent: list | None = None):
        self.peer = peer
        self.blobs = blobs
        self.sent = sent or []
        self.slots: list = []  # slot -> mutable object decoded from this message
        self._count = 0

    def _blob(self, index) -> bytes:
        if type(index) is not int or not 0 <= index < len(self.blobs):
            raise BridgeError("bad blob index")
        return self.blobs[index]

    def _slot(self, enc, obj):
        if enc.get("slot") != len(self.slots):
            raise BridgeError("bad slot")
        self.slots.append(obj)
        return obj

    def _array(self, enc, shape) -> np.ndarray:
        dtype = enc.get("dtype")
        if dtype not in DTYPES:
            raise BridgeError(f"dtype {dtype!r} not accepted")
        data, dt = self._blob(enc.get("blob")), np.dtype(dtype)
        if len(data) != dt.itemsize * math.prod(shape):
            raise BridgeError("an array whose size does not match its shape")
        return np.frombuffer(data, dtype=dt).reshape(shape).copy()

    def decode(self, enc, depth: int = 0):
        self._count += 1
        if depth > MAX_DEPTH or self._count > MAX_ITEMS or not isinstance(enc, dict):
            raise BridgeError("a malformed value")
        tag = enc.get("t")
        if tag == "n":
            return None
        if tag == "b":
            return enc.get("v") is True
        if tag == "i":
            text = _text(enc.get("v"))
            if len(text) > 5000:
                raise BridgeError("an integer too large")
            return int(text)
        if tag == "f":
            return float.fromhex(_text(enc.get("v")))
        if tag == "c":
            parts = _list(enc.get("v"))
            if len(parts) != 2:
                raise BridgeError("a bad complex number")
            return complex(float.fromhex(_text(parts[0])), float.fromhex(_text(parts[1])))
        if tag == "s":
            return _text(enc.get("v"))
        if tag == "y":
            return bytes(self._blob(enc.get("blob")))
        if tag == "z":
            return self._array(enc, ())[()]
        if tag == "u":
            return tuple(self.decode(v, depth + 1) for v in _list(enc.get("v")))
        if tag == "e":
            return {_key(self.decode(v, depth + 1)) for v in _list(enc.get("v"))}
        if tag == "a":
            arr = self._slot(enc, self._array(enc, _shape(enc.get("shape"))))
            if enc.get("ro") is True:
                arr.flags.writeable = False
            return arr
        if tag == "o":
            shape = _shape(enc.get("shape"))
            arr = self._slot(enc, np.empty(shape, dtype=object))
            items = [self.decode(v, depth + 1) for v in _list(enc.get("v"))]
            if len(items) != arr.size:
                raise BridgeError("an array whose size does not match its shape")
            arr.ravel()[:] = items
            return arr
        if tag == "l":
            out = self._slot(enc, [])
            out.extend(self.decode(v, depth + 1) for v in _list(enc.get("v")))
            return out
        if tag == "d":
            out_d = self._slot(enc, {})
            keys, values = _list(enc.get("k")), _list(enc.get("v"))
            if len(keys) != len(values):
                raise BridgeError("a bad dict")
            for k, v in zip(keys, values, strict=True):
                out_d[_key(self.decode(k, depth + 1))] = self.decode(v, depth + 1)
            return out_d
        if tag == "g":
            k = len(self.slots)
            self._slot(enc, None)
            self.slots[k] = _generator(self.decode(enc.get("v"), depth + 1))
            return self.slots[k]
        if tag == "same":
            k = enc.get("slot")
            if type(k) is not int or not 0 <= k < len(self.slots) or self.slots[k] is None:
                raise BridgeError("a bad back-reference")
            return self.slots[k]
        if tag == "r":
            k = enc.get("slot")
            if type(k) is not int or not 0 <= k < len(self.sent):
                raise BridgeError("a bad argument reference")
            return self.sent[k]
        if tag == "q":
            name = _text(enc.get("n"))
            if name and not self.peer.takes_shared_objects:
                raise BridgeError("only shared modules are taken by name here")
            return _resolve_shared(_text(enc.get("m")), name)
        if tag == "h":
            if type(enc.get("id")) is not int:
                raise BridgeError("a bad reference")
            return self.peer.remote(enc["id"], _text(enc.get("label", "object"))[:80])
        if tag == "x":
            return self.peer.local(enc.get("id"))
        raise BridgeError(f"an unknown tag {tag!r}")


def _write_back(ours, new) -> None:
    """Make our argument ``ours`` look like the other side's changed copy ``new``, in place."""
    if isinstance(ours, np.ndarray):
        if isinstance(new, np.ndarray) and new.shape == ours.shape and ours.flags.writeable:
            np.copyto(ours, new, casting="unsafe")
    elif isinstance(ours, list) and isinstance(new, list):
        ours[:] = new
    elif isinstance(ours, dict) and isinstance(new, dict):
        ours.clear()
        ours.update(new)
    elif isinstance(ours, np.random.Generator) and isinstance(new, np.random.Generator):
        if type(ours.bit_generator) is type(new.bit_generator):
            ours.bit_generator.state = new.bit_generator.state


# ---------------------------------------------------------------- the two ends

def _described(err: BaseException) -> dict:
    try:
        message = str(err)
    except Exception:  # noqa: BLE001 - an exception whose __str__ fails
        message = "<no message>"
    return {"mro": [cls.__name__ for cls in type(err).__mro__][:20], "message": message[:10_000]}


def _rebuilt(described) -> BaseException:
    if not isinstance(described, dict) or not isinstance(described.get("mro"), list):
        return BridgeError("a malformed exception")
    message = str(described.get("message", ""))[:10_000]
    names = [n for n in described["mro"] if isinstance(n, str)]
    for name in names:
        if name in EXCEPTIONS:
            return EXCEPTIONS[name](message)
    return BridgedError(f"{names[0] if names else 'Exception'}: {message}")


class Peer:
    """One end of the bridge: sends requests and, while it waits, answers the other side's.

    ``handlers`` maps the operations this side offers to functions ``(peer, header, value)``;
    any other operation is refused. ``role`` is ``"tests"`` or ``"student"``:

    - the test side lends student code only the functions its tests wrote (stand-ins, lambdas),
      sends shared functions (``np.exp``) by name, and takes from the other side only shared
      modules by name: a student's function is always the student's own, even one the student
      stored in a module attribute;
    - the student side lends any object by reference and takes shared functions by name.
    """

    def __init__(self, sock: socket.socket, handlers: dict, *, role: str):
        if role not in ("tests", "student"):
            raise ValueError(f"role must be 'tests' or 'student', got {role!r}")
        self.sock = sock
        self.handlers = handlers
        self.role = role
        self.lends_objects = self.takes_shared_objects = role == "student"
        self.deadline: float | None = None  # time.monotonic() after which waiting stops
        self.abandoned: set[int] = set()  # requests given up on at a deadline: answers still due
        self.troubles = 0  # timeouts and breaks so far (a test may catch the exception)
        self.broken = False  # the stream is garbled or closed: only a new bridge helps
        self.before_request = None  # called before each request: recovering from a timeout
        self.after_handler = None  # called after each request answered, before the answer is sent
        self._ids = itertools.count(1)
        self.exported: dict[int, object] = {}
        self._export_of: dict[int, int] = {}
        self._remotes: dict[int, Remote] = {}
        self.pending: list[int] = []  # requests sent and not answered yet, innermost last
        self._inbox = bytearray()  # received, not read yet

    # ------------------------------------------------------------ messages

    def send(self, header: dict, blobs: list[bytes]) -> None:
        header = {**header, "blobs": [len(b) for b in blobs]}
        head = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
        if len(head) + sum(map(len, blobs)) > MAX_MESSAGE:
            raise BridgeError(f"a message over the limit of {MAX_MESSAGE} bytes")
        try:
            # A side that never reads would block us for ever once the socket buffer is full.
            self.sock.settimeout(max(self._time_left() or 30.0, 1.0))
            prefix = struct.pack(">I", len(head)) + head
            if sum(map(len, blobs)) <= READ_SIZE:
                self.sock.sendall(prefix + b"".join(blobs))
            else:  # large arrays are sent as they are, not copied into one message first
                self.sock.sendall(prefix)
                for blob in blobs:
                    self.sock.sendall(blob)
        except TimeoutError:
            self.troubles += 1
            raise BridgeTimeout("the other side stopped reading") from None
        except OSError as err:
            self.troubles += 1
            raise BridgeClosed(f"the bridge broke: {err}") from None

    def _read(self, n: int) -> bytes | bytearray:
        """The next ``n`` bytes of the stream. What arrives beyond them waits in ``_inbox``: a
        message usually comes whole in one receive, not one for each of its parts."""
        if n > READ_SIZE:  # a large array: straight into a buffer of its own
            buf = bytearray(n)
            view = memoryview(buf)
            got = min(len(self._inbox), n)
            view[:got] = self._inbox[:got]
            del self._inbox[:got]
            while got < n:
                got += self._recv(self.sock.recv_into, view[got:])
            return buf
        while len(self._inbox) < n:
            self._inbox += self._recv(self.sock.recv, READ_SIZE)
        data = bytes(self._inbox[:n])
        del self._inbox[:n]
        return data

    def _recv(self, receive, arg):
        """``receive(arg)`` (one receive from the socket), within the deadline; what it gave."""
        try:
            self.sock.settimeout(self._time_left())
            got = receive(arg)
        except TimeoutError:
            self.troubles += 1
            raise BridgeTimeout("the other side did not answer in time") from None
        except OSError as err:
            self.troubles += 1
            self.broken = True
            raise BridgeClosed(f"the bridge broke: {err}") from None
        if not got:
            self.troubles += 1
            self.broken = True
            raise BridgeClosed("the other side closed the bridge")
        return got

    def _time_left(self) -> float | None:
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left

    def receive(self) -> tuple[dict, list[bytes]]:
        (size,) = struct.unpack(">I", self._read(4))
        if size > MAX_MESSAGE:
            self._garbled("a message over the limit")
        try:
            header = json.loads(self._read(size).decode())
        except (ValueError, RecursionError) as err:
            self._garbled(f"not a message: {err}")
        lengths = header.get("blobs") if isinstance(header, dict) else None
        if not isinstance(lengths, list) or not all(type(n) is int and n >= 0 for n in lengths) \
                or sum(lengths) > MAX_MESSAGE:
            self._garbled("a message with bad blob lengths")
        return header, [self._read(n) for n in lengths]

    def _garbled(self, why: str):
        """The stream no longer splits into messages: nothing more can be read from it."""
        self.broken = True
        self.troubles += 1
        raise BridgeClosed(f"the bridge is garbled ({why})")

    # ------------------------------------------------------------ asking

    def request(self, op: str, value=None, *, meanwhile=None, **fields):
        """Ask the other side for ``op``; its answer, decoded (or its exception, raised here).

        ``meanwhile``, if given, runs once the request is sent, before waiting for the answer; it
        must not use the bridge itself.
        """
        encoder = Encoder(self)
        header = {"op": op, "id": next(self._ids), **fields}
        if value is not None:
            header["value"] = encoder.encode(value)
        return self._exchange(header, encoder, meanwhile)

    def call(self, target: Remote, args, kwargs):
        """Call the other side's ``target``; in-place changes to the arguments are applied here."""
        encoder = Encoder(self)
        header = {"op": "call", "id": next(self._ids), "target": handle_of(target),
                  "value": encoder.encode((tuple(args), dict(kwargs)))}
        return self._exchange(header, encoder)

    def _exchange(self, header: dict, encoder: Encoder, meanwhile=None):
        if self.abandoned and self.before_request is not None:
            self.before_request()
        self.send(header, encoder.blobs)
        self.pending.append(header["id"])
        try:
            if meanwhile is not None:
                meanwhile()
            while True:
                answer, blobs = self.receive()
                if "op" in answer:
                    self._answer(answer, blobs)
                elif answer.get("reply") == header["id"]:
                    return self._result(answer, blobs, encoder.slots)
                elif answer.get("reply") in self.pending:
                    raise BridgeError("answers out of order")
                else:  # the late answer to a request given up on (a timeout): dropped
                    self.abandoned.discard(answer.get("reply"))
        except BridgeTimeout:
            self.abandoned.add(header["id"])
            raise
        finally:
            self.pending.remove(header["id"])

    def _result(self, answer: dict, blobs: list[bytes], sent: list):
        decoder = Decoder(self, blobs, sent=sent)
        # Decoded in the order the other side encoded them: the value, then the changed arguments.
        value = None if "raise" in answer else decoder.decode(answer.get("value", {"t": "n"}))
        for change in _list(answer.get("writeback", []))[:len(sent)]:
            if not (isinstance(change, list) and len(change) == 2 and type(change[0]) is int
                    and 0 <= change[0] < len(sent)):
                raise BridgeError("a bad write-back")
            _write_back(sent[change[0]], decoder.decode(change[1]))
        for item in _list(answer.get("warnings", []))[:100]:
            category, message = item if isinstance(item, list) and len(item) == 2 else ("", "")
            warnings.warn(str(message)[:2000], WARNINGS.get(category, UserWarning), stacklevel=4)
        if "raise" in answer:
            raise _rebuilt(answer["raise"])
        return value

    # ------------------------------------------------------------ answering

    def _answer(self, header: dict, blobs: list[bytes]) -> None:
        """Run one request of the other side; send back its result or the exception it raised."""
        rid = header.get("id")
        caught: list = []
        try:
            handler = self.handlers.get(header.get("op"))
            if handler is None:
                raise BridgeError(f"operation {header.get('op')!r} is not offered")
            decoder = Decoder(self, blobs)
            value = decoder.decode(header["value"]) if "value" in header else None
            args = decoder.slots
            before = self._fingerprints(args)
            try:
                if header.get("op") == "call":  # a call's warnings are shown where it was made
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        result = handler(self, header, value)
                else:
                    result = handler(self, header, value)
            finally:
                if self.after_handler is not None:
                    self.after_handler()
            encoder = Encoder(self, received=args)
            reply = {"reply": rid, "value": encoder.encode(result)}
            changed = [[k, encoder.encode(args[k], as_content=True)]
                       for k, (was, now) in enumerate(zip(before, self._fingerprints(args), strict=True))
                       if was != now]
            if changed:
                reply["writeback"] = changed
        except BridgeTimeout:
            # Our own deadline passed while we answered: the other side learns it timed out
            # (and can unwind), then the deadline goes on up here.
            with contextlib.suppress(BridgeError):
                self.send({"reply": rid, "raise": {"mro": ["TimeoutError"], "message": "timed out"}}, [])
            raise
        except BridgeClosed:
            raise
        except BaseException as err:  # noqa: BLE001 - every failure goes back as data
            encoder = Encoder(self)
            reply = {"reply": rid, "raise": _described(err)}
        reply["warnings"] = [[w.category.__name__, str(w.message)[:2000]] for w in caught[:100]]
        self.send(reply, encoder.blobs)

    @staticmethod
    def _fingerprints(args: list) -> list:
        """What the content of each argument is now, cheaply: to tell whether a call changed it."""
        slot_of = {id(o): i for i, o in enumerate(args)}

        def content(value, depth: int, top: bool = False):
            if depth > MAX_DEPTH:
                return ("deep",)
            if not top and id(value) in slot_of:
                return ("r", slot_of[id(value)])  # another argument: its own fingerprint says
            cls = type(value)
            if issubclass(cls, np.ndarray):
                plain = np.ndarray.view(value, np.ndarray)
                return ("a", plain.dtype.str, plain.shape,
                        plain.tobytes() if plain.dtype.kind != "O" else tuple(map(id, plain.ravel())))
            if issubclass(cls, list | tuple):
                return (cls.__name__, *(content(v, depth + 1) for v in (list.__iter__(value) if
                        issubclass(cls, list) else tuple.__iter__(value))))
            if issubclass(cls, dict):
                return ("d", *((content(key, depth + 1), content(v, depth + 1))
                               for key, v in dict.items(value)))
            if issubclass(cls, np.random.Generator):
                return ("g", repr(value.bit_generator.state))
            if cls in (int, float, complex, str, bytes, bool, type(None)):
                return ("v", cls, value)
            return ("o", id(value))  # held by the argument, so its id is its own

        return [content(arg, 0, top=True) for arg in args]

    def serve(self) -> None:
        """Answer requests until the other side closes the bridge."""
        while True:
            header, blobs = self.receive()
            if "op" in header:
                self._answer(header, blobs)

    # ------------------------------------------------------------ references

    def export(self, obj) -> int:
        handle = self._export_of.get(id(obj))
        if handle is None or self.exported.get(handle) is not obj:
            handle = next(self._ids)
            self.exported[handle] = obj
            self._export_of[id(obj)] = handle
        return handle

    def remote(self, handle: int, label: str) -> Remote:
        proxy = self._remotes.get(handle)
        if proxy is None:
            proxy = self._remotes[handle] = Remote(self, handle, label)
        return proxy

    def local(self, handle):
        if type(handle) is not int or handle not in self.exported:
            raise BridgeError("no such object on this side")
        return self.exported[handle]


# ---------------------------------------------------------------- handlers both sides offer

def answer_call(peer: Peer, header: dict, value):
    """Call one of this side's objects with the other side's arguments."""
    target = peer.local(header.get("target"))
    if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict)):
        raise BridgeError("a malformed call")
    args, kwargs = value
    if not all(isinstance(k, str) for k in kwargs):
        raise BridgeError("keyword names must be strings")
    return target(*args, **kwargs)

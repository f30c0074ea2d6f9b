"""The data-only bridge of the clean re-check: what crosses, what does not, and hostile peers."""

from __future__ import annotations

import json
import math
import socket
import struct
import threading
import time
import warnings

import numpy as np
import pytest

from grader.recheck import bridge
from helpers import checks


class Sides:
    """A test side (this thread) and a student side (a thread serving ``namespace``)."""

    def __init__(self, namespace: dict):
        ours, theirs = socket.socketpair()
        self.namespace = namespace

        def get(peer, header, value):
            return {n: namespace[n] for n in header["names"] if n in namespace}

        def getattr_(peer, header, value):
            return getattr(peer.local(header["target"]), header["name"])

        def items(peer, header, value):
            return list(peer.local(header["target"]))

        self.student = bridge.Peer(theirs, {"get": get, "getattr": getattr_, "items": items,
                                            "call": bridge.answer_call},
                                   role="student")
        self.tests = bridge.Peer(ours, {"call": bridge.answer_call}, role="tests")
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            self.student.serve()
        except bridge.BridgeError:
            pass

    def get(self, name):
        return self.tests.request("get", names=[name])[name]

    def close(self):
        self.tests.sock.close()
        self.thread.join(timeout=5)
        self.student.sock.close()


@pytest.fixture
def sides():
    made = []

    def make(**namespace):
        made.append(Sides(namespace))
        return made[-1]

    yield make
    for s in made:
        s.close()


@pytest.fixture
def pair():
    """Two connected sockets, closed after the test."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        yield ours, theirs


def echo(x):
    return x


PLAIN = [None, True, False, 0, -7, 2**100, 1.5, -0.0, math.inf, -math.inf, 1 + 2j, "text", "",
         b"\x00bytes", (1, "a", None), [1, [2, [3]]], {"a": 1, (1, 2): [3.0]}, {1, 2, 3},
         frozenset({"x"})]


@pytest.mark.parametrize("value", PLAIN, ids=repr)
def test_plain_values_cross_unchanged(sides, value):
    s = sides(echo=echo)
    got = s.get("echo")(value)
    assert type(got) in (type(value), set) and got == value
    if isinstance(value, float):
        assert math.copysign(1, got) == math.copysign(1, value)


def test_nan_crosses():
    # (not parametrized above: nan != nan)
    s = Sides({"echo": echo})
    try:
        assert math.isnan(s.get("echo")(math.nan))
    finally:
        s.close()


@pytest.mark.parametrize("array", [
    np.arange(6.0).reshape(2, 3), np.array(3.5), np.zeros((0, 4)), np.arange(12).reshape(3, 4)[:, ::2],
    np.array([True, False]), np.arange(5, dtype=np.int32), np.ones(3, dtype=np.complex128),
    np.array([1.0, 2.0], dtype=">f8"),
], ids=lambda a: f"{a.dtype.str}{a.shape}")
def test_arrays_cross_with_dtype_shape_and_values(sides, array):
    s = sides(echo=lambda x: x.copy())
    got = s.get("echo")(array)
    assert isinstance(got, np.ndarray) and got.shape == array.shape
    assert got.dtype == array.dtype.newbyteorder("=") or got.dtype == array.dtype
    np.testing.assert_array_equal(got, array)


def test_numpy_scalars_keep_their_type(sides):
    s = sides(echo=echo)
    for value in (np.float64(1.25), np.int32(-3), np.bool_(True), np.float32(0.5)):
        got = s.get("echo")(value)
        assert type(got) is type(value) and got == value


def test_a_read_only_array_stays_read_only(sides):
    s = sides(echo=echo)
    arr = np.arange(3.0)
    arr.flags.writeable = False
    assert s.get("echo")(arr) is arr  # its own argument comes back as itself


def test_rigged_subclasses_arrive_as_the_plain_values_they_hold(sides):
    class Liar(float):
        def __eq__(self, other):
            return True

        def __float__(self):
            return 42.0

    class Agreeable(np.ndarray):
        def __eq__(self, other):
            return np.ones(np.shape(other), dtype=bool)

    class Padded(list):
        def __iter__(self):
            return iter([1, 2, 3])

    s = sides(make=lambda: (Liar(0.5), np.zeros(3).view(Agreeable), Padded([9])))
    number, array, items = s.get("make")()
    assert type(number) is float and number == 0.5
    assert type(array) is np.ndarray and not array.any()
    assert type(items) is list and items == [9]


def test_student_objects_stay_on_their_side_and_no_check_accepts_them(sides):
    class Anything:
        label = "rigged"

        def __eq__(self, other):
            return True

        def __float__(self):
            return 0.4375

        def __iter__(self):
            return iter([1, 2])

    s = sides(make=Anything)
    obj = s.get("make")()
    assert isinstance(obj, bridge.Remote) and not isinstance(obj, float)
    assert obj.label == "rigged" and list(obj) == [1, 2]
    with pytest.raises(AssertionError, match="should be a single number"):
        checks.check_scalar("rigged", obj, 0.4375)
    with pytest.raises(AssertionError, match="should be a number or a numpy array"):
        checks.check_close("rigged", obj, 0.4375)
    with pytest.raises(AttributeError):
        obj.missing  # noqa: B018 - the attribute read is the test


def test_in_place_changes_come_back(sides):
    def mutate(arr, items, table, rng):
        arr += 1
        items.append("new")
        table["k"] = arr  # the caller's own array, put in the caller's own dict
        rng.random(3)
        return arr

    s = sides(mutate=mutate)
    arr, items, table = np.zeros(2), ["old"], {}
    rng, twin = np.random.default_rng(5), np.random.default_rng(5)
    result = s.get("mutate")(arr, items, table, rng)
    assert result is arr and arr.tolist() == [1.0, 1.0]
    assert items == ["old", "new"] and table["k"] is arr
    twin.random(3)
    assert rng.random() == twin.random()  # the generator moved on exactly as a local call would


def test_an_unchanged_argument_is_not_written(sides):
    s = sides(look=lambda arr: float(arr.sum()))
    arr = np.arange(3.0)
    arr.flags.writeable = False  # a write-back would fail on it
    assert s.get("look")(arr) == 3.0


def test_callbacks_and_stand_ins_run_on_the_test_side(sides):
    calls = []

    def f(v):
        calls.append(v.shape)
        return float(np.sum(v**2))

    def grad(func, x, h=1e-5):
        out = np.zeros_like(x)
        for i in range(x.size):
            e = np.zeros_like(x)
            e.flat[i] = h
            out.flat[i] = (func(x + e) - func(x - e)) / (2 * h)
        return out

    s = sides(grad=grad)
    g = s.get("grad")(f, np.array([1.0, -2.0]))
    np.testing.assert_allclose(g, [2.0, -4.0], rtol=1e-6)
    assert calls == [(2,)] * 4


def test_exceptions_cross_as_their_builtin_type(sides):
    class ShapeError(ValueError):
        pass

    class Odd(Exception):
        pass

    def bad(kind):
        raise {"value": ValueError("shape (4, 1)"), "sub": ShapeError("(3, 2)"), "odd": Odd("x")}[kind]

    s = sides(bad=bad)
    checks.check_raises("plain", ValueError, s.get("bad"), "value", match="(4, 1)")
    checks.check_raises("subclass", ValueError, s.get("bad"), "sub", match="(3, 2)")
    with pytest.raises(bridge.BridgedError, match="Odd: x"):
        s.get("bad")("odd")


def test_warnings_of_student_code_reach_the_checks(sides):
    s = sides(loud=lambda x: np.exp(x))
    with pytest.raises(AssertionError, match="RuntimeWarning"):
        checks.check_warning_free("exp", s.get("loud"), np.array([1000.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert s.get("loud")(np.array([0.0])).tolist() == [1.0]


def test_shared_modules_are_each_sides_own(sides):
    import helpers.gradcheck as gradcheck

    s = sides(mod=gradcheck, fn=gradcheck.numeric_grad)
    assert s.get("mod") is gradcheck
    assert isinstance(s.get("fn"), bridge.Remote)  # a student's function is never swapped for ours


def test_the_test_side_lends_only_its_functions(sides):
    s = sides(echo=echo, is_sum=lambda f: f is np.sum)
    with pytest.raises(bridge.BridgeError, match="cannot be passed"):
        s.get("echo")(threading.Lock())
    assert s.get("is_sum")(np.sum) is True  # a shared function goes by name: the other side's own


def test_a_student_side_that_misses_the_deadline_times_out(sides):
    s = sides(slow=lambda: time.sleep(3))
    s.tests.deadline = time.monotonic() + 0.5
    with pytest.raises(bridge.BridgeTimeout):
        s.get("slow")()
    s.tests.deadline = None
    assert s.tests.abandoned and s.tests.troubles == 1


def _raw(header: dict, blobs=()) -> bytes:
    head = json.dumps({**header, "blobs": [len(b) for b in blobs]}).encode()
    return struct.pack(">I", len(head)) + head + b"".join(blobs)


@pytest.mark.parametrize("value", [
    {"t": "a", "slot": 0, "dtype": "|O", "shape": [1], "blob": 0},
    {"t": "a", "slot": 0, "dtype": "<f8", "shape": [3], "blob": 0},
    {"t": "a", "slot": 0, "dtype": "<f8", "shape": [-1], "blob": 0},
    {"t": "i", "v": "9" * 10_000},
    {"t": "q", "m": "os", "n": "system"},
    {"t": "q", "m": "numpy", "n": "exp"},
    {"t": "x", "id": 12345},
    {"t": "same", "slot": 3},
    {"t": "pickle", "v": "cos\nsystem\n"},
    {"t": "d", "k": [{"t": "l", "slot": 0, "v": []}], "v": [{"t": "n"}]},
], ids=lambda v: v["t"] + ":" + str(v.get("dtype", v.get("m", v.get("slot", "")))))
def test_malformed_answers_are_refused(value, pair):
    ours, theirs = pair
    tests = bridge.Peer(ours, {}, role="tests")

    def answer():
        header = json.loads(theirs.recv(1 << 16)[4:])
        theirs.sendall(_raw({"reply": header["id"], "value": value}, [b"\x00" * 8]))

    thread = threading.Thread(target=answer)
    thread.start()
    with pytest.raises(bridge.BridgeError):
        tests.request("get", names=["x"])
    thread.join()


def test_messages_are_split_right_however_they_arrive(pair):
    # Several messages in one chunk, a large blob after bytes already received, a few bytes at a time.
    ours, theirs = pair
    peer = bridge.Peer(ours, {}, role="tests")
    large = bytes(range(256)) * (bridge.READ_SIZE // 256 + 3)
    messages = [({"reply": 1}, [b"ab"]), ({"reply": 2}, [large, b"c"]), ({"reply": 3}, []),
                ({"reply": 4}, [b"d" * 10, large])]
    first, last = b"".join(_raw(h, b) for h, b in messages[:3]), _raw(*messages[3])

    def send():
        theirs.sendall(first)
        for i in range(0, len(last), 4099):
            theirs.sendall(last[i:i + 4099])

    sender = threading.Thread(target=send)
    sender.start()
    for header, blobs in messages:
        got, got_blobs = peer.receive()
        assert got["reply"] == header["reply"] and [bytes(b) for b in got_blobs] == blobs
    sender.join()


def test_large_arrays_cross_whole(sides):
    s = sides(echo=echo)
    big, small = np.random.default_rng(0).normal(size=(1000, 1000)), np.arange(3.0)
    got_big, got_small, again = s.get("echo")((big, small, big))
    np.testing.assert_array_equal(got_big, big)
    np.testing.assert_array_equal(got_small, small)
    np.testing.assert_array_equal(again, big)


def test_garbage_on_the_bridge_breaks_it_instead_of_being_read(pair):
    ours, theirs = pair
    tests = bridge.Peer(ours, {}, role="tests")
    theirs.sendall(b"\xff\xff\xff\xff garbage")
    with pytest.raises(bridge.BridgeClosed):
        tests.request("get", names=["x"])
    assert tests.broken


def test_a_request_for_an_operation_not_offered_is_answered_with_an_error(pair):
    ours, theirs = pair
    tests = bridge.Peer(ours, {"call": bridge.answer_call}, role="tests")
    student = bridge.Peer(theirs, {}, role="student")

    def serve():
        try:
            tests.serve()
        except bridge.BridgeError:
            pass

    thread = threading.Thread(target=serve)
    thread.start()
    with pytest.raises(bridge.BridgedError, match="not offered"):
        student.request("getattr", target=1, name="__globals__")
    with pytest.raises(bridge.BridgedError, match="no such object"):
        student.request("call", value=((), {}), target=99)
    student.sock.close()
    thread.join(timeout=5)

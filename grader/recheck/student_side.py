"""The student side of the clean re-check: runs student cells and answers the test runner.

Started by ``grader.recheck.runner`` inside ``grader.containment.sandbox`` as
``python -m grader.recheck.student_side FD``, FD being its end of the bridge. It offers the
test runner: run a cell, read a name, read an attribute of one of its objects, call one, list
one's items, and put a test's stand-ins in place (and back). Nothing it answers decides a
check: ``grader.recheck.bridge`` carries data only.
"""

from __future__ import annotations

import builtins
import itertools
import operator
import os
import signal
import socket
import sys
import types

from grader.recheck.recheck import MISSING, NoShell, quiet_stdio, transformer

# Modules whose changes by student code are reported (on the student side, where they act).
GUARDED = ("builtins", "numpy", "numpy.testing", "numpy.linalg", "numpy.random", "math", "warnings",
           "helpers.checks", "helpers.gradcheck", "helpers.examples", "helpers.data")
SYS_GUARDED = ("excepthook", "exit", "meta_path")
_STATE = operator.attrgetter("__code__", "__defaults__", "__kwdefaults__")


class Guard:
    """A snapshot of GUARDED modules (their attributes and the code of their functions).

    ``changed`` runs after every request the student side answers (hundreds per notebook):
    it compares the snapshot in C (``map``) and spells out what changed only when something did.
    """

    def __init__(self, modules: list[types.ModuleType]):
        self.modules = modules
        self.saved = [(m, dict(vars(m))) for m in modules]
        self.code = {}
        self.classes = {}
        for _, attrs in self.saved:
            for value in attrs.values():
                if isinstance(value, types.FunctionType):
                    self.code[value] = (value.__code__, value.__defaults__, value.__kwdefaults__)
                elif isinstance(value, type) and (value.__module__ or "").startswith("helpers"):
                    self.classes[value] = dict(vars(value))
        self.sys = {name: getattr(sys, name) for name in SYS_GUARDED}
        self._keys = [(vars(m), list(attrs), list(attrs.values())) for m, attrs in self.saved]
        self._functions, self._states = list(self.code), list(self.code.values())

    def _same(self) -> bool:
        """Whether nothing in the snapshot changed (cheap: no names are made)."""
        for now, keys, values in self._keys:
            if any(map(operator.is_not, map(now.get, keys, itertools.repeat(MISSING)), values)):
                return False
        if list(map(_STATE, self._functions)) != self._states:
            return False
        for cls, attrs in self.classes.items():
            now = vars(cls)
            if now.keys() != attrs.keys() or any(map(operator.is_not, map(now.get, attrs), attrs.values())):
                return False
        return all(getattr(sys, name) is v for name, v in self.sys.items()) and (
            sys.gettrace() is None and sys.getprofile() is None)

    def changed(self) -> list[str]:
        if self._same():
            return []
        found = []
        for module, attrs in self.saved:
            now = vars(module)
            found += [f"{module.__name__}.{k}" for k, v in attrs.items() if now.get(k, MISSING) is not v]
        for fn, state in self.code.items():
            if (fn.__code__, fn.__defaults__, fn.__kwdefaults__) != state:
                found.append(f"{fn.__module__}.{fn.__qualname__} (its code)")
        for cls, attrs in self.classes.items():
            now = vars(cls)
            if now.keys() != attrs.keys() or any(now[k] is not v for k, v in attrs.items()):
                found.append(f"{cls.__module__}.{cls.__qualname__} (its attributes)")
        found += [f"sys.{name}" for name, v in self.sys.items() if getattr(sys, name) is not v]
        if sys.gettrace() is not None or sys.getprofile() is not None:
            found.append("sys.settrace/setprofile (a tracer)")
        return found

    def restore(self) -> None:
        for module, attrs in self.saved:
            now = vars(module)
            for k, v in attrs.items():
                if now.get(k, MISSING) is not v:
                    now[k] = v
        for fn, (code, defaults, kwdefaults) in self.code.items():
            fn.__code__, fn.__defaults__, fn.__kwdefaults__ = code, defaults, kwdefaults
        for cls, attrs in self.classes.items():
            for k, v in attrs.items():
                if k not in ("__dict__", "__weakref__") and vars(cls).get(k, MISSING) is not v:
                    setattr(cls, k, v)
        for name, v in self.sys.items():
            setattr(sys, name, v)


class StudentSide:
    """The handlers the student side offers the test runner over the bridge.

    After every request it answers, what student code changed in GUARDED modules and in the
    notebook's names for modules (``np``, ``checks``) is noted for the test runner (as a note
    for the instructor: no check runs here), and ``builtins`` and the ``sys`` hooks are put back,
    so that this side can still answer; other changes stay, as they would in the notebook.
    """

    def __init__(self):
        import importlib

        self.namespace = {"__name__": "__main__", "get_ipython": NoShell, "__builtins__": builtins}
        self.transform = transformer()
        self.guard = Guard([importlib.import_module(name) for name in GUARDED])
        self.builtins_guard = Guard([builtins])
        self.reported: set[str] = set()
        self.news: list[str] = []
        self.pinned: dict[str, object] = {}  # notebook names first bound to a module
        self.pushed: list[dict] = []

    def handlers(self) -> dict:
        from grader.recheck import bridge

        return {"exec": self.exec, "get": self.get, "getattr": self.getattr, "items": self.items,
                "call": bridge.answer_call, "push": self.push, "pop": self.pop}

    def after(self) -> None:
        """Run after every request answered (``Peer.after_handler``)."""
        found = self.guard.changed()
        for name, module in self.pinned.items():
            if self.namespace.get(name, MISSING) is not module:
                found.append(f"the notebook's name {name!r}")
        for name, value in list(self.namespace.items()):
            if name not in self.pinned and isinstance(value, types.ModuleType):
                self.pinned[name] = value
        new = [t for t in found if t not in self.reported]
        self.reported.update(new)
        self.news += new
        if self.builtins_guard.changed():
            self.builtins_guard.restore()  # also the sys hooks
        sys.settrace(None)
        sys.setprofile(None)

    def exec(self, peer, header, value):
        ok, error = True, ""
        try:
            python = header.get("python")  # the runner's transform of the cell, if it sent one
            python = python if isinstance(python, str) else self.transform(str(header.get("code", "")))
            code = compile(python, f"<cell {header.get('index')}>", "exec")
            exec(code, self.namespace)  # noqa: S102 - running the student's cell is the point
        except BaseException as err:  # noqa: BLE001 - SystemExit and interrupts fail the cell too
            ok, error = False, type(err).__name__
        self.after()
        news, self.news = self.news, []
        return {"ok": ok, "error": error, "tampered": news}

    def get(self, peer, header, value):
        names = header.get("names")
        if not isinstance(names, list):
            return {}
        return {n: self.namespace[n] for n in names if isinstance(n, str) and n in self.namespace}

    def getattr(self, peer, header, value):
        return getattr(peer.local(header.get("target")), str(header.get("name")))

    def items(self, peer, header, value):
        import itertools

        return list(itertools.islice(iter(peer.local(header.get("target"))), 100_000))

    def push(self, peer, header, value):
        if not isinstance(value, dict):
            raise TypeError("push takes a dict of names")
        self.pushed.append({name: self.namespace.get(name, MISSING) for name in value})
        self.namespace.update(value)
        return len(self.pushed)

    def pop(self, peer, header, value):
        if value != len(self.pushed):
            raise ValueError("stand-ins restored out of order")
        for name, old in self.pushed.pop().items():
            if old is MISSING:
                self.namespace.pop(name, None)
            else:
                self.namespace[name] = old
        return None


def main(fd: int) -> None:
    from grader.recheck import bridge

    sock = socket.socket(fileno=fd)
    quiet_stdio()
    # Interrupts end a cell that runs too long. A process started in the background inherits
    # SIGINT ignored, and Python then leaves it so: ask for KeyboardInterrupt explicitly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # Started with -P (the grader's modules never come from the submission's folder); student
    # code imports from its own folder as it does in a notebook.
    sys.path.insert(0, os.getcwd())
    side = StudentSide()
    peer = bridge.Peer(sock, side.handlers(), role="student")
    peer.after_handler = side.after
    peer.send({"ready": True}, [])  # the test runner's cell timeouts start counting now
    while True:
        try:
            peer.serve()
        except KeyboardInterrupt:
            continue  # an interrupt that came between two requests: nothing to answer
        except bridge.BridgeError:
            break
    os._exit(0)  # skip interpreter shutdown: student objects' __del__ have nothing more to say


if __name__ == "__main__":
    main(int(sys.argv[1]))

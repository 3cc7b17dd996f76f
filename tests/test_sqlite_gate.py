"""The SQLite writer gate: while the intake holds it, no other writer begins; then they all go on."""

import threading

from flowapp.sqlite_gate import WriterGate


def test_writers_wait_while_the_intake_holds_the_gate(tmp_path):
    """A writer passing through blocks while the gate is held first, and goes on once it is free."""
    gate = WriterGate(str(tmp_path / "db.sqlite"))
    held, passed = threading.Event(), threading.Event()
    release = threading.Event()

    def intake():
        with gate.first():
            held.set()
            release.wait(10)

    def writer():
        held.wait(10)
        gate.pass_through()
        passed.set()

    threads = [threading.Thread(target=intake), threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    assert held.wait(10)
    assert not passed.wait(0.3)  # still waiting at the gate
    release.set()
    assert passed.wait(10)
    for thread in threads:
        thread.join(10)


def test_writers_do_not_wait_for_each_other(tmp_path):
    """Passing through takes nothing: many writers go through at once."""
    gate = WriterGate(str(tmp_path / "db.sqlite"))
    done = []
    threads = [threading.Thread(target=lambda: (gate.pass_through(), done.append(1))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(done) == 8

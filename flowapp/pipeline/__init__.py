"""The inbound pipeline: what Meta delivers, from the webhook to the automations, in parallel by contact.

    intake.py      store the signed body (routed: one event per sender, one for statuses), answer 200,
                   announce the events in Redis (ready.py)
    pumps.py       the jobs that process events; as many run at once as there are slots
    contacts.py    one contact at a time (its lease: lease.py), its events in arrival order
    bulk.py        statuses and the rest, in batches, in any order
    recovery.py    retries, parked events, and the sweep that rebuilds Redis from the database

docs/pipeline.md tells the whole data flow, with what each step guarantees.
"""

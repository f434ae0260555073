"""Human studies above the store: who is served what (gold rate, paired design, balance, quotas), how good each
annotator is, who is excluded, and how crowd-platform participants come in by a study link.

The store keeps the rows; every decision is made here. The next task of any queue is chosen by
:func:`sparse_feedback.study.assignment.next_task` (and ``submit_and_next``), which also takes an ordering of the
candidate tasks.
"""

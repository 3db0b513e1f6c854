"""Compiled inner loops of the feature engine: one pass over a micro-batch for one entity kind.

The engine sorts a micro-batch by (event time, tx id) and calls :func:`advance` once per entity
kind (customer, merchant, category). For every event, in order, the kernel

1. expires events that fell out of each window (running count, sum and sum of squares in
   integer cents, so sums stay exact),
2. computes the "before" features from the entity's earlier events (history, recency,
   novelty, repeated amount, usual location),
3. appends the event to the entity's ring buffer and updates the running sums,
4. computes the windowed statistics, which include the current event, and
5. for label-delayed risk, keeps running counts of the entity's events in ``(t - delay - w,
   t - delay]`` and of the frauds among them whose label is known (``known_at <= t``), in
   amortised O(1): see below.

Times are integer *ticks* from the engine's epoch (seconds, or nanoseconds for data with
sub-second times); windows are passed in ticks.

Ring buffers live in one flat arena per kind: entity ``s`` owns ``arena[offset[s] :
offset[s] + cap[s]]`` and its event number ``q`` sits at ``offset[s] + q % cap[s]``; events
``start[s] <= q < end[s]`` are live. The caller guarantees the capacity before the call.
The running maximum uses a "previous strictly greater" chain (``pg``: distance back to that
event, 0 for none), so the maximum of a window is found by walking the chain from the newest
event, amortised O(1) to maintain and O(log n) expected to query.

Label-delayed risk: per merchant, ``enter`` is the first event not yet ``delay`` old and
``leave[j]`` the first event still inside risk window ``j``; both only move forward. Each event
carries a flag ``fl`` (its fraud label is known, as of the time processed so far), and
``frauds[s, j]`` is the number of flagged events in ``[leave[j], enter)``. An event's flag is set
from the label store when it enters; a label that becomes known later (its ``known_at`` is
reached: the *activations*, fraud labels sorted by ``known_at``, popped before each event) or
that is learned, changed or withdrawn while its event is inside a window (:func:`relabel`) flips
the flag and adds +-1 to the counts of the windows holding the event, found through the
:mod:`~fraudstream.features.locator` (tx key -> slot, event number of every event inside a
delayed window).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from fraudstream.features.locator import loc_delete, loc_find, loc_insert, pack

__all__ = ["N_CUSTOMER_OUT", "advance", "compact_rings", "copy_rings", "drop_located", "locate_all",
           "relabel"]

N_CUSTOMER_OUT = 9
"""Columns of ``out_cust``: seconds since previous, previous count / mean / std / max in the
history window, new merchant, new category, repeated amount, distance to usual location (km)."""

_EARTH_KM = 6371.0088


@nb.njit(cache=True, inline="always")
def _pos(offset: int, cap: int, q: int) -> int:
    return offset + q % cap


@nb.njit(cache=True)
def _window_max(ev_cents, ev_pg, offset, cap, newest, head):
    """Largest amount (cents) among events head..newest, walking the strictly-greater chain."""
    j = newest
    while True:
        d = ev_pg[_pos(offset, cap, j)]
        if d == 0 or j - d < head:
            return ev_cents[_pos(offset, cap, j)]
        j -= d


@nb.njit(cache=True)
def _haversine_km(lat1, lon1, lat2, lon2):
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


@nb.njit(cache=True)
def _fraud_known_at(keys, known_at, bitmap, key):
    """known_at of a fraud label for ``key`` (sorted ``keys``), or int64 max when none."""
    bit = (np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - 24)
    if not (bitmap[bit >> np.uint64(3)] >> (bit & np.uint64(7))) & 1:
        return np.iinfo(np.int64).max
    i = np.searchsorted(keys, key)
    if i < keys.shape[0] and keys[i] == key:
        return known_at[i]
    return np.iinfo(np.int64).max


@nb.njit(cache=True)
def _set_flag(key, desired, start, enter, leave, frauds, offset, cap, ev_fl, loc_keys, loc_vals):
    """Flag of the located event of ``key`` := ``desired``; +-1 on the windows holding it."""
    v = loc_find(loc_keys, loc_vals, key)
    if v < 0:
        return
    s = v >> np.int64(32)
    q = start[s] + ((v - start[s]) & np.int64(0xFFFFFFFF))
    p = _pos(offset[s], cap[s], q)
    delta = desired - np.int64(ev_fl[p])
    if delta == 0:
        return
    ev_fl[p] = desired
    if q < enter[s, 0]:
        for j in range(leave.shape[1]):
            if q >= leave[s, j]:
                frauds[s, j] += delta


@nb.njit(cache=True)
def advance(
    slots, ts, cents, mkey, ckey, lat, lon, txkey, rows,
    offset, cap, start, end, last_ts, heads, sums, sumsq, geo_sums, enter, leave, frauds,
    ev_ts, ev_cents, ev_pg, ev_m, ev_c, ev_lat, ev_lon, ev_key, ev_fl,
    win_ns, win_max, hist_w, repeat_w, novelty_w, use_geo, use_novelty, use_pg, ticks_per_s,
    delay_ns, risk_ns, fraud_keys, fraud_at, fraud_bitmap, act_at, act_key, act_pos,
    loc_keys, loc_vals, loc_count, loc_limit, first,
    out_win, out_cust, out_risk,
):
    """Process events ``first, first + 1, ...`` in the given order for one entity kind; see the
    module docstring. Returns the number of events processed in all: less than the batch when
    the locator would pass ``loc_limit`` entries (the caller grows it and calls again from there).

    Batch arrays are in processing order; ``rows[i]`` is the output row of event ``i``. Times
    (``ts``, ``win_ns``, ``delay_ns``, ``risk_ns``, ``fraud_at``, ``act_at``) are in ticks.
    Outputs are column-major: ``out_win`` is (windows, 5, rows): count, sum, mean, std, max
    (currency units); ``out_cust`` (9, rows); ``out_risk`` (risk windows, 2, rows).
    """
    n_w = win_ns.shape[0]
    n_r = risk_ns.shape[0]
    none_ts = np.iinfo(np.int64).min
    use_category = ev_c.shape[0] > 0
    for i in range(first, slots.shape[0]):
        s = slots[i]
        t = ts[i]
        a = cents[i]
        r = rows[i]
        off = offset[s]
        cp = cap[s]
        e = end[s]
        if n_r > 0 and loc_count[0] + (e + 1 - enter[s, 0]) > loc_limit:
            return i
        # 0. labels that became known by now, for events already inside a delayed window
        if n_r > 0:
            k = act_pos[0]
            while k < act_at.shape[0] and act_at[k] <= t:
                _set_flag(act_key[k], 1, start, enter, leave, frauds, offset, cap, ev_fl, loc_keys, loc_vals)
                k += 1
            act_pos[0] = k
        # 1. expire
        for w in range(n_w):
            lim = t - win_ns[w]
            h = heads[s, w]
            while h < e:
                p = _pos(off, cp, h)
                if ev_ts[p] > lim:
                    break
                c = ev_cents[p]
                sums[s, w] -= c
                sumsq[s, w] -= float(c) * float(c)
                if use_geo and w == hist_w:
                    geo_sums[s, 0] -= ev_lat[p]
                    geo_sums[s, 1] -= ev_lon[p]
                h += 1
            heads[s, w] = h
        # 2. features of the earlier events
        if out_cust.shape[0] > 0:
            out_cust[0, r] = (t - last_ts[s]) / ticks_per_s if last_ts[s] != none_ts else np.nan
            if hist_w >= 0:
                h = heads[s, hist_w]
                n_prev = e - h
                out_cust[1, r] = n_prev
                if n_prev > 0:
                    mean = sums[s, hist_w] / n_prev
                    var = max(0.0, (sumsq[s, hist_w] - sums[s, hist_w] * mean) / n_prev)
                    out_cust[2, r] = mean / 100.0
                    out_cust[3, r] = math.sqrt(var) / 100.0
                    out_cust[4, r] = _window_max(ev_cents, ev_pg, off, cp, e - 1, h) / 100.0
                else:
                    out_cust[2, r] = np.nan
                    out_cust[3, r] = np.nan
                    out_cust[4, r] = np.nan
                if use_geo:
                    if n_prev > 0:
                        out_cust[8, r] = _haversine_km(lat[i], lon[i], geo_sums[s, 0] / n_prev,
                                                       geo_sums[s, 1] / n_prev)
                    else:
                        out_cust[8, r] = np.nan
            if use_novelty and novelty_w >= 0:
                new_m = 1.0
                new_c = 1.0 if use_category else np.nan
                for q in range(e - 1, heads[s, novelty_w] - 1, -1):
                    p = _pos(off, cp, q)
                    if ev_m[p] == mkey[i]:
                        new_m = 0.0
                    if use_category and ev_c[p] == ckey[i]:
                        new_c = 0.0
                    if new_m == 0.0 and (new_c == 0.0 or not use_category):
                        break
                out_cust[5, r] = new_m
                out_cust[6, r] = new_c
            if repeat_w >= 0:
                rep = 0.0
                for q in range(e - 1, heads[s, repeat_w] - 1, -1):
                    if ev_cents[_pos(off, cp, q)] == a:
                        rep = 1.0
                        break
                out_cust[7, r] = rep
        # 3. append
        p = _pos(off, cp, e)
        if use_pg:
            lo = start[s]
            k = e - 1
            while k >= lo:
                pk = _pos(off, cp, k)
                if ev_cents[pk] > a:
                    break
                d = ev_pg[pk]
                k = k - d if d > 0 else lo - 1
            ev_pg[p] = e - k if k >= lo else 0
        ev_ts[p] = t
        ev_cents[p] = a
        if use_novelty:
            ev_m[p] = mkey[i]
            if use_category:
                ev_c[p] = ckey[i]
        if use_geo:
            ev_lat[p] = lat[i]
            ev_lon[p] = lon[i]
        if n_r > 0:
            ev_key[p] = txkey[i]
            ev_fl[p] = 0
        e += 1
        end[s] = e
        last_ts[s] = t
        # 4. windows including the current event
        for w in range(n_w):
            sums[s, w] += a
            sumsq[s, w] += float(a) * float(a)
            if use_geo and w == hist_w:
                geo_sums[s, 0] += lat[i]
                geo_sums[s, 1] += lon[i]
            if out_win.shape[2] > 0:
                n = e - heads[s, w]
                mean = sums[s, w] / n
                var = max(0.0, (sumsq[s, w] - sums[s, w] * mean) / n)
                out_win[w, 0, r] = n
                out_win[w, 1, r] = sums[s, w] / 100.0
                out_win[w, 2, r] = mean / 100.0
                out_win[w, 3, r] = math.sqrt(var) / 100.0
                if win_max[w]:
                    out_win[w, 4, r] = _window_max(ev_cents, ev_pg, off, cp, e - 1, heads[s, w]) / 100.0
        # 5. label-delayed risk: running counts over (t - delay - w, t - delay]
        new_start = e
        for w in range(n_w):
            new_start = min(new_start, heads[s, w])
        if n_r > 0:
            lim = t - delay_ns
            q = enter[s, 0]
            oldest_before = q
            for j in range(n_r):
                oldest_before = min(oldest_before, leave[s, j])
            while q < e:
                p = _pos(off, cp, q)
                if ev_ts[p] > lim:
                    break
                known = (fraud_keys.shape[0] > 0
                         and _fraud_known_at(fraud_keys, fraud_at, fraud_bitmap, ev_key[p]) <= t)
                ev_fl[p] = 1 if known else 0
                if known:
                    for j in range(n_r):
                        frauds[s, j] += 1
                loc_insert(loc_keys, loc_vals, loc_count, ev_key[p], pack(s, q))
                q += 1
            enter[s, 0] = q
            oldest = q
            for j in range(n_r):
                lim_j = lim - risk_ns[j]
                h = leave[s, j]
                while h < q:
                    p = _pos(off, cp, h)
                    if ev_ts[p] > lim_j:
                        break
                    frauds[s, j] -= ev_fl[p]
                    h += 1
                leave[s, j] = h
                oldest = min(oldest, h)
                out_risk[j, 0, r] = q - h
                out_risk[j, 1, r] = frauds[s, j]
            for q2 in range(oldest_before, oldest):  # left every delayed window
                loc_delete(loc_keys, loc_vals, loc_count, ev_key[_pos(off, cp, q2)], pack(s, q2))
            new_start = min(new_start, oldest)
        start[s] = new_start
    return slots.shape[0]


@nb.njit(cache=True)
def relabel(keys, desired, start, enter, leave, frauds, offset, cap, ev_fl, loc_keys, loc_vals):
    """Set the flags of the events of ``keys`` (those inside a delayed window) to ``desired``
    (1: fraud label known now, 0: not), with +-1 on the running fraud counts."""
    for i in range(keys.shape[0]):
        _set_flag(keys[i], desired[i], start, enter, leave, frauds, offset, cap, ev_fl, loc_keys, loc_vals)


@nb.njit(cache=True)
def _oldest_located(s, enter, leave):
    """Index of the oldest event of slot ``s`` still inside one of its delayed windows."""
    lo = enter[s, 0]
    for j in range(leave.shape[1]):
        lo = min(lo, leave[s, j])
    return lo


@nb.njit(cache=True)
def locate_all(slots, start, enter, leave, offset, cap, ev_key, loc_keys, loc_vals, loc_count):
    """Insert every event inside a delayed window of ``slots`` into the locator (after a load)."""
    for s in slots:
        for q in range(_oldest_located(s, enter, leave), enter[s, 0]):
            loc_insert(loc_keys, loc_vals, loc_count, ev_key[_pos(offset[s], cap[s], q)], pack(s, q))


@nb.njit(cache=True)
def drop_located(slots, start, enter, leave, offset, cap, ev_key, loc_keys, loc_vals, loc_count):
    """Remove the located events of ``slots`` (before those slots are evicted)."""
    for s in slots:
        for q in range(_oldest_located(s, enter, leave), enter[s, 0]):
            loc_delete(loc_keys, loc_vals, loc_count, ev_key[_pos(offset[s], cap[s], q)], pack(s, q))


@nb.njit(cache=True)
def compact_rings(order, offset, cap, new_offset, new_cap, start, end, arena, scratch):
    """Move the rings of ``order`` (sorted by offset) in place to ``new_offset`` / ``new_cap``.

    Requires ``new_cap <= cap`` and new offsets packed from 0 in the same order, so a ring's new
    place never reaches a ring not yet moved; each ring goes through ``scratch``.
    """
    for i in range(order.shape[0]):
        s = order[i]
        if new_offset[i] == offset[s] and new_cap[i] == cap[s]:
            continue  # already in place (e.g. the rings before the first hole)
        n = end[s] - start[s]
        _copy_ring(arena, offset[s], cap[s], scratch, 0, n, start[s], n)
        _copy_ring(scratch, 0, n, arena, new_offset[i], new_cap[i], start[s], n)


@nb.njit(cache=True)
def copy_rings(offset, cap, start, end, moved, new_offset, new_cap, arena):
    """Copy the live events of the rings ``moved`` to ``new_offset`` / ``new_cap`` (places that
    overlap no live ring) in the same arena."""
    for i in range(moved.shape[0]):
        s = moved[i]
        _copy_ring(arena, offset[s], cap[s], arena, new_offset[i], new_cap[i], start[s], end[s] - start[s])


@nb.njit(cache=True, inline="always")
def _copy_ring(src, src_offset, src_cap, dst, dst_offset, dst_cap, q, n):
    """Copy events ``q .. q + n - 1`` from the ring ``src_offset`` / ``src_cap`` of ``src`` to
    the ring ``dst_offset`` / ``dst_cap`` of ``dst`` (the two places must not overlap), as at
    most three contiguous pieces (each ring wraps at most once)."""
    k = 0
    while k < n:
        p = (q + k) % src_cap
        d = (q + k) % dst_cap
        length = min(n - k, src_cap - p, dst_cap - d)
        dst[dst_offset + d:dst_offset + d + length] = src[src_offset + p:src_offset + p + length]
        k += length

"""Compiled inner loops of the feature engine: one pass over a micro-batch for one entity kind.

The engine sorts a micro-batch by (event time, tx id) and calls :func:`advance` once per entity
kind (customer, merchant, category). For every event, in order, the kernel

1. expires events that fell out of each window (running count, sum and sum of squares in
   integer cents, so sums stay exact),
2. computes the "before" features from the entity's earlier events (history, recency,
   novelty, repeated amount, usual location),
3. appends the event to the entity's ring buffer and updates the running sums,
4. computes the windowed statistics, which include the current event, and
5. for label-delayed risk, counts the entity's events in ``(t - delay - w, t - delay]`` and the
   frauds among them whose label is known (``known_at <= t``).

Ring buffers live in one flat arena per kind: entity ``s`` owns ``arena[offset[s] :
offset[s] + cap[s]]`` and its event number ``q`` sits at ``offset[s] + q % cap[s]``; events
``start[s] <= q < end[s]`` are live. The caller guarantees the capacity before the call.
The running maximum uses a "previous strictly greater" chain (``pg``: distance back to that
event, 0 for none), so the maximum of a window is found by walking the chain from the newest
event, amortised O(1) to maintain and O(log n) expected to query.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

__all__ = ["N_CUSTOMER_OUT", "advance", "copy_rings"]

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
def advance(
    slots, ts, cents, mkey, ckey, lat, lon, txkey, rows,
    offset, cap, start, end, last_ts, heads, sums, sumsq, geo_sums, enter, leave,
    ev_ts, ev_cents, ev_pg, ev_m, ev_c, ev_lat, ev_lon, ev_key,
    win_ns, win_max, hist_w, repeat_w, novelty_w, use_geo, use_novelty, use_pg,
    delay_ns, risk_ns, fraud_keys, fraud_at, fraud_bitmap,
    out_win, out_cust, out_risk,
):
    """Process events in the given order for one entity kind; see the module docstring.

    Batch arrays are in processing order; ``rows[i]`` is the output row of event ``i``.
    Outputs are column-major: ``out_win`` is (windows, 5, rows): count, sum, mean, std, max
    (currency units); ``out_cust`` (9, rows); ``out_risk`` (risk windows, 2, rows).
    """
    n_w = win_ns.shape[0]
    n_r = risk_ns.shape[0]
    none_ts = np.iinfo(np.int64).min
    use_category = ev_c.shape[0] > 0
    for i in range(slots.shape[0]):
        s = slots[i]
        t = ts[i]
        a = cents[i]
        r = rows[i]
        off = offset[s]
        cp = cap[s]
        e = end[s]
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
            out_cust[0, r] = (t - last_ts[s]) / 1e9 if last_ts[s] != none_ts else np.nan
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
        # 5. label-delayed risk
        new_start = e
        for w in range(n_w):
            new_start = min(new_start, heads[s, w])
        if n_r > 0:
            lim = t - delay_ns
            q = enter[s]
            while q < e and ev_ts[_pos(off, cp, q)] <= lim:
                q += 1
            enter[s] = q
            oldest = q
            for j in range(n_r):
                lim_j = lim - risk_ns[j]
                h = leave[s, j]
                while h < q and ev_ts[_pos(off, cp, h)] <= lim_j:
                    h += 1
                leave[s, j] = h
                oldest = min(oldest, h)
                out_risk[j, 0, r] = q - h
                out_risk[j, 1, r] = 0.0
            if fraud_keys.shape[0] > 0:
                for q2 in range(oldest, q):
                    if _fraud_known_at(fraud_keys, fraud_at, fraud_bitmap, ev_key[_pos(off, cp, q2)]) <= t:
                        for j in range(n_r):
                            if q2 >= leave[s, j]:
                                out_risk[j, 1, r] += 1.0
            new_start = min(new_start, oldest)
        start[s] = new_start


@nb.njit(cache=True)
def copy_rings(src_offset, src_cap, dst_offset, dst_cap, start, end, moved, src, dst):
    """Copy live events of the entities in ``moved`` from one ring layout to another."""
    for s in moved:
        for q in range(start[s], end[s]):
            dst[dst_offset[s] + q % dst_cap[s]] = src[src_offset[s] + q % src_cap[s]]

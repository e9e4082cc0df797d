"""The raw reference: planner's LP built straight from instance data as numpy/scipy arrays.

`formulate(data)` writes the SAME linear programme planner.build writes (same columns in the
same order, same rows in the same order, same bounds, same objective constant) from the
instance dict alone: no PuLP, no planner.build, no planner.schema. It is vectorised (sparse
matrix products over areas x interventions x years) so it scales to 1e6 columns, and it only
knows the features bench/generate.py uses; `formulate` refuses data that uses any other.

Columns: every intervention (in the data's order) in every plan year, one per tranche, then the
money carried out of each year. Units u[i,t] = sum of i's tranche columns in year t. Outcome
levels are linear in units: level[k,t] = baseline[k] + sum over effects (i, per_unit, lag) with
t - lag >= 1 of per_unit x (u[i, t - lag] - baseline_units[i]). Rows, in planner's order:
envelope (spend + carry out - carry in <= envelope), outcome floors, outcome >= 0 and <= its
maximum, partners' net income >= baseline - most loss and <= baseline + most gain, units
<= max_units and >= min_units, ramps (up, down, up share, down share).

`solve_highs(m)` hands the arrays to HiGHS with one `passModel` and runs it with the options
planner's solve uses (pulp.HiGHS(msg=False, mip=False, gapRel=0.0): log_to_console false,
mip_rel_gap 0; everything else HiGHS's default: presolve on, simplex strategy "choose" (dual
simplex on these LPs), threads default), so the two runs differ only in how the model is built
and handed over. Import planner (which imports pulp) before this module when both are used in
one process: PuLP must load highspy's extension first.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

SUPPORTED = {
    "name", "title", "description", "health_unit", "baseline_year", "horizon", "discount_rate",
    "objective", "envelope", "savings", "partners", "interventions", "outcomes", "floors",
    "uncertainty", "currency", "population", "sources", "model", "pathway",
}  # fmt: skip
INTERVENTION_KEYS = {
    "name", "unit", "unit_cost", "health_gain", "tranches", "effects", "delivered_by",
    "baseline_units", "min_units", "max_units", "ramp", "source", "notes",
}  # fmt: skip
OUTCOME_KEYS = {
    "name", "unit", "baseline", "maximum", "tariff", "paid_to", "health_gain_per_event",
    "external_costs", "source", "notes",
}  # fmt: skip
PARTNER_KEYS = {"name", "baseline_income", "max_loss", "max_loss_share", "max_gain",
                "max_gain_share", "notes"}  # fmt: skip
RAMPS = ("max_increase", "max_decrease", "max_increase_share", "max_decrease_share")


@dataclass
class Matrix:
    """An LP as arrays: maximise or minimise c x + offset, row_lower <= A x <= row_upper,
    col_lower <= x <= col_upper; integrality 1 marks an integer column (none here)."""

    c: np.ndarray
    offset: float
    maximise: bool
    a: sp.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integrality: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.a.shape
        return int(rows), int(cols)


def _check(data: dict[str, Any]) -> None:
    """Refuse data using a feature this formulation does not write."""

    def refuse(where: str, keys: set[str]) -> None:
        raise ValueError(f"bench.matrix does not formulate {where}: {', '.join(sorted(keys))}")

    if extra := set(data) - SUPPORTED:
        refuse("these instance fields", extra)
    if (data.get("objective") or {}).get("kind", "health_gain") != "health_gain":
        refuse("this objective", {data["objective"]["kind"]})
    if (data.get("savings") or {}).get("rule", "carry_forward") != "carry_forward":
        refuse("this savings rule", {data["savings"]["rule"]})
    envelope = data.get("envelope")
    if envelope is None or set(envelope) - {"baseline", "reduction"}:
        refuse("an envelope other than baseline and reduction", set(envelope or {"none"}))
    for iid, item in data["interventions"].items():
        if extra := set(item) - INTERVENTION_KEYS:
            refuse(f"intervention {iid}'s", extra)
        if extra := set(item.get("ramp") or {}) - set(RAMPS):
            refuse(f"intervention {iid}'s ramp", extra)
    for oid, outcome in (data.get("outcomes") or {}).items():
        if extra := set(outcome) - OUTCOME_KEYS:
            refuse(f"outcome {oid}'s", extra)
    for pid, partner in (data.get("partners") or {}).items():
        if extra := set(partner) - PARTNER_KEYS:
            refuse(f"partner {pid}'s", extra)
    for fid, floor in (data.get("floors") or {}).items():
        if extra := set(floor) - {"outcome", "bound", "value", "relative", "year", "description"}:
            refuse(f"floor {fid}'s", extra)


def _shares(value: Any) -> dict[str, float]:
    if value is None:
        return {}
    return {value: 1.0} if isinstance(value, str) else {k: float(v) for k, v in value.items()}


def _effect_list(raw: Any) -> list[tuple[float, int]]:
    if isinstance(raw, int | float):
        return [(float(raw), 0)]
    listed = [raw] if isinstance(raw, dict) else list(raw)
    return [(float(e["per_unit"]), int(e.get("lag", 0))) for e in listed]


def _coo(rows: Any, cols: Any, vals: Any, shape: tuple[int, int]) -> sp.csr_matrix:
    """A CSR matrix from triplets, duplicates summed."""
    matrix = sp.coo_matrix(
        (np.asarray(vals, dtype=float), (np.asarray(rows, dtype=np.int64), np.asarray(cols))),
        shape=shape,
    )
    return matrix.tocsr()


def formulate(data: dict[str, Any]) -> Matrix:
    """planner's LP of `data` (an instance dict using only bench/generate.py's features) as
    arrays, in planner's column and row order."""
    _check(data)
    T = int(data["horizon"])
    first = int(data["baseline_year"]) + 1
    rate = float(data.get("discount_rate", 0.035))
    discount = (1 + rate) ** -np.arange(T, dtype=float)
    env = data["envelope"]
    envelope = float(env.get("baseline") or 0.0) * (1 - float(env.get("reduction") or 0.0)) ** (
        np.arange(1, T + 1, dtype=float)
    )
    items = data["interventions"]
    outcomes = data.get("outcomes") or {}
    partners = data.get("partners") or {}
    iids, oids, pids = list(items), list(outcomes), list(partners)
    I, K, P = len(iids), len(oids), len(pids)  # noqa: E741 (the formulation's index names)
    ii = {iid: n for n, iid in enumerate(iids)}
    ki = {oid: n for n, oid in enumerate(oids)}
    pi = {pid: n for n, pid in enumerate(pids)}

    # per-intervention numbers
    base_units = np.array([float(items[i].get("baseline_units", 0.0)) for i in iids])
    ntr = np.array([len(items[i]["tranches"]) if items[i].get("tranches") else 1 for i in iids])
    tranche_gain: list[float] = []
    tranche_ub: list[float] = []
    for iid in iids:
        item = items[iid]
        if item.get("tranches"):
            for tranche in item["tranches"]:
                tranche_gain.append(float(tranche["health_gain"]))
                size = tranche.get("units")
                tranche_ub.append(np.inf if size is None else float(size))
        else:
            tranche_gain.append(float(item.get("health_gain", 0.0)))
            tranche_ub.append(np.inf)
    gains, ubs = np.array(tranche_gain), np.array(tranche_ub)

    # columns: intervention-major, then year, then tranche; carry last
    start = np.concatenate([[0], np.cumsum(ntr * T)])
    n_units_cols = int(start[-1])
    n = n_units_cols + T
    tr_first = np.concatenate([[0], np.cumsum(ntr)])[:-1]  # first tranche of i in gains
    col_i = np.repeat(np.arange(I), ntr * T)
    within = np.arange(n_units_cols) - np.repeat(start[:-1], ntr * T)
    col_t = within // np.repeat(ntr, ntr * T)
    col_j = within % np.repeat(ntr, ntr * T)
    # U: units (i*T + t) x columns, summing tranches
    U = _coo(col_i * T + col_t, np.arange(n_units_cols), np.ones(n_units_cols), (I * T, n))
    col_gain = gains[tr_first[col_i] + col_j]
    col_upper = np.concatenate([ubs[tr_first[col_i] + col_j], np.full(T, np.inf)])

    # outcome levels as (K*T) x (I*T) matrix L plus constant lc
    e_i: list[int] = []
    e_k: list[int] = []
    e_v: list[float] = []
    e_lag: list[int] = []
    for iid in iids:
        for oid, raw in (items[iid].get("effects") or {}).items():
            for per_unit, lag in _effect_list(raw):
                e_i.append(ii[iid])
                e_k.append(ki[oid])
                e_v.append(per_unit)
                e_lag.append(lag)
    ei, ek, ev, elag = np.array(e_i, int), np.array(e_k, int), np.array(e_v), np.array(e_lag)
    ts = np.arange(T)
    live = ts[None, :] - elag[:, None] >= 0  # effect e reaches year t (t - lag >= 1, 1-based)
    e_idx, t_idx = np.nonzero(live)
    L = _coo(
        ek[e_idx] * T + t_idx,
        ei[e_idx] * T + t_idx - elag[e_idx],
        ev[e_idx],
        (K * T, I * T),
    )
    out_base = np.array([float(outcomes[o]["baseline"]) for o in oids])
    lc = np.repeat(out_base, T) - np.bincount(
        ek[e_idx] * T + t_idx, weights=ev[e_idx] * base_units[ei[e_idx]], minlength=K * T
    )
    moved = np.zeros(K, bool)
    moved[[ki[o] for iid in iids for o in (items[iid].get("effects") or {})]] = True

    # payments: units at price to partners, tariffs to payees (P*T rows), spend (T rows)
    pay_p: list[int] = []
    pay_i: list[int] = []
    pay_v: list[float] = []
    for iid in iids:
        for pid, share in _shares(items[iid].get("delivered_by")).items():
            pay_p.append(pi[pid])
            pay_i.append(ii[iid])
            pay_v.append(float(items[iid]["unit_cost"]) * share)
    tar_p: list[int] = []
    tar_k: list[int] = []
    tar_v: list[float] = []
    ext_p: list[int] = []
    ext_k: list[int] = []
    ext_v: list[float] = []
    maximum = np.full(K, np.nan)
    hpe = np.zeros(K)
    for oid, outcome in outcomes.items():
        tariff = float(outcome.get("tariff", 0.0))
        if tariff:
            for pid, share in _shares(outcome.get("paid_to")).items():
                tar_p.append(pi[pid])
                tar_k.append(ki[oid])
                tar_v.append(tariff * share)
        for pid, each in (outcome.get("external_costs") or {}).items():
            ext_p.append(pi[pid])
            ext_k.append(ki[oid])
            ext_v.append(float(each))
        if outcome.get("maximum") is not None:
            maximum[ki[oid]] = float(outcome["maximum"])
        hpe[ki[oid]] = float(outcome.get("health_gain_per_event", 0.0))

    def per_year(p: list[int], x: list[int], v: list[float], width: int) -> sp.csr_matrix:
        """(P*T) x (width*T): entry v of (p, x) in every year."""
        pp, xx, vv = np.array(p, int), np.array(x, int), np.array(v)
        return _coo(
            (pp[:, None] * T + ts).ravel(),
            (xx[:, None] * T + ts).ravel(),
            np.repeat(vv, T),
            (P * T, width * T),
        )

    income_units = per_year(pay_p, pay_i, pay_v, I)
    tariffs = per_year(tar_p, tar_k, tar_v, K)
    external = per_year(ext_p, ext_k, ext_v, K)
    income = income_units + tariffs @ L  # partner-year x units
    income_c = tariffs @ lc
    net = income - external @ L
    net_c = income_c - external @ lc
    year_of = sp.csr_matrix((np.ones(P * T), (np.tile(ts, P), np.arange(P * T))), (T, P * T))
    spend = year_of @ income  # every payment is enveloped here
    spend_c = year_of @ income_c

    # partners' baselines and limits
    baseline_income = np.bincount(
        np.array(pay_p, int),
        weights=np.array(pay_v) * base_units[np.array(pay_i, int)],
        minlength=P,
    ) + np.bincount(
        np.array(tar_p, int),
        weights=np.array(tar_v) * out_base[np.array(tar_k, int)],
        minlength=P,
    )
    for pid, partner in partners.items():
        if partner.get("baseline_income") is not None:
            baseline_income[pi[pid]] = float(partner["baseline_income"])
    baseline_external = np.bincount(
        np.array(ext_p, int),
        weights=np.array(ext_v) * out_base[np.array(ext_k, int)],
        minlength=P,
    )
    loss = np.full(P, np.nan)
    gain = np.full(P, np.nan)
    for pid, partner in partners.items():
        p = pi[pid]
        if partner.get("max_loss") is not None:
            loss[p] = float(partner["max_loss"])
        if partner.get("max_loss_share") is not None:
            loss[p] = float(partner["max_loss_share"]) * baseline_income[p]
        if partner.get("max_gain") is not None:
            gain[p] = float(partner["max_gain"])
        if partner.get("max_gain_share") is not None:
            gain[p] = float(partner["max_gain_share"]) * baseline_income[p]
    baseline_net = baseline_income - baseline_external

    blocks: list[tuple[sp.csr_matrix, np.ndarray, np.ndarray]] = []  # (A on units, lo, up)

    def add(rows: sp.csr_matrix, const: np.ndarray, lo: np.ndarray, up: np.ndarray) -> None:
        """Rows `lo <= rows @ u + const <= up`, stored with the constant moved to the bounds."""
        blocks.append((rows, lo - const, up - const))

    # 1. envelope: spend[t] + carry[t] - carry[t-1] <= envelope[t] (carry added below)
    add(spend, spend_c, np.full(T, -np.inf), envelope)
    # 2. outcome floors
    f_rows: list[int] = []
    f_lo: list[float] = []
    f_up: list[float] = []
    for floor in (data.get("floors") or {}).values():
        k = ki[floor["outcome"]]
        bound = (
            float(floor["value"])
            if floor.get("value") is not None
            else float(floor["relative"]) * out_base[k]
        )
        years = [int(floor["year"]) - first] if floor.get("year") is not None else range(T)
        for t in years:
            f_rows.append(k * T + t)
            f_lo.append(-np.inf if floor["bound"] == "upper" else bound)
            f_up.append(bound if floor["bound"] == "upper" else np.inf)
    rows = np.array(f_rows, int)
    add(L[rows], lc[rows], np.array(f_lo), np.array(f_up))
    # 3. outcome limits, per (moved outcome, year): level >= 0, then level <= maximum
    lim = np.nonzero(np.repeat(moved, T))[0]
    has_max = ~np.isnan(np.repeat(maximum, T)[lim])
    kinds = np.concatenate([np.zeros(len(lim), int), np.ones(int(has_max.sum()), int)])
    which = np.concatenate([lim, lim[has_max]])
    order = np.lexsort((kinds, which))
    lo = np.where(kinds == 0, 0.0, -np.inf)[order]
    up = np.where(kinds == 0, np.inf, np.repeat(maximum, T)[which])[order]
    add(L[which[order]], lc[which[order]], lo, up)
    # 4. partners: net >= baseline net - loss, then net <= baseline net + gain
    pt = np.arange(P * T)
    p_of = pt // T
    has_loss, has_gain = ~np.isnan(loss[p_of]), ~np.isnan(gain[p_of])
    which = np.concatenate([pt[has_loss], pt[has_gain]])
    kinds = np.concatenate([np.zeros(int(has_loss.sum()), int), np.ones(int(has_gain.sum()), int)])
    order = np.lexsort((kinds, which))
    which, kinds = which[order], kinds[order]
    bn = baseline_net[which // T]
    lo = np.where(kinds == 0, bn - np.nan_to_num(loss[which // T]), -np.inf)
    up = np.where(kinds == 1, bn + np.nan_to_num(gain[which // T]), np.inf)
    add(net[which], net_c[which], lo, up)
    # 5. capacity, per (intervention, year): units <= max_units, then units >= min_units
    most = np.array([np.nan if items[i].get("max_units") is None else items[i]["max_units"]
                     for i in iids], float)  # fmt: skip
    least = np.array([items[i].get("min_units") or 0.0 for i in iids], float)
    it = np.arange(I * T)
    has_max, has_min = ~np.isnan(most[it // T]), least[it // T] != 0
    which = np.concatenate([it[has_max], it[has_min]])
    kinds = np.concatenate([np.zeros(int(has_max.sum()), int), np.ones(int(has_min.sum()), int)])
    order = np.lexsort((kinds, which))
    which, kinds = which[order], kinds[order]
    eye = sp.identity(I * T, format="csr")
    lo = np.where(kinds == 1, least[which // T], -np.inf)
    up = np.where(kinds == 0, np.nan_to_num(most[which // T]), np.inf)
    add(eye[which], np.zeros(len(which)), lo, up)
    # 6. ramps, per (intervention, year): up, down, up share, down share; year 1 from baseline
    r_rows: list[int] = []
    r_prev: list[int] = []
    r_kind: list[int] = []
    r_val: list[float] = []
    for iid in iids:
        ramp = items[iid].get("ramp")
        if not ramp:
            continue
        for t in range(T):
            for kind, key in enumerate(RAMPS):
                if ramp.get(key) is not None:
                    r_rows.append(ii[iid] * T + t)
                    r_prev.append(t)
                    r_kind.append(kind)
                    r_val.append(float(ramp[key]))
    rr, rt = np.array(r_rows, int), np.array(r_prev, int)
    rk, rv = np.array(r_kind, int), np.array(r_val)
    nr = len(rr)
    # coefficient on now and on before, and the bound, by kind
    c_now = np.select([rk == 0, rk == 1, rk == 2, rk == 3], [1.0, -1.0, 1.0, -1.0])
    c_before = np.select([rk == 0, rk == 1, rk == 2, rk == 3], [-1.0, 1.0, -(1 + rv), 1 - rv])
    bound = np.where(rk < 2, rv, 0.0)
    has_before = rt > 0
    R = _coo(
        np.concatenate([np.arange(nr), np.arange(nr)[has_before]]),
        np.concatenate([rr, rr[has_before] - 1]),
        np.concatenate([c_now, c_before[has_before]]),
        (nr, I * T),
    )
    r_const = np.where(has_before, 0.0, c_before * base_units[rr // T])
    add(R, r_const, np.full(nr, -np.inf), bound)

    # assemble: units blocks x U, then the envelope's carry columns
    a_units = sp.vstack([b[0] for b in blocks], format="csr") @ U
    carry = sp.lil_matrix((a_units.shape[0], n))
    for t in range(T):
        carry[t, n_units_cols + t] = 1.0
        if t:
            carry[t, n_units_cols + t - 1] = -1.0
    a = (a_units + carry.tocsr()).tocsr()
    a.sum_duplicates()
    a.eliminate_zeros()
    row_lower = np.concatenate([b[1] for b in blocks])
    row_upper = np.concatenate([b[2] for b in blocks])

    c = np.zeros(n)
    c[:n_units_cols] = col_gain * discount[col_t]
    hpe_t = np.repeat(hpe, T) * np.tile(discount, K)  # per (k, t)
    c += np.asarray(hpe_t @ L @ U).ravel()
    offset = float(hpe_t @ (lc - np.repeat(out_base, T)))
    return Matrix(
        c=c,
        offset=offset,
        maximise=True,
        a=a,
        row_lower=row_lower,
        row_upper=row_upper,
        col_lower=np.zeros(n),
        col_upper=col_upper,
        integrality=np.zeros(n, dtype=np.uint8),
    )


def to_highs(m: Matrix) -> Any:
    """A highspy.Highs holding `m` (one passModel call), with planner's options set."""
    h = highspy.Highs()
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    lp = highspy.HighsLp()
    rows, cols = m.shape
    lp.num_col_ = cols
    lp.num_row_ = rows
    lp.col_cost_ = m.c
    lp.col_lower_ = m.col_lower
    lp.col_upper_ = np.where(np.isinf(m.col_upper), highspy.kHighsInf, m.col_upper)
    lp.row_lower_ = np.where(np.isinf(m.row_lower), -highspy.kHighsInf, m.row_lower)
    lp.row_upper_ = np.where(np.isinf(m.row_upper), highspy.kHighsInf, m.row_upper)
    lp.offset_ = m.offset
    lp.sense_ = highspy.ObjSense.kMaximize if m.maximise else highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = m.a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = m.a.indices.astype(np.int32)
    lp.a_matrix_.value_ = m.a.data
    lp.a_matrix_.num_col_ = cols
    lp.a_matrix_.num_row_ = rows
    if m.integrality.any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
            for flag in m.integrality
        ]
    status = h.passModel(lp)
    if status != highspy.HighsStatus.kOk:
        print(f"passModel returned {status}", file=sys.stderr)
    return h


def optimum(h: Any) -> float:
    """The objective value (offset included) of a HiGHS run that proved an optimum."""
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"raw HiGHS: {h.modelStatusToString(h.getModelStatus())}")
    return float(h.getInfo().objective_function_value)


def solve_highs(m: Matrix) -> tuple[Any, float]:
    """Pass `m` to HiGHS in one passModel call and run it with planner's options; the Highs
    object (for its solution and duals) and the objective value (offset included)."""
    h = to_highs(m)
    h.run()
    return h, optimum(h)

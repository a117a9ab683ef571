/* The name matcher's candidate step in one call (screening/name_candidates.py).

   The same answers as the numpy reference there (`reference_candidates`): given a query's
   posting runs (sorted record numbers, one run per phonetic key, shortest first), which
   records are worth scoring. numpy spends ~1-3 us a call on ~40 calls a query, and binary-
   searches every record of a birth year in every run; this walks the smallest side once,
   testing membership in the others with a galloping cursor each (the records come in
   ascending order, so a cursor only moves forward).

   candidates(runs, need, near, on, rare, limit, bits=None) -> bytes (uint32, ascending)
     runs:  sequence of C-contiguous uint32 buffers, each sorted ascending, shortest first
     need:  a record must be in at least this many runs (1..len(runs))
     near:  None, or buffers whose union a record must be in (born near the query's date)
     on:    None, or buffers (born on the query's day or undated): the lenient rule of a
            two-token name, chosen = ((R1|R2) & on) | (R1 & R2 & near) | (rare run & near)
     rare:  a run this short counts alone under the lenient rule
     limit: more than this many chosen: only those in every run, the first `limit`
     bits:  None, or one entry a run: None or the run as a bitset (bit r of byte r / 8),
            searched in one step where a long run costs a gallop of cache misses
     of_year: None, or one buffer a run, in `runs`' order: the records of that run born in
            the query's year, which `near` leaves out; each is chosen as `near` would have
            chosen it (both runs or a rare one under the lenient rule, else `need` runs)
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARRAYS 64

typedef struct {
    const uint32_t *values;
    Py_ssize_t length;
    Py_ssize_t at; /* cursor: every value before it is below what was last asked */
    const uint8_t *bits; /* or NULL: the same records as a bitset (bit r of byte r / 8) */
    Py_ssize_t bit_bytes;
} Cursor;

typedef struct {
    Py_buffer views[MAX_ARRAYS];
    Py_buffer bit_views[MAX_ARRAYS];
    int has_bits[MAX_ARRAYS];
    Cursor cursors[MAX_ARRAYS];
    int count;
} Arrays;

typedef struct {
    uint32_t *values;
    Py_ssize_t length, capacity;
} Found;

static void release(Arrays *arrays) {
    for (int i = 0; i < arrays->count; i++) {
        PyBuffer_Release(&arrays->views[i]);
        if (arrays->has_bits[i]) PyBuffer_Release(&arrays->bit_views[i]);
        arrays->has_bits[i] = 0;
    }
    arrays->count = 0;
}

/* Attach each run's bitset (a sequence as long as the runs, None or bytes-like). */
static int take_bits(PyObject *sequence, Arrays *arrays) {
    if (sequence == Py_None) return 0;
    PyObject *items = PySequence_Fast(sequence, "bits");
    if (items == NULL) return -1;
    if (PySequence_Fast_GET_SIZE(items) != arrays->count) {
        PyErr_SetString(PyExc_ValueError, "bits: one entry (None or a bitset) a run");
        Py_DECREF(items);
        return -1;
    }
    for (int i = 0; i < arrays->count; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(items, i);
        if (item == Py_None) continue;
        if (PyObject_GetBuffer(item, &arrays->bit_views[i], PyBUF_C_CONTIGUOUS) < 0) {
            Py_DECREF(items);
            return -1;
        }
        arrays->has_bits[i] = 1;
        arrays->cursors[i].bits = (const uint8_t *)arrays->bit_views[i].buf;
        arrays->cursors[i].bit_bytes = arrays->bit_views[i].len;
    }
    Py_DECREF(items);
    return 0;
}

/* Take the buffers of a sequence (or nothing for None); 0 on success. */
static int take(PyObject *sequence, Arrays *arrays, const char *what) {
    arrays->count = 0;
    if (sequence == Py_None) return 0;
    PyObject *items = PySequence_Fast(sequence, what);
    if (items == NULL) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(items);
    if (n > MAX_ARRAYS) {
        PyErr_Format(PyExc_ValueError, "%s: at most %d arrays", what, MAX_ARRAYS);
        Py_DECREF(items);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_buffer *view = &arrays->views[arrays->count];
        arrays->has_bits[i] = 0;
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(items, i), view,
                               PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
            Py_DECREF(items);
            release(arrays);
            return -1;
        }
        arrays->count++;
        if (view->itemsize != 4 || view->format == NULL || strchr("IL", view->format[0]) == NULL
            || (view->format[0] == 'L' && sizeof(unsigned long) != 4)) {
            PyErr_Format(PyExc_TypeError, "%s[%zd]: a uint32 array is needed", what, i);
            Py_DECREF(items);
            release(arrays);
            return -1;
        }
        arrays->cursors[i].values = (const uint32_t *)view->buf;
        arrays->cursors[i].length = view->len / 4;
        arrays->cursors[i].at = 0;
        arrays->cursors[i].bits = NULL;
        arrays->cursors[i].bit_bytes = 0;
        arrays->has_bits[i] = 0;
    }
    Py_DECREF(items);
    return 0;
}

static void rewind_all(Arrays *arrays) {
    for (int i = 0; i < arrays->count; i++) arrays->cursors[i].at = 0;
}

static Py_ssize_t total(const Arrays *arrays) {
    Py_ssize_t sum = 0;
    for (int i = 0; i < arrays->count; i++) sum += arrays->cursors[i].length;
    return sum;
}

/* Is `value` in the cursor's array? Values must be asked in ascending order. */
static int holds(Cursor *cursor, uint32_t value) {
    if (cursor->bits != NULL) {
        Py_ssize_t byte = (Py_ssize_t)(value >> 3);
        return byte < cursor->bit_bytes && ((cursor->bits[byte] >> (value & 7)) & 1);
    }
    const uint32_t *v = cursor->values;
    Py_ssize_t n = cursor->length, low = cursor->at;
    if (low >= n || v[n - 1] < value) {
        cursor->at = n;
        return 0;
    }
    if (v[low] >= value) return v[low] == value;
    /* gallop: v[low] < value; find high with v[high] >= value */
    Py_ssize_t step = 1, high = low + 1;
    while (high < n && v[high] < value) {
        low = high;
        step <<= 1;
        high = low + step;
    }
    if (high >= n) high = n - 1;
    /* v[low] < value <= v[high] */
    while (high - low > 1) {
        Py_ssize_t middle = low + (high - low) / 2;
        if (v[middle] < value) low = middle; else high = middle;
    }
    cursor->at = high;
    return v[high] == value;
}

static int in_any(Arrays *arrays, uint32_t value) {
    int found = 0;
    for (int i = 0; i < arrays->count; i++) found |= holds(&arrays->cursors[i], value);
    return found;
}

/* Is `value` in at least `need` of the cursors? Stops at the first run too many it is
   missing from (most values of a common token's run are in no other). */
static int enough(Cursor *cursors, int count, int need, uint32_t value) {
    int misses_left = count - need;
    for (int i = 0; i < count; i++) {
        if (!holds(&cursors[i], value) && --misses_left < 0) return 0;
    }
    return 1;
}

static int count_in(Arrays *arrays, int first, int last, uint32_t value) {
    int count = 0;
    for (int i = first; i < last; i++) count += holds(&arrays->cursors[i], value);
    return count;
}

/* The next distinct value of the merged arrays [first, last) (their cursors as merge
   positions), or 0 when they are spent; `held` gets a bit for each array holding it. */
static int next_held(Arrays *arrays, int first, int last, uint32_t *value, uint64_t *held) {
    int best = -1;
    for (int i = first; i < last; i++) {
        Cursor *c = &arrays->cursors[i];
        if (c->at < c->length && (best < 0 || c->values[c->at] < *value)) {
            best = i;
            *value = c->values[c->at];
        }
    }
    if (best < 0) return 0;
    *held = 0;
    for (int i = first; i < last; i++) {
        Cursor *c = &arrays->cursors[i];
        if (c->at < c->length && c->values[c->at] == *value) {
            *held |= (uint64_t)1 << i;
            while (c->at < c->length && c->values[c->at] == *value) c->at++;
        }
    }
    return 1;
}

static int next_merged(Arrays *arrays, int first, int last, uint32_t *value) {
    uint64_t held;
    return next_held(arrays, first, last, value, &held);
}

static int add(Found *found, uint32_t value) {
    if (found->length == found->capacity) {
        Py_ssize_t capacity = found->capacity ? found->capacity * 2 : 64;
        uint32_t *grown = realloc(found->values, (size_t)capacity * sizeof(uint32_t));
        if (grown == NULL) return -1;
        found->values = grown;
        found->capacity = capacity;
    }
    found->values[found->length++] = value;
    return 0;
}

static int ascending(const void *one, const void *other) {
    uint32_t a = *(const uint32_t *)one, b = *(const uint32_t *)other;
    return (a > b) - (a < b);
}

static void sort_distinct(Found *found) {
    if (found->length < 2) return;
    qsort(found->values, (size_t)found->length, sizeof(uint32_t), ascending);
    Py_ssize_t kept = 1;
    for (Py_ssize_t i = 1; i < found->length; i++)
        if (found->values[i] != found->values[kept - 1]) found->values[kept++] = found->values[i];
    found->length = kept;
}

/* Records in at least `need` runs (and in `near` when given): the smaller of the shortest
   runs' union (a record held by `need` runs is in one of them) and `near` is walked. */
static int at_least(Arrays *runs, int need, Arrays *near, int use_near, Found *found) {
    int drivers = runs->count - need + 1;
    Py_ssize_t driven = 0;
    for (int i = 0; i < drivers; i++) driven += runs->cursors[i].length;
    uint32_t value = 0;
    /* a record of `near` is searched in every run, one of the drivers mostly in one */
    if (use_near && total(near) * runs->count < driven) {
        while (next_merged(near, 0, near->count, &value)) {
            if (enough(runs->cursors, runs->count, need, value) && add(found, value) < 0)
                return -1;
        }
        return 0;
    }
    /* the drivers merge, saying which of them hold each record; only the other runs are
       searched (stopping at one miss too many), and `near` last (several runs, for the
       few records held by enough runs) */
    uint64_t held;
    while (next_held(runs, 0, drivers, &value, &held)) {
        int misses_left = runs->count - need - (drivers - __builtin_popcountll(held));
        if (misses_left < 0) continue;
        if (!enough(&runs->cursors[drivers], runs->count - drivers,
                    runs->count - drivers - misses_left, value))
            continue;
        if (use_near && !in_any(near, value)) continue;
        if (add(found, value) < 0) return -1;
    }
    return 0;
}

/* Two runs, the lenient rule (see the top of this file). */
static int lenient(Arrays *runs, Arrays *near, Arrays *on, Py_ssize_t rare, Found *found) {
    uint32_t value = 0;
    while (next_merged(on, 0, on->count, &value)) {
        if (count_in(runs, 0, 2, value) && add(found, value) < 0) return -1;
    }
    rewind_all(runs);
    rewind_all(near);
    Cursor *shorter = &runs->cursors[0], *longer = &runs->cursors[1];
    if (total(near) < shorter->length) {
        while (next_merged(near, 0, near->count, &value)) {
            if (count_in(runs, 0, 2, value) == 2 && add(found, value) < 0) return -1;
        }
    } else {
        for (Py_ssize_t i = 0; i < shorter->length; i++) {
            value = shorter->values[i];
            if (holds(longer, value) && in_any(near, value) && add(found, value) < 0) return -1;
        }
    }
    for (int r = 0; r < 2; r++) {
        Cursor run = runs->cursors[r];
        if (run.length > rare) continue;
        rewind_all(near);
        for (Py_ssize_t i = 0; i < run.length; i++) {
            if (in_any(near, run.values[i]) && add(found, run.values[i]) < 0) return -1;
        }
    }
    sort_distinct(found);
    return 0;
}

/* The records of `years` (one array a run, in `runs`' order: the part of each run born in
   the query's year, all of them near) chosen by the rule `near` would have applied to them:
   the lenient rule's both runs, or a rare run alone; else at least `need` runs. Added to
   `found`, which is then sorted and made distinct. */
static int of_year(Arrays *runs, Arrays *years, int need, int is_lenient, Py_ssize_t rare,
                   Found *found) {
    if (is_lenient) {
        Cursor *first = &years->cursors[0], *second = &years->cursors[1];
        for (Py_ssize_t i = 0; i < first->length; i++) {
            if (holds(second, first->values[i]) && add(found, first->values[i]) < 0) return -1;
        }
        for (int r = 0; r < 2; r++) {
            if (runs->cursors[r].length > rare) continue;
            for (Py_ssize_t i = 0; i < years->cursors[r].length; i++)
                if (add(found, years->cursors[r].values[i]) < 0) return -1;
        }
    } else if (at_least(years, need, NULL, 0, found) < 0) {
        return -1;
    }
    sort_distinct(found);
    return 0;
}

/* More than `limit`: those in every run, the first `limit`. */
static void cut(Arrays *runs, Py_ssize_t limit, Found *found) {
    if (found->length <= limit) return;
    rewind_all(runs);
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < found->length && kept < limit; i++) {
        uint32_t value = found->values[i];
        if (count_in(runs, 0, runs->count, value) == runs->count) found->values[kept++] = value;
    }
    found->length = kept;
}

static PyObject *candidates(PyObject *self, PyObject *args) {
    PyObject *runs_given, *near_given, *on_given, *bits_given = Py_None, *years_given = Py_None;
    int need;
    Py_ssize_t rare, limit;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiOOnn|OO", &runs_given, &need, &near_given, &on_given, &rare,
                          &limit, &bits_given, &years_given))
        return NULL;
    Arrays runs, near, on, years;
    if (take(runs_given, &runs, "runs") < 0) return NULL;
    if (take_bits(bits_given, &runs) < 0) {
        release(&runs);
        return NULL;
    }
    if (take(near_given, &near, "near") < 0) {
        release(&runs);
        return NULL;
    }
    if (take(on_given, &on, "on") < 0) {
        release(&runs);
        release(&near);
        return NULL;
    }
    if (take(years_given, &years, "of_year") < 0) {
        release(&runs);
        release(&near);
        release(&on);
        return NULL;
    }
    PyObject *answer = NULL;
    Found found = {NULL, 0, 0};
    int failed = 0;
    if (years_given != Py_None && (years.count != runs.count || near_given == Py_None)) {
        PyErr_SetString(PyExc_ValueError, "of_year: one array a run, and `near`");
        goto done;
    }
    if (need < 1) need = 1;
    if (need > runs.count) need = runs.count;
    if (runs.count == 0) {
        /* nothing to find */
    } else if (on_given != Py_None) {
        if (runs.count != 2 || near_given == Py_None) {
            PyErr_SetString(PyExc_ValueError, "the lenient rule takes two runs and `near`");
            goto done;
        }
        failed = lenient(&runs, &near, &on, rare, &found);
    } else {
        failed = at_least(&runs, need, &near, near_given != Py_None, &found);
    }
    if (!failed && runs.count > 0 && years_given != Py_None)
        failed = of_year(&runs, &years, need, on_given != Py_None, rare, &found);
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    cut(&runs, limit, &found);
    answer = PyBytes_FromStringAndSize((const char *)found.values,
                                       found.length * (Py_ssize_t)sizeof(uint32_t));
done:
    free(found.values);
    release(&runs);
    release(&near);
    release(&on);
    release(&years);
    return answer;
}

static PyMethodDef methods[] = {
    {"candidates", candidates, METH_VARARGS,
     "candidates(runs, need, near, on, rare, limit, bits=None, of_year=None) -> bytes of "
     "uint32 records"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_name_candidates",
    "The name matcher's candidate step, compiled (screening/name_candidates.py).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__name_candidates(void) { return PyModule_Create(&module); }

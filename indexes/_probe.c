/*
 * indexes._probe: the hashed-index lookup of indexes/hash_index.py, compiled.
 *
 * Same bytes, same answers as the Python reference (HashIndex.find, HashIndex.find_many);
 * FORMAT.md, "The hashed index", describes them. Why C: the Python probe spends ~1.5 us a
 * miss in the interpreter, not in memory, and a batch pays ~100 ns a key to hash Python
 * bytes one call at a time. Here one call hashes (xxh3_64, vendored xxhash.h), probes and
 * compares; a batch hashes every key, then probes with the home slots prefetched ahead,
 * then compares keys with their offsets and bytes prefetched ahead, so the cache misses
 * of a 100-million-record map overlap instead of queueing.
 *
 * Nothing read from the mapping is trusted: every slot position, entry number, key offset
 * and entry->record number is checked against the length of its section before use, and
 * a value out of range raises IndexError (the callers turn it into CorruptFileError with
 * the file's path). A damaged file gives an error or a wrong answer, never a wild read.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#define XXH_INLINE_ALL
#include "_vendor/xxhash.h"

#define EMPTY_ENTRY 0xFFFFFFFFu
#define MAX_CAPACITY (UINT64_C(1) << 32)
#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD 16
#endif

/* Mapped arrays are aligned in real files, but a caller may pass any buffer: read through
 * memcpy, which compiles to one load where alignment allows it. */
static inline uint64_t
load_u64(const char *base, uint64_t index)
{
    uint64_t value;
    memcpy(&value, base + index * 8, 8);
    return value;
}

static inline uint32_t
load_u32(const char *base, uint64_t index)
{
    uint32_t value;
    memcpy(&value, base + index * 4, 4);
    return value;
}

static inline uint64_t
home_slot(uint64_t hash, uint64_t capacity)
{
    return ((hash >> 32) * capacity) >> 32;
}

static inline void
prefetch(const void *address)
{
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(address, 0, 0);
#else
    (void)address;
#endif
}

/* ------------------------------------------------------------------------------------ */
/* Table: one segment's slots, its keys (fixed-width rows, or key offsets and bytes) and
 * (optional) entry -> record numbers. */

#define MAX_KEY_WIDTH 32

typedef struct {
    PyObject_HEAD
    Py_buffer slots;
    Py_buffer keyoffs;
    Py_buffer keys;
    Py_buffer entrec;
    int has_entrec;
    uint64_t width;         /* 8 .. 32: keys are rows, one per slot (FORMAT.md); 0: keyoffs */
    uint64_t row_count;     /* rows in `keys` (fixed width) */
    uint64_t capacity;
    uint64_t slot_count;
    uint64_t entry_count;   /* entries whose key can be read: rows, or key offsets - 1 */
    uint64_t key_bytes;
    uint64_t entrec_count;
} Table;

typedef struct {
    const char *data;
    Py_ssize_t size;
} Key;

/* A key as a fixed-width row stores it: the bytes, zeros, the length in the last byte.
 * 0 if the key is too long for rows of `width` bytes (then no entry can hold it). */
static inline int
fixed_row(Key key, uint64_t width, unsigned char *row)
{
    if ((uint64_t)key.size >= width)
        return 0;
    memset(row, 0, (size_t)width);
    memcpy(row, key.data, (size_t)key.size);
    row[width - 1] = (unsigned char)key.size;
    return 1;
}

/* Whole rows compared as 64-bit words, and a 32-bit one for a width of 12 or 24. */
static inline int
rows_equal(const char *stored, const unsigned char *wanted, uint64_t width)
{
    uint64_t difference = 0;
    uint64_t at = 0;
    for (; at + 8 <= width; at += 8)
        difference |= load_u64(stored + at, 0) ^ load_u64((const char *)wanted + at, 0);
    if (at < width)
        difference |= load_u32(stored + at, 0) ^ load_u32((const char *)wanted + at, 0);
    return difference == 0;
}

static int
corrupt_slot(uint64_t position, uint64_t slot_count)
{
    PyErr_Format(PyExc_IndexError, "slot %llu read in an array of %llu slots",
                 (unsigned long long)position, (unsigned long long)slot_count);
    return -1;
}

static int
corrupt_entry(uint64_t entry, uint64_t entry_count)
{
    PyErr_Format(PyExc_IndexError, "a slot points at entry %llu of %llu",
                 (unsigned long long)entry, (unsigned long long)entry_count);
    return -1;
}

static int
corrupt_offsets(uint64_t entry, uint64_t start, uint64_t end, uint64_t key_bytes)
{
    PyErr_Format(PyExc_IndexError, "key of entry %llu at [%llu, %llu) outside %llu key bytes",
                 (unsigned long long)entry, (unsigned long long)start,
                 (unsigned long long)end, (unsigned long long)key_bytes);
    return -1;
}

/* Where entry's key lies in `keys`, checked; 0 on success, -1 with IndexError set. */
static inline int
key_range(const Table *table, uint64_t entry, uint64_t *start, uint64_t *end)
{
    if (entry >= table->entry_count)
        return corrupt_entry(entry, table->entry_count);
    *start = load_u64(table->keyoffs.buf, entry);
    *end = load_u64(table->keyoffs.buf, entry + 1);
    if (*start > *end || *end > table->key_bytes)
        return corrupt_offsets(entry, *start, *end, table->key_bytes);
    return 0;
}

/* The record an entry belongs to: itself, or entrec[entry] when records have several keys. */
static inline int
record_of(const Table *table, uint64_t entry, uint64_t *record)
{
    if (!table->has_entrec) {
        *record = entry;
        return 0;
    }
    if (entry >= table->entrec_count) {
        PyErr_Format(PyExc_IndexError, "entry %llu has no record number (%llu entries)",
                     (unsigned long long)entry, (unsigned long long)table->entrec_count);
        return -1;
    }
    *record = load_u32(table->entrec.buf, entry);
    return 0;
}

static int
get_section(PyObject *source, Py_buffer *view, Py_ssize_t itemsize, const char *name)
{
    if (PyObject_GetBuffer(source, view, PyBUF_SIMPLE) < 0)
        return -1;
    if (view->len % itemsize) {
        PyErr_Format(PyExc_ValueError, "section %s is %zd bytes, not a multiple of %zd",
                     name, view->len, itemsize);
        PyBuffer_Release(view);
        view->obj = NULL;
        return -1;
    }
    return 0;
}

static void
Table_release(Table *self)
{
    if (self->slots.obj)
        PyBuffer_Release(&self->slots);
    if (self->keyoffs.obj)
        PyBuffer_Release(&self->keyoffs);
    if (self->keys.obj)
        PyBuffer_Release(&self->keys);
    if (self->entrec.obj)
        PyBuffer_Release(&self->entrec);
}

static void
Table_dealloc(Table *self)
{
    Table_release(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
Table_init(Table *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"slots",  "capacity", "keyoffs", "keys",
                            "entrec", "width",    "entries", NULL};
    PyObject *slots, *keyoffs, *keys, *entrec = Py_None;
    unsigned long long capacity, width = 0, entries = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OKOO|OKK:Table", names, &slots, &capacity,
                                     &keyoffs, &keys, &entrec, &width, &entries))
        return -1;
    Table_release(self);
    memset(&self->slots, 0, sizeof(Py_buffer));
    memset(&self->keyoffs, 0, sizeof(Py_buffer));
    memset(&self->keys, 0, sizeof(Py_buffer));
    memset(&self->entrec, 0, sizeof(Py_buffer));
    if (capacity < 1 || capacity > MAX_CAPACITY) {
        PyErr_Format(PyExc_ValueError, "capacity %llu is not in 1..2**32", capacity);
        return -1;
    }
    if (width != 0 && width != 8 && width != 12 && width != 16 && width != 24 &&
        width != MAX_KEY_WIDTH) {
        PyErr_Format(PyExc_ValueError, "key width %llu is none of 0, 8, 12, 16, 24, 32", width);
        return -1;
    }
    if (get_section(slots, &self->slots, 8, "slots") < 0 ||
        (width == 0 && get_section(keyoffs, &self->keyoffs, 8, "keyoffs") < 0) ||
        get_section(keys, &self->keys, width ? (Py_ssize_t)width : 1, "keys") < 0)
        return -1;
    self->has_entrec = entrec != Py_None;
    if (self->has_entrec && get_section(entrec, &self->entrec, 4, "entrec") < 0)
        return -1;
    self->width = width;
    self->capacity = capacity;
    self->slot_count = (uint64_t)self->slots.len / 8;
    self->row_count = width ? (uint64_t)self->keys.len / width : 0;
    if (width)
        self->entry_count = entries;
    else
        self->entry_count = self->keyoffs.len ? (uint64_t)self->keyoffs.len / 8 - 1 : 0;
    self->key_bytes = (uint64_t)self->keys.len;
    self->entrec_count = self->has_entrec ? (uint64_t)self->entrec.len / 4 : 0;
    return 0;
}

/* Append what `found` should hold for a match: the record, or (part, record). */
static int
append_match(PyObject *found, PyObject *part, uint64_t record)
{
    PyObject *number = PyLong_FromUnsignedLongLong(record);
    if (number == NULL)
        return -1;
    PyObject *item = number;
    if (part != NULL) {
        item = PyTuple_Pack(2, part, number);
        Py_DECREF(number);
        if (item == NULL)
            return -1;
    }
    int failed = PyList_Append(found, item);
    Py_DECREF(item);
    return failed;
}

/* The first slot at or after `position` whose hash is not below `high` (an empty slot,
 * all ones, is not below any). From a home slot on, occupied slots are sorted by hash up
 * to that one (FORMAT.md, "The hashed index"), so it is found by steps of doubling
 * length, then a binary search: a home inside the run of a key thousands of records
 * share (a name token, a genotype) costs a few reads, not a walk over the run. */
static inline uint64_t
first_not_below(const char *slots, uint64_t position, uint64_t slot_count, uint64_t high)
{
    const uint64_t bound = high << 32;
    if (position >= slot_count || load_u64(slots, position) >= bound)
        return position;
    uint64_t low = position, step = 1, upper;
    for (;;) { /* load_u64(slots, low) < bound throughout */
        upper = low + step;
        if (upper >= slot_count) {
            upper = slot_count;
            break;
        }
        if (load_u64(slots, upper) >= bound)
            break;
        low = upper;
        step *= 2;
    }
    while (upper - low > 1) {
        const uint64_t middle = low + (upper - low) / 2;
        if (load_u64(slots, middle) >= bound)
            upper = middle;
        else
            low = middle;
    }
    return upper;
}

/* Probe one table for one key: FORMAT.md's loop, comparing keys only on equal hashes.
 * `hint`, if any, is a bitset the caller reads next for each match: its byte is
 * prefetched with the key offsets, so the two cache misses overlap. */
static int
probe_one(const Table *table, Key key, uint64_t hash, PyObject *found, PyObject *part,
          const Py_buffer *hint)
{
    unsigned char row[MAX_KEY_WIDTH];
    if (table->width && !fixed_row(key, table->width, row))
        return 0; /* longer than any key of this table */
    const uint64_t high = hash >> 32;
    const char *slots = table->slots.buf;
    const uint64_t home = home_slot(hash, table->capacity);
    if (table->width && home < table->row_count) {
        /* The rows of the home slot and the few after it, fetched while the slots are:
         * the two reads of a hit overlap instead of waiting on each other. */
        const char *rows = (const char *)table->keys.buf + home * table->width;
        prefetch(rows);
        prefetch(rows + 2 * table->width);
    }
    for (uint64_t position = first_not_below(slots, home, table->slot_count, high);;
         position++) {
        if (position >= table->slot_count)
            return corrupt_slot(position, table->slot_count);
        const uint64_t slot = load_u64(slots, position);
        const uint64_t slot_high = slot >> 32;
        if (slot_high < high)
            continue;
        if (slot_high > high)
            return 0;
        const uint32_t entry = (uint32_t)slot;
        if (entry == EMPTY_ENTRY)
            return 0;
        if (hint != NULL && !table->has_entrec && entry / 8 < (uint64_t)hint->len)
            prefetch((const char *)hint->buf + entry / 8);
        if (table->width) {
            if (entry >= table->entry_count)
                return corrupt_entry(entry, table->entry_count);
            if (position >= table->row_count)
                return corrupt_slot(position, table->row_count);
            const char *stored = (const char *)table->keys.buf + position * table->width;
            if (!rows_equal(stored, row, table->width))
                continue;
        } else {
            uint64_t start, end;
            if (key_range(table, entry, &start, &end) < 0)
                return -1;
            if (end - start != (uint64_t)key.size ||
                memcmp((const char *)table->keys.buf + start, key.data, (size_t)key.size) != 0)
                continue;
        }
        uint64_t record;
        if (record_of(table, entry, &record) < 0 || append_match(found, part, record) < 0)
            return -1;
    }
}

/* A key as (pointer, length): bytes directly, anything else through a bytes copy kept in
 * the list `*owned` (made on first need) until the caller is done with it. */
static int
key_of(PyObject *object, Key *key, PyObject **owned)
{
    if (!PyBytes_Check(object)) {
        if (*owned == NULL && (*owned = PyList_New(0)) == NULL)
            return -1;
        PyObject *copy = PyBytes_FromObject(object);
        if (copy == NULL)
            return -1;
        int failed = PyList_Append(*owned, copy);
        Py_DECREF(copy);
        if (failed)
            return -1;
        object = copy;
    }
    key->data = PyBytes_AS_STRING(object);
    key->size = PyBytes_GET_SIZE(object);
    return 0;
}

static inline uint64_t
hash_of(Key key)
{
    return XXH3_64bits(key.data, (size_t)key.size);
}

static PyObject *
Table_find(Table *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "find(key, hashed=None)");
        return NULL;
    }
    PyObject *owned = NULL, *found = NULL;
    Key key;
    if (key_of(args[0], &key, &owned) < 0)
        goto done;
    uint64_t hash;
    if (nargs == 2 && args[1] != Py_None) {
        hash = PyLong_AsUnsignedLongLong(args[1]);
        if (hash == (uint64_t)-1 && PyErr_Occurred())
            goto done;
    } else {
        hash = hash_of(key);
    }
    found = PyList_New(0);
    if (found != NULL && probe_one(self, key, hash, found, NULL, NULL) < 0)
        Py_CLEAR(found);
done:
    Py_XDECREF(owned);
    return found;
}

/* ------------------------------------------------------------------------------------ */
/* Batches. */

typedef struct {
    int64_t *query;
    uint64_t *entry;
    uint64_t *position; /* the slot each entry was found in: fixed-width rows are by slot */
    Py_ssize_t count, room;
} Candidates;

static int
candidates_add(Candidates *found, int64_t query, uint64_t entry, uint64_t position)
{
    if (found->count == found->room) {
        Py_ssize_t room = found->room * 2 + 64;
        int64_t *queries = PyMem_Realloc(found->query, (size_t)room * sizeof(int64_t));
        if (queries == NULL)
            goto no_memory;
        found->query = queries;
        uint64_t *entries = PyMem_Realloc(found->entry, (size_t)room * sizeof(uint64_t));
        if (entries == NULL)
            goto no_memory;
        found->entry = entries;
        uint64_t *positions = PyMem_Realloc(found->position, (size_t)room * sizeof(uint64_t));
        if (positions == NULL)
            goto no_memory;
        found->position = positions;
        found->room = room;
    }
    found->query[found->count] = query;
    found->entry[found->count] = entry;
    found->position[found->count] = position;
    found->count++;
    return 0;
no_memory:
    PyErr_NoMemory();
    return -1;
}

static void
candidates_free(Candidates *found)
{
    PyMem_Free(found->query);
    PyMem_Free(found->entry);
    PyMem_Free(found->position);
}

/* Every (query, entry) whose slot hash equals the query's, home slots prefetched ahead. */
static int
probe_slots(const Table *table, const Key *keys, const char *hashes, Py_ssize_t count,
            Candidates *found)
{
    const char *slots = table->slots.buf;
    const uint64_t capacity = table->capacity, slot_count = table->slot_count;
    for (Py_ssize_t query = 0; query < count; query++) {
        if (query + PREFETCH_AHEAD < count) {
            uint64_t ahead = home_slot(load_u64(hashes, query + PREFETCH_AHEAD), capacity);
            if (ahead < slot_count)
                prefetch(slots + ahead * 8);
        }
        if (table->width && (uint64_t)keys[query].size >= table->width)
            continue; /* longer than any key of this table */
        const uint64_t hash = load_u64(hashes, query), high = hash >> 32;
        const uint64_t home = home_slot(hash, capacity);
        for (uint64_t position = first_not_below(slots, home, slot_count, high);; position++) {
            if (position >= slot_count)
                return corrupt_slot(position, slot_count);
            const uint64_t slot = load_u64(slots, position);
            const uint64_t slot_high = slot >> 32;
            if (slot_high < high)
                continue;
            if (slot_high > high || (uint32_t)slot == EMPTY_ENTRY)
                break;
            if (candidates_add(found, query, (uint32_t)slot, position) < 0)
                return -1;
        }
    }
    return 0;
}

/* Keep the candidates whose stored key equals the query's, as (query, record), in place.
 * Two pipelined passes: key offsets prefetched ahead, then key bytes prefetched ahead. */
static int
compare_keys(const Table *table, const Key *keys, Candidates *found)
{
    const Py_ssize_t count = found->count;
    const char *keyoffs = table->keyoffs.buf, *stored = table->keys.buf;
    uint64_t *starts = PyMem_Malloc((size_t)(count ? count : 1) * sizeof(uint64_t));
    if (starts == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t at = 0; at < count; at++) {
        if (at + PREFETCH_AHEAD < count &&
            found->entry[at + PREFETCH_AHEAD] < table->entry_count)
            prefetch(keyoffs + found->entry[at + PREFETCH_AHEAD] * 8);
        uint64_t start, end;
        if (key_range(table, found->entry[at], &start, &end) < 0)
            goto failed;
        Key key = keys[found->query[at]];
        /* A length that differs marks the row as no match before its bytes are read. */
        starts[at] = end - start == (uint64_t)key.size ? start : UINT64_MAX;
    }
    Py_ssize_t kept = 0;
    for (Py_ssize_t at = 0; at < count; at++) {
        if (at + PREFETCH_AHEAD < count && starts[at + PREFETCH_AHEAD] != UINT64_MAX)
            prefetch(stored + starts[at + PREFETCH_AHEAD]);
        Key key = keys[found->query[at]];
        if (starts[at] == UINT64_MAX ||
            memcmp(stored + starts[at], key.data, (size_t)key.size) != 0)
            continue;
        uint64_t record;
        if (record_of(table, found->entry[at], &record) < 0)
            goto failed;
        found->query[kept] = found->query[at];
        found->entry[kept] = record;
        kept++;
    }
    found->count = kept;
    PyMem_Free(starts);
    return 0;
failed:
    PyMem_Free(starts);
    return -1;
}

/* compare_keys for fixed-width rows: one pass, each row prefetched ahead (its place is
 * the slot's number times the width: no offsets to read first). */
static int
compare_rows(const Table *table, const Key *keys, Candidates *found)
{
    const Py_ssize_t count = found->count;
    const char *stored = table->keys.buf;
    const uint64_t width = table->width;
    Py_ssize_t kept = 0;
    for (Py_ssize_t at = 0; at < count; at++) {
        if (at + PREFETCH_AHEAD < count &&
            found->position[at + PREFETCH_AHEAD] < table->row_count)
            prefetch(stored + found->position[at + PREFETCH_AHEAD] * width);
        const uint64_t entry = found->entry[at], position = found->position[at];
        if (entry >= table->entry_count)
            return corrupt_entry(entry, table->entry_count);
        if (position >= table->row_count)
            return corrupt_slot(position, table->row_count);
        unsigned char row[MAX_KEY_WIDTH];
        if (!fixed_row(keys[found->query[at]], width, row) ||
            !rows_equal(stored + position * width, row, width))
            continue;
        uint64_t record;
        if (record_of(table, entry, &record) < 0)
            return -1;
        found->query[kept] = found->query[at];
        found->entry[kept] = record;
        kept++;
    }
    found->count = kept;
    return 0;
}

/* (queries, records) as two bytearrays of int64, ready for numpy.frombuffer. */
static PyObject *
as_arrays(const Candidates *found)
{
    const Py_ssize_t size = found->count * (Py_ssize_t)sizeof(int64_t);
    PyObject *queries = PyByteArray_FromStringAndSize(NULL, size);
    PyObject *records = PyByteArray_FromStringAndSize(NULL, size);
    if (queries == NULL || records == NULL) {
        Py_XDECREF(queries);
        Py_XDECREF(records);
        return NULL;
    }
    if (size) {
        memcpy(PyByteArray_AS_STRING(queries), found->query, (size_t)size);
        int64_t *out = (int64_t *)PyByteArray_AS_STRING(records);
        for (Py_ssize_t at = 0; at < found->count; at++)
            out[at] = (int64_t)found->entry[at];
    }
    PyObject *pair = PyTuple_Pack(2, queries, records);
    Py_DECREF(queries);
    Py_DECREF(records);
    return pair;
}

/* The keys of a batch as (pointer, length). A list or tuple of bytes is read in place:
 * nothing between here and the keys' last use runs Python code (only PyMem calls), so
 * the sequence cannot change under us. Anything else is first copied into a tuple, as
 * converting a non-bytes key may run Python code; `owned` keeps the converted keys. */
static Key *
keys_of(PyObject *sequence, Py_ssize_t *count, PyObject **fast, PyObject **owned)
{
    int in_place = PyList_CheckExact(sequence) || PyTuple_CheckExact(sequence);
    if (in_place) {
        PyObject **items = PySequence_Fast_ITEMS(sequence);
        for (Py_ssize_t at = 0; in_place && at < PySequence_Fast_GET_SIZE(sequence); at++)
            in_place = PyBytes_Check(items[at]);
    }
    *fast = in_place ? Py_NewRef(sequence) : PySequence_Tuple(sequence);
    if (*fast == NULL)
        return NULL;
    *count = PySequence_Fast_GET_SIZE(*fast);
    PyObject **items = PySequence_Fast_ITEMS(*fast);
    Key *keys = PyMem_Malloc((size_t)(*count ? *count : 1) * sizeof(Key));
    if (keys == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t at = 0; at < *count; at++) {
        if (key_of(items[at], &keys[at], owned) < 0) {
            PyMem_Free(keys);
            return NULL;
        }
    }
    return keys;
}

/* The hashes buffer is taken before the keys are read (taking a buffer may run Python
 * code, which must not happen while keys_of's pointers are in use) and sized after. */
static int
hashes_fit(Py_buffer *view, Py_ssize_t count)
{
    if (view->len == count * 8)
        return 0;
    PyErr_Format(PyExc_ValueError, "hashes hold %zd bytes, expected %zd keys x 8", view->len,
                 count);
    return -1;
}

static PyObject *
Table_find_many(Table *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "find_many(keys, hashes)");
        return NULL;
    }
    PyObject *owned = NULL, *fast = NULL, *result = NULL;
    Py_buffer hashes;
    if (PyObject_GetBuffer(args[1], &hashes, PyBUF_SIMPLE) < 0)
        return NULL;
    Py_ssize_t count = 0;
    Key *keys = keys_of(args[0], &count, &fast, &owned);
    Candidates found = {NULL, NULL, NULL, 0, 0};
    if (keys == NULL || hashes_fit(&hashes, count) < 0)
        goto done;
    if (probe_slots(self, keys, hashes.buf, count, &found) == 0 &&
        (self->width ? compare_rows(self, keys, &found) : compare_keys(self, keys, &found)) == 0)
        result = as_arrays(&found);
done:
    PyBuffer_Release(&hashes);
    candidates_free(&found);
    PyMem_Free(keys);
    Py_XDECREF(fast);
    Py_XDECREF(owned);
    return result;
}

static PyMethodDef Table_methods[] = {
    {"find", (PyCFunction)(void (*)(void))Table_find, METH_FASTCALL,
     "find(key, hashed=None) -> list of record numbers stored under key."},
    {"find_many", (PyCFunction)(void (*)(void))Table_find_many, METH_FASTCALL,
     "find_many(keys, hashes) -> (queries, records): two bytearrays of int64."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "indexes._probe.Table",
    .tp_doc = "Table(slots, capacity, keyoffs, keys, entrec=None, width=0, entries=0): one "
              "segment's index, its sections held as buffers; width 8, 12, 16, 24 or 32: "
              "keys is a section of fixed-width rows, one per slot, keyoffs is not read "
              "and entries bounds the entry numbers.",
    .tp_basicsize = sizeof(Table),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Table_init,
    .tp_dealloc = (destructor)Table_dealloc,
    .tp_methods = Table_methods,
};

/* ------------------------------------------------------------------------------------ */
/* Lookup: every segment of a snapshot, one key hashed once, one call.
 *
 * A segment with tombstones or restricted records has a filter: its dead records (any
 * container, asked with `in`) and a bitset of its restricted records, one bit a record;
 * only a hit whose bit is set (a few per cent) pays a call to `visible(record, viewer)`,
 * the Python rule. Everyone else's hits are settled here, without the interpreter. */

typedef struct {
    Py_buffer bits;    /* bits.obj NULL: no restricted records */
    PyObject *dead;    /* NULL: no dead records */
    PyObject *visible; /* callable(record, viewer) -> truthy */
} Filter;

typedef struct {
    PyObject_HEAD
    PyObject *tables;   /* tuple of Table */
    PyObject **parts;   /* the part numbers as ints, made once */
    Filter *filters;    /* one per table, or NULL: nothing filtered */
    PyObject *fallback; /* callable(key, viewer), answers instead on IndexError; or NULL */
    Py_ssize_t count;
} Lookup;

static void
Lookup_dealloc(Lookup *self)
{
    for (Py_ssize_t at = 0; at < self->count; at++) {
        if (self->parts != NULL)
            Py_XDECREF(self->parts[at]);
        if (self->filters != NULL) {
            Filter *filter = &self->filters[at];
            if (filter->bits.obj != NULL)
                PyBuffer_Release(&filter->bits);
            Py_XDECREF(filter->dead);
            Py_XDECREF(filter->visible);
        }
    }
    PyMem_Free(self->parts);
    PyMem_Free(self->filters);
    Py_XDECREF(self->tables);
    Py_XDECREF(self->fallback);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* One filter from (bits or None, dead or None, visible); None: the table is not filtered. */
static int
filter_of(PyObject *spec, Filter *filter)
{
    if (spec == Py_None)
        return 0;
    PyObject *bits, *dead, *visible;
    if (!PyTuple_Check(spec) || !PyArg_ParseTuple(spec, "OOO", &bits, &dead, &visible)) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "a filter is (bits or None, dead or None, visible)");
        return -1;
    }
    if (!PyCallable_Check(visible)) {
        PyErr_SetString(PyExc_TypeError, "a filter's visible must be callable");
        return -1;
    }
    if (bits != Py_None && PyObject_GetBuffer(bits, &filter->bits, PyBUF_SIMPLE) < 0)
        return -1;
    filter->dead = dead == Py_None ? NULL : Py_NewRef(dead);
    filter->visible = Py_NewRef(visible);
    return 0;
}

static int
Lookup_init(Lookup *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"tables", "filters", "fallback", NULL};
    PyObject *tables, *filters = Py_None, *fallback = Py_None;
    if (self->tables != NULL) {
        PyErr_SetString(PyExc_TypeError, "a Lookup is initialised once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|OO:Lookup", names, &tables, &filters,
                                     &fallback))
        return -1;
    if (fallback != Py_None && !PyCallable_Check(fallback)) {
        PyErr_SetString(PyExc_TypeError, "a Lookup's fallback must be callable");
        return -1;
    }
    self->fallback = fallback == Py_None ? NULL : Py_NewRef(fallback);
    tables = PySequence_Tuple(tables);
    if (tables == NULL)
        return -1;
    self->tables = tables;
    Py_ssize_t count = PyTuple_GET_SIZE(tables);
    for (Py_ssize_t at = 0; at < count; at++) {
        if (!PyObject_TypeCheck(PyTuple_GET_ITEM(tables, at), &TableType)) {
            PyErr_SetString(PyExc_TypeError, "tables must be indexes._probe.Table objects");
            return -1;
        }
    }
    self->parts = PyMem_Calloc((size_t)(count ? count : 1), sizeof(PyObject *));
    if (self->parts == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    self->count = count;
    for (Py_ssize_t at = 0; at < count; at++) {
        self->parts[at] = PyLong_FromSsize_t(at);
        if (self->parts[at] == NULL)
            return -1;
    }
    if (filters == Py_None)
        return 0;
    PyObject *specs = PySequence_Tuple(filters);
    if (specs == NULL)
        return -1;
    int failed = PyTuple_GET_SIZE(specs) != count;
    if (failed)
        PyErr_SetString(PyExc_ValueError, "one filter (or None) a table");
    self->filters = failed ? NULL : PyMem_Calloc((size_t)(count ? count : 1), sizeof(Filter));
    if (!failed && self->filters == NULL) {
        PyErr_NoMemory();
        failed = 1;
    }
    for (Py_ssize_t at = 0; !failed && at < count; at++)
        failed = filter_of(PyTuple_GET_ITEM(specs, at), &self->filters[at]) < 0;
    Py_DECREF(specs);
    return failed ? -1 : 0;
}

/* 1: the viewer sees this record, 0: not, -1: an error. */
static int
record_shown(const Filter *filter, PyObject *record, PyObject *viewer)
{
    if (filter->dead != NULL) {
        int dead = PySequence_Contains(filter->dead, record);
        if (dead != 0)
            return dead < 0 ? -1 : 0;
    }
    if (filter->bits.obj == NULL)
        return 1;
    unsigned long long number = PyLong_AsUnsignedLongLong(record);
    if (number == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    const unsigned char *bits = filter->bits.buf;
    if (number / 8 < (unsigned long long)filter->bits.len && !(bits[number / 8] >> (number % 8) & 1))
        return 1;
    PyObject *answer = PyObject_CallFunctionObjArgs(filter->visible, record, viewer, NULL);
    if (answer == NULL)
        return -1;
    int shown = PyObject_IsTrue(answer);
    Py_DECREF(answer);
    return shown;
}

/* Drop found[first:] the viewer may not see, keeping the order of the rest. */
static int
keep_shown(const Filter *filter, PyObject *found, Py_ssize_t first, PyObject *viewer)
{
    Py_ssize_t kept = first;
    for (Py_ssize_t at = first; at < PyList_GET_SIZE(found); at++) {
        PyObject *hit = PyList_GET_ITEM(found, at);
        int shown = record_shown(filter, PyTuple_GET_ITEM(hit, 1), viewer);
        if (shown < 0)
            return -1;
        if (!shown)
            continue;
        if (kept != at) {
            Py_INCREF(hit);
            PyList_SetItem(found, kept, hit);
        }
        kept++;
    }
    if (kept == PyList_GET_SIZE(found))
        return 0; /* all shown: the common case, no slice to cut */
    return PyList_SetSlice(found, kept, PyList_GET_SIZE(found), NULL);
}

static PyObject *
Lookup_find(Lookup *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (self->tables == NULL) {
        PyErr_SetString(PyExc_TypeError, "Lookup not initialised");
        return NULL;
    }
    /* find(key, viewer=None), either argument by position or by name: it stands for
     * Snapshot.find, whose callers may name them. */
    PyObject *given[2] = {NULL, NULL};
    static const char *const names[2] = {"key", "viewer"};
    const Py_ssize_t named = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    int bad = nargs > 2 || nargs + named > 2;
    for (Py_ssize_t at = 0; !bad && at < nargs; at++)
        given[at] = args[at];
    for (Py_ssize_t at = 0; !bad && at < named; at++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, at);
        int slot = -1;
        for (int which = 0; which < 2; which++)
            if (PyUnicode_CompareWithASCIIString(name, names[which]) == 0)
                slot = which;
        bad = slot < 0 || given[slot] != NULL;
        if (!bad)
            given[slot] = args[nargs + at];
    }
    if (bad || given[0] == NULL) {
        PyErr_SetString(PyExc_TypeError, "find(key, viewer=None)");
        return NULL;
    }
    PyObject *viewer = given[1] != NULL ? given[1] : Py_None;
    PyObject *owned = NULL, *found = NULL;
    Key key;
    if (key_of(given[0], &key, &owned) < 0)
        goto done;
    const uint64_t hash = hash_of(key);
    found = PyList_New(0);
    if (found == NULL)
        goto done;
    for (Py_ssize_t at = 0; at < self->count; at++) {
        const Table *table = (const Table *)PyTuple_GET_ITEM(self->tables, at);
        const Filter *filter = self->filters != NULL && self->filters[at].visible != NULL
                                   ? &self->filters[at]
                                   : NULL;
        const Py_buffer *hint = filter != NULL && filter->bits.obj != NULL ? &filter->bits : NULL;
        Py_ssize_t first = PyList_GET_SIZE(found);
        if (probe_one(table, key, hash, found, self->parts[at], hint) < 0 ||
            (filter != NULL && PyList_GET_SIZE(found) > first &&
             keep_shown(filter, found, first, viewer) < 0)) {
            Py_CLEAR(found);
            break;
        }
    }
done:
    Py_XDECREF(owned);
    if (found == NULL && self->fallback != NULL && PyErr_ExceptionMatches(PyExc_IndexError)) {
        PyErr_Clear(); /* a damaged table: the fallback answers, or names the file */
        return PyObject_CallFunctionObjArgs(self->fallback, given[0], viewer, NULL);
    }
    return found;
}

static PyMethodDef Lookup_methods[] = {
    {"find", (PyCFunction)(void (*)(void))Lookup_find, METH_FASTCALL | METH_KEYWORDS,
     "find(key, viewer=None) -> list of (part, record) over every table, in table order, "
     "without the dead records and those the viewer may not see."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LookupType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "indexes._probe.Lookup",
    .tp_doc = "Lookup(tables, filters=None, fallback=None): one key probed in every table "
              "of a snapshot; filters: per table None or (restricted bits or None, dead or "
              "None, visible(record, viewer)); fallback(key, viewer) answers instead when a "
              "table raises IndexError (a damaged file).",
    .tp_basicsize = sizeof(Lookup),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Lookup_init,
    .tp_dealloc = (destructor)Lookup_dealloc,
    .tp_methods = Lookup_methods,
};

/* ------------------------------------------------------------------------------------ */
/* Module functions: the hash itself. */

static PyObject *
probe_xxh3_64(PyObject *module, PyObject *argument)
{
    Py_buffer view;
    if (PyObject_GetBuffer(argument, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    uint64_t hash = XXH3_64bits(view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLongLong(hash);
}

static PyObject *
probe_hash_into(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "hash_into(keys, out)");
        return NULL;
    }
    PyObject *owned = NULL, *fast = NULL, *result = NULL;
    Py_buffer out;
    if (PyObject_GetBuffer(args[1], &out, PyBUF_WRITABLE) < 0)
        return NULL;
    Py_ssize_t count = 0;
    Key *keys = keys_of(args[0], &count, &fast, &owned);
    if (keys == NULL || hashes_fit(&out, count) < 0)
        goto done;
    char *hashes = out.buf;
    for (Py_ssize_t at = 0; at < count; at++) {
        const uint64_t hash = hash_of(keys[at]);
        memcpy(hashes + at * 8, &hash, 8);
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&out);
    PyMem_Free(keys);
    Py_XDECREF(fast);
    Py_XDECREF(owned);
    return result;
}

/* ------------------------------------------------------------------------------------ */
/* Module functions: a posting run's bounds (postings.py, `posting_run`). */

static inline int
past_run(uint64_t slot, uint64_t high)
{
    return (slot >> 32) > high || (uint32_t)slot == EMPTY_ENTRY;
}

/* The first slot at or after `position` past the run of hash `high`: a greater hash or an
 * empty slot. From the run's first slot on, that test turns true once and stays true
 * (FORMAT.md, "The hashed index"), so: steps of doubling length, then a binary search. */
static inline uint64_t
first_past_run(const char *slots, uint64_t position, uint64_t slot_count, uint64_t high)
{
    if (position >= slot_count || past_run(load_u64(slots, position), high))
        return position;
    uint64_t low = position, step = 1, upper;
    for (;;) { /* past_run(slots[low]) is false throughout */
        upper = low + step;
        if (upper >= slot_count) {
            upper = slot_count;
            break;
        }
        if (past_run(load_u64(slots, upper), high))
            break;
        low = upper;
        step *= 2;
    }
    while (upper - low > 1) {
        const uint64_t middle = low + (upper - low) / 2;
        if (past_run(load_u64(slots, middle), high))
            upper = middle;
        else
            low = middle;
    }
    return upper;
}

/* [start, stop): the slots of hash `hash`'s posting run in an array of `count` slots. */
static inline void
run_of(const char *slots, uint64_t count, uint64_t capacity, uint64_t hash, uint64_t *start,
       uint64_t *stop)
{
    const uint64_t high = hash >> 32;
    *start = first_not_below(slots, home_slot(hash, capacity), count, high);
    if (*start > count)
        *start = count; /* a home past the array: only a damaged file has one */
    *stop = first_past_run(slots, *start, count, high);
}

static PyObject *
probe_run_bounds(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "run_bounds(slots, capacity, hashed)");
        return NULL;
    }
    const uint64_t capacity = PyLong_AsUnsignedLongLong(args[1]);
    if (capacity == (uint64_t)-1 && PyErr_Occurred())
        return NULL;
    const uint64_t hash = PyLong_AsUnsignedLongLong(args[2]);
    if (hash == (uint64_t)-1 && PyErr_Occurred())
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    uint64_t start, stop;
    run_of(view.buf, (uint64_t)view.len / 8, capacity, hash, &start, &stop);
    PyBuffer_Release(&view);
    return Py_BuildValue("(KK)", (unsigned long long)start, (unsigned long long)stop);
}

static int
compare_u32(const void *left, const void *right)
{
    const uint32_t a = *(const uint32_t *)left, b = *(const uint32_t *)right;
    return (a > b) - (a < b);
}

/* Ask for the first owners of a run: each is a cache miss of its own (a run's entries lie
 * far apart in entrec), and asked for ahead they overlap instead of queueing. */
static inline void
prefetch_owners(const Py_buffer *view, const Py_buffer *owners, uint64_t from, uint64_t stop)
{
    const uint64_t owner_count = (uint64_t)owners->len / 4;
    for (uint64_t ahead = from; ahead < stop && ahead < from + PREFETCH_AHEAD; ahead++) {
        const uint32_t entry = (uint32_t)load_u64(view->buf, ahead);
        if (entry < owner_count)
            prefetch((const char *)owners->buf + (uint64_t)entry * 4);
    }
}

/* Copy the owners of slots [start, stop) to `records`; 0, or -1 with IndexError set for an
 * entry past the owners. `*sorted` says what was copied so far, across calls for one key:
 * 2 nothing yet, 1 ascending, 0 not (a record below the one before it). */
static int
copy_owners(const Py_buffer *view, const Py_buffer *owners, uint64_t start, uint64_t stop,
            uint32_t *records, int *sorted)
{
    const int owned = owners->obj != NULL;
    const uint64_t owner_count = owned ? (uint64_t)owners->len / 4 : 0;
    for (uint64_t position = start; position < stop; position++) {
        if (owned && position + PREFETCH_AHEAD < stop) {
            const uint32_t next = (uint32_t)load_u64(view->buf, position + PREFETCH_AHEAD);
            if (next < owner_count)
                prefetch((const char *)owners->buf + (uint64_t)next * 4);
        }
        const uint32_t entry = (uint32_t)load_u64(view->buf, position);
        uint32_t record = entry;
        if (owned) {
            if (entry >= owner_count)
                return corrupt_entry(entry, owner_count);
            record = load_u32(owners->buf, entry);
        }
        if (*sorted == 1 && record < records[-1])
            *sorted = 0;
        if (*sorted == 2)
            *sorted = 1; /* the first record: nothing before it */
        *records++ = record;
    }
    return 0;
}

#define MAX_RUN_TABLES 4

/* The posting runs of several keys in every slot array of a segment (its keys' and its
 * tokens'), each key's records joined, ascending (Segment.postings, postings_many), as
 * (the bytes of one uint32 array, where each key's records end in it); the stored keys
 * are not compared. Entries are stored in hash order with ties in any
 * order, so a key's records are sorted here unless they came sorted (a builder's stable
 * order, one array). Why one call: numpy took eight steps of 1-3 us a run, and a name
 * query reads runs no earlier query asked for (its date of birth, its tokens in a year of
 * birth), each a few cache misses away: every home slot is asked for first, then every
 * run's first owners, so the misses of all the runs overlap. */
static PyObject *
probe_runs_records(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "runs_records(tables, keys, entrec)");
        return NULL;
    }
    PyObject *tables = PySequence_Fast(args[0], "tables must be a sequence of (slots, capacity)");
    if (tables == NULL)
        return NULL;
    PyObject *fast = PySequence_Fast(args[1], "keys must be a sequence of bytes");
    if (fast == NULL) {
        Py_DECREF(tables);
        return NULL;
    }
    const Py_ssize_t table_count = PySequence_Fast_GET_SIZE(tables);
    const Py_ssize_t wanted = PySequence_Fast_GET_SIZE(fast);
    Py_buffer views[MAX_RUN_TABLES], owners = {0};
    uint64_t capacities[MAX_RUN_TABLES];
    Py_ssize_t taken = 0;
    PyObject *result = NULL;
    /* per key: its hash, then (start, stop) in each table */
    const size_t stride = 1 + 2 * MAX_RUN_TABLES;
    uint64_t *bounds = PyMem_Calloc((size_t)(wanted ? wanted : 1), stride * sizeof(uint64_t));
    if (bounds == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (table_count > MAX_RUN_TABLES) {
        PyErr_Format(PyExc_ValueError, "at most %d slot arrays", MAX_RUN_TABLES);
        goto done;
    }
    for (; taken < table_count; taken++) {
        PyObject *slots, *capacity;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(tables, taken), "OO", &slots, &capacity))
            goto done;
        capacities[taken] = PyLong_AsUnsignedLongLong(capacity);
        if (capacities[taken] == (uint64_t)-1 && PyErr_Occurred())
            goto done;
        if (PyObject_GetBuffer(slots, &views[taken], PyBUF_SIMPLE) < 0)
            goto done;
    }
    if (args[2] != Py_None && PyObject_GetBuffer(args[2], &owners, PyBUF_SIMPLE) < 0)
        goto done;
    for (Py_ssize_t at = 0; at < wanted; at++) { /* every home slot asked for at once */
        PyObject *item = PySequence_Fast_GET_ITEM(fast, at);
        if (!PyBytes_Check(item)) {
            PyErr_Format(PyExc_TypeError, "keys[%zd] is %.100s, not bytes", at,
                         Py_TYPE(item)->tp_name);
            goto done;
        }
        const Key key = {PyBytes_AS_STRING(item), PyBytes_GET_SIZE(item)};
        const uint64_t hash = hash_of(key);
        bounds[stride * at] = hash;
        for (Py_ssize_t table = 0; table < table_count; table++) {
            const uint64_t home = home_slot(hash, capacities[table]);
            if (home < (uint64_t)views[table].len / 8)
                prefetch((const char *)views[table].buf + home * 8);
        }
    }
    for (Py_ssize_t at = 0; at < wanted; at++) {
        uint64_t *key = bounds + stride * at;
        for (Py_ssize_t table = 0; table < table_count; table++) {
            uint64_t *start = &key[1 + 2 * table], *stop = &key[2 + 2 * table];
            run_of(views[table].buf, (uint64_t)views[table].len / 8, capacities[table], key[0],
                   start, stop);
            if (owners.obj != NULL)
                prefetch_owners(&views[table], &owners, *start, *stop);
        }
    }
    uint64_t total = 0;
    for (Py_ssize_t at = 0; at < wanted; at++)
        for (Py_ssize_t table = 0; table < table_count; table++)
            total += bounds[stride * at + 2 + 2 * table] - bounds[stride * at + 1 + 2 * table];
    PyObject *records = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(total * 4));
    PyObject *ends = records != NULL ? PyList_New(wanted) : NULL;
    uint32_t *into = records != NULL ? (uint32_t *)PyBytes_AS_STRING(records) : NULL;
    int failed = ends == NULL;
    for (Py_ssize_t at = 0; !failed && at < wanted; at++) {
        const uint64_t *key = bounds + stride * at;
        uint32_t *first = into;
        int sorted = 2; /* 2: nothing copied yet */
        for (Py_ssize_t table = 0; !failed && table < table_count; table++) {
            const uint64_t start = key[1 + 2 * table], stop = key[2 + 2 * table];
            failed = copy_owners(&views[table], &owners, start, stop, into, &sorted) < 0;
            into += stop - start;
        }
        if (!failed && sorted == 0)
            qsort(first, (size_t)(into - first), sizeof(uint32_t), compare_u32);
        PyObject *end = failed ? NULL : PyLong_FromSsize_t(into - (uint32_t *)PyBytes_AS_STRING(records));
        failed = end == NULL;
        if (!failed)
            PyList_SET_ITEM(ends, at, end);
    }
    if (!failed)
        result = PyTuple_Pack(2, records, ends);
    Py_XDECREF(records);
    Py_XDECREF(ends);
done:
    if (owners.obj != NULL)
        PyBuffer_Release(&owners);
    for (Py_ssize_t table = 0; table < taken; table++)
        PyBuffer_Release(&views[table]);
    PyMem_Free(bounds);
    Py_DECREF(fast);
    Py_DECREF(tables);
    return result;
}

static PyMethodDef probe_methods[] = {
    {"xxh3_64", probe_xxh3_64, METH_O, "xxh3_64(data) -> int: XXH3_64bits, seed 0."},
    {"run_bounds", (PyCFunction)(void (*)(void))probe_run_bounds, METH_FASTCALL,
     "run_bounds(slots, capacity, hashed) -> (start, stop): the slots of hash hashed's "
     "posting run (postings.py, posting_run)."},
    {"runs_records", (PyCFunction)(void (*)(void))probe_runs_records, METH_FASTCALL,
     "runs_records(tables, keys, entrec) -> (bytes, ends): for each key, the records of "
     "its hash's posting runs in every (slots, capacity) table, joined, ascending, as "
     "uint32, ending at ends[i] (entrec None: entry = record); no stored key compared."},
    {"hash_into", (PyCFunction)(void (*)(void))probe_hash_into, METH_FASTCALL,
     "hash_into(keys, out): out[i] = xxh3_64(keys[i]); out a writable buffer of uint64."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef probe_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "indexes._probe",
    .m_doc = "The hashed-index lookup, compiled (see indexes/hash_index.py).",
    .m_size = -1,
    .m_methods = probe_methods,
};

PyMODINIT_FUNC
PyInit__probe(void)
{
    if (PyType_Ready(&TableType) < 0 || PyType_Ready(&LookupType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&probe_module);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "Table", (PyObject *)&TableType) < 0 ||
        PyModule_AddObjectRef(module, "Lookup", (PyObject *)&LookupType) < 0 ||
        PyModule_AddIntConstant(module, "PREFETCH_AHEAD", PREFETCH_AHEAD) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}

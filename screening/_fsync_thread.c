/* The journals' fdatasyncs on a native thread that never takes the GIL
   (screening/journal_sync.py).

   Why: a Python thread that syncs must take the GIL back after every fdatasync and every
   sleep, while the event loop's thread holds it almost always. Each time the loop's
   thread lets go (a write, an epoll), the waiting thread is woken, and mostly loses the
   race: measured on this project's 2-core VM, a Python sync thread at one sync every
   5 ms cost the loop's thread ~15 us of system time per request-sized unit of work and
   itself ~5 ms of CPU a sync. This thread holds no Python object and calls no Python API:
   the interpreter only ever hands it file descriptors under a mutex.

   Fsyncer(interval)            start the thread: work queued is done `interval` seconds
                                after the first of it arrives (one fdatasync for a batch)
     .dirty(fd) -> bool         fd has writes to make durable (deduplicated until done);
                                returns whether errors are waiting in take_errors()
     .hand_over(fd)             fsync fd, then close it: the thread owns it from now on
                                (a file no longer written to, a directory's new entries)
     .drain()                   return once everything queued before the call is done,
                                without waiting out the interval (GIL released meanwhile)
     .close()                   drain, then stop the thread; idempotent
     .take_errors() -> list[tuple[int, int]]   (fd, errno) of failed syncs since last call
     .syncs -> int              fdatasync and fsync calls done, for tests and counters

   Order within a batch: the dirty descriptors are synced first, then the handed-over ones
   (in the order given), so a file's last lines and its directory entry land in one batch.
   A handed-over descriptor is never closed by the interpreter, so its number cannot be
   reused while it is queued. Not for use across fork(): the child has no thread (the
   server's workers are spawned).
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ERRORS 64

typedef struct {
    int *fds;
    size_t count, capacity;
} FdList;

typedef struct {
    int fd, error;
} SyncError;

typedef struct {
    PyObject_HEAD
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;     /* work queued, a drain waiting, or stop */
    pthread_cond_t finished; /* a batch is done */
    int64_t interval_ns;
    FdList dirty, handed;    /* queued, guarded by lock */
    uint64_t batches_taken, batches_done;
    int hurry;               /* a drain waits: skip the rest of the interval */
    int stopping, running, initialised;
    int closing;             /* close() under way (read and set under the GIL) */
    int started;             /* the thread was created (never reset: drain may wait) */
    SyncError errors[MAX_ERRORS];
    size_t error_count;
    uint64_t errors_dropped;
    uint64_t syncs;
} Fsyncer;

static int fd_list_add(FdList *list, int fd) {
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 16;
        int *grown = realloc(list->fds, capacity * sizeof(int));
        if (grown == NULL) return -1;
        list->fds = grown;
        list->capacity = capacity;
    }
    list->fds[list->count++] = fd;
    return 0;
}

static int fd_list_has(const FdList *list, int fd) {
    for (size_t i = 0; i < list->count; i++)
        if (list->fds[i] == fd) return 1;
    return 0;
}

static void deadline_after(struct timespec *at, int64_t nanoseconds) {
    clock_gettime(CLOCK_MONOTONIC, at);
    int64_t total = (int64_t)at->tv_nsec + nanoseconds;
    at->tv_sec += (time_t)(total / 1000000000);
    at->tv_nsec = (long)(total % 1000000000);
}

static void note_error(Fsyncer *self, int fd, int error) {
    pthread_mutex_lock(&self->lock);
    if (self->error_count < MAX_ERRORS) {
        self->errors[self->error_count].fd = fd;
        self->errors[self->error_count].error = error;
        self->error_count++;
    } else {
        self->errors_dropped++;
    }
    pthread_mutex_unlock(&self->lock);
}

static void sync_batch(Fsyncer *self, FdList *dirty, FdList *handed) {
    uint64_t done = 0;
    for (size_t i = 0; i < dirty->count; i++) {
        int fd = dirty->fds[i];
        if (fd_list_has(handed, fd)) continue; /* its fsync below covers it */
        if (fdatasync(fd) != 0) note_error(self, fd, errno);
        done++;
    }
    for (size_t i = 0; i < handed->count; i++) {
        int fd = handed->fds[i];
        if (fsync(fd) != 0) note_error(self, fd, errno);
        done++;
        close(fd);
    }
    dirty->count = handed->count = 0;
    pthread_mutex_lock(&self->lock);
    self->syncs += done;
    pthread_mutex_unlock(&self->lock);
}

static void *run(void *argument) {
    Fsyncer *self = argument;
    FdList dirty = {NULL, 0, 0}, handed = {NULL, 0, 0};
    pthread_mutex_lock(&self->lock);
    for (;;) {
        while (self->dirty.count == 0 && self->handed.count == 0 && !self->stopping)
            pthread_cond_wait(&self->wake, &self->lock);
        if (self->dirty.count == 0 && self->handed.count == 0) break; /* stopping */
        struct timespec until;
        deadline_after(&until, self->interval_ns);
        while (!self->hurry && !self->stopping) /* let the batch gather */
            if (pthread_cond_timedwait(&self->wake, &self->lock, &until) == ETIMEDOUT) break;
        self->hurry = 0;
        FdList swap = self->dirty; self->dirty = dirty; dirty = swap;
        swap = self->handed; self->handed = handed; handed = swap;
        uint64_t batch = ++self->batches_taken;
        pthread_mutex_unlock(&self->lock);
        sync_batch(self, &dirty, &handed);
        pthread_mutex_lock(&self->lock);
        self->batches_done = batch;
        pthread_cond_broadcast(&self->finished);
    }
    self->batches_done = self->batches_taken;
    pthread_cond_broadcast(&self->finished);
    pthread_mutex_unlock(&self->lock);
    free(dirty.fds);
    free(handed.fds);
    return NULL;
}

static int Fsyncer_init(Fsyncer *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"interval", NULL};
    double interval;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "d", names, &interval)) return -1;
    if (!(interval >= 0.0 && interval <= 3600.0)) {
        PyErr_SetString(PyExc_ValueError, "interval: seconds between 0 and 3600");
        return -1;
    }
    if (self->initialised) {
        PyErr_SetString(PyExc_RuntimeError, "an Fsyncer is initialised once");
        return -1;
    }
    self->interval_ns = (int64_t)(interval * 1e9);
    pthread_condattr_t monotonic;
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&self->lock, NULL) != 0 ||
        pthread_cond_init(&self->wake, &monotonic) != 0 ||
        pthread_cond_init(&self->finished, NULL) != 0) {
        pthread_condattr_destroy(&monotonic);
        PyErr_SetString(PyExc_OSError, "cannot create the sync thread's lock");
        return -1;
    }
    pthread_condattr_destroy(&monotonic);
    self->initialised = 1;
    int failed = pthread_create(&self->thread, NULL, run, self);
    if (failed != 0) {
        errno = failed;
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    self->running = self->started = 1;
    return 0;
}

static int check_running(Fsyncer *self) {
    if (!self->running) {
        PyErr_SetString(PyExc_RuntimeError, "the sync thread is closed");
        return 0;
    }
    return 1;
}

static PyObject *queue(Fsyncer *self, PyObject *argument, int hand_over) {
    long value = PyLong_AsLong(argument);
    if (value == -1 && PyErr_Occurred()) return NULL;
    if (value < 0 || value > INT_MAX) {
        PyErr_SetString(PyExc_ValueError, "fd: a file descriptor, 0 or more");
        return NULL;
    }
    int fd = (int)value;
    if (!check_running(self)) return NULL;
    pthread_mutex_lock(&self->lock);
    if (self->stopping) { /* closing on another thread: the queue may never be read again */
        pthread_mutex_unlock(&self->lock);
        PyErr_SetString(PyExc_RuntimeError, "the sync thread is closed");
        return NULL;
    }
    int was_idle = self->dirty.count == 0 && self->handed.count == 0;
    int failed = 0;
    if (hand_over)
        failed = fd_list_add(&self->handed, fd);
    else if (!fd_list_has(&self->dirty, fd))
        failed = fd_list_add(&self->dirty, fd);
    if (was_idle && !failed) pthread_cond_signal(&self->wake);
    int errors = self->error_count > 0 || self->errors_dropped > 0;
    pthread_mutex_unlock(&self->lock);
    if (failed) return PyErr_NoMemory();
    if (hand_over) Py_RETURN_NONE;
    return PyBool_FromLong(errors);
}

static PyObject *Fsyncer_dirty(Fsyncer *self, PyObject *fd) { return queue(self, fd, 0); }

static PyObject *Fsyncer_hand_over(Fsyncer *self, PyObject *fd) { return queue(self, fd, 1); }

static void wait_until_done(Fsyncer *self) {
    pthread_mutex_lock(&self->lock);
    uint64_t wanted = self->batches_taken;
    if (self->dirty.count > 0 || self->handed.count > 0) {
        wanted++;
        self->hurry = 1;
        pthread_cond_signal(&self->wake);
    }
    while (self->batches_done < wanted) pthread_cond_wait(&self->finished, &self->lock);
    pthread_mutex_unlock(&self->lock);
}

static PyObject *Fsyncer_drain(Fsyncer *self, PyObject *Py_UNUSED(ignored)) {
    /* Also while another thread closes: a batch under way is waited for (a journal
       closes its descriptor after a drain). Once the thread has exited, nothing waits. */
    if (!self->started) Py_RETURN_NONE;
    Py_BEGIN_ALLOW_THREADS
    wait_until_done(self);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static void stop(Fsyncer *self) {
    pthread_mutex_lock(&self->lock);
    self->stopping = 1;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    self->running = 0;
}

static PyObject *Fsyncer_close(Fsyncer *self, PyObject *Py_UNUSED(ignored)) {
    if (self->running && !self->closing) {
        self->closing = 1; /* under the GIL: a second close() does not join twice */
        Py_BEGIN_ALLOW_THREADS
        stop(self);
        Py_END_ALLOW_THREADS
    }
    Py_RETURN_NONE;
}

static PyObject *Fsyncer_take_errors(Fsyncer *self, PyObject *Py_UNUSED(ignored)) {
    if (!self->initialised) return PyList_New(0);
    SyncError taken[MAX_ERRORS];
    pthread_mutex_lock(&self->lock);
    size_t count = self->error_count;
    memcpy(taken, self->errors, count * sizeof(SyncError));
    uint64_t dropped = self->errors_dropped;
    self->error_count = 0;
    self->errors_dropped = 0;
    pthread_mutex_unlock(&self->lock);
    PyObject *list = PyList_New(0);
    if (list == NULL) return NULL;
    for (size_t i = 0; i < count + (dropped ? 1 : 0); i++) {
        /* more failures than MAX_ERRORS: one entry of fd -1 stands for those not kept */
        int fd = i < count ? taken[i].fd : -1;
        int error = i < count ? taken[i].error : EIO;
        PyObject *entry = Py_BuildValue("(ii)", fd, error);
        if (entry == NULL || PyList_Append(list, entry) != 0) {
            Py_XDECREF(entry);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(entry);
    }
    return list;
}

static PyObject *Fsyncer_syncs(Fsyncer *self, void *Py_UNUSED(closure)) {
    if (!self->initialised) return PyLong_FromLong(0);
    pthread_mutex_lock(&self->lock);
    uint64_t syncs = self->syncs;
    pthread_mutex_unlock(&self->lock);
    return PyLong_FromUnsignedLongLong(syncs);
}

static void Fsyncer_dealloc(Fsyncer *self) {
    if (self->running && !self->closing) {
        Py_BEGIN_ALLOW_THREADS
        stop(self);
        Py_END_ALLOW_THREADS
    }
    if (self->initialised) {
        pthread_mutex_destroy(&self->lock);
        pthread_cond_destroy(&self->wake);
        pthread_cond_destroy(&self->finished);
    }
    free(self->dirty.fds);
    free(self->handed.fds);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Fsyncer_methods[] = {
    {"dirty", (PyCFunction)Fsyncer_dirty, METH_O,
     "dirty(fd) -> bool: sync fd's writes in the next batch; whether errors are waiting"},
    {"hand_over", (PyCFunction)Fsyncer_hand_over, METH_O,
     "hand_over(fd): fsync fd in the next batch, then close it"},
    {"drain", (PyCFunction)Fsyncer_drain, METH_NOARGS,
     "drain(): return once everything queued before the call is done"},
    {"close", (PyCFunction)Fsyncer_close, METH_NOARGS,
     "close(): drain, then stop the thread"},
    {"take_errors", (PyCFunction)Fsyncer_take_errors, METH_NOARGS,
     "take_errors() -> list of (fd, errno) of failed syncs since the last call"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Fsyncer_getset[] = {
    {"syncs", (getter)Fsyncer_syncs, NULL, "fdatasync and fsync calls done", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject FsyncerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "screening._fsync_thread.Fsyncer",
    .tp_basicsize = sizeof(Fsyncer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "fdatasyncs on a native thread that never takes the GIL",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Fsyncer_init,
    .tp_dealloc = (destructor)Fsyncer_dealloc,
    .tp_methods = Fsyncer_methods,
    .tp_getset = Fsyncer_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fsync_thread",
    "The journals' fdatasyncs on a native thread that never takes the GIL.", -1, NULL,
};

PyMODINIT_FUNC PyInit__fsync_thread(void) {
    if (PyType_Ready(&FsyncerType) < 0) return NULL;
    PyObject *created = PyModule_Create(&module);
    if (created == NULL) return NULL;
    Py_INCREF(&FsyncerType);
    if (PyModule_AddObject(created, "Fsyncer", (PyObject *)&FsyncerType) < 0) {
        Py_DECREF(&FsyncerType);
        Py_DECREF(created);
        return NULL;
    }
    return created;
}

/* The two per-call crossings between Python and wasmtime, in C: a guest call (Caller) and a host function's
 * entry from the guest (the trampoline of a HostEntry). abi/crossing.py is the same interface in ctypes, used
 * when this extension is not built; abi/vm.py picks one. See that file for what each function promises.
 *
 * Why C: through ctypes, a guest call converts its arguments on every call and a host function entry builds
 * a ctypes pointer object, a tuple and an interpreted frame; together about 60% of a minimal plugin's cost.
 * wasmtime's C API is reached through addresses taken from the wasmtime package's own library (init()), so
 * nothing is linked at build time and the versions cannot disagree.
 *
 * The current VM lives in a thread-local: a host function finds the VM whose guest called it there. The GIL
 * is released while guest code runs (the epoch ticker thread must run to interrupt a looping guest) and taken
 * again by each host function entry. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <structmember.h>

/* wasmtime_val_raw_t: one 16-byte slot per argument and result. */
typedef union {
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    uint8_t v128[16];
    void *funcref;
} val_raw;

typedef void *(*call_unchecked_fn)(void *context, const void *func, val_raw *args, size_t count, void **trap);
typedef void *(*trap_new_fn)(const char *message, size_t length);

static call_unchecked_fn call_unchecked;
static trap_new_fn trap_new;
static PyObject *memory_error; /* abi.errors.MemoryAccessError: becomes the host function's fault result */

/* The VM whose guest runs on this thread (borrowed: the caller of the guest holds it) and the env object
 * host functions receive; `binder` is set only while an instance is created (see enter()). */
typedef struct {
    PyObject *vm;
    PyObject *env;
    PyObject *binder;
} Current;

static _Thread_local Current current;

#define MAX_PARAMS 16

/* -- Caller: one guest export, called with i32 arguments ------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *vm;
    PyObject *env;
    void *context;
    void *func;
    val_raw *buf;
    Py_ssize_t count;
    void *error; /* the failure of the last call, until taken by failure() */
    void *trap;
} Caller;

static PyObject *caller_call(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Caller *self = (Caller *)op;
    PyObject *result;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL || n > self->count) {
        PyErr_SetString(PyExc_TypeError, "guest call: too many or keyword arguments");
        return NULL;
    }
    val_raw *buf = self->buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned long value = PyLong_AsUnsignedLongMask(args[i]);
        if (value == (unsigned long)-1 && PyErr_Occurred())
            return NULL;
        buf[i].i64 = (uint32_t)value; /* an i32 slot, zero-extended */
    }
    Py_INCREF(op); /* the thread-local borrows our vm and env: stay alive even if the guest's host calls drop us */
    Current saved = current;
    current.vm = self->vm;
    current.env = self->env;
    current.binder = NULL;
    void *trap = NULL;
    void *error;
    Py_BEGIN_ALLOW_THREADS
    error = call_unchecked(self->context, self->func, buf, (size_t)self->count, &trap);
    Py_END_ALLOW_THREADS
    current = saved;
    if (error != NULL || trap != NULL) {
        self->error = error;
        self->trap = trap;
        result = PyLong_FromLong(-1);
    } else {
        result = PyLong_FromUnsignedLong((uint32_t)buf[0].i32);
    }
    Py_DECREF(op);
    return result;
}

static int caller_init(PyObject *op, PyObject *args, PyObject *kwargs) {
    Caller *self = (Caller *)op;
    static char *names[] = {"vm", "env", "context", "func", "buf", "count", NULL};
    PyObject *vm, *env;
    unsigned long long context, func, buf;
    Py_ssize_t count;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOKKKn", names, &vm, &env, &context, &func, &buf, &count))
        return -1;
    if (count < 1) {
        PyErr_SetString(PyExc_ValueError, "count must be at least 1");
        return -1;
    }
    Py_INCREF(vm);
    Py_INCREF(env);
    Py_XSETREF(self->vm, vm);
    Py_XSETREF(self->env, env);
    self->context = (void *)(uintptr_t)context;
    self->func = (void *)(uintptr_t)func;
    self->buf = (val_raw *)(uintptr_t)buf;
    self->count = count;
    self->vectorcall = caller_call;
    return 0;
}

static PyObject *caller_failure(PyObject *op, PyObject *unused) {
    Caller *self = (Caller *)op;
    PyObject *result = Py_BuildValue("(KK)", (unsigned long long)(uintptr_t)self->error,
                                     (unsigned long long)(uintptr_t)self->trap);
    self->error = NULL;
    self->trap = NULL;
    return result;
}

static int caller_traverse(PyObject *op, visitproc visit, void *arg) {
    Caller *self = (Caller *)op;
    Py_VISIT(self->vm);
    Py_VISIT(self->env);
    return 0;
}

static int caller_clear(PyObject *op) {
    Caller *self = (Caller *)op;
    Py_CLEAR(self->vm);
    Py_CLEAR(self->env);
    return 0;
}

static void caller_dealloc(PyObject *op) {
    PyObject_GC_UnTrack(op);
    caller_clear(op);
    Py_TYPE(op)->tp_free(op);
}

static PyMethodDef caller_methods[] = {
    {"failure", caller_failure, METH_NOARGS,
     "(error, trap) pointers of the last failed call, handed over once (0 where absent)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CallerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "abi._crossing.Caller",
    .tp_doc = "Caller(vm, env, context, func, buf, count): call(*i32 args) -> result as u32, or -1 on failure.",
    .tp_basicsize = sizeof(Caller),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = PyType_GenericNew,
    .tp_init = caller_init,
    .tp_vectorcall_offset = offsetof(Caller, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_traverse = caller_traverse,
    .tp_clear = caller_clear,
    .tp_dealloc = caller_dealloc,
    .tp_methods = caller_methods,
};

/* -- HostEntry: one host function and its trampoline ------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    PyObject *impl;       /* impl(env, *args) */
    PyObject *on_failure; /* on_failure(vm, exception) -> trap pointer */
    char params[MAX_PARAMS];
    Py_ssize_t nparams;
    char result; /* 0, 'i' or 'F' */
    uint32_t fault;
} HostEntry;

static void *trap_with(const char *why) {
    /* A failure of the failure path itself: still a trap of this guest, never an error escaping the C stack. */
    PyErr_Clear();
    return trap_new(why, strlen(why));
}

static void *host_failed(HostEntry *entry) {
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback != NULL)
        PyException_SetTraceback(value, traceback);
    void *trap = NULL;
    if (PyErr_GivenExceptionMatches(type, memory_error)) {
        /* The guest passed a bad pointer: the function answers its fault code. */
    } else if (current.vm == NULL) {
        trap = trap_with("host function called outside a guest call");
    } else {
        PyObject *answer = PyObject_CallFunctionObjArgs(entry->on_failure, current.vm, value, NULL);
        trap = answer != NULL ? PyLong_AsVoidPtr(answer) : NULL;
        if (trap == NULL)
            trap = trap_with("host function failed");
        Py_XDECREF(answer);
    }
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback);
    return trap;
}

static void *trampoline(void *env, void *caller, val_raw *raw, size_t count) {
    HostEntry *entry = (HostEntry *)env;
    PyGILState_STATE gil = PyGILState_Ensure();
    void *trap = NULL;
    if (current.binder != NULL) { /* an instance being created: its memory may only be reachable from here */
        PyObject *address = PyLong_FromVoidPtr(caller);
        PyObject *bound = address != NULL ? PyObject_CallOneArg(current.binder, address) : NULL;
        Py_XDECREF(address);
        if (bound == NULL) {
            trap = host_failed(entry);
            if (trap == NULL) /* a MemoryAccessError here is no answer of the function's: still a trap */
                trap = trap_with("binding the guest's memory failed");
            goto done;
        }
        if (PyObject_IsTrue(bound))
            current.binder = NULL;
        Py_DECREF(bound);
    }
    PyObject *args[MAX_PARAMS + 1];
    Py_ssize_t n = entry->nparams;
    args[0] = current.env != NULL ? current.env : Py_None;
    for (Py_ssize_t i = 0; i < n; i++) {
        char kind = entry->params[i];
        PyObject *arg = kind == 'i' ? PyLong_FromUnsignedLong((uint32_t)raw[i].i32)
                        : kind == 'I' ? PyLong_FromUnsignedLongLong((uint64_t)raw[i].i64)
                                      : PyFloat_FromDouble(raw[i].f64);
        if (arg == NULL) {
            for (Py_ssize_t j = 1; j <= i; j++)
                Py_DECREF(args[j]);
            trap = host_failed(entry);
            goto done;
        }
        args[i + 1] = arg;
    }
    PyObject *value = PyObject_Vectorcall(entry->impl, args, (size_t)(n + 1), NULL);
    for (Py_ssize_t i = 1; i <= n; i++)
        Py_DECREF(args[i]);
    if (value != NULL) {
        if (entry->result == 'i') {
            unsigned long result = PyLong_AsUnsignedLongMask(value);
            if (!(result == (unsigned long)-1 && PyErr_Occurred()))
                raw[0].i64 = (uint32_t)result;
        } else if (entry->result == 'F') {
            double result = PyFloat_AsDouble(value);
            if (!(result == -1.0 && PyErr_Occurred()))
                raw[0].f64 = result;
        }
        Py_DECREF(value);
    }
    if (PyErr_Occurred()) {
        int bad_pointer = PyErr_ExceptionMatches(memory_error);
        trap = host_failed(entry);
        if (bad_pointer && entry->result == 'i')
            raw[0].i64 = entry->fault;
    }
done:
    PyGILState_Release(gil);
    return trap;
}

static int entry_init(PyObject *op, PyObject *args, PyObject *kwargs) {
    HostEntry *self = (HostEntry *)op;
    static char *names[] = {"impl", "params", "result", "fault", "on_failure", NULL};
    PyObject *impl, *on_failure;
    const char *params, *result;
    Py_ssize_t nparams, nresult;
    unsigned long fault;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "Os#s#kO", names, &impl, &params, &nparams, &result, &nresult,
                                     &fault, &on_failure))
        return -1;
    if (nparams > MAX_PARAMS || strspn(params, "iIF") != (size_t)nparams || nresult > 1 ||
        (nresult == 1 && result[0] != 'i' && result[0] != 'F')) {
        PyErr_Format(PyExc_ValueError, "unsupported host function signature (%s) -> (%s)", params, result);
        return -1;
    }
    Py_INCREF(impl);
    Py_INCREF(on_failure);
    Py_XSETREF(self->impl, impl);
    Py_XSETREF(self->on_failure, on_failure);
    memcpy(self->params, params, (size_t)nparams);
    self->nparams = nparams;
    self->result = nresult ? result[0] : 0;
    self->fault = (uint32_t)fault;
    return 0;
}

static PyObject *entry_env(PyObject *op, void *closure) { return PyLong_FromVoidPtr(op); }

static PyObject *entry_callback(PyObject *op, void *closure) { return PyLong_FromVoidPtr((void *)trampoline); }

static int entry_traverse(PyObject *op, visitproc visit, void *arg) {
    HostEntry *self = (HostEntry *)op;
    Py_VISIT(self->impl);
    Py_VISIT(self->on_failure);
    return 0;
}

static int entry_clear(PyObject *op) {
    HostEntry *self = (HostEntry *)op;
    Py_CLEAR(self->impl);
    Py_CLEAR(self->on_failure);
    return 0;
}

static void entry_dealloc(PyObject *op) {
    PyObject_GC_UnTrack(op);
    entry_clear(op);
    Py_TYPE(op)->tp_free(op);
}

static PyGetSetDef entry_getset[] = {
    {"callback", entry_callback, NULL, "address of the C function wasmtime calls", NULL},
    {"env", entry_env, NULL, "the env pointer wasmtime passes it (this object: keep it alive)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject HostEntryType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "abi._crossing.HostEntry",
    .tp_doc = "HostEntry(impl, params, result, fault, on_failure): a host function's entry from the guest.",
    .tp_basicsize = sizeof(HostEntry),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = entry_init,
    .tp_traverse = entry_traverse,
    .tp_clear = entry_clear,
    .tp_dealloc = entry_dealloc,
    .tp_getset = entry_getset,
};

/* -- module functions ------------------------------------------------------------------------------------ */

static PyObject *init(PyObject *module, PyObject *args) {
    unsigned long long call, trap;
    PyObject *error_type;
    if (!PyArg_ParseTuple(args, "KKO", &call, &trap, &error_type))
        return NULL;
    call_unchecked = (call_unchecked_fn)(uintptr_t)call;
    trap_new = (trap_new_fn)(uintptr_t)trap;
    Py_INCREF(error_type);
    Py_XSETREF(memory_error, error_type);
    Py_RETURN_NONE;
}

/* The token holds the previous state and the new binder (often a bound method made for the call), so that
 * what the thread-local borrows stays alive until leave(); the caller keeps vm and env alive. */
static PyObject *enter(PyObject *module, PyObject *args) {
    PyObject *vm, *env, *binder;
    if (!PyArg_ParseTuple(args, "OOO", &vm, &env, &binder))
        return NULL;
    PyObject *token = Py_BuildValue("(OOOO)", current.vm ? current.vm : Py_None,
                                    current.env ? current.env : Py_None,
                                    current.binder ? current.binder : Py_None, binder);
    if (token == NULL)
        return NULL;
    current.vm = vm;
    current.env = env;
    current.binder = binder == Py_None ? NULL : binder;
    return token;
}

static PyObject *leave(PyObject *module, PyObject *previous) {
    if (!PyTuple_Check(previous) || PyTuple_GET_SIZE(previous) != 4) {
        PyErr_SetString(PyExc_TypeError, "leave() takes what enter() returned");
        return NULL;
    }
    PyObject *vm = PyTuple_GET_ITEM(previous, 0), *env = PyTuple_GET_ITEM(previous, 1);
    PyObject *binder = PyTuple_GET_ITEM(previous, 2);
    current.vm = vm == Py_None ? NULL : vm;
    current.env = env == Py_None ? NULL : env;
    current.binder = binder == Py_None ? NULL : binder;
    Py_RETURN_NONE;
}

static PyObject *current_vm(PyObject *module, PyObject *unused) {
    PyObject *vm = current.vm ? current.vm : Py_None;
    Py_INCREF(vm);
    return vm;
}

static PyMethodDef module_methods[] = {
    {"init", init, METH_VARARGS, "init(call_unchecked, trap_new, memory_error): wasmtime's entry points."},
    {"enter", enter, METH_VARARGS, "enter(vm, env, binder) -> token: make vm current outside a guest call."},
    {"leave", leave, METH_O, "leave(token): undo enter()."},
    {"current_vm", current_vm, METH_NOARGS, "The VM whose guest runs on this thread, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "abi._crossing",
    .m_doc = "Guest calls and host function entries in C (see abi/crossing.py for the ctypes twin).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__crossing(void) {
    if (PyType_Ready(&CallerType) < 0 || PyType_Ready(&HostEntryType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "Caller", (PyObject *)&CallerType) < 0 ||
        PyModule_AddObjectRef(module, "HostEntry", (PyObject *)&HostEntryType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}

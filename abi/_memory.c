/* Guest memory accessors in C: the byte copies and the pairs codec of abi/memory.py, whose Python versions they
 * replace when the compiled hot path is built (scripts/build_native.py). Each takes the memoryview over guest
 * memory that GuestMemory holds and checks the range against that view again, so a wrong offset can never
 * reach outside it. Why C: slicing a memoryview allocates a view and a slice per access, about ten times the
 * copy it does; a header map encoded in Python allocates a list entry per field. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "guest memory is little-endian: this file stores integers in host order"
#endif

/* The guest bytes [ptr, ptr + n) of `view`, as a writable buffer; -1 with IndexError when out of range. */
static int span(PyObject *view, uint64_t ptr, uint64_t n, Py_buffer *buffer) {
    if (PyObject_GetBuffer(view, buffer, PyBUF_WRITABLE) < 0)
        return -1;
    if (ptr + n > (uint64_t)buffer->len) {
        PyErr_Format(PyExc_IndexError, "guest range %llu+%llu is outside the view", (unsigned long long)ptr,
                     (unsigned long long)n);
        PyBuffer_Release(buffer);
        return -1;
    }
    return 0;
}

static int arity(const char *name, Py_ssize_t nargs, Py_ssize_t expected) {
    if (nargs == expected)
        return 0;
    PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments (%zd given)", name, expected, nargs);
    return -1;
}

static int u32_arg(PyObject *arg, uint64_t *out) {
    unsigned long value = PyLong_AsUnsignedLongMask(arg);
    if (value == (unsigned long)-1 && PyErr_Occurred())
        return -1;
    *out = (uint32_t)value;
    return 0;
}

static PyObject *memory_read(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    uint64_t ptr, n;
    Py_buffer buffer;
    if (arity("read", nargs, 3) < 0 || u32_arg(args[1], &ptr) < 0 || u32_arg(args[2], &n) < 0 ||
        span(args[0], ptr, n, &buffer) < 0)
        return NULL;
    PyObject *data = PyBytes_FromStringAndSize((const char *)buffer.buf + ptr, (Py_ssize_t)n);
    PyBuffer_Release(&buffer);
    return data;
}

static PyObject *memory_write(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    uint64_t ptr;
    Py_buffer buffer, data;
    if (arity("write", nargs, 3) < 0 || u32_arg(args[1], &ptr) < 0)
        return NULL;
    if (PyObject_GetBuffer(args[2], &data, PyBUF_SIMPLE) < 0)
        return NULL;
    if (span(args[0], ptr, (uint64_t)data.len, &buffer) < 0) {
        PyBuffer_Release(&data);
        return NULL;
    }
    memmove((char *)buffer.buf + ptr, data.buf, (size_t)data.len);
    PyBuffer_Release(&buffer);
    PyBuffer_Release(&data);
    Py_RETURN_NONE;
}

static PyObject *write_u32(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    uint64_t ptr, value;
    Py_buffer buffer;
    if (arity("write_u32", nargs, 3) < 0 || u32_arg(args[1], &ptr) < 0 ||
        u32_arg(args[2], &value) < 0 || span(args[0], ptr, 4, &buffer) < 0)
        return NULL;
    uint32_t word = (uint32_t)value;
    memcpy((char *)buffer.buf + ptr, &word, 4);
    PyBuffer_Release(&buffer);
    Py_RETURN_NONE;
}

/* write_out(view, ptr_out, address, len_out, length): the two u32 results of an ABI "out buf". */
static PyObject *write_out(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    uint64_t ptr_out, address, len_out, length;
    Py_buffer buffer;
    if (arity("write_out", nargs, 5) < 0 || u32_arg(args[1], &ptr_out) < 0 ||
        u32_arg(args[2], &address) < 0 || u32_arg(args[3], &len_out) < 0 || u32_arg(args[4], &length) < 0 ||
        span(args[0], 0, 0, &buffer) < 0)
        return NULL;
    if (ptr_out + 4 > (uint64_t)buffer.len || len_out + 4 > (uint64_t)buffer.len) {
        PyBuffer_Release(&buffer);
        PyErr_SetString(PyExc_IndexError, "out-buf pointers are outside the view");
        return NULL;
    }
    uint32_t words[2] = {(uint32_t)address, (uint32_t)length};
    memcpy((char *)buffer.buf + ptr_out, &words[0], 4);
    memcpy((char *)buffer.buf + len_out, &words[1], 4);
    PyBuffer_Release(&buffer);
    Py_RETURN_NONE;
}

/* The bytes of a key or value: bytes directly, anything else through the buffer protocol. */
static int field(PyObject *item, Py_buffer *view) {
    if (PyBytes_Check(item)) {
        view->obj = NULL;
        view->buf = PyBytes_AS_STRING(item);
        view->len = PyBytes_GET_SIZE(item);
        return 0;
    }
    return PyObject_GetBuffer(item, view, PyBUF_SIMPLE);
}

static void release(Py_buffer *view) {
    if (view->obj != NULL)
        PyBuffer_Release(view);
}

/* encode_pairs(pairs): reference §3.1, the same bytes as abi.memory's Python encoder (b"" for no pairs). */
static PyObject *encode_pairs(PyObject *module, PyObject *pairs) {
    PyObject *seq = PySequence_Fast(pairs, "pairs must be a sequence of (key, value)");
    if (seq == NULL)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    PyObject *out = NULL;
    if (count == 0) {
        out = PyBytes_FromStringAndSize(NULL, 0);
        goto done;
    }
    uint64_t total = 4 + 8 * (uint64_t)count;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *pair = items[i];
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "pairs must be a sequence of (key, value)");
            goto done;
        }
        for (int j = 0; j < 2; j++) {
            Py_buffer part;
            if (field(PyTuple_GET_ITEM(pair, j), &part) < 0)
                goto done;
            total += (uint64_t)part.len + 1;
            release(&part);
        }
    }
    if (total > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "pairs larger than 4 GiB");
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)total);
    if (out == NULL)
        goto done;
    char *sizes = PyBytes_AS_STRING(out), *data = sizes + 4 + 8 * count, *end = sizes + total;
    uint32_t word = (uint32_t)count;
    memcpy(sizes, &word, 4);
    sizes += 4;
    for (Py_ssize_t i = 0; i < count; i++) {
        for (int j = 0; j < 2; j++) {
            Py_buffer part;
            if (field(PyTuple_GET_ITEM(items[i], j), &part) < 0) {
                Py_CLEAR(out);
                goto done;
            }
            if (part.len + 1 > end - data) { /* changed since it was measured */
                release(&part);
                PyErr_SetString(PyExc_RuntimeError, "a pair changed while it was encoded");
                Py_CLEAR(out);
                goto done;
            }
            word = (uint32_t)part.len;
            memcpy(sizes, &word, 4);
            sizes += 4;
            memcpy(data, part.buf, (size_t)part.len);
            data += part.len;
            *data++ = '\0';
            release(&part);
        }
    }
done:
    Py_DECREF(seq);
    return out;
}

static PyMethodDef methods[] = {
    {"read", (PyCFunction)(void (*)(void))memory_read, METH_FASTCALL, "read(view, ptr, n) -> bytes"},
    {"write", (PyCFunction)(void (*)(void))memory_write, METH_FASTCALL, "write(view, ptr, data)"},
    {"write_u32", (PyCFunction)(void (*)(void))write_u32, METH_FASTCALL, "write_u32(view, ptr, value)"},
    {"write_out", (PyCFunction)(void (*)(void))write_out, METH_FASTCALL,
     "write_out(view, ptr_out, address, len_out, length)"},
    {"encode_pairs", encode_pairs, METH_O, "encode_pairs(pairs) -> bytes"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "abi._memory",
    .m_doc = "Guest memory accessors and the pairs encoder in C (the Python versions are in abi/memory.py).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__memory(void) { return PyModule_Create(&module_def); }

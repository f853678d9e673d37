/* Heads we write, in C: the control-character count they are checked with, and the fast path of building one.
 * common.py has the Python versions and uses these when the compiled hot path is built (scripts/build_native.py).
 * bytes.translate, the fastest count in Python, copies the head (about three thousand instructions a head); a
 * head joined in Python allocates list entries per field and looks each name up in a set. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Every C0 control but TAB, and DEL: the bytes no head may hold outside its CRLF line ends. */
static unsigned char is_control[256];
/* RFC 9110's tchar: what a field name is made of. */
static unsigned char is_tchar[256];

static int clean(const char *p, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++)
        if (is_control[(unsigned char)p[i]])
            return 0;
    return 1;
}

static int token(const char *p, Py_ssize_t n) {
    if (n == 0)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (!is_tchar[(unsigned char)p[i]])
            return 0;
    return 1;
}

/* head(start_line, fields) -> the start line (CRLF-terminated), "name: value\r\n" per field and "\r\n"; or None
 * when anything is unusual (a name that is not a token, a control character but the line ends, a field that is not
 * a pair of bytes): the caller's exact checks then decide, and name the fault. */
static PyObject *head(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyBytes_Check(args[0]) || !PyList_Check(args[1]))
        Py_RETURN_NONE;
    PyObject *start = args[0], *fields = args[1];
    Py_ssize_t start_len = PyBytes_GET_SIZE(start), count = PyList_GET_SIZE(fields);
    const char *start_bytes = PyBytes_AS_STRING(start);
    if (start_len < 2 || start_bytes[start_len - 2] != '\r' || start_bytes[start_len - 1] != '\n' ||
        !clean(start_bytes, start_len - 2))
        Py_RETURN_NONE;
    Py_ssize_t total = start_len + 2;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *pair = PyList_GET_ITEM(fields, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2)
            Py_RETURN_NONE;
        PyObject *name = PyTuple_GET_ITEM(pair, 0), *value = PyTuple_GET_ITEM(pair, 1);
        if (!PyBytes_Check(name) || !PyBytes_Check(value) ||
            !token(PyBytes_AS_STRING(name), PyBytes_GET_SIZE(name)) ||
            !clean(PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value)))
            Py_RETURN_NONE;
        total += PyBytes_GET_SIZE(name) + PyBytes_GET_SIZE(value) + 4;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL)
        return NULL;
    char *p = PyBytes_AS_STRING(out);
    memcpy(p, start_bytes, (size_t)start_len);
    p += start_len;
    for (Py_ssize_t i = 0; i < count; i++) { /* (no Python code ran since the pass above: the list is as checked) */
        PyObject *pair = PyList_GET_ITEM(fields, i);
        PyObject *name = PyTuple_GET_ITEM(pair, 0), *value = PyTuple_GET_ITEM(pair, 1);
        memcpy(p, PyBytes_AS_STRING(name), (size_t)PyBytes_GET_SIZE(name));
        p += PyBytes_GET_SIZE(name);
        *p++ = ':';
        *p++ = ' ';
        memcpy(p, PyBytes_AS_STRING(value), (size_t)PyBytes_GET_SIZE(value));
        p += PyBytes_GET_SIZE(value);
        *p++ = '\r';
        *p++ = '\n';
    }
    *p++ = '\r';
    *p++ = '\n';
    return out;
}

static PyObject *controls(PyObject *module, PyObject *data) {
    if (!PyBytes_Check(data)) {
        PyErr_SetString(PyExc_TypeError, "controls() takes bytes");
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data), count = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        count += is_control[p[i]];
    return PyLong_FromSsize_t(count);
}

static PyMethodDef methods[] = {
    {"controls", controls, METH_O, "controls(data) -> how many control characters (C0 but TAB, and DEL) it holds"},
    {"head", (PyCFunction)(void (*)(void))head, METH_FASTCALL, "head(start_line, fields) -> bytes, or None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "gateway.codec.http1._scan",
    .m_doc = "Byte scans of the HTTP/1.1 codecs in C (the Python versions are in common.py).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__scan(void) {
    for (int c = 0; c < 0x20; c++)
        is_control[c] = c != '\t';
    is_control[0x7f] = 1;
    for (const char *c = "!#$%&'*+-.^_`|~"; *c; c++)
        is_tchar[(unsigned char)*c] = 1;
    for (int c = '0'; c <= '9'; c++)
        is_tchar[c] = 1;
    for (int c = 'a'; c <= 'z'; c++)
        is_tchar[c] = is_tchar[c - 'a' + 'A'] = 1;
    return PyModule_Create(&module_def);
}
